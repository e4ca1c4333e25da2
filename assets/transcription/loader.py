"""The loader: a date's staged results (`assets.staging`) into `casework` in one transaction, on
the warehouse's machine, the one writer of these tables.

It takes only what is safe to take: whole files (a `*.partial` is never read), sealed under the
audio key for that call and kind, for calls still in the warehouse whose class retention has not
removed, and no older than what is stored (a late worker's result never replaces a newer
transcript). A file that fails its seal is quarantined under the call's own quarantine folder,
where an erasure of the call finds it; results of a call erased meanwhile are removed unread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assets import warehouse
from assets.staging import KINDS, PROBLEMS, REDACTED, TRANSCRIPTS, StagedFileBroken, Staging, typed_rows
from assets.transcription.stage import Transcribed, replace_transcribed

# A `*.partial` this old was left by a killed worker; a younger one may still be being written.
STALE_PARTIAL_S = 3600.0


@dataclass
class Loaded:
    transcribed: Transcribed = field(default_factory=Transcribed)
    redacted: list[dict] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)  # (call id, reason): quarantined
    problems: list[dict] = field(default_factory=list)  # audio problems a worker met: quarantined here
    dropped: int = 0  # calls erased or expired since their results were staged
    stale: int = 0  # results older than, or not matching, what is stored
    files: list = field(default_factory=list)


@dataclass(frozen=True)
class _Stored:
    transcript_retired: bool
    redacted_retired: bool
    transcribed_at: object
    cache_key: str | None


def _stored(conn, call_date) -> dict[str, _Stored]:
    return {r[0]: _Stored(*r[1:]) for r in conn.execute(
        f"""SELECT c.call_id, c.call_id IN ({warehouse.retired_sql('transcript')}),
                   c.call_id IN ({warehouse.retired_sql('redacted_audio')}), t.transcribed_at, t.cache_key
            FROM casework.calls c LEFT JOIN casework.transcripts t USING (call_id) WHERE c.call_date = ?""",
        [call_date]).fetchall()}


def _read(conn, staging: Staging, call_date, quarantine_root, redacted_root, stored, out: Loaded) -> dict:
    """kind -> {call id: (path, payload)} of the files that open; the rest quarantined or dropped."""
    found: dict[str, dict] = {kind: {} for kind in KINDS}
    for kind in KINDS:
        for call_id, path in staging.staged(call_date, kind):
            state = stored.get(call_id)
            if state is None or state.transcript_retired:  # erased, or expired: nothing of it is loaded
                # Its redacted copy too, unless the call is still here and a loaded row may name it.
                out.dropped += staging.remove_call(call_date, call_id, None if state else redacted_root) > 0
                continue
            try:
                payload = staging.get(path, kind, call_id)
            except StagedFileBroken as broken:
                place = Staging.quarantine_place(path, quarantine_root, call_id, call_date)
                # The record first: a crash before the move leaves the file staged, quarantined again.
                warehouse.record_quarantine(conn, call_id, f"load_{kind}", broken.reason, broken.detail, str(place))
                Staging.move(path, place)
                out.broken.append((call_id, broken.reason))
                continue
            if payload is not None:
                found[kind][call_id] = (path, payload)
    return found


def load_staged(conn, staging: Staging, call_date, quarantine_root, redacted_root) -> Loaded:
    """Load a date's staged results in one transaction, then remove the files it took."""
    staging.remove(staging.leftovers(call_date, older_than_s=STALE_PARTIAL_S))
    stored = _stored(conn, call_date)
    out = Loaded()
    found = _read(conn, staging, call_date, quarantine_root, redacted_root, stored, out)
    keys = {}
    for call_id, (path, payload) in found[TRANSCRIPTS].items():
        out.files.append(path)
        payload["transcript"] = typed_rows([payload["transcript"]])[0]
        before = stored[call_id].transcribed_at
        if before is not None and before >= payload["transcript"]["transcribed_at"]:
            out.stale += 1
            continue
        payload["segments"] = typed_rows(payload["segments"])
        out.transcribed.add(payload)
        keys[call_id] = payload["transcript"]["cache_key"]
    for call_id, (path, payload) in found[REDACTED].items():
        out.files.append(path)
        # A copy of the transcript being loaded (or the one stored), and only while the class is kept.
        if stored[call_id].redacted_retired or payload["cache_key"] != keys.get(call_id, stored[call_id].cache_key):
            out.stale += 1
            continue
        out.redacted.append(typed_rows([{k: v for k, v in payload.items() if k not in ("cache_key", "v")}])[0])
    for call_id, (path, payload) in found[PROBLEMS].items():
        out.files.append(path)
        if call_id not in keys:  # a later attempt of the same call succeeded
            out.problems.append({**payload, "call_id": call_id})
    for p in out.problems:
        warehouse.record_quarantine(conn, p["call_id"], p["stage"], p["reason"], p["detail"], p["audio_path"])
    with warehouse.transaction(conn):
        replace_transcribed(conn, out.transcribed)
        warehouse.replace_rows(conn, "casework.redacted_audio", "call_id", [r["call_id"] for r in out.redacted],
                               out.redacted, atomic=False)
    staging.remove(out.files)  # after the commit: a crash before this loads them again, the same rows
    return out
