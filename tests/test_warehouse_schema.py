"""The warehouse schema: .sql files per schema, numbered migrations, a recorded version."""

from __future__ import annotations

from importlib import resources

import duckdb

from assets import warehouse
from assets.warehouse.schema import latest_version, version

SCHEMA = resources.files("assets.warehouse") / "schema"


def _columns(conn, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, name]).fetchall()]


def test_a_new_warehouse_gets_the_schema_and_the_latest_version(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        assert version(conn) is None
        warehouse.ensure_schema(conn)
        assert version(conn) == latest_version() >= 1
        assert _columns(conn, "canon.transcripts")[-2:] == ["caller_text", "statements"]


def test_a_warehouse_from_before_versions_is_migrated_to_the_same_shape(tmp_path):
    with warehouse.connect(tmp_path / "new.duckdb") as conn:
        warehouse.ensure_schema(conn)
        fresh = {t: _columns(conn, t) for t in ("casework.transcripts", "themes.topics", "governance.retention_log",
                                                 "themes.call_themes")}
    # A 0.1 warehouse: these tables without the columns later versions added in place.
    with warehouse.connect(tmp_path / "old.duckdb") as conn:
        conn.execute("CREATE SCHEMA casework; CREATE SCHEMA themes; CREATE SCHEMA governance")
        calls = (SCHEMA / "1_casework.sql").read_text().split("CREATE TABLE IF NOT EXISTS casework.calls")[1]
        conn.execute("CREATE TABLE casework.calls" + calls.split(";")[0])  # never altered in place
        conn.execute("CREATE TABLE casework.transcripts (call_id VARCHAR PRIMARY KEY, call_date DATE NOT NULL, "
                     "text VARCHAR NOT NULL, language VARCHAR, duration_s DOUBLE, model VARCHAR NOT NULL, "
                     "transcribed_at TIMESTAMPTZ NOT NULL)")
        conn.execute("INSERT INTO casework.transcripts VALUES ('c1', '2026-03-02', 'kept', 'en', 1.0, 'm', now())")
        conn.execute("CREATE TABLE themes.topics (theme_id INTEGER PRIMARY KEY, label VARCHAR NOT NULL, "
                     "top_words VARCHAR[] NOT NULL, size INTEGER NOT NULL, fitted_at TIMESTAMPTZ NOT NULL)")
        # Before 0.9 a call had one theme: the rows are kept, each as one mention.
        conn.execute("CREATE TABLE themes.call_themes (call_id VARCHAR PRIMARY KEY, theme_id INTEGER NOT NULL, "
                     "call_date DATE NOT NULL, service_area VARCHAR, team VARCHAR)")
        conn.execute("INSERT INTO themes.call_themes VALUES ('c1', 3, '2026-03-02', 'maternity', 'intake')")
        conn.execute("CREATE SEQUENCE governance.retention_log_seq")
        conn.execute("CREATE TABLE governance.retention_log (id BIGINT DEFAULT nextval('governance.retention_log_seq') "
                     "PRIMARY KEY, run_at TIMESTAMPTZ NOT NULL, policy VARCHAR NOT NULL, rule VARCHAR NOT NULL, "
                     "data_class VARCHAR NOT NULL, call_ref VARCHAR NOT NULL, call_date DATE NOT NULL, "
                     "expired_on DATE NOT NULL, bytes_deleted BIGINT)")
        assert version(conn) == 0
        warehouse.ensure_schema(conn)
        assert version(conn) == latest_version()
        assert {t: _columns(conn, t) for t in fresh} == fresh
        assert conn.execute("SELECT text FROM casework.transcripts").fetchall() == [("kept",)]
        assert conn.execute("SELECT call_id, theme_id, statements FROM themes.call_themes").fetchall() == [("c1", 3, 1)]
        # Current now: a second call changes nothing (and runs no DDL).
        warehouse.ensure_schema(conn)
        assert conn.execute("SELECT count(*) FROM governance.schema_version").fetchone()[0] == 1


def test_a_read_only_connection_to_a_current_warehouse_needs_no_write(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
    with duckdb.connect(str(db), read_only=True) as conn:
        warehouse.ensure_schema(conn)  # one SELECT: the version is current
