"""End-to-end benchmark (issue 23): the whole pipeline against raw faster-whisper, same audio,
same run.

For each day size (`--calls`), spoken demo calls (espeak-ng; a third 8 kHz μ-law two-channel,
the rest 16 kHz mono) are landed once. Then, alternated (this machine's clock wanders by ±10 %
from one minute to the next, so one pair says little):

- **baseline**: raw `faster_whisper.BatchedInferencePipeline` over the same audio files, with the
  stage's model and decoding settings (as `benchmarks/transcription.py`'s "same" row);
- **pipeline**: `callcanon run` (`pipelines.runner.run_all`) over a fresh data folder: ingest and
  sealing, transcription and redaction staged, the loader, pseudonymisation (Presidio), themes
  (the first run fits them), the dbt marts, the analytics copy, the retention sweep — every
  Dagster job it runs;

and with `--per-channel`, once, raw faster-whisper on each channel alone (what speaker turns from
a two-channel recording need; faster-whisper itself mixes a stereo file down to one track).

Prints, per day size, audio seconds per wall-clock second, the ratio (target ≥ 0.9) per round and
for the round least in the pipeline's favour, the same against raw faster-whisper tuned as the
stage is (as many files at once as the stage takes calls, one thread each: the stage's speed-up
that any user of faster-whisper could have), and where the pipeline's time went: each step's own
duration from Dagster's event log, summed over runs, and what lies outside any step. With two
sizes or more, the ratio per extra call and what everything but transcription costs a run and a
call.

    .venv/bin/python benchmarks/end_to_end.py [--calls 40 120] [--repeats 1] [--per-channel]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assets.synthetic import demo_calls as demo_data  # noqa: E402
from assets.transcription.whisper import WhisperConfig, _batched  # noqa: E402


def land(n_calls: int, folder: Path) -> tuple[list[Path], float]:
    """The calls, spoken and written as a recorder would; their audio files and total seconds."""
    day = date.today() - timedelta(days=1)
    demo_data.write_calls(demo_data.build_calls(n_calls, day, seed=23, days=1, expired=False), folder)
    paths = sorted(p for p in folder.iterdir() if p.suffix == ".wav")
    from faster_whisper.audio import decode_audio

    return paths, sum(len(decode_audio(str(p))) / 16000 for p in paths)


def raw_whisper(paths: list[Path], config: WhisperConfig, per_channel: bool = False, workers: int = 1) -> float:
    """Seconds for raw batched faster-whisper over the files (`benchmarks/transcription.py`'s
    "same settings" row): as they are (faster-whisper mixes a stereo file down to one voice
    track), one file after another as faster-whisper loads its model, or `workers` files side by
    side on one thread each (tuned as the stage is); or each channel on its own (what speaker
    turns need)."""
    from faster_whisper.audio import decode_audio
    from transcription import raw_transcribe, run_raw  # benchmarks/transcription.py

    if not per_channel:
        return run_raw(paths, config, config.two_channel_chunk_s, workers)[0]
    started = time.perf_counter()
    for path in paths:
        for track in decode_audio(str(path), split_stereo=True):
            raw_transcribe(track, config, config.two_channel_chunk_s)
    return time.perf_counter() - started


def step_seconds(instance, run_ids: list[str]) -> dict[str, float]:
    """Each step's own duration (STEP_SUCCESS), summed over the runs."""
    import dagster as dg

    totals: dict[str, float] = defaultdict(float)
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS):
            event = entry.dagster_event
            totals[event.step_key] += event.event_specific_data.duration_ms / 1000
    return dict(totals)


def pipeline_once(work: Path, landed: Path, n: str) -> tuple[float, dict[str, float]]:
    """`callcanon run` in a process of its own (as cron or the daemon starts it: imports and model
    loading included) over a fresh data folder holding the landed calls, its runs kept in a
    Dagster instance of its own: (seconds, step seconds)."""
    import shutil
    import subprocess

    import dagster as dg

    data, home = work / f"data-{n}", work / f"home-{n}"
    shutil.copytree(landed, data / "landing")
    home.mkdir()
    env = {**os.environ, "CALLCANON_DATA": str(data), "DAGSTER_HOME": str(home)}
    callcanon = Path(sys.executable).parent / "callcanon"
    # dbt's parse for this warehouse, once, as a deployment has it (outside the timing).
    subprocess.run([sys.executable, "-c", "from assets.settings import Settings; Settings.from_env().export_for_dbt();"
                    "from pipelines.runner import ensure_dbt_manifest; ensure_dbt_manifest(force=True)"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    started = time.perf_counter()
    done = subprocess.run([str(callcanon), "run"], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"callcanon run failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    seconds = time.perf_counter() - started
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return seconds, step_seconds(instance, [r.run_id for r in instance.get_runs()])


def measure(work: Path, n_calls: int, repeats: int, config: WhisperConfig) -> dict:
    """One day of `n_calls` landed, then raw and pipeline alternated `repeats` times; the round
    least in the pipeline's favour."""
    paths, audio_s = land(n_calls, work / f"landed-{n_calls}")
    stereo = sum(1 for p in paths if '"channels"' in p.with_suffix(".json").read_text())
    print(f"{len(paths)} calls ({stereo} two-channel 8 kHz μ-law, the rest mono), {audio_s / 60:.1f} min of audio",
          flush=True)
    pairs, workers = [], config.resolved_workers()
    for n in range(repeats):
        raw_s = raw_whisper(paths, config)
        tuned_s = raw_whisper(paths, config, workers=workers) if workers > 1 else raw_s
        pipeline_s, steps = pipeline_once(work, work / f"landed-{n_calls}", f"{n_calls}-{n}")
        pairs.append((raw_s, pipeline_s, steps, tuned_s))
        print(f"  round {n + 1}: raw {raw_s:.1f} s (tuned {tuned_s:.1f} s), pipeline {pipeline_s:.1f} s, "
              f"ratio {raw_s / pipeline_s:.2f} (against tuned {tuned_s / pipeline_s:.2f})", flush=True)
    raw_s, pipeline_s, steps, tuned_s = min(pairs, key=lambda p: p[0] / p[1])
    return dict(calls=n_calls, paths=paths, audio_s=audio_s, raw_s=raw_s, pipeline_s=pipeline_s, steps=steps,
                tuned_s=tuned_s, workers=workers)


def report(day: dict, per_channel_s: float | None) -> None:
    audio_s, raw_s, pipeline_s, steps = day["audio_s"], day["raw_s"], day["pipeline_s"], day["steps"]
    header = f"{day['calls']} calls (the round least in the pipeline's favour)"
    print(f"\n{header:44} {'seconds':>8} {'audio s/s':>9} {'ratio':>6}")
    print(f"{'raw faster-whisper, batched, same settings':44} {raw_s:8.1f} {audio_s / raw_s:9.1f} {1.0:6.2f}")
    if day["workers"] > 1:
        label = f"  the same, {day['workers']} files at once, 1 thread each"
        print(f"{label:44} {day['tuned_s']:8.1f} {audio_s / day['tuned_s']:9.1f} {raw_s / day['tuned_s']:6.2f}")
    if per_channel_s:
        print(f"{'raw faster-whisper, each channel alone':44} {per_channel_s:8.1f} {audio_s / per_channel_s:9.1f} "
              f"{raw_s / per_channel_s:6.2f}")
    print(f"{'callcanon run (ingest -> marts, everything)':44} {pipeline_s:8.1f} {audio_s / pipeline_s:9.1f} "
          f"{raw_s / pipeline_s:6.2f}")
    if day["workers"] > 1:
        print(f"against raw tuned as the stage is ({day['workers']} files at once): "
              f"{day['tuned_s'] / pipeline_s:.2f}")
    print("where the pipeline's time went (step durations from Dagster's event log):")
    for step, secs in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"  {step:44} {secs:7.1f} s  {secs / pipeline_s:6.1%}")
    outside = pipeline_s - sum(steps.values())
    label = "outside steps (runs starting, definitions)"
    print(f"  {label:44} {outside:7.1f} s  {outside / pipeline_s:6.1%}")
    rest = pipeline_s - steps.get("staged__transcripts", 0.0)
    print(f"everything but transcription: {rest:.1f} s, {rest / pipeline_s:.1%} of the pipeline (target <= 10 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[40, 120],
                        help="day sizes (~55 s of audio a call); two or more also give the cost per extra call")
    parser.add_argument("--repeats", type=int, default=1,
                        help="raw and pipeline alternated this many times (this machine's clock wanders ±10 %%)")
    parser.add_argument("--per-channel", action="store_true", help="also raw faster-whisper on each channel alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Data folders and keys of its own (`callcanon init-key` into a throwaway config folder).
        for var in [k for k in os.environ if k.startswith("CALLCANON_")]:
            del os.environ[var]
        os.environ.update(XDG_CONFIG_HOME=str(work / "config"))
        from assets import keys

        keys.init_all()
        config = WhisperConfig()
        for workers in {1, config.resolved_workers()}:  # loaded before timing
            _batched(config.model, config.resolved_device(), config.resolved_compute_type(), workers)
        print(f"model {config.model}, {os.cpu_count()} cores, the stage {config.resolved_workers()} calls at once; "
              f"raw and pipeline alternated {args.repeats}x per day size\n")
        days = [measure(work, n, args.repeats, config) for n in sorted(set(args.calls))]
        per_channel_s = raw_whisper(days[0]["paths"], config, per_channel=True) if args.per_channel else None
    for n, day in enumerate(days):
        report(day, per_channel_s if n == 0 else None)
    if len(days) > 1:
        # What each extra call costs, once the per-run costs (process start, loading Presidio and
        # the embedding model, dbt) are paid: the throughput a day of many calls approaches.
        small, big = days[0], days[-1]
        extra_raw, extra_pipeline = big["raw_s"] - small["raw_s"], big["pipeline_s"] - small["pipeline_s"]
        rest = [d["pipeline_s"] - d["steps"].get("staged__transcripts", 0.0) for d in (small, big)]
        per_call = (rest[1] - rest[0]) / (big["calls"] - small["calls"])
        print(f"\nfrom {small['calls']} to {big['calls']} calls: raw +{extra_raw:.1f} s, "
              f"pipeline +{extra_pipeline:.1f} s; ratio per extra call {extra_raw / extra_pipeline:.2f} "
              f"(against tuned raw {(big['tuned_s'] - small['tuned_s']) / extra_pipeline:.2f}); "
              f"everything but transcription: {rest[0] - per_call * small['calls']:.0f} s a run "
              f"+ {per_call:.2f} s a call")
    print("ratio: throughput relative to raw faster-whisper on the files as they are, same run (target >= 0.9).")


if __name__ == "__main__":
    main()
