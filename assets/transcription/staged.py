"""Transcription without the warehouse: the manifest ingest writes, and the two worker steps
(transcribe, redact) that read it and stage their results (`assets.staging` says why and how;
`assets.transcription.loader` brings them into the warehouse).

A worker holds the audio key and the staging and audio locations, nothing else: no warehouse,
no pseudonym key (redaction finds identifiers with a key-less detector).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from assets import audio, locations, warehouse
from assets.audio.redaction import TimedWord, redact_call
from assets.sealed_text import TRANSCRIPT, word_place
from assets.staging import PROBLEMS, REDACTED, TRANSCRIPTS, StagedFileBroken, Staging
from assets.transcription.stage import cache_key, each_transcribed, pending_calls
from assets.transcription.whisper import WhisperConfig

_MANIFEST_FIELDS = ("call_id", "audio_path", "audio_sha256", "channels", "cache_key", "direction")


def worker_name() -> str:
    """Where a step ran, for its metadata: the name a deployment gives the worker
    (CALLCANON_WORKER_NAME, e.g. a pod's name), or its host and process."""
    from assets.settings import Settings

    return Settings.from_env().worker_name or f"{socket.gethostname()}:{os.getpid()}"


# --- ingest's side (a warehouse step) -------------------------------------------------------------

def write_manifest(conn, staging: Staging, call_date) -> int:
    """The date's calls still to transcribe, for the workers: ids, sealed-audio locations, audio
    hashes, channels, the cache key each transcript has now, direction, and whether its redacted
    copy may still be made (retention has not removed that class). A call still owed its
    redacted copy (its redaction failed, or was never made) is listed with no cache key: the
    worker transcribes it again, since a worker cannot read the stored transcript. Returns how
    many calls."""
    retired = {r[0] for r in conn.execute(warehouse.retired_sql("redacted_audio")).fetchall()}
    redacted = {r[0] for r in conn.execute(
        "SELECT call_id FROM casework.redacted_audio WHERE call_date = ?", [call_date]).fetchall()}
    calls = []
    for row in pending_calls(conn, call_date):
        c = {**dict(zip(_MANIFEST_FIELDS, row)), "redact": row[0] not in retired}
        if c["redact"] and row[0] not in redacted:
            c["cache_key"] = None
        calls.append(c)
    staging.write_manifest(call_date, calls)
    return len(calls)


# --- the workers' side ----------------------------------------------------------------------------

@dataclass
class StagedRun:
    staged: int = 0
    cached: int = 0
    already_staged: int = 0
    problems: int = 0
    audio_seconds: float = 0.0
    elapsed_s: float = 0.0
    manifest: bool = True


def _as_call(c: dict) -> tuple:
    return tuple(c[k] for k in _MANIFEST_FIELDS)


def stage_transcripts(staging: Staging, call_date, config: WhisperConfig = WhisperConfig(), log=None) -> StagedRun:
    """Transcribe the manifest's calls (`config.workers` at a time) and stage each one as soon as
    it is done, so a worker that dies loses only the calls it was on. A call whose transcript
    already has this cache key is skipped, and so is one already staged with it (a re-run after
    a killed worker)."""
    calls = staging.manifest(call_date)
    run = StagedRun(manifest=calls is not None)
    todo = []
    for call in map(_as_call, calls or []):
        key, path = cache_key(call, config), staging.path(call_date, TRANSCRIPTS, call[0])
        if key == call[4]:
            run.cached += 1
            locations.remove(str(path))  # an older run's result, which the stored one replaces
        elif path.exists() and _staged_key(staging, TRANSCRIPTS, path, call[0]) == key:
            run.already_staged += 1
        else:
            todo.append(call)
    started = time.perf_counter()
    for i, (call, rows) in enumerate(each_transcribed(call_date, todo, staging.vault, config,
                                                      staging.vault.text.seal), 1):
        call_id, audio_path = call[0], call[1]
        if isinstance(rows, audio.AudioProblem):
            staging.put(call_date, PROBLEMS, call_id, dict(
                stage="transcribe", reason=rows.reason, detail=rows.detail, audio_path=audio_path))
            # an older result of the same call must not be loaded instead
            locations.remove(str(staging.path(call_date, TRANSCRIPTS, call_id)))
            run.problems += 1
            continue
        staging.put(call_date, TRANSCRIPTS, call_id, rows)
        locations.remove(str(staging.path(call_date, PROBLEMS, call_id)))  # a problem since resolved
        run.staged += 1
        run.audio_seconds += rows["duration_s"]
        run.elapsed_s = time.perf_counter() - started  # the wall clock: calls overlap
        if log:
            log(f"staged {i}/{len(todo)} calls, {run.audio_seconds / 3600:.3f} h audio")
    return run


def _staged_key(staging: Staging, kind: str, path, call_id: str) -> str | None:
    """The cache key a staged result was made for; None when it does not open (made again, and
    the broken one overwritten)."""
    try:
        payload = staging.get(path, kind, call_id) or {}
    except StagedFileBroken:
        return None
    return (payload.get("transcript", {}) if kind == TRANSCRIPTS else payload).get("cache_key")


def stage_redactions(staging: Staging, call_date, detector, out_root, log=None) -> StagedRun:
    """A redacted copy of every call whose transcript is staged (and whose redacted copy
    retention has not removed), written to the redacted-audio store; its row staged."""
    listed = {c["call_id"]: c for c in staging.manifest(call_date) or []}
    run = StagedRun()
    for call_id, path in staging.staged(call_date, TRANSCRIPTS):
        if not listed.get(call_id, {}).get("redact"):
            continue
        try:
            rows = staging.get(path, TRANSCRIPTS, call_id)
        except StagedFileBroken:
            continue  # the loader quarantines it
        if rows is None:
            continue
        t = rows["transcript"]
        done = staging.path(call_date, REDACTED, call_id)
        if done.exists() and _staged_key(staging, REDACTED, done, call_id) == t["cache_key"]:
            run.already_staged += 1
            continue
        opened = staging.vault.text.open
        text = opened(t["text"], call_id, TRANSCRIPT)
        words = [TimedWord(w["start_s"], w["end_s"],
                           opened(w["word"], call_id, word_place(w["seg_idx"], w["word_idx"])))
                 for w in rows["words"]]
        audio_path = listed[call_id]["audio_path"]
        try:
            row = redact_call(call_id, call_date, text, words, audio_path, detector, staging.vault, out_root)
        except audio.AudioProblem as problem:
            staging.put(call_date, PROBLEMS, call_id, dict(
                stage="redact_audio", reason=problem.reason, detail=problem.detail, audio_path=audio_path))
            run.problems += 1
            continue
        staging.put(call_date, REDACTED, call_id, {**row, "cache_key": t["cache_key"]})
        run.staged += 1
    return run
