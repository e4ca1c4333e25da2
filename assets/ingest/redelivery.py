"""A call id that arrives again, after its call was registered: the same delivery (a re-run
after a crash, the telephony system sending it twice), the remains of an ingest cut short, a
fixed recording for a call transcription refused, or a different call under a used id.

Only the first two are let go without a trace, and only when the bytes and fields prove it; a
fix replaces only the recording (the first kept, sealed, in the call's quarantine folder) and
only when every other field agrees; anything else is `duplicate_call_id`. Never a silent
overwrite of what casework, retention and access already refer to.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb

from assets import locations, storage
from assets.ingest import landing, untrusted

# Columns a re-landed call must repeat exactly to count as the same delivery; the audio's hash
# last, so that a fix can be compared on everything else.
SAME_DELIVERY = ("started_at", "direction", "staff_id", "team", "external_number", "complaint_id",
                 "case_last_activity", "service_area", "privacy_notice_played", "recording_stopped_on_request",
                 "channels", "extra", "audio_sha256")


def digest(fh) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    for block in iter(lambda: fh.read(1 << 20), b""):
        sha.update(block)
        size += len(block)
    return sha.hexdigest(), size


def registered(conn, call_id: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM casework.calls WHERE call_id = ?", [call_id]).fetchone()[0])


def same_delivery(conn, row: dict, audio: bool = True) -> bool:
    """Whether the row's sidecar fields (and, with `audio`, its recording) are the stored call's."""
    columns = SAME_DELIVERY if audio else SAME_DELIVERY[:-1]
    checks = " AND ".join(f"{c} IS NOT DISTINCT FROM ?" for c in columns)
    return bool(conn.execute(f"SELECT count(*) FROM casework.calls WHERE call_id = ? AND {checks}",
                             [row["call_id"], *(row[c] for c in columns)]).fetchone()[0])


def undecodable(conn, call_id: str) -> bool:
    return bool(conn.execute("SELECT count(*) FROM casework.quarantine WHERE item = ? AND stage = 'transcribe'",
                             [call_id]).fetchone()[0])


def keep_superseded(conn, call_id: str, quarantine_dir: Path) -> None:
    """Move the sealed recording transcription could not use into the call's quarantine folder,
    still sealed; erasure and retention sweep that folder with the call."""
    stored = conn.execute("SELECT audio_path FROM casework.calls WHERE call_id = ?", [call_id]).fetchone()[0]
    old = locations.location(stored) if stored else None
    if old is not None and old.exists():
        with storage.writing("quarantine folder", quarantine_dir):
            untrusted.move_into([old], quarantine_dir / call_id / "superseded")


def replace_recording(conn, row: dict) -> None:
    """A fix takes the recording's columns only: the complaint link, case activity, erasure
    redactions and deletion marks the first row carries stay."""
    conn.execute("UPDATE casework.calls SET audio_path = ?, audio_sha256 = ?, audio_bytes = ?, ingested_at = ? "
                 "WHERE call_id = ?", [row["audio_path"], row["audio_sha256"], row["audio_bytes"],
                                       row["ingested_at"], row["call_id"]])


def leftover(conn: duckdb.DuckDBPyConnection, item: landing.Rejected, row_of) -> bool:
    """Whether a lone half (audio without sidecar, sidecar without audio) is what remains of this
    call's own ingest, cut short after its audio was sealed: the same bytes, or the same fields.
    `row_of(sidecar)` builds the row a sidecar would give (without the audio's columns)."""
    if not re.fullmatch(landing.CALL_ID_PATTERN, item.stem):
        return False
    stored = conn.execute("SELECT audio_path, audio_sha256 FROM casework.calls WHERE call_id = ?",
                          [item.stem]).fetchone()
    if not stored or not stored[0] or not locations.location(stored[0]).exists():
        return False
    if item.reason == "missing_sidecar":
        if not item.paths:
            return False
        for path in item.paths:
            with untrusted.open_unfollowed(path) as fh:
                if digest(fh)[0] != stored[1]:
                    return False
        return True
    return item.sidecar is not None and same_delivery(conn, {**row_of(item.sidecar), "audio_sha256": stored[1]})
