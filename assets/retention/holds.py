"""Legal holds, which suspend every deletion of what they cover, and the case activity that moves
a linked call's expiry. Numbers and people are held as pseudonym tokens, as in restrictions."""

from __future__ import annotations

from datetime import date

from assets import warehouse
from assets.access.subjects import matching_calls, subject_ref
from assets.pii.pseudonymiser import Pseudonymiser


def held_calls(conn, pseudonymiser: Pseudonymiser) -> set[str]:
    """Calls under a legal hold now: resolved on every sweep, so a hold on a person or number
    also covers calls that arrived after it was placed."""
    held: set[str] = set()
    for kind, ref in conn.execute(
            "SELECT kind, ref FROM governance.legal_holds WHERE released_at IS NULL").fetchall():
        held.update(matching_calls(conn, pseudonymiser, kind, ref))
    return held


def place_hold(conn, pseudonymiser: Pseudonymiser, kind: str, value: str, reason: str) -> int:
    ref = subject_ref(pseudonymiser, kind, value)
    return warehouse.insert_row(conn, "governance.legal_holds", returning="hold_id", kind=kind, ref=ref,
                                reason=reason, placed_at=warehouse.utcnow())


def list_holds(conn) -> list[tuple]:
    """Every hold, placed or released: (hold_id, kind, ref, reason, placed_at, released_at)."""
    return conn.execute("SELECT hold_id, kind, ref, reason, placed_at, released_at "
                        "FROM governance.legal_holds ORDER BY hold_id").fetchall()


def release_hold(conn, hold_id: int) -> bool:
    return bool(conn.execute(
        "UPDATE governance.legal_holds SET released_at = ? WHERE hold_id = ? AND released_at IS NULL "
        "RETURNING hold_id", [warehouse.utcnow(), hold_id]).fetchall())


def update_case(conn, complaint_id: str, last_activity: date) -> int:
    """Casework reports new activity on a case: its calls' expiry moves with it."""
    return len(conn.execute(
        "UPDATE casework.calls SET case_last_activity = ? WHERE complaint_id = ? RETURNING call_id",
        [last_activity, complaint_id]).fetchall())


def link_call(conn, call_id: str, complaint_id: str, last_activity: date | None = None) -> bool:
    """A call found to belong to a complaint after it was recorded moves to the linked rule."""
    return bool(conn.execute(
        "UPDATE casework.calls SET complaint_id = ?, case_last_activity = coalesce(?, case_last_activity) "
        "WHERE call_id = ? RETURNING call_id", [complaint_id, last_activity, call_id]).fetchall())


def retention_status(conn) -> list[tuple]:
    """Per data class: (data_class, items deleted, last deletion, newest call date deleted) from the
    retention log, for governance's page in the portal."""
    return conn.execute("SELECT data_class, count(*), max(run_at), max(call_date) FROM governance.retention_log "
                        "GROUP BY data_class ORDER BY data_class").fetchall()
