"""Marts at scale: how the daily marts build and the analytics copy grow from 1 M to 10 M calls.

Synthetic canon rows and theme assignments (six years at about 4 500 calls a day, one to three
themes a call, eight service areas, five teams) are written straight into a warehouse, then,
through the real Dagster `build_marts` job (dbt build, then the analytics copy published):

- **full**: the first build, every day computed;
- **one new day**: a day of calls added and assigned (marked stale as the daily run marks it),
  then the same job: the incremental models recompute that day and the window after it;
- **publish**: the analytics copy alone, written afresh (as after a deletion) and patched;
- **notebook queries** on the published copy, over one read-only connection: the notebooks' own
  queries, word for word: a year of day × theme (the trends chart), ISO week × service area ×
  theme (the weekly chart), phrase search over the last 12 weeks; calls per theme, examples from
  the last 90 days and the candidate pool (the explorer).

Baseline in the same run: the same job when nothing is stale (starting dbt and Dagster, running
dbt's tests, publishing the copy): the floor every build pays. Each figure is printed with its
ratio to it; beside it, one `GROUP BY call_date, theme_id` over every assignment, the least a
non-incremental build would scan.

    .venv/bin/python benchmarks/marts_scale.py [--sizes 1000000 10000000] [--text-words 40] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CALLCANON_PSEUDONYM_KEY", "00" * 32)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PER_DAY = 4_500
FIRST = date(2020, 12, 1)
THEMES = 20


def build(db: Path, n: int, text_words: int) -> None:
    from assets import warehouse
    from assets.synthetic import theme_assignments

    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        theme_assignments.add_topics(conn, THEMES)
        theme_assignments.write_calls(conn, 0, n, first=FIRST, per_day=PER_DAY, themes=THEMES, text_words=text_words)
        conn.execute("CHECKPOINT")


def timed(fn, repeat: int = 1) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def run_job(name: str) -> None:
    import dagster as dg

    from pipelines.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        result = defs().resolve_job_def(name).execute_in_process(
            instance=instance, run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    assert result.success, name


BASELINE = "baseline: build + publish, nothing stale"
BUILDS = (BASELINE, "full build + publish", "one new day: build + publish", "publish afresh",
          "publish patched, nothing changed")


def group_by(db: Path) -> float:
    from assets import warehouse

    with warehouse.connect(db, read_only=True) as conn:
        return timed(lambda: conn.execute("SELECT call_date, theme_id, count(*) FROM themes.call_themes "
                                          "GROUP BY ALL").fetchall(), repeat=3)


# The notebooks' own queries, word for word (notebooks/theme_trends.ipynb, theme_explorer.ipynb).
QUERIES = {
    "trends: a year of day x theme": (
        "select call_date, theme_id, theme_label, theme_kind, calls, calls_suppressed, calls_7d, calls_7d_suppressed, "
        "share_of_calls, baseline_mean, is_spike from marts.theme_trends "
        "where call_date > (select max(call_date) from marts.theme_trends) - interval 365 day "
        "order by call_date, theme_id"),
    "trends: ISO week x service area x theme": (
        "select week_start, service_area, theme_label, sum(calls) as calls, "
        "bool_or(calls_suppressed) as some_suppressed from marts.theme_weekly group by all order by week_start"),
    "explorer: calls per theme": "select theme_id, count(*) as calls from themes.call_themes group by all",
    "explorer: examples, last 90 days": (
        "with recent as (select max(call_date) - interval 90 day as since from themes.call_themes), "
        "picked as (select theme_id, call_id, call_date from ("
        "  select t.theme_id, t.call_id, t.call_date,"
        "         row_number() over (partition by t.theme_id order by t.call_id) as n"
        "  from themes.call_themes t, recent where t.call_date > recent.since) where n <= 3) "
        "select p.theme_id, coalesce(c.caller_text, c.text) as text "
        "from picked p join canon.transcripts c using (call_id, call_date), recent "
        "where c.call_date > recent.since order by p.theme_id, p.call_id"),
    "explorer: candidate pool": (
        "select count(*) filter (where theme_id is null) as statements, "
        "count(distinct call_id) filter (where theme_id is null) as calls, "
        "count(*) filter (where theme_id is not null) as weak_fits, min(call_date) as since from themes.candidates"),
}


def queries(copy: Path) -> dict[str, float]:
    import duckdb

    from assets.themes.search import phrase_counts

    with duckdb.connect(str(copy), read_only=True) as conn:
        found = {name: timed(lambda sql=sql: conn.execute(sql).fetchall(), repeat=5) for name, sql in QUERIES.items()}
        last = conn.execute("SELECT max(call_date) FROM canon.transcripts").fetchone()[0]
        found["trends: phrase search, last 12 weeks"] = timed(
            lambda: phrase_counts(conn, "pain relief", by="week", since=last - timedelta(weeks=12)), repeat=3)
    return found


def measure(root: Path, n: int, text_words: int) -> dict[str, float]:
    from assets import warehouse
    from assets.synthetic import theme_assignments
    from assets.warehouse import analytics

    db, copy = root / "warehouse.duckdb", root / "analytics.duckdb"
    os.environ["CALLCANON_WAREHOUSE"], os.environ["CALLCANON_ANALYTICS"] = str(db), str(copy)
    from assets.settings import Settings
    from pipelines.runner import ensure_dbt_manifest

    Settings.from_env().export_for_dbt()
    ensure_dbt_manifest(force=True)  # parsed with this profile, as `callcanon run` does: dbt parses partially
    started = time.perf_counter()
    build(db, n, text_words)
    print(f"  wrote {n:,} calls in {time.perf_counter() - started:.0f} s; warehouse {db.stat().st_size / 1e9:.2f} GB",
          flush=True)
    out = {"full build + publish": timed(lambda: run_job("build_marts"))}
    out[BASELINE] = timed(lambda: run_job("build_marts"))
    out["GROUP BY over every assignment"] = group_by(db)
    with warehouse.connect(db) as conn:
        theme_assignments.write_calls(conn, -(-n // PER_DAY) * PER_DAY, PER_DAY, first=FIRST,  # the next day
                                      per_day=PER_DAY, themes=THEMES, text_words=text_words)
    out["one new day: build + publish"] = timed(lambda: run_job("build_marts"))
    with warehouse.connect(db) as conn:
        out["publish afresh"] = timed(lambda: analytics.publish(conn, copy, patch=False))
        out["publish patched, nothing changed"] = timed(lambda: analytics.publish(conn, copy))
    out["analytics copy GB"] = copy.stat().st_size / 1e9
    out.update(queries(copy))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--text-words", type=int, default=40, help="words of canon text per call")
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: a temporary folder)")
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        root = Path(tempfile.mkdtemp(prefix=f"marts-{n}-", dir=args.dir))
        try:
            print(f"{n:,} calls ({n // PER_DAY} days):", flush=True)
            results[n] = measure(root, n, args.text_words)
            base = results[n][BASELINE]
            for name, value in results[n].items():
                ratio = f"  ({value / base:.2f}x baseline)" if name in BUILDS else ""
                print(f"  {name:45} {value:8.2f}{'' if name.endswith('GB') else ' s'}{ratio}", flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"growth {small:,} -> {large:,} calls ({large / small:.0f}x the data):")
        for name in results[large]:
            print(f"  {name:45} {results[large][name] / results[small][name]:6.1f}x")


if __name__ == "__main__":
    main()
