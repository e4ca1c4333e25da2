"""Scale-out benchmark: calls per minute through the real deployment path with 1 and then 2 worker
processes, on the same spoken calls in the same run.

Each variant is a Dagster instance of its own (run queue limit = workers, `transcription` pool
limit = workers, `duckdb_writer` pool 1), the Dagster daemon, and a backfill of `process_calls`
over several call dates launched with `dagster job backfill`: every date is a run in its own
process with the multiprocess executor, as under `dagster dev` or a production daemon. With 1
worker the runs go one after another; that variant is the baseline.

With `--celery` the same backfill runs under dagster-celery (`CALLCANON_EXECUTOR=celery`, Debian's
redis-server as the broker, started here): 1 and then 2 transcription workers (`-q
transcription`, one task each, without the warehouse setting) beside one warehouse worker (`-q
dagster`, one task: the one DuckDB writer). The 1-worker variant is the baseline.

    .venv/bin/python benchmarks/workers.py [--dates 4] [--calls-per-date 3] [--celery]
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


def celery_workers(workers: int, env: dict, work: Path) -> list[subprocess.Popen]:
    """A Redis broker, `workers` transcription workers and the warehouse's worker, all ready."""
    port = 6379 + 100 + workers
    broker = f"redis://127.0.0.1:{port}"
    env.update(CALLCANON_EXECUTOR="celery", CALLCANON_CELERY_BROKER=f"{broker}/0",
               CALLCANON_CELERY_BACKEND=f"{broker}/1")
    procs = [subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                              stdout=subprocess.DEVNULL, start_new_session=True)]
    config = str(ROOT / "deploy" / "celery" / "worker.yaml")
    logs = []
    for name, queue in [*((f"transcriber-{n}", "transcription") for n in range(1, workers + 1)),
                        ("warehouse", "dagster")]:
        worker_env = {k: v for k, v in env.items() if k != "CALLCANON_WAREHOUSE" or queue == "dagster"}
        log = work / f"celery-{workers}-{name}.log"
        logs.append(log)
        procs.append(subprocess.Popen(
            [BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app", "-y", config, "-q", queue,
             "-n", name, "--", "-c", "1"], env={**worker_env, "PATH": f"{BIN}:{env['PATH']}"}, cwd=ROOT,
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True))
    deadline = time.monotonic() + 120
    while not all("ready." in log.read_text() for log in logs):
        if time.monotonic() > deadline:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGTERM)
            raise TimeoutError("Celery workers did not start")
        time.sleep(1)
    return procs


def variant(workers: int, landed: Path, dates: list[date], work: Path, celery: bool = False) -> float:
    """Seconds from launching the backfill to the last run finishing."""
    import dagster as dg

    home, data = work / f"home-{workers}", work / f"data-{workers}"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(INSTANCE.format(workers=workers))
    shutil.copytree(landed, data / "landing")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CALLCANON_") or k.endswith("_KEY")},
           "DAGSTER_HOME": str(home), "CALLCANON_DATA": str(data)}
    for pool, limit in (("duckdb_writer", 1), ("transcription", workers)):
        done = subprocess.run([BIN / "dagster", "instance", "concurrency", "set", pool, str(limit)],
                              env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"setting the {pool} pool failed: {done.stderr[-2000:]}")
    # The backfill is the only work: the landing sensor would start runs for the same files.
    subprocess.run([BIN / "dagster", "sensor", "stop", "-w", "workspace.yaml", "landing_zone_sensor"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    procs: list[subprocess.Popen] = []
    try:
        if celery:
            procs += celery_workers(workers, env, work)
        procs.append(subprocess.Popen([BIN / "dagster-daemon", "run", "-w", "workspace.yaml"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
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
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=4)
    parser.add_argument("--calls-per-date", type=int, default=3)
    parser.add_argument("--celery", action="store_true", help="dagster-celery workers instead of processes")
    args = parser.parse_args()
    os.environ.setdefault("CALLCANON_PSEUDONYM_KEY", os.urandom(32).hex())
    os.environ.setdefault("CALLCANON_AUDIO_KEY", os.urandom(32).hex())
    from pipelines.runner import ensure_dbt_manifest

    ensure_dbt_manifest()
    dates = [date(2026, 9, 1) + timedelta(days=n) for n in range(args.dates)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        n_calls = speak(dates, args.calls_per_date, work / "landed")
        executor = "dagster-celery, Redis broker" if args.celery else "multiprocess executor"
        print(f"{n_calls} calls over {len(dates)} call dates; each date one run ({executor})")
        seconds = {workers: variant(workers, work / "landed", dates, work, args.celery) for workers in (1, 2)}
    for workers, s in seconds.items():
        print(f"{workers} worker(s): {s:6.1f} s  {n_calls / s * 60:5.1f} calls/min")
    print(f"speed-up 1 -> 2 workers: {seconds[1] / seconds[2]:.2f}x (on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
