"""Retention: find what a policy says has expired, delete it, and log the deletion.

The log names calls only by a hash of their id, so the log itself never needs erasing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from assets import warehouse
from assets.policy import Policy


@dataclass(frozen=True)
class Deletion:
    call_id: str
    call_date: date
    expired_on: date
    rule: str
    bytes_deleted: int


def call_ref(call_id: str) -> str:
    return hashlib.sha256(call_id.encode()).hexdigest()[:16]


def expired_audio(conn, policy: Policy, as_of: date) -> list[tuple[str, date, str, date, str]]:
    """(call_id, call_date, audio_path, expiry date, rule) for audio past its retention.

    Only unlinked calls are swept here; linked calls wait for the case-based rule (their
    expiry moves with the case's last activity)."""
    rule = policy.retention.unlinked
    cutoff = as_of - timedelta(days=rule.audio_days)
    rows = conn.execute(
        """SELECT call_id, call_date, audio_path FROM casework.calls
           WHERE complaint_id IS NULL AND audio_deleted_at IS NULL AND call_date < ?
           ORDER BY call_date, call_id""",
        [cutoff],
    ).fetchall()
    return [(cid, d, path, d + timedelta(days=rule.audio_days), "unlinked.audio_days") for cid, d, path in rows]


def delete_expired_audio(conn, policy: Policy, as_of: date) -> list[Deletion]:
    """Delete the files first, then mark the rows and log, call by call: a crash part-way
    leaves each call either untouched or fully recorded, and a re-run finishes the rest."""
    done = []
    for call_id, call_date, path, expired_on, rule in expired_audio(conn, policy, as_of):
        # The redacted copy goes with the original: it is still the call's audio.
        copies = [Path(r[0]) for r in conn.execute(
            "SELECT path FROM casework.redacted_audio WHERE call_id = ?", [call_id]).fetchall()]
        size = 0
        for audio in (Path(path), *copies):
            size += audio.stat().st_size if audio.exists() else 0
            audio.unlink(missing_ok=True)
        with warehouse.transaction(conn):
            conn.execute("UPDATE casework.calls SET audio_deleted_at = ? WHERE call_id = ?",
                         [datetime.now(timezone.utc), call_id])
            conn.execute("DELETE FROM casework.redacted_audio WHERE call_id = ?", [call_id])
            conn.execute(
                """INSERT INTO governance.retention_log
                   (run_at, policy, rule, data_class, call_ref, call_date, expired_on, bytes_deleted)
                   VALUES (now(), ?, ?, 'audio', ?, ?, ?, ?)""",
                [policy.name, rule, call_ref(call_id), call_date, expired_on, size],
            )
        done.append(Deletion(call_id, call_date, expired_on, rule, size))
    return done
