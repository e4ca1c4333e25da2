"""Physical erasure: DuckDB's DELETE leaves old bytes in the file, so the warehouse is rewritten."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from assets import warehouse


@dataclass(frozen=True)
class Rewrite:
    rewritten: bool
    bytes_before: int
    bytes_after: int
    log_high_water: int


def _log_marks(conn) -> tuple[int, int]:
    """(newest deletion logged, newest deletion a rewrite has already removed from the file)."""
    return conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM governance.retention_log), "
        "(SELECT coalesce(max(log_high_water), 0) FROM governance.warehouse_rewrites)").fetchone()


def rewrite_warehouse(path: Path, force: bool = False) -> Rewrite:
    """Copy the live rows into a fresh file and swap it in, so deleted rows leave the disk.

    DuckDB's DELETE, CHECKPOINT and VACUUM leave the old bytes in free blocks of the file; a
    fresh database written by `COPY FROM DATABASE` holds only what is live. The swap is an
    atomic rename; the old WAL goes with the old file. Needs the warehouse to itself (DuckDB's
    own file lock refuses it otherwise): run it in the `duckdb_writer` pool.
    """
    path = Path(path)
    fresh = path.with_name(path.name + ".rewrite")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)  # a crash mid-rewrite leaves only this half-built copy
    with warehouse.connect(str(path)) as conn:
        warehouse.ensure_schema(conn)
        high, done = _log_marks(conn)
        if not force and high <= done:
            size = path.stat().st_size
            return Rewrite(False, size, size, high)
        name = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute("CHECKPOINT")
        before = path.stat().st_size
        conn.execute(f"ATTACH '{fresh}' AS callcanon_fresh")
        conn.execute(f'COPY FROM DATABASE "{name}" TO callcanon_fresh')
        conn.execute("DETACH callcanon_fresh")
    with warehouse.connect(str(fresh)) as conn:
        warehouse.insert_row(conn, "governance.warehouse_rewrites", rewritten_at=warehouse.utcnow(),
                             log_high_water=high, bytes_before=before, bytes_after=fresh.stat().st_size)
        conn.execute("CHECKPOINT")
    warehouse.fsync(fresh)
    os.replace(fresh, path)
    Path(f"{path}.wal").unlink(missing_ok=True)
    warehouse.fsync(path.parent)
    return Rewrite(True, before, path.stat().st_size, high)
