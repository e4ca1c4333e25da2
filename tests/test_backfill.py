"""A 30-day backfill of `process_calls`, run twice, leaves every call once at every stage.

The backfill is what the UI's partition picker or `dagster job backfill` launches: one run of the
partitioned job per call date. Here the 30 runs go one after another in one child process (the
models load once), over a data folder of their own; the second pass is the operator who, unsure
whether the first finished, runs the whole range again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import child_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
FIRST = date(2026, 8, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(30)]

BACKFILL = """
import sys
import dagster as dg
from pipelines.definitions import defs
job = defs().resolve_job_def("process_calls")
transcribed = 0
with dg.DagsterInstance.ephemeral() as instance:
    for key in sys.argv[1:]:
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False,
                                        tags={"dagster/backfill": "test-30-days"})
        if not result.success:
            sys.exit(f"partition {key} failed")
        [event] = [e for e in result.asset_materializations_for_node("load_staged_transcripts")
                   if e.asset_key == dg.AssetKey(["casework", "transcripts"])]
        transcribed += event.metadata["calls_transcribed"].value
print("BACKFILL DONE, transcribed", transcribed, flush=True)
"""


def test_a_30_day_backfill_run_twice_leaves_every_call_once(tmp_path, dbt_manifest):
    from assets.synthetic import demo_calls as demo_data

    # One call spoken once, landed on each of 30 days (call ids and start times of their own).
    spoken = tmp_path / "spoken"
    demo_data.write_calls(demo_data.build_calls(1, FIRST, seed=3, days=1, expired=False), spoken)
    wav, sidecar = next(spoken.glob("*.wav")), json.loads(next(spoken.glob("*.json")).read_text())
    landing = tmp_path / "data" / "landing"
    landing.mkdir(parents=True)
    for day in DAYS:
        call_id = f"call-backfill-{day:%Y%m%d}"
        shutil.copy(wav, landing / f"{call_id}.wav")
        (landing / f"{call_id}.json").write_text(json.dumps(
            {**sidecar, "call_id": call_id, "started_at": f"{day.isoformat()}T10:00:00Z"}))

    env = child_env(tmp_path / "data")
    for attempt, transcribed in ((1, 30), (2, 0)):  # the second pass finds every transcript current
        done = subprocess.run([sys.executable, "-c", BACKFILL, *(d.isoformat() for d in DAYS)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (attempt, done.stderr[-3000:])
        assert f"BACKFILL DONE, transcribed {transcribed}\n" in done.stdout, (attempt, done.stdout[-500:])

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        for table in ("casework.calls", "casework.transcripts", "canon.transcripts"):
            per_day = con.execute(f"SELECT call_date, count(*), count(DISTINCT call_id) FROM {table} "
                                  "GROUP BY call_date ORDER BY call_date").fetchall()
            assert per_day == [(d, 1, 1) for d in DAYS], table
        assert con.execute("SELECT count(*) FROM casework.quarantine").fetchone()[0] == 0
    assert not list(landing.iterdir())
