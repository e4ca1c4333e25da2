"""Themes analysts can trust: every theme a call mentions, what happened rather than where, named
themes that keep their id, a new issue found the day it happens, and the ombudsman's scenario
(20 calls in one day about pain relief) standing out as a spike in the marts. Real BERTopic on
the packaged embedding model, real DuckDB, real dbt via Dagster; the canon is generated
(`assets.synthetic.theme_corpus`) so the true themes are known. Telephone audio is measured in
`benchmarks/themes_eval.py` and the end-to-end test."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from assets import warehouse
from assets.pii import TOKEN
from assets.synthetic import theme_corpus
from assets.themes import emerging, model, registry, search, words
from assets.themes.statements import statements
from assets.themes.taxonomy import TaxonomyError, load_taxonomy
from pipelines.defs.resources import ThemeTaxonomy, Warehouse

TAXONOMY = load_taxonomy("ombudsman")
GOOD = "themes:\n  - id: pain\n    name: pain management\n    seeds: [left in pain, no pain relief]\n"


@pytest.mark.parametrize("text, problem", [
    (GOOD.replace("seeds:", "seed:"), "seed"),                       # a typo in a key
    (GOOD + "  - id: pain\n    name: other\n    seeds: [a b]\n", "duplicate theme id: pain"),
    (GOOD.replace("[left in pain, no pain relief]", "[]"), "seeds"),  # no seeds
    (GOOD.replace("id: pain", "id: Pain Relief"), "id"),              # not a slug
    ("themes: [\n", "invalid theme taxonomy"),                         # not YAML
])
def test_a_bad_taxonomy_file_is_a_clear_error_at_start(tmp_path, text, problem):
    path = tmp_path / "themes.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError, match=problem) as caught:
        load_taxonomy("ombudsman", path)
    assert str(path) in str(caught.value)
    from pipelines.cli import main

    result = CliRunner().invoke(main, ["run"], env={"CALLCANON_THEME_TAXONOMY": str(path),
                                                    "CALLCANON_DATA": str(tmp_path / "data")})
    assert result.exit_code == 1 and "invalid theme taxonomy" in result.output
    assert not (tmp_path / "data").exists()  # stopped before any work
    assert {t.id for t in load_taxonomy("gp_practice").themes} >= {"appointments_access", "medication"}


def test_statements_leave_out_where_who_the_script_and_unsure_words():
    said = statements([
        "Good morning, you're through to the complaints line. Can I take your name?",
        "Hello, my name is <PERSON_1a2b3c4d>. I want to complain about A and E at the Royal Free Hospital.",
        "I was left in pain on the oncology ward for six hours. The [?] nurse was rude. It is <NHS_NUMBER_0a1b2c3d>.",
    ])
    assert [s.text for s in said] == ["I was left in pain on the for six hours.", "The nurse was rude."]
    assert not any(TOKEN.search(s.text) for s in said)
    assert statements(["Hello? Yes. Thank you, goodbye."]) == []
    # That there is a complaint about someone's treatment is no theme (misheard or not); what it was, is.
    assert statements(["I want to complain about the way my mum was treated at A and E.",
                       "I'm bringing them out the way I was treated in the."]) == []
    assert [s.text for s in statements(["The way I was treated was disgusting.", "She asked for painkillers."])] == [
        "The way I was treated was disgusting.", "She asked for painkillers."]
    # Callers ask about everything: asking is no evidence for staff attitude, however its seeds say it.
    asked = words.seed_word_scores(["When I asked for it back, nobody could find it."], TAXONOMY)
    assert asked[0, [t.id for t in TAXONOMY.themes].index("staff_attitude")] == 0


def _calls_about(kinds_by_area: dict[str, list[str]], day: date, seed: int) -> list[theme_corpus.CorpusCall]:
    rng = random.Random(seed)
    out = []
    for area, kinds in kinds_by_area.items():
        base = theme_corpus.call(rng, f"m-{seed}-{area}", day, kinds[0], area)
        extra = " ".join(theme_corpus.THEMES[k][0].format(who="my son", where="there", hours="two hours")
                         for k in kinds[1:])
        text = base.text.replace(" I am sorry", f" {extra} I am sorry")
        out.append(base.__class__(**{**base.__dict__, "text": text}))
    return out


def test_a_call_carries_every_theme_it_mentions_in_any_service_area(tmp_path):
    day = date(2026, 3, 2)
    areas = {a: ["pain_relief", "waiting_times"] for a in theme_corpus.SERVICE_AREAS}
    calls = _calls_about(areas, day, seed=5)
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, calls)
        assigned = registry.assign_dates(conn, [day], TAXONOMY)
        named = dict(conn.execute("SELECT taxonomy_id, theme_id FROM themes.topics").fetchall())
        rows = conn.execute("SELECT call_id, theme_id, statements, score FROM themes.call_themes").fetchall()
    assert assigned.calls == 4 and assigned.mentions == len(rows)
    by_call: dict[str, set[int]] = {}
    for call_id, theme_id, n, score in rows:
        by_call.setdefault(call_id, set()).add(theme_id)
        # How closely: the sum of its statements' scores, each at least what assigns a statement.
        assert n >= 1 and score >= n * model.ASSIGN_MIN_SIMILARITY
    # The same two complaints in four service areas: the same two themes, whatever the department.
    assert all(found >= {named["pain_management"], named["waiting_times"]} for found in by_call.values())
    assert len(by_call) == 4


def _daily(conn, calls, taxonomy=TAXONOMY, min_calls: int = 8) -> dict[date, list]:
    """What the daily job does, date by date: assign, then look for new issues."""
    found = {}
    for day in sorted({c.call_date for c in calls}):
        registry.assign_dates(conn, [day], taxonomy)
        found[day] = emerging.detect(conn, day, min_calls)
    return found


def _clear_themes(conn) -> None:
    for table in ("themes.call_themes", "themes.candidates", "themes.topics"):
        conn.execute(f"DELETE FROM {table}")


def _call_saying(rng: random.Random, call_id: str, day: date, i: int, said: str) -> theme_corpus.CorpusCall:
    """A call in the test corpus's shape (its opening and closing) in which the caller says `said`."""
    base = theme_corpus.call(rng, call_id, day, "pain_relief", theme_corpus.SERVICE_AREAS[i % 4])
    opening = theme_corpus.OPENING.format(p=f"{i:08x}", n=f"{i + 99:08x}")
    return base.__class__(**{**base.__dict__, "text": f"{opening} {said} {theme_corpus.CLOSING}"})


def test_what_callers_say_alike_every_day_is_not_a_new_issue(tmp_path, monkeypatch):
    """An opening the recogniser garbles past the opening rules, said in a few calls every day,
    would grow "steadily" into a theme of its own; a burst of calls about something new, told in
    their own words, is still found that day."""
    start = date(2026, 3, 1)
    history = theme_corpus.corpus(40, seed=41, start=start, days=10)
    # "I'm phoning because of what happened to my son at the local health centre", as heard
    formula = " I'm forming because of what happened to my son at the local health."
    calls = [c.__class__(**{**c.__dict__, "text": c.text + formula}) for c in history]
    day = start + timedelta(days=10)
    rng = random.Random(42)
    burst = [theme_corpus.call(rng, f"pk-{i:02d}", day, "parking", theme_corpus.SERVICE_AREAS[i % 4])
             for i in range(10)]
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, calls + burst)
        found = _daily(conn, calls + burst)
        assert not any(found[d] for d in found if d != day)  # the formula is no issue, however steady
        [new] = found[day]
        assert "park" in new.label and new.busiest_day_calls == 10
        # Without the formula rule, the same days make the opening a theme.
        _clear_themes(conn)
        monkeypatch.setattr(emerging, "FORMULA_MIN_DAYS", 99)
        found = _daily(conn, calls)
        assert any(found[d] for d in found)


def test_a_label_says_what_went_missing_in_words_a_caseworker_reads():
    lost = ["My mother's hearing aids went missing from her bedside.", "His wallet went missing from the locker.",
            "Her glasses went missing when she was moved.", "His false teeth went missing in the laundry.",
            "Her handbag went missing with her keys inside."]
    others = ["I waited six hours to be seen.", "The nurse was rude to my father.", "They gave him the wrong tablets."]
    top = words.top_words(lost, others)
    assert "missing" in top[:3]  # an -ing form says what happened; "went" and "moved" do not
    assert not {"went", "moved"} & set(top)


def test_a_new_issue_is_a_provisional_theme_the_day_it_happens_and_a_refit_keeps_it(tmp_path):
    history = theme_corpus.corpus(60, seed=31, start=date(2026, 3, 1), days=20)
    new_day = date(2026, 3, 21)
    rng = random.Random(32)
    burst = [theme_corpus.call(rng, f"pk-{i:02d}", new_day, "parking", theme_corpus.SERVICE_AREAS[i % 4])
             for i in range(12)]
    next_day = [theme_corpus.call(rng, f"pk-next-{i}", new_day + timedelta(days=1), "parking") for i in range(2)]
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, history + burst + next_day)
        found = _daily(conn, history + burst + next_day)
        named = dict(conn.execute("SELECT taxonomy_id, theme_id FROM themes.topics WHERE kind = 'taxonomy'").fetchall())
        assert not any(found[d] for d in found if d != new_day)  # nothing new in the ordinary weeks
        [new] = found[new_day]
        assert "park" in new.label and new.busiest_day == new_day and new.busiest_day_calls == 12
        kind, words = conn.execute("SELECT kind, top_words FROM themes.topics WHERE theme_id = ?",
                                   [new.theme_id]).fetchone()
        assert kind == "provisional" and not any(TOKEN.search(w) for w in words)
        on_day = {c for (c,) in conn.execute("SELECT call_id FROM themes.call_themes WHERE theme_id = ?",
                                             [new.theme_id]).fetchall()}
        assert {c.call_id for c in burst} == on_day - {c.call_id for c in next_day}
        scores = [s for (s,) in conn.execute("SELECT score FROM themes.call_themes WHERE theme_id = ?",
                                             [new.theme_id]).fetchall()]
        assert all(s is not None and s > 0 for s in scores)  # how closely each call tells the new issue
        # The next day's parking calls go to it by assignment alone.
        assert {c.call_id for c in next_day} <= on_day
        # Re-running the day (a retry, a backfill) finds the same issue, not a second one.
        registry.assign_dates(conn, [new_day], TAXONOMY)
        assert [p.theme_id for p in emerging.detect(conn, new_day, 8)] in ([], [new.theme_id])
        assert conn.execute("SELECT count(*) FROM themes.topics WHERE kind = 'provisional'").fetchone()[0] == 1
        again = {c for (c,) in conn.execute("SELECT call_id FROM themes.call_themes WHERE theme_id = ? AND "
                                            "call_date = ?", [new.theme_id, new_day]).fetchall()}
        assert again == {c.call_id for c in burst}

        refit = registry.refit(conn, TAXONOMY, 8)
        after = dict(conn.execute("SELECT taxonomy_id, theme_id FROM themes.topics WHERE kind = 'taxonomy'").fetchall())
        kind = conn.execute("SELECT kind FROM themes.topics WHERE theme_id = ?", [new.theme_id]).fetchone()[0]
    assert after == named  # named themes keep their ids
    assert refit.confirmed == 1 and kind == "discovered"


# Belongings lost on the ward, as callers say it: statements named themes take, but only weakly
# (dignity and care, discharge, diagnosis at 0.40-0.55 each).
WEAKLY_TAKEN = ["My mother's hearing aids went missing from her bedside while she was on the ward.",
                "His wallet disappeared from the locker and nobody could tell us where it went.",
                "They lost her mobile phone and charger and she could not reach any of us.",
                "His clothes were put in a bag and the bag has vanished.",
                "Mum's walking frame went missing when she was transferred.",
                "We were told to take his valuables home but by then his wallet had gone."]


def test_a_new_issue_named_themes_take_weakly_is_still_found_that_day(tmp_path, monkeypatch):
    """Calls about something no theme names spread over the named themes whose nets are wide
    enough to catch them, each too few to publish; the day's burst of weak fits, told by calls
    that mention no one theme firmly, is the new issue, and the named themes give those
    statements up."""
    history = theme_corpus.corpus(30, seed=51, start=date(2026, 3, 1), days=10)
    day = date(2026, 3, 11)
    rng = random.Random(52)
    burst = [_call_saying(rng, f"lost-{i:02d}", day, i, " ".join(rng.sample(WEAKLY_TAKEN, 2))) for i in range(10)]
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, history + burst)
        # Taken weakly by the named themes, the burst is nothing new that day.
        monkeypatch.setattr(model, "WEAK_BELOW", 0.0)
        found = _daily(conn, history + burst)
        assert not any(found.values())
        taken = conn.execute("SELECT count(DISTINCT call_id) FROM themes.call_themes WHERE call_id LIKE 'lost-%'"
                             ).fetchone()[0]
        assert taken >= 8  # the nets caught most of them
        monkeypatch.undo()
        _clear_themes(conn)
        found = _daily(conn, history + burst)
        assert not any(found[d] for d in found if d != day)
        [new] = found[day]
        assert new.busiest_day == day and new.busiest_day_calls >= 8
        per_call = conn.execute("SELECT call_id, sum(statements), bool_or(theme_id = ?) FROM themes.call_themes "
                                "WHERE call_id LIKE 'lost-%' GROUP BY ALL", [new.theme_id]).fetchall()
        said = {c.call_id: len(c.statements) for c in registry.call_statements(conn)}
    # No statement counted twice: those the new issue took, the named themes gave up.
    assert all(n <= said[call_id] for call_id, n, _ in per_call)
    assert sum(is_new for *_, is_new in per_call) == new.calls >= 8


# What a pain-relief day also says, loosely: statements other themes take weakly, or none does.
TOLD_LOOSELY = ["He was crying out all night and the staff just walked past him.",
                "Nobody came when she pressed the buzzer, she was moaning for hours.",
                "She could not sleep at all, she was in such a state.",
                "He was screaming every time they moved him in the bed.",
                "I was doubled over on the floor of the cubicle for hours.",
                "He was grimacing and holding his side the whole time.",
                "She was shaking and sweating all night and nobody checked on her."]


def test_a_big_spike_of_a_named_theme_told_loosely_is_that_theme_not_a_new_issue(tmp_path, monkeypatch):
    """Forty calls about pain relief, each also saying something loosely that other themes take
    weakly: what is left over is the pain-relief spike, not a new issue beside it."""
    history = theme_corpus.corpus(30, seed=61, start=date(2026, 3, 1), days=10)
    day = date(2026, 3, 11)
    rng = random.Random(62)
    firm = [s.format(who="my dad", where="there", hours="all night") for s in theme_corpus.THEMES["pain_relief"]]
    spike = [_call_saying(rng, f"pain-{i:02d}", day, i, f"{firm[i % 8]} {TOLD_LOOSELY[i % len(TOLD_LOOSELY)]}")
             for i in range(40)]
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, history + spike)
        found = _daily(conn, history + spike)
        assert not any(found.values())
        pain = conn.execute("SELECT count(*) FROM themes.call_themes t JOIN themes.topics p USING (theme_id) "
                            "WHERE p.taxonomy_id = 'pain_management' AND t.call_date = ?", [day]).fetchone()[0]
        assert pain == 40
        # Without the rule, the leftovers are filed as a new issue beside the spike.
        _clear_themes(conn)
        monkeypatch.setattr(emerging, "FIRM_SHARE", 2.0)
        assert _daily(conn, history + spike)[day]


def test_a_day_with_no_caller_statements_gives_no_themes_and_no_error(tmp_path):
    day = date(2026, 3, 2)
    quiet = [c.__class__(**{**c.__dict__, "text": "Hello? Yes. Thank you, goodbye."})
             for c in theme_corpus.corpus(3, seed=41, start=day, days=1)]
    with warehouse.connect(tmp_path / "w.duckdb") as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, quiet)
        assigned = registry.assign_dates(conn, [day], TAXONOMY)
        assert emerging.detect(conn, day, 8) == []
        assert conn.execute("SELECT count(*) FROM themes.call_themes").fetchone()[0] == 0
    assert (assigned.calls, assigned.statements, assigned.mentions) == (3, 0, 0)


def test_the_daily_asset_assigns_a_new_day_without_a_refit(tmp_path):
    from pipelines.defs.themes.assets import call_themes

    db = tmp_path / "w.duckdb"
    new_day = date(2026, 3, 2)
    calls = theme_corpus.corpus(20, seed=22, start=new_day, days=1)
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_corpus.write_canon(conn, calls)
    result = dg.materialize([call_themes], partition_key=new_day.isoformat(), resources={
        "warehouse": Warehouse(database=str(db)), "taxonomy": ThemeTaxonomy(policy="ombudsman")})
    assert result.success
    with duckdb.connect(str(db), read_only=True) as conn:
        labels = dict(conn.execute("SELECT theme_id, label FROM themes.topics").fetchall())
        main = dict(conn.execute("SELECT call_id, arg_max(theme_id, statements) FROM themes.call_themes "
                                 "GROUP BY 1").fetchall())
        assert conn.execute("SELECT count(*) FROM themes.fits").fetchone()[0] == 0  # no refit ran
    truth = {"pain_relief": "pain management", "waiting_times": "waiting times", "staff_attitude": "staff attitude",
             "medication": "medication", "discharge": "discharge"}
    right = sum(truth[c.theme] in labels.get(main.get(c.call_id), "") for c in calls)
    assert right >= 18, f"{right} of 20 calls' main theme is their true theme"


@pytest.mark.e2e
def test_pain_relief_stands_out_as_a_spike_on_that_day_only(trends):
    db, calls, spike = trends
    with duckdb.connect(str(db), read_only=True) as conn:
        spikes = conn.execute(
            "SELECT call_date, theme_label, calls FROM marts.theme_trends WHERE is_spike").fetchall()
    assert len(spikes) == 1
    day, label, count = spikes[0]
    assert day == spike and label == "pain management"
    assert count >= 20


@pytest.mark.e2e
def test_marts_suppress_small_counts_and_count_calls_that_mention_a_theme(trends):
    db, calls, _ = trends
    threshold = search.suppress_below()
    with duckdb.connect(str(db), read_only=True) as conn:
        for mart, column in (("marts.theme_trends", "calls"), ("marts.theme_trends", "calls_7d"),
                             ("marts.theme_weekly", "calls")):
            published = [r[0] for r in conn.execute(f"SELECT {column} FROM {mart}").fetchall()]
            assert not [n for n in published if n is not None and 0 < n < threshold], mart
            # The scenario has small counts, so suppression really happened.
            assert conn.execute(f"SELECT count(*) FROM {mart} WHERE {column}_suppressed").fetchone()[0] > 0
        mentions = conn.execute("SELECT count(*) FROM themes.call_themes").fetchone()[0]
        assert conn.execute("SELECT sum(calls) FROM intermediate.int_theme_days").fetchone()[0] == mentions
        # At 12 calls a day the daily counts are mostly suppressed; the trailing week is publishable.
        daily, weekly = conn.execute("SELECT count(calls), count(calls_7d) FROM marts.theme_trends").fetchone()
        weekly_areas = conn.execute("SELECT DISTINCT service_area, team FROM marts.theme_weekly").fetchall()
    assert weekly > 2 * daily
    assert {a for a, _ in weekly_areas} == set(theme_corpus.SERVICE_AREAS)
    assert {t for _, t in weekly_areas} == set(theme_corpus.TEAMS)


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
                                env={"CALLCANON_WAREHOUSE": str(db),
                                     "CALLCANON_ANALYTICS": str(db.parent / "analytics.duckdb")})
    assert result.exit_code == 0, result.output
    assert f"{spike - timedelta(days=spike.weekday())}\t" in result.output
