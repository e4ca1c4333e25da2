"""The analytics copy: analysts read a published file, never the warehouse, so a notebook left
open never stops the pipeline, and erasure reaches what they read."""

from __future__ import annotations

import grp
import os
import stat
from datetime import date, timedelta

import duckdb
import pytest

from assets import warehouse
from assets.retention.deletion import delete
from assets.retention.expiry import Due
from assets.synthetic import theme_assignments
from assets.warehouse import analytics

DAY = date(2026, 3, 2)


@pytest.fixture
def small(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_assignments.add_topics(conn, 4)
        theme_assignments.write_calls(conn, 0, 30, first=DAY, per_day=10, themes=4, text_words=5)
        conn.execute("INSERT INTO casework.transcripts (call_id, call_date, text, model, transcribed_at) "
                     "VALUES ('call-000000000', ?, 'PERSONAL TEXT', 'tiny.en', now())", [DAY])
    return db


def _count(path, table="canon.transcripts") -> int:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_the_copy_holds_the_pseudonymised_layers_only_and_is_owner_only(small, tmp_path):
    copy = tmp_path / "analytics.duckdb"
    with warehouse.connect(small) as conn:
        done = analytics.publish(conn, copy)
        published_at = analytics.last_published(conn)
    with duckdb.connect(str(copy), read_only=True) as conn:
        schemas = {s for (s,) in conn.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
        topic_columns = {c for (c,) in conn.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'topics'").fetchall()}
    assert schemas == {"canon", "themes"}  # marts too once dbt has built them; never casework or governance
    assert "centroid" not in topic_columns
    assert b"PERSONAL TEXT" not in copy.read_bytes()
    assert done.tables["canon.transcripts"] == 30 and published_at == done.published_at
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert analytics.leftovers(copy) == []


def test_a_reader_keeps_its_snapshot_and_the_next_connection_sees_the_new_copy(small, tmp_path):
    copy = tmp_path / "analytics.duckdb"
    with warehouse.connect(small) as conn:
        analytics.publish(conn, copy)
    reader = duckdb.connect(str(copy), read_only=True)
    try:
        with warehouse.connect(small) as conn:
            theme_assignments.write_calls(conn, 30, 10, first=DAY, per_day=10, themes=4, text_words=5)
            analytics.publish(conn, copy)  # no lock error: the reader holds the old file, not this one
        assert reader.execute("SELECT count(*) FROM canon.transcripts").fetchone()[0] == 30
        assert reader.execute("SELECT count(*) FROM themes.call_themes WHERE call_date > ?",
                              [DAY + timedelta(days=2)]).fetchone()[0] == 0
    finally:
        reader.close()
    assert _count(copy) == 40


def test_the_copy_may_be_given_to_an_analysts_group(small, tmp_path):
    group = grp.getgrgid(os.getegid()).gr_name
    copy = tmp_path / "shared" / "analytics.duckdb"
    with warehouse.connect(small) as conn:
        analytics.publish(conn, copy, group=group)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o640 and copy.stat().st_gid == os.getegid()
    # Its folder: the group may pass through to the copy, not list what else is there.
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o710 and copy.parent.stat().st_gid == os.getegid()
    with pytest.raises(analytics.PublishError, match="no group called"), warehouse.connect(small) as conn:
        analytics.publish(conn, copy, group="no-such-group-here")
    assert _count(copy) == 30  # the published copy is untouched by the refused publish


def test_a_failed_publish_keeps_the_previous_copy_and_leaves_no_partial_file(small, tmp_path, monkeypatch):
    copy = tmp_path / "analytics.duckdb"
    with warehouse.connect(small) as conn:
        analytics.publish(conn, copy)
        theme_assignments.write_calls(conn, 30, 10, first=DAY, per_day=10, themes=4, text_words=5)
        (tmp_path / f".analytics.duckdb.999{analytics.PARTIAL}").write_bytes(b"a crashed publish")

        def disk_full(*_):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(analytics.os, "replace", disk_full)
        with pytest.raises(OSError, match="No space"):
            analytics.publish(conn, copy)
        assert conn.execute("SELECT count(*) FROM canon.transcripts").fetchone()[0] == 40  # still usable
    assert _count(copy) == 30
    assert analytics.leftovers(copy) == []


def _rows(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
        return {f"{s}.{t}": conn.execute(f'SELECT * FROM "{s}"."{t}" ORDER BY ALL').fetchall() for s, t in tables}


def test_a_day_that_only_added_calls_patches_the_copy_and_a_deletion_writes_it_afresh(small, tmp_path):
    copy, fresh = tmp_path / "analytics.duckdb", tmp_path / "fresh.duckdb"
    with warehouse.connect(small) as conn:
        assert analytics.publish(conn, copy).how == "there is no copy yet"
        theme_assignments.write_calls(conn, 30, 10, first=DAY, per_day=10, themes=4, text_words=5)  # a new day
        assert analytics.publish(conn, copy).how == "patched"
        analytics.publish(conn, fresh, patch=False)
        assert _rows(copy) == _rows(fresh)  # the same rows as a copy written afresh
        # A call re-pseudonymised: its old text must not survive in the copy's free blocks.
        conn.execute("UPDATE canon.transcripts SET text = 'REWRITTEN', pseudonymised_at = now() "
                     "WHERE call_id = 'call-000000001'")
        assert analytics.publish(conn, copy).how == "canon rows were rewritten on 1 call date(s)"
        # Retention or an erasure took a call: written afresh too.
        day = conn.execute("SELECT call_date FROM canon.transcripts WHERE call_id = 'call-000000002'").fetchone()[0]
        for data_class in ("theme_assignments", "canon"):
            delete(conn, [Due("call-000000002", day, data_class, day, "test")], "ombudsman", "cert-test")
        assert analytics.publish(conn, copy).how.startswith("data was deleted")
        assert analytics.publish(conn, copy).how == "patched"  # and the day after, patched again
        analytics.publish(conn, fresh, patch=False)
    assert _rows(copy) == _rows(fresh)
