"""The quarantine register: calls a stage set aside, with the reason, so the rest of a run goes on
and nothing is lost (the files wait in the quarantine folder)."""

from __future__ import annotations

import duckdb


def record_quarantine(
    conn: duckdb.DuckDBPyConnection, item: str, stage: str, reason: str, detail: str, location: str
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO casework.quarantine VALUES (?, ?, ?, ?, ?, now())",
        [item, stage, reason, detail, location],
    )


def clear_quarantine(conn: duckdb.DuckDBPyConnection, item: str, stage: str) -> None:
    """A fixed and re-submitted call leaves quarantine."""
    conn.execute("DELETE FROM casework.quarantine WHERE item = ? AND stage = ?", [item, stage])
