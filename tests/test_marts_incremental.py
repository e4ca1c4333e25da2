"""The incremental marts equal a full build after the changes a day brings: a new day after a
gap (with a theme never seen before), the oldest day deleted by retention, a few calls erased
mid-series, and a backfill of calls from long before the first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from assets import warehouse
from assets.retention.deletion import delete
from assets.retention.expiry import Due
from assets.synthetic import theme_assignments

pytestmark = pytest.mark.e2e  # three dbt builds: the full tier

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
FIRST, PER_DAY, DAYS = date(2026, 1, 5), 30, 40
TABLES = ("intermediate.int_theme_days", "intermediate.int_theme_weeks", "marts.theme_trends", "marts.theme_weekly")


@pytest.fixture
def site(tmp_path, monkeypatch, dbt_manifest):
    monkeypatch.setenv("CALLCANON_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("CALLCANON_ANALYTICS", str(tmp_path / "analytics.duckdb"))
    return tmp_path


def _build_marts() -> None:
    import dagster as dg

    from pipelines.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        assert defs().resolve_job_def("build_marts").execute_in_process(instance=instance).success


def _full_refresh(db: Path) -> None:
    env = {**os.environ, "CALLCANON_WAREHOUSE": str(db)}
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run([str(dbt), "build", "--full-refresh", "--project-dir", str(DBT_PROJECT),
                           "--profiles-dir", str(DBT_PROJECT)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


def _marts(db: Path) -> dict[str, list[tuple]]:
    """Every row; floats to 9 places (a standard deviation summed over a different window frame
    differs in the 16th digit)."""
    def row(r):
        return tuple(round(v, 9) if isinstance(v, float) else v for v in r)

    with duckdb.connect(str(db), read_only=True) as conn:
        return {t: [row(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()] for t in TABLES}


def _due(conn, day: date, limit: int) -> list[Due]:
    ids = [r[0] for r in conn.execute("SELECT call_id FROM canon.transcripts WHERE call_date = ? ORDER BY call_id "
                                      "LIMIT ?", [day, limit]).fetchall()]
    return [Due(i, day, c, day, f"test.{c}") for c in ("theme_assignments", "canon") for i in ids]


def test_an_incremental_build_equals_a_full_one(site):
    db = site / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_assignments.add_topics(conn, 4)
        theme_assignments.write_calls(conn, 0, DAYS * PER_DAY, first=FIRST, per_day=PER_DAY, themes=4, text_words=3)
        for table in ("canon.transcripts", "themes.call_themes"):  # a week nobody called
            conn.execute(f"DELETE FROM {table} WHERE call_date BETWEEN ? AND ?",
                         [FIRST + timedelta(days=30), FIRST + timedelta(days=33)])
    _build_marts()
    first = _marts(db)
    assert len({r[0] for r in first["marts.theme_trends"]}) == DAYS

    with warehouse.connect(db) as conn:
        # A new day after two with no calls, on which two themes appear for the first time.
        theme_assignments.add_topics(conn, 2, first_id=4)
        theme_assignments.write_calls(conn, (DAYS + 2) * PER_DAY, PER_DAY, first=FIRST, per_day=PER_DAY, themes=6,
                                      text_words=3)
        # Retention takes the oldest day whole, and an erasure five calls in the middle.
        for items in (_due(conn, FIRST, PER_DAY), _due(conn, FIRST + timedelta(days=20), 5)):
            for data_class in ("theme_assignments", "canon"):
                delete(conn, [d for d in items if d.data_class == data_class], "ombudsman", "cert-test")
    _build_marts()
    incremental = _marts(db)
    rebuilt = site / "rebuilt.duckdb"
    shutil.copy(db, rebuilt)
    _full_refresh(rebuilt)
    assert incremental == _marts(rebuilt)

    # A backfill: a day of calls from 40 days before the first, as a late import would bring.
    with warehouse.connect(db) as conn:
        theme_assignments.write_calls(conn, 0, PER_DAY, first=FIRST - timedelta(days=40), per_day=PER_DAY,
                                      themes=4, text_words=3, prefix="backfill")
    _build_marts()
    backfilled = _marts(db)
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM marts_queue.stale_days").fetchone()[0] == 0  # consumed
    rebuilt.unlink()
    shutil.copy(db, rebuilt)
    _full_refresh(rebuilt)
    assert backfilled == _marts(rebuilt)
    days = {r[0] for r in incremental["marts.theme_trends"]}
    assert min(days) == FIRST + timedelta(days=1) and max(days) == FIRST + timedelta(days=DAYS + 2)
    assert len(days) == DAYS + 2  # the days nobody called are in the series, as zeros
    # The new themes have their zero history, so their first day is judged against it.
    new_theme_days = [r for r in incremental["intermediate.int_theme_days"] if r[1] == 5]
    assert len(new_theme_days) == DAYS + 2 and sum(r[2] for r in new_theme_days[:-1]) == 0
    assert min(r[0] for r in backfilled["marts.theme_trends"]) == FIRST - timedelta(days=40)
