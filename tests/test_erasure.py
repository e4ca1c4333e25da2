"""An erasure request really erases: after `callcanon erase`, none of the erased call's values is
anywhere on disk — database file, WAL, audio store, redacted copies, Dagster's logs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.e2e


LOCATIONS = {"CALLCANON_LANDING": "landing", "CALLCANON_AUDIO_STORE": "audio", "CALLCANON_QUARANTINE": "quarantine",
             "CALLCANON_REDACTED_AUDIO": "redacted_audio", "CALLCANON_WAREHOUSE": "warehouse.duckdb"}


def hits(root: Path, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """Every file under `root` that holds each needle, byte for byte."""
    found: dict[str, list[str]] = {name: [] for name in needles}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for name, needle in needles.items():
            if needle in data:
                found[name].append(str(path.relative_to(root)))
    return found


def distinctive_bytes(path: Path, root: Path) -> bytes:
    """64 bytes of `path` found in no other file under `root` (silence is the same in every call)."""
    data = path.read_bytes()
    others = [p.read_bytes() for p in root.rglob("*") if p.is_file() and p != path]
    for offset in range(len(data) // 4, len(data) - 64, 997):
        window = data[offset:offset + 64]
        if len(set(window)) > 24 and not any(window in other for other in others):
            return window
    raise AssertionError(f"no distinctive bytes in {path}")


def relocated_copy(pipeline_run, dest: Path, monkeypatch) -> Path:
    """The session's data folder copied (the other tests keep theirs), stored paths pointed at it."""
    shutil.copytree(pipeline_run.data_dir, dest)
    with duckdb.connect(str(dest / "warehouse.duckdb")) as conn:
        for table, column in (("casework.calls", "audio_path"), ("casework.redacted_audio", "path"),
                              ("casework.quarantine", "location")):
            conn.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                         [str(pipeline_run.data_dir), str(dest)])
    monkeypatch.setenv("CALLCANON_DATA", str(dest))
    for var, name in LOCATIONS.items():
        monkeypatch.setenv(var, str(dest / name))
    # Dagster's run and event storage inside the data folder, so its logs are scanned too.
    monkeypatch.setenv("DAGSTER_HOME", str(dest / "dagster_home"))
    return dest


def test_an_erasure_request_leaves_no_trace_of_the_call_on_disk(pipeline_run, tmp_path, monkeypatch):
    from pipelines.cli import main

    data = relocated_copy(pipeline_run, tmp_path / "data", monkeypatch)
    target = pipeline_run.calls[1].call_id
    db = data / "warehouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as conn:
        number, audio_path, extra = conn.execute(
            "SELECT external_number, audio_path, extra FROM casework.calls WHERE call_id = ?", [target]).fetchone()
        transcript = conn.execute("SELECT text FROM casework.transcripts WHERE call_id = ?", [target]).fetchone()[0]
        canon = conn.execute("SELECT text FROM canon.transcripts WHERE call_id = ?", [target]).fetchone()[0]
        redacted = conn.execute("SELECT path FROM casework.redacted_audio WHERE call_id = ?", [target]).fetchone()[0]
        before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("casework.calls", "casework.transcripts", "canon.transcripts")}
    assert json.loads(extra)["caller_reference"] == pipeline_run.planted
    needles = {
        "planted sidecar value": pipeline_run.planted.encode(), "phone number": number.encode(),
        "transcript": transcript.encode(), "canon text": canon.encode(),
        "audio bytes": distinctive_bytes(Path(audio_path), data),
        "redacted audio bytes": distinctive_bytes(Path(redacted), data),
    }
    # The scan can see every needle before the erasure (so it could fail after it).
    seen = hits(data, needles)
    assert all(seen.values()), seen
    # The number as a caller would give it, not as the telephony system stored it.
    result = CliRunner().invoke(main, ["erase", "--kind", "number", "--value", "0" + number[3:],
                                       "--reason", "erasure request ER-2026-001"])
    assert result.exit_code == 0, result.output
    certificate = json.loads(result.output[result.output.index("{"):])
    assert certificate["counts"]["call_record"] == 1 and certificate["suspended_by_hold"] == 0
    assert target not in result.output  # the certificate names the call only by hash

    assert hits(data, needles) == {name: [] for name in needles}
    assert not list(data.rglob("*.wal")) and not list(data.rglob("*.rewrite"))
    with duckdb.connect(str(db), read_only=True) as conn:
        after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
        # Derived rows too: the rebuilt marts count one call fewer.
        marts = conn.execute("SELECT sum(calls) FROM intermediate.int_theme_days").fetchone()[0]
        assigned = conn.execute("SELECT count(*) FROM themes.call_themes").fetchone()[0]
        rewrites = conn.execute("SELECT count(*) FROM governance.warehouse_rewrites").fetchone()[0]
    assert after == {t: n - 1 for t, n in before.items()}
    assert marts == assigned == before["canon.transcripts"] - 1
    assert rewrites >= 1
