"""The quarantine register: calls a stage set aside, with the reason, so the rest of a run goes on
and nothing is lost (the files wait in the quarantine folder)."""

from __future__ import annotations

import duckdb

from assets.warehouse.db import connect, insert_row, utcnow


def record_quarantine(
    conn: duckdb.DuckDBPyConnection, item: str, stage: str, reason: str, detail: str, location: str
) -> None:
    insert_row(conn, "casework.quarantine", replace=True, item=item, stage=stage, reason=reason, detail=detail,
               location=location, quarantined_at=utcnow())


def clear_quarantine(conn: duckdb.DuckDBPyConnection, item: str, stage: str) -> None:
    """A fixed and re-submitted call leaves quarantine."""
    conn.execute("DELETE FROM casework.quarantine WHERE item = ? AND stage = ?", [item, stage])


def quarantined_since(warehouse_path, since) -> list[tuple[str, str, str]]:
    """What a run set aside (item, stage, reason), read-only, for its closing report."""
    with connect(warehouse_path, read_only=True) as conn:
        return conn.execute("SELECT item, stage, reason FROM casework.quarantine WHERE quarantined_at >= ? "
                            "ORDER BY stage, item", [since]).fetchall()
