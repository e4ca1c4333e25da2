"""Which call dates the marts must rebuild: the queue the incremental dbt models read.

At the ombudsman's volume (six years of about 4 500 calls a day) the marts' inputs hold tens of
millions of call-theme rows, so a daily build cannot re-aggregate them all. Every writer that
changes what a day counts (the canon, the theme assignments, deletion, restriction, a refit)
marks the dates it touched, in the same transaction as the change; the dbt models rebuild those
dates and the days whose trailing windows read them (`dbt_project/macros/stale_days.sql`); and
after a successful build the pipeline clears the marks the build saw. A failed build clears
nothing, so the next one redoes the same dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from assets.warehouse.db import connect, utcnow


def _mark(conn, dates_sql: str, params: list) -> None:
    """Mark the call dates `dates_sql` selects (a column `call_date`) as stale now."""
    conn.execute(f"INSERT INTO marts_queue.stale_days SELECT DISTINCT call_date, ? FROM ({dates_sql}) "
                 "ON CONFLICT (call_date) DO UPDATE SET marked_at = excluded.marked_at", [utcnow(), *params])


def mark_days(conn, days: Iterable[date]) -> None:
    days = sorted(set(days))
    if days:
        _mark(conn, "SELECT unnest(?) AS call_date", [days])


def mark_calls(conn, call_ids: list[str]) -> None:
    """The dates of these calls, read before their rows are deleted."""
    if call_ids:
        _mark(conn, "SELECT call_date FROM canon.transcripts WHERE call_id IN (SELECT unnest(?)) "
                    "UNION ALL SELECT call_date FROM themes.call_themes WHERE call_id IN (SELECT unnest(?))",
              [call_ids, call_ids])


def mark_everything(conn) -> None:
    """A refit reassigns every call: every date is stale."""
    _mark(conn, "SELECT call_date FROM canon.transcripts UNION ALL SELECT call_date FROM themes.call_themes", [])


def before_build(database: str) -> list[tuple[date, datetime]]:
    """Read before a build, and bring the warehouse to the current schema first (dbt reads this
    queue, and a warehouse from before it existed has had no stage open it yet): the marks the
    build will consume."""
    from assets.warehouse.schema import ensure_schema

    with connect(database) as conn:
        ensure_schema(conn)
        return conn.execute("SELECT call_date, marked_at FROM marts_queue.stale_days").fetchall()


def clear(database: str, consumed: list[tuple[date, datetime]]) -> None:
    """After a successful build: forget exactly the marks it consumed (a date marked again since
    has a newer time and stays)."""
    if consumed:
        with connect(database) as conn:
            conn.execute("DELETE FROM marts_queue.stale_days WHERE (call_date, marked_at) IN "
                         "(SELECT (unnest(?), unnest(?)))", [[d for d, _ in consumed], [m for _, m in consumed]])
