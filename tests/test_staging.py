"""Transcription without the warehouse (issue 23): ingest writes a sealed manifest, a worker that
holds only the audio key and the stores stages sealed results, the loader takes them in one
transaction. A worker killed mid-call leaves nothing the loader would take; a staged file that
fails its seal is quarantined, not loaded. Real espeak-ng calls, real faster-whisper, real Presidio.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date

import duckdb
import pytest
from conftest import run_killed_at

from assets import ingest, keys, warehouse
from assets.audio.vault import AudioVault
from assets.pii import Pseudonymiser
from assets.staging import PROBLEMS, REDACTED, TRANSCRIPTS, Staging
from assets.synthetic import demo_calls as demo_data
from assets.transcription import staged
from assets.transcription.loader import load_staged

DAY = date(2026, 3, 4)
ROLES = {"0": "staff", "1": "caller"}
CALLS = {
    "call-a": [("staff", "Complaints line, how can I help?"), ("caller", "I waited all night for pain relief.")],
    "call-b": [("staff", "Complaints line."), ("caller", "Nobody told me my appointment was cancelled.")],
    "call-c": [("staff", "Hello."), ("caller", "The nurse was rude to my mother on the ward.")],
}


@pytest.fixture()
def landed(tmp_path):
    """Three two-channel calls ingested and their manifest written, as the ingest step does."""
    landing = tmp_path / "landing"
    landing.mkdir()
    for call_id, turns in CALLS.items():
        demo_data.write_audio(demo_data.render_tracks(turns), landing / call_id, "wav-ulaw", 8000, True)
        (landing / f"{call_id}.json").write_text(
            f'{{"call_id": "{call_id}", "started_at": "{DAY}T10:00:00Z", "channels": {{"0": "staff", "1": "caller"}}}}')
    vault = AudioVault(keys.load_audio_key())
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    warehouse.ensure_schema(conn)
    ingest.ingest_date(conn, landing, tmp_path / "audio", tmp_path / "quarantine", DAY, vault, sidecar_grace_s=0)
    staging = Staging(tmp_path / "staging", vault)
    assert staged.write_manifest(conn, staging, DAY) == 3
    yield conn, staging, tmp_path
    conn.close()


WORKER = """
import sys
import time
from datetime import date
from assets.audio.vault import AudioVault
from assets.staging import Staging
from assets.transcription import staged
from assets.transcription.loader import load_staged
staged.stage_transcripts(Staging(sys.argv[1], AudioVault.from_keys()), date.fromisoformat(sys.argv[2]),
                         log=lambda line: print(line, flush=True))
print("worker done", flush=True)
"""


def _worker_env(tmp_path) -> dict:
    """A worker's environment: the audio key, no warehouse setting, another working directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("CALLCANON_WAREHOUSE", "CALLCANON_DATA")}
    env["CALLCANON_DATA"] = str(tmp_path / "worker-has-no-data")
    return env


def _run_worker(tmp_path, staging, kill_at: str | None = None) -> str:
    import signal

    cwd = tmp_path / "worker"
    cwd.mkdir(exist_ok=True)
    code, out = run_killed_at([sys.executable, "-c", WORKER, str(staging.root), DAY.isoformat()],
                              _worker_env(tmp_path), kill_at, timeout=300, cwd=cwd)
    assert (code == -signal.SIGKILL) if kill_at else (code == 0), out
    assert not (tmp_path / "worker-has-no-data").exists()  # the worker made and opened no warehouse
    return out


def _transcripts(conn) -> dict[str, str]:
    return dict(conn.execute("SELECT call_id, cache_key FROM casework.transcripts ORDER BY 1").fetchall())


def test_a_worker_killed_mid_call_leaves_nothing_the_loader_takes_and_a_rerun_completes(landed):
    conn, staging, tmp_path = landed
    # SIGKILL once the worker has staged its first call, while it is on others (it transcribes
    # calls side by side, `WhisperConfig.workers`, so which finishes first is not fixed): what
    # is staged is whole, the calls it was on are not staged at all.
    _run_worker(tmp_path, staging, kill_at="staged 1/3")
    first = [c for c, _ in staging.staged(DAY, TRANSCRIPTS)]
    assert 1 <= len(first) < len(CALLS)
    rest = sorted(set(CALLS) - set(first))
    # A worker killed while writing leaves a `*.partial` (write-then-rename): simulate one, cut short.
    half = staging.path(DAY, TRANSCRIPTS, rest[0])
    half = half.with_name(half.name + ".partial")
    half.write_bytes(b"\x00" * 40)
    fresh = staging.path(DAY, TRANSCRIPTS, "call-d").with_name("call-d.json.sealed.partial")
    fresh.write_bytes(b"\x00" * 40)  # one a worker may still be writing
    os.utime(half, (time.time() - 7200,) * 2)
    assert staged.stage_redactions(staging, DAY, Pseudonymiser.detector(), tmp_path / "redacted").staged == len(first)

    out = load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    assert list(_transcripts(conn)) == sorted(first) and not out.broken
    # Loaded and removed; the old half file removed unread; the young one left to its writer.
    assert list((staging.day(DAY) / TRANSCRIPTS).iterdir()) == [fresh]
    fresh.unlink()
    assert not conn.execute("SELECT count(*) FROM casework.quarantine").fetchone()[0]

    # The next run: ingest writes the manifest again (the first calls now have transcripts), a worker finishes.
    assert staged.write_manifest(conn, staging, DAY) == 3
    assert "worker done" in _run_worker(tmp_path, staging)
    assert sorted(c for c, _ in staging.staged(DAY, TRANSCRIPTS)) == rest  # the first ones cached
    before = _transcripts(conn)
    load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    loaded = _transcripts(conn)
    assert list(loaded) == ["call-a", "call-b", "call-c"] and all(loaded[c] == before[c] for c in first)
    texts = conn.execute("SELECT count(*) FROM casework.words").fetchone()[0]
    assert texts > 10


def test_a_staged_file_that_fails_its_seal_is_quarantined_not_loaded(landed):
    conn, staging, tmp_path = landed
    run = staged.stage_transcripts(staging, DAY)
    assert run.staged == 3 and run.manifest
    redactions = staged.stage_redactions(staging, DAY, Pseudonymiser.detector(), tmp_path / "redacted")
    assert redactions.staged == 3
    # One file tampered with; one call's result put under another call's name (its seal names its call).
    tampered = staging.path(DAY, TRANSCRIPTS, "call-a")
    data = bytearray(tampered.read_bytes())
    data[-5] ^= 1
    tampered.write_bytes(bytes(data))
    staging.path(DAY, REDACTED, "call-c").write_bytes(staging.path(DAY, REDACTED, "call-b").read_bytes())

    out = load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    assert sorted(out.broken) == [("call-a", "seal_broken"), ("call-c", "seal_broken")]
    assert list(_transcripts(conn)) == ["call-b", "call-c"]
    redacted = dict(conn.execute("SELECT call_id, path FROM casework.redacted_audio").fetchall())
    # call-a's redacted copy was made from the transcript that no longer opens: not loaded either.
    assert list(redacted) == ["call-b"] and os.path.exists(redacted["call-b"]) and out.stale == 1
    rows = conn.execute("SELECT item, stage, reason, location FROM casework.quarantine ORDER BY 1").fetchall()
    assert [r[:3] for r in rows] == [("call-a", "load_transcripts", "seal_broken"),
                                     ("call-c", "load_redacted_audio", "seal_broken")]
    # Kept sealed for a look, under the call's own quarantine folder (where its erasure looks).
    assert all(os.path.exists(r[3]) and f"/quarantine/{r[0]}/" in r[3] for r in rows)
    assert not any(staging.staged(DAY, kind) for kind in (TRANSCRIPTS, REDACTED, PROBLEMS))


def test_results_staged_for_a_call_erased_before_loading_are_removed_not_loaded(landed):
    conn, staging, tmp_path = landed
    staged.stage_transcripts(staging, DAY)
    staged.stage_redactions(staging, DAY, Pseudonymiser.detector(), tmp_path / "redacted")
    copy = tmp_path / "redacted" / str(DAY) / "call-b.wav.sealed"
    assert copy.exists()
    conn.execute("DELETE FROM casework.calls WHERE call_id = 'call-b'")  # what erasure leaves behind
    out = load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    assert out.dropped == 1 and list(_transcripts(conn)) == ["call-a", "call-c"]
    assert not copy.exists() and not staging.path(DAY, TRANSCRIPTS, "call-b").exists()


def test_an_erasure_removes_what_is_staged_for_the_call_and_its_place_in_the_manifest(landed, monkeypatch):
    from assets.retention.erasure import _erase_staged

    conn, staging, tmp_path = landed
    monkeypatch.setenv("CALLCANON_STAGING", str(staging.root))
    monkeypatch.setenv("CALLCANON_REDACTED_AUDIO", str(tmp_path / "redacted"))
    staged.stage_transcripts(staging, DAY)
    staged.stage_redactions(staging, DAY, Pseudonymiser.detector(), tmp_path / "redacted")
    _erase_staged(["call-b"], {"call-b": DAY})
    assert not any(staging.path(DAY, kind, "call-b").exists() for kind in (TRANSCRIPTS, REDACTED, PROBLEMS))
    assert not (tmp_path / "redacted" / str(DAY) / "call-b.wav.sealed").exists()
    assert [c["call_id"] for c in staging.manifest(DAY)] == ["call-a", "call-c"]
    assert (tmp_path / "redacted" / str(DAY) / "call-a.wav.sealed").exists()  # the others untouched


def test_a_late_result_never_replaces_a_newer_transcript_and_a_missing_copy_is_made_again(landed):
    conn, staging, tmp_path = landed
    staged.stage_transcripts(staging, DAY)
    late = staging.get(staging.path(DAY, TRANSCRIPTS, "call-a"), TRANSCRIPTS, "call-a")
    staged.stage_redactions(staging, DAY, Pseudonymiser.detector(), tmp_path / "redacted")
    load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    stored = conn.execute("SELECT transcribed_at FROM casework.transcripts WHERE call_id = 'call-a'").fetchone()[0]
    # A worker that was slow (or re-run from an old manifest) stages call-a again, from before the load.
    staging.put(DAY, TRANSCRIPTS, "call-a", {k: v for k, v in late.items() if k != "v"})
    out = load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    assert out.stale == 1 and not out.transcribed.done
    assert conn.execute("SELECT transcribed_at FROM casework.transcripts WHERE call_id = 'call-a'").fetchone()[0] \
        == stored
    # A call whose redacted copy is missing is listed to be done again (a worker cannot read the warehouse).
    conn.execute("DELETE FROM casework.redacted_audio WHERE call_id = 'call-c'")
    staged.write_manifest(conn, staging, DAY)
    keys = {c["call_id"]: c["cache_key"] for c in staging.manifest(DAY)}
    assert keys["call-c"] is None and keys["call-a"] and keys["call-b"]
    assert staged.stage_transcripts(staging, DAY).staged == 1
    staged.stage_redactions(staging, DAY, Pseudonymiser.detector(), tmp_path / "redacted")
    load_staged(conn, staging, DAY, tmp_path / "quarantine", tmp_path / "redacted")
    assert conn.execute("SELECT count(*) FROM casework.redacted_audio").fetchone()[0] == 3
