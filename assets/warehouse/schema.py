"""The warehouse's schema: `schema/*.sql` (one file per schema, as the tables are now) and numbered
migrations (`schema/migrations/NNNN_*.sql`) for warehouses made before a change.

A new warehouse gets the schema files and the latest version. An existing one gets the schema
files too (they only create what is missing: a new table) and then every migration above the
version it records; a warehouse from before versions (no `governance.schema_version`) counts as
version 0. So every change to the schema files comes with a new migration number (its file holds
the ALTERs an old warehouse needs, or only a comment when the change is a new table). Every
connection the pipeline opens asks `ensure_schema`, which is one query once the warehouse is
current: the DDL runs once, not on every step.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import duckdb

from assets.warehouse.db import insert_row, transaction, utcnow

_SQL = resources.files("assets.warehouse") / "schema"


@lru_cache(maxsize=1)
def _migrations() -> tuple[tuple[int, str], ...]:
    """Read once per process: every connection asks for the latest version."""
    found = [(int(f.name.split("_", 1)[0]), f.read_text()) for f in (_SQL / "migrations").iterdir()
             if f.name.endswith(".sql")]
    return tuple(sorted(found))


def latest_version() -> int:
    return max((n for n, _ in _migrations()), default=0)


def version(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The version the warehouse records; 0 for one made before versions; None for an empty file."""
    try:
        return conn.execute("SELECT max(version) FROM governance.schema_version").fetchone()[0] or 0
    except duckdb.CatalogException:
        made = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'casework' "
                            "AND table_name = 'calls'").fetchone()[0]
        return 0 if made else None


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Bring the warehouse to the current schema (a no-op, one query, when it is already)."""
    target = latest_version()
    found = version(conn)
    if found == target:
        return
    schema_files = sorted((f for f in _SQL.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    with transaction(conn):
        for f in schema_files:
            conn.execute(f.read_text())
        conn.execute("CREATE TABLE IF NOT EXISTS governance.schema_version (version INTEGER PRIMARY KEY, "
                     "applied_at TIMESTAMPTZ NOT NULL)")
        for number, sql in _migrations():
            if found is not None and number > found:
                conn.execute(sql)
        insert_row(conn, "governance.schema_version", replace=True, version=target, applied_at=utcnow())
