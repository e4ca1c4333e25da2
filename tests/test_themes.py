"""Themes analysts can trust: ids that survive a refit, new calls assigned without one, and the
ombudsman's scenario (20 calls in one day about pain relief) standing out as a theme and a
spike in the marts. Real BERTopic on the packaged embedding model, real DuckDB, real dbt via
Dagster; the canon is generated (`assets.synthetic.theme_corpus`) so the true themes are known."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from assets import themes, warehouse
from assets.pii import TOKEN
from assets.synthetic import theme_corpus
from assets.themes import search
from pipelines.defs.resources import Warehouse


def _truth_by_id(conn, calls) -> dict[int, str]:
    """Which true theme each theme id stands for (its majority)."""
    truth = {c.call_id: c.theme for c in calls}
    votes: dict[int, Counter] = {}
    for call_id, theme_id in conn.execute("SELECT call_id, theme_id FROM themes.call_themes").fetchall():
        votes.setdefault(theme_id, Counter())[truth[call_id]] += 1
    return {i: v.most_common(1)[0][0] for i, v in votes.items()}


def test_theme_ids_survive_a_refit_on_a_superset(tmp_path):
    first = theme_corpus.corpus(100, seed=11)
    more = theme_corpus.corpus(100, seed=12) + theme_corpus.corpus(40, themes=["parking"], seed=13)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, first)
        fit1 = themes.refit(conn)
        ids1 = _truth_by_id(conn, first)
        assert sorted(ids1.values()) == sorted(theme_corpus.FIVE) and fit1.new_themes == 5

        theme_corpus.write_canon(conn, more)
        fit2 = themes.refit(conn)
        ids2 = _truth_by_id(conn, first + more)
        # The five keep their ids; the new kind of complaint gets an id never used before.
        assert {i: t for i, t in ids2.items() if t != "parking"} == ids1
        assert [i for i, t in ids2.items() if t == "parking"] == [max(ids1) + 1]
        assert (fit2.kept_themes, fit2.new_themes, fit2.inactive_themes) == (5, 1, 0)
        assert fit2.reassigned_share == 0.0  # drift: no earlier call changed theme
        labels = dict(conn.execute("SELECT theme_id, label FROM themes.topics").fetchall())
        assert "pain relief" in labels[next(i for i, t in ids2.items() if t == "pain_relief")]
        assert not any(TOKEN.search(label) or "_" in label for label in labels.values())


def test_a_new_day_is_assigned_to_the_registered_themes_without_a_refit(tmp_path):
    from pipelines.defs.themes.assets import call_themes

    db = tmp_path / "w.duckdb"
    start = theme_corpus.corpus(100, seed=21)
    new_day = date(2026, 3, 2)
    later = [c for c in theme_corpus.corpus(30, seed=22, start=new_day, days=1)]
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, start)
        themes.refit(conn)
        ids = {t: i for i, t in _truth_by_id(conn, start).items()}
        theme_corpus.write_canon(conn, later)

    result = dg.materialize([call_themes], partition_key=new_day.isoformat(),
                            resources={"warehouse": Warehouse(database=str(db))})
    assert result.success
    with duckdb.connect(str(db), read_only=True) as conn:
        assigned = dict(conn.execute("SELECT call_id, theme_id FROM themes.call_themes WHERE call_date = ?",
                                     [new_day]).fetchall())
        assert conn.execute("SELECT count(*) FROM themes.fits").fetchone()[0] == 1  # no refit ran
    assert {c.call_id: ids[c.theme] for c in later} == assigned


@pytest.mark.e2e
def test_pain_relief_stands_out_as_a_theme_and_a_spike_on_that_day_only(trends):
    db, calls, spike = trends
    with duckdb.connect(str(db), read_only=True) as conn:
        spikes = conn.execute(
            "SELECT call_date, theme_label, calls FROM marts.theme_trends WHERE is_spike").fetchall()
    assert len(spikes) == 1
    day, label, count = spikes[0]
    assert day == spike and "pain relief" in label
    assert count >= 20


@pytest.mark.e2e
def test_marts_suppress_small_counts_and_keep_every_call(trends):
    db, calls, _ = trends
    threshold = search.suppress_below()
    with duckdb.connect(str(db), read_only=True) as conn:
        for mart in ("marts.theme_trends", "marts.theme_weekly"):
            published = [r[0] for r in conn.execute(f"SELECT calls FROM {mart}").fetchall()]
            assert not [n for n in published if n is not None and 0 < n < threshold], mart
            # The scenario has small counts, so suppression really happened.
            assert conn.execute(f"SELECT count(*) FROM {mart} WHERE calls_suppressed").fetchone()[0] > 0
        assert conn.execute("SELECT sum(calls) FROM intermediate.int_theme_days").fetchone()[0] == len(calls)
        weekly = conn.execute("SELECT DISTINCT service_area, team FROM marts.theme_weekly").fetchall()
    assert {a for a, _ in weekly} == set(theme_corpus.SERVICE_AREAS)
    assert {t for _, t in weekly} == set(theme_corpus.TEAMS)


@pytest.mark.e2e
def test_phrase_search_counts_calls_over_time_with_suppression(trends):
    db, calls, spike = trends
    with duckdb.connect(str(db), read_only=True) as conn:
        days = search.phrase_counts(conn, "Pain  relief")
        weeks = search.phrase_counts(conn, "pain relief", by="week")
        with pytest.raises(ValueError, match="one person"):
            search.phrase_counts(conn, "<PERSON_0123abcd>")
    expected = Counter(c.call_date for c in calls if "pain relief" in c.text.lower())
    on_spike = next(d for d in days if d.period == spike)
    assert on_spike.calls == expected[spike] >= 8  # not all 20 say the exact phrase
    assert all((d.calls is None) == (0 < expected[d.period] < 8) for d in days)
    assert all(d.calls == expected[d.period] for d in days if d.calls is not None)
    assert sum(1 for _ in weeks) == 8 and all(w.period.weekday() == 0 for w in weeks)

    result = CliRunner().invoke(__import__("pipelines.cli", fromlist=["main"]).main,
                                ["search", "pain relief", "--by", "week"],
                                env={"CALLCANON_WAREHOUSE": str(db)})
    assert result.exit_code == 0, result.output
    assert f"{spike - timedelta(days=spike.weekday())}\t" in result.output
