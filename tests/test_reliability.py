"""What happens when things go wrong underneath the pipeline: the process killed mid-partition,
two runs of one partition at once, a full or unwritable disk. The outcome that matters: every
call once, nothing lost, nothing half-written, and an error that says what to fix.

The runs are real Dagster runs of `process_calls` in child processes, over a data folder of
their own, so a SIGKILL hits a real process holding a real DuckDB file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import child_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 10, 7)
N_CALLS = 4

RUN_PARTITION = """
import sys
import dagster as dg
from pipelines.definitions import defs
with dg.DagsterInstance.ephemeral() as instance:
    result = defs().resolve_job_def("process_calls").execute_in_process(
        partition_key=sys.argv[1], instance=instance, raise_on_error=False)
print("RUN", "SUCCESS" if result.success else "FAILURE", flush=True)
sys.exit(0 if result.success else 1)
"""


@pytest.fixture(scope="module")
def spoken_calls(tmp_path_factory):
    """Four calls of one day, spoken once and copied into each test's landing zone."""
    from assets.synthetic import demo_calls as demo_data
    folder = tmp_path_factory.mktemp("spoken")
    calls = demo_data.build_calls(N_CALLS, DAY + timedelta(days=1), seed=5, days=1, expired=False)
    assert {c.call_date for c in calls} == {DAY.isoformat()}
    demo_data.write_calls(calls, folder)
    return folder


@pytest.fixture
def site(tmp_path, spoken_calls, dbt_manifest):
    """A data folder with the four calls landed, and the environment a child run needs."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(spoken_calls, data / "landing")
    return data, child_env(data)


def _start(env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN_PARTITION, DAY.isoformat()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 400) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def _assert_converged(data: Path) -> None:
    """Every landed call exactly once at every stage, its audio sealed once, nothing partial."""
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        for table in ("casework.calls", "casework.transcripts", "canon.transcripts"):
            total, distinct = con.execute(f"SELECT count(*), count(DISTINCT call_id) FROM {table}").fetchone()
            assert (total, distinct) == (N_CALLS, N_CALLS), table
        dup_segments = con.execute(
            "SELECT count(*) - count(DISTINCT (call_id, seg_idx)) FROM casework.segments").fetchone()[0]
        assert dup_segments == 0
        assert con.execute("SELECT count(*) FROM casework.quarantine").fetchone()[0] == 0
        audio = [Path(p) for (p,) in con.execute("SELECT audio_path FROM casework.calls").fetchall()]
    assert all(p.exists() and p.suffix == ".sealed" for p in audio)
    assert len(list((data / "audio").rglob("*.sealed"))) == N_CALLS
    assert not list((data / "landing").iterdir()), "landing files left behind"
    assert not [p for p in data.rglob("*") if p.name.endswith(".partial")]


def test_a_run_killed_mid_transcription_converges_on_re_run(site):
    data, env = site
    proc = _start(env)
    deadline = time.monotonic() + 300
    for line in proc.stdout:  # Dagster's log: kill once transcription is under way
        if "staged 2/" in line:  # two calls staged, the worker on its third
            break
        assert time.monotonic() < deadline, "the run never reached transcription"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:  # the file opens after the kill
        assert con.execute("SELECT count(*) FROM casework.calls").fetchone()[0] == N_CALLS
        assert con.execute("SELECT count(*) FROM casework.transcripts").fetchone()[0] == 0  # one transaction

    code, out = _finish(_start(env))
    assert code == 0, out[-3000:]
    _assert_converged(data)


def test_two_runs_of_one_partition_at_once_leave_it_whole(site):
    data, env = site
    first, second = _start(env), _start(env)
    results = [_finish(first), _finish(second)]
    assert any(code == 0 for code, _ in results), results[0][1][-3000:]
    for code, out in results:
        if code != 0:  # allowed only as a clear lock conflict, never as damage
            assert "lock" in out.lower(), out[-3000:]
            code, out = _finish(_start(env))
            assert code == 0, out[-3000:]
    _assert_converged(data)


def _assert_ingest_stops(data: Path, store: Path, message: str) -> None:
    """Ingest into `store` fails with a StorageError matching `message`: no row, landing intact."""
    from assets import ingest, keys, warehouse
    from assets.audio import vault as audio_vault
    from assets.storage import StorageError

    landed = sorted(p.name for p in (data / "landing").iterdir())
    with warehouse.connect(data / "warehouse.duckdb") as conn:
        warehouse.ensure_schema(conn)
        with pytest.raises(StorageError, match=message):
            ingest.ingest_date(conn, data / "landing", store, data / "quarantine", DAY,
                               audio_vault.AudioVault(keys.load_audio_key()), 0)
        assert conn.execute("SELECT count(*) FROM casework.calls").fetchone()[0] == 0  # no row without audio
    assert sorted(p.name for p in (data / "landing").iterdir()) == landed


def test_an_unwritable_audio_store_stops_ingest_with_a_clear_error_and_loses_nothing(site, tmp_path):
    data, _ = site
    not_a_folder = tmp_path / "store-is-a-file"
    not_a_folder.write_text("")
    _assert_ingest_stops(data, not_a_folder, "audio store at .*store-is-a-file")


def _tiny_filesystem(path: Path) -> bool:
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_full_disk_stops_ingest_with_a_clear_error_and_leaves_no_half_files(site, tmp_path):
    full = tmp_path / "full"
    if not _tiny_filesystem(full):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    data, _ = site
    try:
        _assert_ingest_stops(data, full, "No space left on device")
        assert not [p for p in full.rglob("*") if p.name.endswith(".partial")]
    finally:
        subprocess.run(["umount", str(full)], check=False)


def test_the_remains_of_an_ingest_cut_short_are_cleared_not_quarantined(site):
    """Killed between removing a call's audio and its sidecar from the landing zone: the call is
    stored; the leftover sidecar is removed on the next run, not reported as a broken call."""
    import shutil

    from assets import ingest, keys, warehouse
    from assets.audio import vault as audio_vault
    data, _ = site
    vault = audio_vault.AudioVault(keys.load_audio_key())
    with warehouse.connect(data / "warehouse.duckdb") as conn:
        warehouse.ensure_schema(conn)
        sidecar = next((data / "landing").glob("*.json"))
        kept = data / "kept.json"
        shutil.copy(sidecar, kept)
        ingest.ingest_date(conn, data / "landing", data / "audio", data / "quarantine", DAY, vault, 0)
        shutil.copy(kept, sidecar)  # as if the process died before this unlink
        result = ingest.ingest_date(conn, data / "landing", data / "audio", data / "quarantine", DAY, vault, 0)
        assert result.quarantined == [] and not sidecar.exists()
        assert conn.execute("SELECT count(*) FROM casework.quarantine").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM casework.calls").fetchone()[0] == N_CALLS
