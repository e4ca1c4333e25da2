"""The landing zone under attack (issue 17): what a careless sender or an attacker who can write
to it left there, each tried against the real ingest stage (DuckDB, the audio vault, the files).
Each of these happened before the fix: a link's target sealed and served, a FIFO hanging the run,
a second call with the same id overwriting the first, a 1900 date stopping every run."""

from __future__ import annotations

import json
import os
import signal
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import AUDIO_KEY

from assets import warehouse
from assets.audio.vault import AudioVault
from assets.ingest import landing, register, untrusted

TODAY = date.today()
SECRET = b"0123456789abcdef-not-a-recording-but-a-key-file"


@pytest.fixture
def site(tmp_path):
    dirs = {name: tmp_path / name for name in ("landing", "store", "quarantine", "outside")}
    for d in dirs.values():
        d.mkdir()
    conn = warehouse.connect(tmp_path / "warehouse.duckdb")
    warehouse.ensure_schema(conn)
    yield conn, dirs
    conn.close()


def _sidecar(call_id: str, day: date = TODAY, **extra) -> str:
    return json.dumps({"call_id": call_id, "started_at": f"{day.isoformat()}T10:00:00", **extra})


def _land(dirs, call_id: str, audio: bytes = b"RIFF-audio-1", **extra) -> None:
    (dirs["landing"] / f"{call_id}.json").write_text(_sidecar(call_id, **extra))
    (dirs["landing"] / f"{call_id}.wav").write_bytes(audio)


def _ingest(conn, dirs, day: date = TODAY, limits: landing.Limits | None = None):
    limits = limits or landing.Limits.today(64 * 1024, 10 * 1024 * 1024, date(2026, 1, 1), 1)
    # A FIFO read would block forever: fail the test instead of hanging the suite.
    signal.alarm(30)
    try:
        return register.ingest_date(conn, dirs["landing"], dirs["store"], dirs["quarantine"], day,
                                    AudioVault(bytes.fromhex(AUDIO_KEY)), 0, limits)
    finally:
        signal.alarm(0)


def _every_byte_under(*folders: Path) -> bytes:
    return b"".join(p.read_bytes() for f in folders for p in f.rglob("*") if p.is_file() and not p.is_symlink())


def _reasons(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT item, reason FROM casework.quarantine").fetchall())


def test_links_fifos_and_devices_are_refused_and_no_target_is_read_or_copied(site):
    conn, dirs = site
    secret = dirs["outside"] / "pseudonym.key"
    secret.write_bytes(SECRET)
    (dirs["outside"] / "real.wav").write_bytes(b"RIFF-a-recording-outside-the-landing-zone")
    landed = dirs["landing"]
    (landed / "link-audio.json").write_text(_sidecar("link-audio"))
    (landed / "link-audio.wav").symlink_to(secret)                  # audio -> a key file
    (landed / "link-sidecar.json").symlink_to(secret)               # sidecar -> a key file
    (landed / "link-sidecar.wav").write_bytes(b"RIFF-plain")
    (landed / "elsewhere.json").write_text(_sidecar("elsewhere"))
    (landed / "elsewhere.wav").symlink_to(dirs["outside"] / "real.wav")  # a recording outside
    (landed / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(landed / "fifo.json")
    _land(dirs, "good-call")

    result = _ingest(conn, dirs)

    assert result.registered == ["good-call"]
    reasons = _reasons(conn)
    for stem in ("link-audio", "link-sidecar", "elsewhere", "zero", "fifo"):
        assert reasons.pop(untrusted.label(stem)) == "not_a_regular_file", stem
    assert not reasons
    # No link was followed: the key's bytes are nowhere in the data, the store holds one call.
    data = _every_byte_under(dirs["store"], dirs["quarantine"])
    assert SECRET not in data and b"outside-the-landing-zone" not in data
    assert [p.name for p in dirs["store"].rglob("*.sealed")] == ["good-call.wav.sealed"]
    assert secret.read_bytes() == SECRET and not list(landed.iterdir())
    # The regular half of a refused pair waits in quarantine.
    assert (dirs["quarantine"] / untrusted.label("link-sidecar") / "link-sidecar.wav").read_bytes() == b"RIFF-plain"


def test_a_call_id_landed_twice_never_replaces_the_first(site):
    conn, dirs = site
    _land(dirs, "call-1", audio=b"RIFF-the-first-recording", external_number="07700 900001")
    _ingest(conn, dirs)
    [sealed] = dirs["store"].rglob("*.sealed")
    first_bytes, first_row = sealed.read_bytes(), conn.execute("SELECT * FROM casework.calls").fetchall()

    _land(dirs, "call-1", audio=b"RIFF-another-recording", external_number="07700 900002")
    result = _ingest(conn, dirs)

    assert result.quarantined == [("call-1", "duplicate_call_id")] and not result.registered
    assert sealed.read_bytes() == first_bytes
    assert conn.execute("SELECT * FROM casework.calls").fetchall() == first_row
    kept = dirs["quarantine"] / "call-1"
    assert (kept / "call-1.wav").read_bytes() == b"RIFF-another-recording"
    # A third, broken send is kept beside the second, not over it.
    _land(dirs, "call-1", audio=b"RIFF-a-third-recording", external_number="07700 900003")
    _ingest(conn, dirs)
    assert sorted(p.name for p in kept.iterdir()) == ["call-1.json", "call-1.json.1", "call-1.wav", "call-1.wav.1"]
    # The same delivery again (a re-run after a crash, or sent twice) is recognised, not doubled.
    _land(dirs, "call-1", audio=b"RIFF-the-first-recording", external_number="07700 900001")
    again = _ingest(conn, dirs)
    assert again.already == ["call-1"] and not again.quarantined and not list(dirs["landing"].iterdir())
    assert sealed.read_bytes() == first_bytes


def test_dates_outside_the_partitions_and_oversized_or_deep_sidecars_are_quarantined_and_the_rest_go_on(site):
    conn, dirs = site
    _land(dirs, "from-1900", day=date(1900, 1, 1))
    _land(dirs, "from-2100", day=date(2100, 1, 1))
    _land(dirs, "tomorrow", day=TODAY + timedelta(days=1))  # a skewed clock: waits for its partition
    (dirs["landing"] / "deep.json").write_text("[" * 30_000 + "]" * 30_000)  # under the size limit
    (dirs["landing"] / "deep.wav").write_bytes(b"RIFF")
    (dirs["landing"] / "huge.json").write_text(_sidecar("huge", padding="x" * 200_000))
    (dirs["landing"] / "huge.wav").write_bytes(b"RIFF")
    (dirs["landing"] / "big-audio.json").write_text(_sidecar("big-audio"))
    (dirs["landing"] / "big-audio.wav").write_bytes(b"R" * 2048)
    _land(dirs, "good-call")
    limits = landing.Limits.today(64 * 1024, 1024, date(2026, 1, 1), 1)

    result = _ingest(conn, dirs, limits=limits)

    assert result.registered == ["good-call"]
    assert _reasons(conn) == {
        "from-1900": "date_out_of_range", "from-2100": "date_out_of_range",
        untrusted.label("deep"): "bad_sidecar_json", untrusted.label("huge"): "sidecar_too_large",
        untrusted.label("big-audio"): "audio_too_large"}
    assert sorted(p.name for p in dirs["landing"].iterdir()) == ["tomorrow.json", "tomorrow.wav"]
    # Which dates a run must cover: the good ones, and today's run to quarantine what has no date.
    _land(dirs, "from-1900", day=date(1900, 1, 1))
    assert register.pending_dates(dirs["landing"], limits, TODAY) == [TODAY]


def test_names_from_the_sender_never_reach_logs_or_leave_the_quarantine_folder(site):
    conn, dirs = site
    (dirs["landing"] / "...json").write_text("{not json")
    (dirs["landing"] / "call\nINFO forged log line.json").write_text("{not json")
    (dirs["landing"] / "07700 900123.json").write_text(_sidecar("07700 900123"))
    (dirs["landing"] / "07700 900123.wav").write_bytes(b"RIFF")

    result = _ingest(conn, dirs)

    logged = " ".join(f"{item} {reason}" for item, reason in result.quarantined)
    assert "\n" not in logged and "forged" not in logged and "900123" not in logged
    recorded = str(conn.execute("SELECT list(item || detail || location) FROM casework.quarantine").fetchone()[0])
    assert "900123" not in recorded and "forged" not in recorded
    quarantine = dirs["quarantine"].resolve()
    for path in quarantine.rglob("*"):
        assert path.resolve().is_relative_to(quarantine) and "\n" not in path.name
    assert not list(dirs["quarantine"].parent.glob("*.json"))  # `...json` did not climb out
    assert not list(dirs["landing"].iterdir())


def test_a_fixed_recording_for_a_call_transcription_refused_replaces_it_and_the_first_is_kept(site):
    conn, dirs = site
    _land(dirs, "call-2", audio=b"RIFF-undecodable")
    _ingest(conn, dirs)
    [sealed] = dirs["store"].rglob("*.sealed")
    first = sealed.read_bytes()
    warehouse.record_quarantine(conn, "call-2", "transcribe", "undecodable_audio", "test", str(sealed))
    _land(dirs, "call-2", audio=b"RIFF-the-fixed-recording")

    result = _ingest(conn, dirs)

    assert result.replaced == ["call-2"] and result.registered == ["call-2"]
    assert (dirs["quarantine"] / "call-2" / "superseded" / sealed.name).read_bytes() == first
    assert sealed.read_bytes() != first  # the fixed one, sealed where the call's row points


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another account needs root")
def test_a_file_owned_by_another_account_is_refused_and_left_where_it_is(site):
    conn, dirs = site
    _land(dirs, "foreign")
    for name in ("foreign.json", "foreign.wav"):
        os.chown(dirs["landing"] / name, 65534, 65534)
    _land(dirs, "good-call")

    result = _ingest(conn, dirs)

    assert result.registered == ["good-call"]
    assert _reasons(conn) == {untrusted.label("foreign"): "not_owned"}
    assert sorted(p.name for p in dirs["landing"].iterdir()) == ["foreign.json", "foreign.wav"]


def test_a_year_that_overflows_and_a_name_that_is_not_utf8_are_refused_not_fatal(site):
    """Found in review: year 1 overflowed converting to London time, and a non-UTF-8 name
    crashed the query that looks for a half-ingested call; either stopped every run."""
    conn, dirs = site
    (dirs["landing"] / "year-one.json").write_text('{"call_id": "year-one", "started_at": "0001-01-01T00:00:00Z"}')
    (dirs["landing"] / "year-one.wav").write_bytes(b"RIFF")
    raw = os.fsencode(dirs["landing"]) + b"/\xff\xfe"
    with open(raw + b".json", "wb") as fh:
        fh.write(b"{not json")
    with open(raw + b"-orphan.wav", "wb") as fh:
        fh.write(b"RIFF")
    os.utime(raw + b"-orphan.wav", (0, 0))  # long past the sidecar grace
    _land(dirs, "good-call")

    result = _ingest(conn, dirs)

    assert result.registered == ["good-call"]
    assert sorted(_reasons(conn).values()) == ["bad_sidecar", "bad_sidecar_json", "missing_sidecar"]
    assert register.pending_dates(dirs["landing"], landing.Limits(), TODAY) == []


def test_the_json_depth_check_takes_linear_time_on_a_string_that_never_closes():
    signal.alarm(3)  # the regex it replaced took about 30 s on 64 KB of this
    try:
        assert untrusted.json_depth(b'"' + b'\\"' * 32_000) == 0
        assert untrusted.json_depth(b'{"a": [1, {"b": "]]]"}]}') == 3
    finally:
        signal.alarm(0)
