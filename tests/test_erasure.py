"""An erasure request really erases: after `callcanon erase`, none of the erased call's values is
anywhere on disk — database file, WAL, audio store, redacted copies, Dagster's logs."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import grant_this_account

pytestmark = pytest.mark.e2e


LOCATIONS = {"CALLCANON_ANALYTICS": "analytics.duckdb",
             "CALLCANON_LANDING": "landing", "CALLCANON_AUDIO_STORE": "audio", "CALLCANON_QUARANTINE": "quarantine",
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


NAME = "Ottoline Quarrendon"  # the subject's name, planted where issue 17 found survivors
# The broken re-send's recording: bytes no other file holds by chance (a run like 100, 101, ... 163
# is what DuckDB's bit-packing writes for a column counting up, such as word positions).
RESEND_AUDIO = b"RIFF" + random.Random(17).randbytes(4096)


def plant_survivors(data: Path, db: Path, target: str, other: str, number: str, day: str) -> None:
    """Where an erasure used to leave the subject behind (issue 17): a broken re-send of the call
    and a file named after the number, both quarantined by the real ingest stage, and the number
    and name held as unknown sidecar fields on another caller's record."""
    from datetime import date

    from conftest import AUDIO_KEY

    from assets.access.traces import national
    from assets.audio.vault import AudioVault
    from assets.ingest import landing, register

    landed = data / "landing"
    (landed / f"{target}.json").write_text(json.dumps(
        {"call_id": target, "started_at": f"{day}T12:00:00Z", "external_number": number, "caller_name": NAME}))
    (landed / f"{target}.wav").write_bytes(RESEND_AUDIO)  # a different recording: duplicate_call_id
    (landed / f"{number}.json").write_text('{"caller": "' + NAME + '", broken')
    (landed / f"{number}.wav").write_bytes(RESEND_AUDIO[::-1])
    with duckdb.connect(str(db)) as conn:
        result = register.ingest_date(conn, landed, data / "audio", data / "quarantine", date.fromisoformat(day),
                                      AudioVault(bytes.fromhex(AUDIO_KEY)), 0, landing.Limits())
        assert sorted(r for _, r in result.quarantined) == ["bad_sidecar_json", "duplicate_call_id"]
        n = national(number)
        spaced = f"0{n[:4]} {n[4:]}"  # the number as another system wrote it
        conn.execute("UPDATE casework.calls SET extra = ? WHERE call_id = ?",
                     [json.dumps({"transferred_from": spaced, "note": f"spoke to {NAME.upper()}", "queue": "Q7"}),
                      other])


def releases_before_erasure(data: Path, target: str, number: str) -> list[Path]:
    """A subject access package and an audio download written to disk before the erasure."""
    from pipelines.cli import main

    base = ["--role", "information_rights", "--purpose", "subject_access",
            "--reason", "subject access request SAR-2026-7 from the caller"]
    out = data.parent / "releases"
    sar = CliRunner().invoke(main, ["sar", *base, "--caller-number", number, "--to", str(out / "sar")])
    assert sar.exit_code == 0, sar.output
    [package] = (out / "sar").glob("sar-*")
    index = json.loads((package / "index.json").read_text())
    # The subject's own call, and where else their number is held, by field name only.
    assert [c["call_id"] for c in index["calls"]] == [target]
    assert index["mentions_in_other_records"][0]["fields"] == ["transferred_from"]
    exported = (package / target / f"{target}.json").read_text()
    assert "queue" not in exported and "caller_reference" not in exported  # no unknown fields leave
    download = CliRunner().invoke(main, ["access", "download", target, *base[:2], "--purpose", "subject_access",
                                         "--reason", base[-1], "--to", str(out / "download")])
    assert download.exit_code == 0, download.output
    return [package, Path(download.output.strip())]


def test_an_erasure_request_leaves_no_trace_of_the_call_on_disk(pipeline_run, tmp_path, monkeypatch):
    from assets.access.traces import national
    from pipelines.cli import main

    data = relocated_copy(pipeline_run, tmp_path / "data", monkeypatch)
    target, other = pipeline_run.calls[1].call_id, pipeline_run.calls[2].call_id
    db = data / "warehouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as conn:
        number = conn.execute("SELECT external_number FROM casework.calls WHERE call_id = ?", [target]).fetchone()[0]
    plant_survivors(data, db, target, other, number, pipeline_run.calls[1].call_date)
    grant_this_account(db, "information_rights")  # the data host's account, as an administrator granted it
    released = releases_before_erasure(data, target, number)
    assert all(p.exists() for p in released)
    with duckdb.connect(str(db), read_only=True) as conn:
        number, audio_path, extra = conn.execute(
            "SELECT external_number, audio_path, extra FROM casework.calls WHERE call_id = ?", [target]).fetchone()
        transcript = conn.execute("SELECT text FROM casework.transcripts WHERE call_id = ?", [target]).fetchone()[0]
        canon = conn.execute("SELECT text FROM canon.transcripts WHERE call_id = ?", [target]).fetchone()[0]
        redacted = conn.execute("SELECT path FROM casework.redacted_audio WHERE call_id = ?", [target]).fetchone()[0]
        before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("casework.calls", "casework.transcripts", "canon.transcripts")}
        target_mentions = conn.execute("SELECT count(*) FROM themes.call_themes WHERE call_id = ?",
                                       [target]).fetchone()[0]
        assigned_before = conn.execute("SELECT count(*) FROM themes.call_themes").fetchone()[0]
    assert json.loads(extra)["caller_reference"] == pipeline_run.planted
    needles = {
        "planted sidecar value": pipeline_run.planted.encode(), "phone number": number.encode(),
        "transcript": transcript.encode(), "canon text": canon.encode(),
        "audio bytes": distinctive_bytes(Path(audio_path), data),
        "redacted audio bytes": distinctive_bytes(Path(redacted), data),
        "name": NAME.encode(), "name in capitals": NAME.upper().encode(),
        "re-sent audio": RESEND_AUDIO[100:164], "re-sent audio reversed": RESEND_AUDIO[::-1][100:164],
    }
    # Casework text is sealed at rest: the transcript in clear is in no file of the data folder,
    # only in the subject access package released before (which the scan does find).
    clear = {"transcript in clear": pipeline_run.transcripts()[target].encode()}
    assert hits(data, clear) == {"transcript in clear": []}
    assert hits(data.parent / "releases", clear)["transcript in clear"]
    # The scan can see every needle before the erasure (so it could fail after it).
    seen = hits(data, needles)
    assert all(seen.values()), seen
    assert "analytics.duckdb" in seen["canon text"]  # the copy analysts read holds the call too
    # The number as a caller would give it, not as the telephony system stored it.
    result = CliRunner().invoke(main, ["erase", "--kind", "number", "--value", "0" + number[3:],
                                       "--reason", "erasure request ER-2026-001", "--name", NAME])
    assert result.exit_code == 0, result.output
    certificate = json.loads(result.output[result.output.index("{"):])
    assert certificate["counts"]["call_record"] == 1 and certificate["suspended_by_hold"] == 0
    assert target not in result.output  # the certificate names the call only by hash

    assert hits(data, needles) == {name: [] for name in needles}
    # Nor in any file's name, and no release written before it is still where it was written.
    assert not [p for p in data.rglob("*") if national(number) in p.name.replace("_", "")]
    assert not [p for p in released if p.exists()]
    assert certificate["counts"]["quarantine"] == 2 and certificate["counts"]["third_party_fields"] == 2
    # The other caller's record stays; only the subject's values in it went.
    with duckdb.connect(str(db), read_only=True) as conn:
        kept = json.loads(conn.execute("SELECT extra FROM casework.calls WHERE call_id = ?", [other]).fetchone()[0])
    assert kept == {"transferred_from": "[erased]", "note": "[erased]", "queue": "Q7"}
    assert not list(data.rglob("*.wal")) and not list(data.rglob("*.rewrite"))
    assert (data / "analytics.duckdb").exists() and not list(data.glob(".analytics.duckdb.*"))  # republished
    with duckdb.connect(str(db), read_only=True) as conn:
        after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before}
        # Derived rows too: the rebuilt marts count one call fewer.
        marts = conn.execute("SELECT sum(calls) FROM intermediate.int_theme_days").fetchone()[0]
        assigned = conn.execute("SELECT count(*) FROM themes.call_themes").fetchone()[0]
        rewrites = conn.execute("SELECT count(*) FROM governance.warehouse_rewrites").fetchone()[0]
    assert after == {t: n - 1 for t, n in before.items()}
    assert target_mentions >= 1 and marts == assigned == assigned_before - target_mentions
    assert rewrites >= 1


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for sql in sys.stdin:
    print(con.execute(sql).fetchone()[0], flush=True)
"""


class Reader:
    """An analyst's kernel: another process, one read-only connection held open throughout."""

    def __init__(self, path: Path):
        import subprocess
        import sys

        self.process = subprocess.Popen([sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def ask(self, sql: str):
        self.process.stdin.write(sql.replace("\n", " ") + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def test_a_reader_holding_the_analytics_copy_never_fails_a_run(pipeline_run, tmp_path, monkeypatch):
    """A notebook's connection held open through `callcanon run` (ingest to marts, a retention
    sweep and its warehouse rewrite) and an erasure: both succeed, the reader keeps reading the
    copy it opened, and a new connection sees the new one."""
    import dataclasses
    from datetime import date, timedelta

    from assets.synthetic import demo_calls
    from pipelines.cli import main

    data = relocated_copy(pipeline_run, tmp_path / "data", monkeypatch)
    copy = data / "analytics.duckdb"
    grant_this_account(data / "warehouse.duckdb", "information_rights")
    today = date.today()
    new = [dataclasses.replace(c, call_id=f"call-{today:%Y%m%d}-0901")  # not one of the session's ids
           for c in demo_calls.build_calls(1, today, seed=5, days=1, expired=False)]
    demo_calls.write_calls(new, data / "landing")
    count = "SELECT count(*) FROM canon.transcripts"
    reader = Reader(copy)
    try:
        before = reader.ask(count)
        # Far enough ahead that retention deletes the new call's audio (30 days): sweep, rewrite, publish.
        ran = CliRunner().invoke(main, ["run", "--as-of", (today + timedelta(days=31)).isoformat()])
        assert ran.exit_code == 0, ran.output
        assert "retention sweep" in ran.output and "call date(s) with data due" in ran.output
        assert "transient" not in ran.output  # nothing had to wait for the reader
        fresh = Reader(copy)
        assert fresh.ask(count) == before + 1
        fresh.close()
        erased = CliRunner().invoke(main, ["erase", "--kind", "call", "--value", new[0].call_id,
                                           "--reason", "erasure request ER-2026-002"])
        assert erased.exit_code == 0, erased.output
        assert reader.ask(count) == before  # its snapshot, all along
        assert reader.ask("SELECT count(*) FROM marts.theme_trends") > 0
    finally:
        reader.close()
    fresh = Reader(copy)
    assert fresh.ask(count) == before
    assert fresh.ask(f"SELECT count(*) FROM canon.transcripts WHERE call_id = '{new[0].call_id}'") == 0
    fresh.close()
