"""Restriction requests: from the moment one is recorded, the call's data leaves the canon
and everything derived from it, and stays out on every later run."""

from __future__ import annotations

from assets import warehouse
from assets.access.subjects import matching_calls, subject_ref
from assets.pii.pseudonymiser import Pseudonymiser
from assets.warehouse import marts_queue


def restrict(conn, pseudonymiser: Pseudonymiser, kind: str, value: str, reason: str | None) -> int:
    """Record the restriction and withdraw matching canon and theme rows now (the marts follow
    on their next build). Returns how many calls were withdrawn."""
    ref = subject_ref(pseudonymiser, kind, value)
    with warehouse.transaction(conn):
        warehouse.insert_row(conn, "governance.restrictions", replace=True, kind=kind, ref=ref, reason=reason,
                             requested_at=warehouse.utcnow())
        calls = matching_calls(conn, pseudonymiser, kind, ref)
        if calls:
            marts_queue.mark_calls(conn, calls)
            for table in ("canon.transcripts", "canon.leak_scan", "themes.call_themes", "themes.candidates"):
                conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [calls])
    return len(calls)
