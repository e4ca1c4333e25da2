"""Transcription on telephony audio: formats, channels, guards, bad input, caching.

Real espeak-ng speech encoded by PyAV into each format, real faster-whisper (packaged tiny.en).
"""

from __future__ import annotations

import json
import wave
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from assets import audio, ingest, keys, warehouse
from assets.audio.vault import AudioVault
from assets.ingest.untrusted import label
from assets.sealed_text import TRANSCRIPT
from assets.synthetic import demo_calls as demo_data
from assets.transcription.stage import transcribe_date
from assets.transcription.whisper import WhisperConfig, is_repetition_loop, transcribe_audio

TURNS = [("staff", "Hello, you are through to the complaints line."),
         ("caller", "I waited all night for pain relief on the ward.")]
ROLES = {"0": "staff", "1": "caller"}
DAY = date(2026, 3, 2)
VAULT = AudioVault(keys.load_audio_key())


@pytest.fixture(scope="module")
def tracks():
    return demo_data.render_tracks(TURNS)


@pytest.mark.parametrize("fmt, rate, stereo", [
    ("wav", 16000, False), ("wav-ulaw", 8000, True), ("wav-alaw", 8000, False),
    ("mp3", 44100, True), ("opus", 48000, False), ("flac", 22050, True), ("m4a", 8000, False),
])
def test_every_telephony_format_transcribes(tmp_path, tracks, fmt, rate, stereo):
    path = demo_data.write_audio(tracks, tmp_path / "call", fmt, rate, stereo)
    t = transcribe_audio(path, WhisperConfig(), ROLES if stereo else None)
    text = t.text.lower()
    assert "pain relief" in text and "complaint" in text, text
    speakers = [s.speaker for s in t.segments]
    # Stereo: one party per channel, interleaved by time. Mono: two voices told apart on the one
    # channel (diarization). Either way staff speaks first and the complaint is the caller's.
    assert speakers[0] == "staff" and "caller" in speakers
    assert [s.start_s for s in t.segments] == sorted(s.start_s for s in t.segments)
    assert any("pain relief" in s.text.lower() for s in t.segments if s.speaker == "caller"), t.segments
    words = [w for s in t.segments for w in s.words]
    assert words and all(0 <= w.start_s <= w.end_s <= t.duration_s + 0.5 and 0 < w.probability <= 1 for w in words)
    assert t.language == "en" and t.avg_logprob is not None and t.quality in ("ok", "noise_removed")


def test_on_an_outbound_mono_call_the_caller_answers(tmp_path, tracks):
    """The one who speaks first on a mono call is staff on an inbound call, the caller (who
    answers the phone) on an outbound one."""
    path = demo_data.write_audio(tracks, tmp_path / "call", "wav", 16000, False)
    t = transcribe_audio(path, WhisperConfig(), None, first_speaker="caller")
    assert t.segments[0].speaker == "caller" and "complaint" in t.segments[0].text.lower()
    assert any(s.speaker == "staff" for s in t.segments)


def test_repetition_loops_are_caught_but_numbers_are_not():
    assert is_repetition_loop("Thank you. Thank you. Thank you. Thank you. Thank you.", 1.6)
    assert is_repetition_loop("anything at all", 2.6)
    assert not is_repetition_loop("You can call me on zero, zero, zero, zero, zero, nine.", 1.4)
    assert not is_repetition_loop("I waited and waited for pain relief.", 1.1)


# --- bad input, end to end through ingest and transcription --------------------------------

def _sidecar(call_id: str, **extra) -> str:
    return json.dumps({"call_id": call_id, "started_at": f"{DAY.isoformat()}T10:00:00Z", **extra})


def _write_wav(path: Path, seconds: float, rate: int = 8000, declared_s: float | None = None) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x00" * int(rate * seconds))
    if declared_s is not None:  # lie in the header: a recording cut off mid-write
        data = bytearray(path.read_bytes())
        size = int(rate * declared_s) * 2
        data[40:44] = size.to_bytes(4, "little")
        data[4:8] = (size + 36).to_bytes(4, "little")
        path.write_bytes(bytes(data))


@pytest.fixture()
def zone(tmp_path, tracks):
    """A landing zone holding one good call and every kind of bad one."""
    landing, store, quarantine = tmp_path / "landing", tmp_path / "store", tmp_path / "quarantine"
    landing.mkdir()
    demo_data.write_audio(tracks, landing / "good", "wav-ulaw", 8000, True)
    (landing / "good.json").write_text(_sidecar("good", channels=ROLES))
    (landing / "empty.wav").write_bytes(b"")
    (landing / "empty.json").write_text(_sidecar("empty"))
    good = (landing / "good.wav").read_bytes()
    (landing / "truncated.wav").write_bytes(good[: len(good) // 3])
    (landing / "truncated.json").write_text(_sidecar("truncated"))
    (landing / "noise-bytes.wav").write_bytes(np.random.default_rng(1).bytes(8000))
    (landing / "noise-bytes.json").write_text(_sidecar("noise-bytes"))
    _write_wav(landing / "zero-length.wav", 0)
    (landing / "zero-length.json").write_text(_sidecar("zero-length"))
    _write_wav(landing / "silence.wav", 20)
    (landing / "silence.json").write_text(_sidecar("silence"))
    _write_wav(landing / "two-hours.wav", 2 * 3600)
    (landing / "two-hours.json").write_text(_sidecar("two-hours"))
    demo_data.write_audio(tracks, landing / "no-sidecar", "wav")
    (landing / "bad-json.wav").write_bytes(good)
    (landing / "bad-json.json").write_text('{"call_id": "bad-json", ')
    (landing / "bad-time.wav").write_bytes(good)
    (landing / "bad-time.json").write_text(json.dumps({"call_id": "bad-time", "started_at": "2nd of March"}))
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    warehouse.ensure_schema(conn)
    yield landing, store, quarantine, conn
    conn.close()


def _run(zone, config=WhisperConfig()):
    landing, store, quarantine, conn = zone
    ingest.ingest_date(conn, landing, store, quarantine, DAY, VAULT, sidecar_grace_s=0)
    return transcribe_date(conn, DAY, VAULT, config)


def test_each_bad_input_is_quarantined_with_its_reason_and_nothing_is_lost(zone):
    landing, store, quarantine, conn = zone
    result = _run(zone)
    reasons = {(item, stage): reason for item, stage, reason in conn.execute(
        "SELECT item, stage, reason FROM casework.quarantine").fetchall()}
    assert reasons == {  # files whose name no sidecar validated are named by a keyed hash
        (label("bad-json"), "ingest"): "bad_sidecar_json",
        (label("bad-time"), "ingest"): "bad_sidecar",
        (label("no-sidecar"), "ingest"): "missing_sidecar",
        ("empty", "transcribe"): "empty_file",
        ("truncated", "transcribe"): "truncated_audio",
        ("noise-bytes", "transcribe"): "undecodable_audio",
        ("zero-length", "transcribe"): "zero_length",
        ("silence", "transcribe"): "silent_audio",
        ("two-hours", "transcribe"): "too_long",
    }
    # The run went on: the good call is transcribed, with both parties.
    assert result.transcribed == 1
    speakers = {r[0] for r in conn.execute("SELECT DISTINCT speaker FROM casework.segments").fetchall()}
    assert speakers == {"staff", "caller"}
    # Nothing lost: every file still exists, in quarantine or in the store.
    kept = {p.name for p in quarantine.rglob("*") if p.is_file()} | {p.name for p in store.rglob("*") if p.is_file()}
    assert {"bad-json.json", "bad-json.wav", "bad-time.json", "no-sidecar.wav"} <= kept  # as landed
    assert {"empty.wav.sealed", "truncated.wav.sealed", "two-hours.wav.sealed", "good.wav.sealed"} <= kept
    assert not list(landing.iterdir())
    details = " ".join(r[0] for r in conn.execute("SELECT detail FROM casework.quarantine").fetchall())
    assert "2.00 h exceeds" in details and "declares" in details


def test_audio_is_sealed_at_rest_and_a_broken_seal_is_quarantined_not_transcribed(zone, tracks):
    landing, store, quarantine, conn = zone
    demo_data.write_audio(tracks, landing / "second", "wav")
    (landing / "second.json").write_text(_sidecar("second"))
    plain = {name: (landing / f"{name}.wav").read_bytes() for name in ("good", "second")}
    ingest.ingest_date(conn, landing, store, quarantine, DAY, VAULT, sidecar_grace_s=0)
    stored = {p.name: p for p in store.rglob("*") if p.is_file()}
    assert not [n for n in stored if not n.endswith(".sealed")]  # no plaintext audio at rest
    for name, data in plain.items():
        sealed = stored[f"{name}.wav.sealed"].read_bytes()
        assert data[1000:1064] not in sealed and b"RIFF" not in sealed
    # Someone flips one byte of the good call and puts the first call's file in place of the second.
    good = bytearray(stored["good.wav.sealed"].read_bytes())
    good[len(good) // 2] ^= 1
    stored["good.wav.sealed"].write_bytes(bytes(good))
    stored["second.wav.sealed"].write_bytes(stored["empty.wav.sealed"].read_bytes())
    result = transcribe_date(conn, DAY, VAULT)
    reasons = dict(conn.execute("SELECT item, reason FROM casework.quarantine WHERE stage = 'transcribe'").fetchall())
    assert reasons["good"] == reasons["second"] == "seal_broken"
    assert result.transcribed == 0
    # The wrong key reads nothing either.
    with pytest.raises(audio.AudioProblem, match="seal_broken"):
        AudioVault(bytes(32)).open(stored["truncated.wav.sealed"], "truncated")


@pytest.mark.slow
def test_a_fixed_call_is_processed_on_the_next_run_and_leaves_quarantine(zone, tracks):
    landing, store, quarantine, conn = zone
    _run(zone)
    # Fix: the telephony system re-sends the truncated call whole, and the bad JSON corrected.
    demo_data.write_audio(tracks, landing / "truncated", "wav")
    (landing / "truncated.json").write_text(_sidecar("truncated"))
    (quarantine / label("bad-json") / "bad-json.wav").rename(landing / "bad-json.wav")
    (landing / "bad-json.json").write_text(_sidecar("bad-json"))
    result = _run(zone)
    assert result.transcribed == 2 and result.cached == 1
    left = {r[0] for r in conn.execute("SELECT item FROM casework.quarantine").fetchall()}
    assert "truncated" not in left and label("bad-json") not in left
    assert conn.execute("SELECT count(*) FROM casework.transcripts").fetchone()[0] == 3
    # The truncated recording the fix replaced is kept, still sealed, beside the call's quarantine.
    assert [p.name for p in (quarantine / "truncated" / "superseded").iterdir()] == ["truncated.wav.sealed"]


@pytest.mark.slow
def test_rerun_replaces_never_duplicates_and_reuses_the_cache(zone):
    _, _, _, conn = zone
    first = _run(zone)
    counts = [conn.execute(f"SELECT count(*) FROM casework.{t}").fetchone()[0]
              for t in ("transcripts", "segments", "words")]
    second = _run(zone)
    assert (first.transcribed, second.transcribed, second.cached) == (1, 0, 1)
    assert counts == [conn.execute(f"SELECT count(*) FROM casework.{t}").fetchone()[0]
                      for t in ("transcripts", "segments", "words")]
    # Other settings, another cache key: transcribed again, still one row per call.
    third = _run(zone, replace(WhisperConfig(), beam_size=2))
    assert third.transcribed == 1
    assert conn.execute("SELECT count(*) FROM casework.transcripts").fetchone()[0] == 1


def test_progress_reports_calls_audio_hours_and_real_time_factor(zone):
    lines = []
    landing, store, quarantine, conn = zone
    ingest.ingest_date(conn, landing, store, quarantine, DAY, VAULT, sidecar_grace_s=0)
    transcribe_date(conn, DAY, VAULT, WhisperConfig(), log=lines.append)
    assert lines and all("calls" in line and " h audio" in line and "RTF" in line for line in lines)


def test_probe_refuses_a_file_that_is_not_audio(tmp_path):
    path = tmp_path / "x.wav"
    path.write_text("this is a text file")
    with pytest.raises(audio.AudioProblem) as err:
        audio.probe(path)
    assert err.value.reason == "undecodable_audio"


SIDE_BY_SIDE = {
    "ward": ("wav-ulaw", True, [("staff", "Complaints line, how can I help?"),
                                 ("caller", "I waited all night for pain relief on the ward.")]),
    "letter": ("wav-ulaw", True, [("staff", "Complaints line."),
                                   ("caller", "Nobody told me my appointment was cancelled.")]),
    "nurse": ("wav", False, [("staff", "Hello, complaints."),
                              ("caller", "The nurse was rude to my mother on the ward.")]),
}


def test_calls_transcribed_side_by_side_keep_their_own_words_and_times(tmp_path):
    """A day's calls are transcribed several at once (`WhisperConfig.workers`, one core each):
    no call takes another's words or word times, and how many at once is not in the cache key,
    so a deployment that changes it does not transcribe its calls again."""
    landing, conn = tmp_path / "landing", duckdb.connect(str(tmp_path / "wh.duckdb"))
    landing.mkdir()
    for call_id, (fmt, stereo, turns) in SIDE_BY_SIDE.items():
        demo_data.write_audio(demo_data.render_tracks(turns), landing / call_id, fmt, 8000 if stereo else 16000, stereo)
        (landing / f"{call_id}.json").write_text(_sidecar(call_id, **({"channels": ROLES} if stereo else {})))
    warehouse.ensure_schema(conn)
    ingest.ingest_date(conn, landing, tmp_path / "store", tmp_path / "q", DAY, VAULT, sidecar_grace_s=0)
    result = transcribe_date(conn, DAY, VAULT, WhisperConfig(workers=3))
    assert result.transcribed == 3 and not result.quarantined
    said = {"ward": "pain relief", "letter": "appointment", "nurse": "rude"}
    for call_id, text in conn.execute("SELECT call_id, text FROM casework.transcripts").fetchall():
        heard = VAULT.text.open(text, call_id, TRANSCRIPT).lower()
        assert said[call_id] in heard and not [w for c, w in said.items() if c != call_id and w in heard], heard
    # Every word inside its own call and in order within its segment.
    rows = conn.execute("SELECT w.call_id, w.seg_idx, w.start_s, w.end_s, t.duration_s FROM casework.words w "
                        "JOIN casework.transcripts t USING (call_id) ORDER BY 1, 2, w.word_idx").fetchall()
    assert rows and all(0 <= start <= end <= duration + 0.5 for _, _, start, end, duration in rows)
    for (call, seg, start, _, _), (call2, seg2, start2, _, _) in zip(rows, rows[1:]):
        assert (call, seg) != (call2, seg2) or start <= start2
    assert WhisperConfig(workers=1).cache_key("ab", ROLES) == WhisperConfig(workers=4).cache_key("ab", ROLES)
    assert transcribe_date(conn, DAY, VAULT, WhisperConfig(workers=1)).cached == 3
    conn.close()
