"""Scale-out benchmark: calls per minute through the real deployment path with 1 and then 2 worker
processes, on the same spoken calls in the same run.

Each variant is a Dagster instance of its own (run queue limit = workers, `transcription` pool
limit = workers, `duckdb_writer` pool 1), the Dagster daemon, and a backfill of `process_calls`
over several call dates launched with `dagster job backfill`: every date is a run in its own
process with the multiprocess executor, as under `dagster dev` or a production daemon. With 1
worker the runs go one after another; that variant is the baseline.

    .venv/bin/python benchmarks/workers.py [--dates 4] [--calls-per-date 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assets.synthetic import demo_calls as demo_data  # noqa: E402

BIN = Path(sys.executable).parent
INSTANCE = """telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: {workers}
"""


def speak(dates: list[date], per_date: int, folder: Path) -> int:
    calls = []
    for n, day in enumerate(dates):
        calls += demo_data.build_calls(per_date, day + timedelta(days=1), seed=40 + n, days=1, expired=False)
    demo_data.write_calls(calls, folder)
    return len(calls)


def variant(workers: int, landed: Path, dates: list[date], work: Path) -> float:
    """Seconds from launching the backfill to the last run finishing."""
    import dagster as dg

    home, data = work / f"home-{workers}", work / f"data-{workers}"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(INSTANCE.format(workers=workers))
    shutil.copytree(landed, data / "landing")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CALLCANON_") or k.endswith("_KEY")},
           "DAGSTER_HOME": str(home), "CALLCANON_DATA": str(data)}
    subprocess.run([BIN / "dagster", "instance", "concurrency", "set", "transcription", str(workers)],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    # The backfill is the only work: the landing sensor would start runs for the same files.
    subprocess.run([BIN / "dagster", "sensor", "stop", "-w", "workspace.yaml", "landing_zone_sensor"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    daemon = subprocess.Popen([BIN / "dagster-daemon", "run", "-w", "workspace.yaml"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started = time.perf_counter()
        subprocess.run([BIN / "dagster", "job", "backfill", "-w", "workspace.yaml", "-j", "process_calls",
                        "--partitions", ",".join(d.isoformat() for d in dates), "--noprompt",
                        "--tags", f'{{"callcanon/benchmark": "{workers}"}}'],
                       env=env, cwd=ROOT, check=True, capture_output=True)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while True:
                runs = instance.get_runs(dg.RunsFilter(tags={"callcanon/benchmark": str(workers)}))
                finished = [r for r in runs if r.is_finished]
                if len(runs) == len(dates) and len(finished) == len(runs):
                    break
                if time.perf_counter() - started > 1800:
                    raise TimeoutError("backfill did not finish in 30 minutes")
                time.sleep(2)
            elapsed = time.perf_counter() - started
            failed = [r.run_id for r in runs if r.status != dg.DagsterRunStatus.SUCCESS]
            if failed:
                raise RuntimeError(f"{len(failed)} run(s) failed with {workers} worker(s): {failed}")
        return elapsed
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=4)
    parser.add_argument("--calls-per-date", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("CALLCANON_PSEUDONYM_KEY", os.urandom(32).hex())
    os.environ.setdefault("CALLCANON_AUDIO_KEY", os.urandom(32).hex())
    from pipelines.runner import ensure_dbt_manifest

    ensure_dbt_manifest()
    dates = [date(2026, 9, 1) + timedelta(days=n) for n in range(args.dates)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n_calls = speak(dates, args.calls_per_date, work / "landed")
        print(f"{n_calls} calls over {len(dates)} call dates; each date one run (multiprocess executor)")
        seconds = {workers: variant(workers, work / "landed", dates, work) for workers in (1, 2)}
    for workers, s in seconds.items():
        print(f"{workers} worker(s): {s:6.1f} s  {n_calls / s * 60:5.1f} calls/min")
    print(f"speed-up 1 -> 2 workers: {seconds[1] / seconds[2]:.2f}x (on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
