"""Connections, transactions and bulk writes: how every stage touches the warehouse. Every stage
writes with `replace_rows`, so re-running is idempotent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import duckdb


def utcnow() -> datetime:
    """Timestamps written to the warehouse are timezone-aware UTC."""
    return datetime.now(UTC)


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection):
    """All of the block's writes, or none of them."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def one_checkpoint(conn: duckdb.DuckDBPyConnection):
    """Checkpoint once at the end instead of whenever the WAL passes 16 MB.

    A checkpoint writes the changed tables back into the file, so a long deletion run that
    commits in batches otherwise checkpoints again and again, each time over the whole table:
    measured, that made commits 40 % of a 100 000-call sweep and its cost grow faster than the
    data. Each batch is still durable in the WAL when it commits."""
    conn.execute("SET checkpoint_threshold = '16GB'")
    try:
        yield conn
    finally:
        conn.execute("RESET checkpoint_threshold")
    conn.execute("CHECKPOINT")


def retired_sql(data_class: str) -> str:
    """A subquery of the calls whose `data_class` retention has removed (class names are the
    policy's fixed vocabulary, never user input)."""
    return f"SELECT call_id FROM casework.retired WHERE data_class = '{data_class}'"


def fsync(path) -> None:
    """Make a written file (or a folder's new entry, after a rename) durable before relying on it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def connect(path: str, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only)


def replace_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    key: str,
    keys: Iterable[Any],
    rows: Sequence[Mapping[str, Any]],
    atomic: bool = True,
) -> None:
    """Delete the rows for `keys`, then insert `rows`, in one transaction (or the caller's, with
    `atomic=False`): a re-run replaces, a crash leaves the previous state."""
    keys = list(keys)
    with (transaction(conn) if atomic else nullcontext()):
        if keys:
            conn.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT unnest(?))", [keys])
        insert_rows(conn, table, rows)


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Bulk insert of rows given as {column: value}: each value is named where it is made, so no
    list of a table's columns is kept outside its .sql file (columns left out take their
    default). Through Arrow: DuckDB's executemany goes row by row, which is slow for the
    thousands of word rows one day of calls produces."""
    if not rows:
        return
    import pyarrow as pa

    columns = ", ".join(rows[0])
    batch = pa.Table.from_pylist(list(rows))
    conn.register("_insert_batch", batch)
    try:
        conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _insert_batch")
    finally:
        try:
            conn.unregister("_insert_batch")
        except duckdb.Error:
            pass  # an aborted transaction refuses even this; let the insert's own error surface


def insert_row(conn: duckdb.DuckDBPyConnection, table: str, replace: bool = False, returning: str | None = None,
               **values: Any):
    """One row, its columns named: `INSERT [OR REPLACE] INTO table (names) VALUES (...)`. Returns
    the `returning` column's value when asked."""
    sql = (f"INSERT {'OR REPLACE ' if replace else ''}INTO {table} ({', '.join(values)}) "
           f"VALUES ({', '.join('?' * len(values))})" + (f" RETURNING {returning}" if returning else ""))
    result = conn.execute(sql, list(values.values()))
    return result.fetchone()[0] if returning else None


def row_counts(database: str, relations: dict[str, str]) -> dict[str, int]:
    """Rows in each relation (`"schema"."table"` by any key), over one read-only connection."""
    with connect(database, read_only=True) as conn:
        return {key: conn.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
                for key, rel in sorted(relations.items())}
