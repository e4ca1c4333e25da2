"""Restriction requests: from the moment one is recorded, the call's data leaves the canon
and everything derived from it, and stays out on every later run."""

from __future__ import annotations

from datetime import datetime, timezone

from assets import warehouse
from assets.pii import Pseudonymiser, restriction_ref


def restrict(conn, pseudonymiser: Pseudonymiser, kind: str, value: str, reason: str | None) -> int:
    """Record the restriction and withdraw matching canon and theme rows now (the marts follow
    on their next build). Returns how many calls were withdrawn."""
    ref = restriction_ref(pseudonymiser, kind, value)
    with warehouse.transaction(conn):
        conn.execute("INSERT OR REPLACE INTO governance.restrictions VALUES (?, ?, ?, ?)",
                     [kind, ref, reason, datetime.now(timezone.utc)])
        calls = _matching_calls(conn, pseudonymiser, kind, ref)
        if calls:
            for table in ("canon.transcripts", "canon.leak_scan", "themes.call_themes"):
                conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [calls])
    return len(calls)


def _matching_calls(conn, pseudonymiser: Pseudonymiser, kind: str, ref: str) -> list[str]:
    if kind == "call":
        sql, params = "SELECT call_id FROM casework.calls WHERE call_id = ?", [ref]
    elif kind == "complaint":
        sql, params = "SELECT call_id FROM casework.calls WHERE complaint_id = ?", [ref]
    elif kind == "person":
        sql, params = "SELECT call_id FROM canon.transcripts WHERE contains(text, ?)", [ref]
    else:
        numbers = conn.execute(
            "SELECT call_id, external_number FROM casework.calls WHERE external_number IS NOT NULL").fetchall()
        return [c for c, n in numbers if restriction_ref(pseudonymiser, "number", n) == ref]
    return [r[0] for r in conn.execute(sql, params).fetchall()]
