"""Theme benchmark: agreement with known themes, the spike scenario, and fit/assign time, for
callcanon's theme model and for stock BERTopic (UMAP + HDBSCAN defaults, same embeddings) in
the same run.

- Agreement: a generated canon (`assets.synthetic.theme_corpus`) of five clear themes; adjusted Rand index
  (ARI) and NMI of each model's topics against the truth (target: ARI >= 0.8).
- Spike: the ombudsman scenario (8 weeks of calls, one day with 20 extra pain-relief calls) is
  refitted and built into the marts by the real dbt project; which theme-days are flagged
  (target: the pain-relief theme on the spike day, nothing else).
- Time: fit on the agreement corpus; assigning one new day of calls to the registry (`transform`)
  per call, against the embedding alone (the floor any assignment pays).

    .venv/bin/python benchmarks/themes_eval.py [--sizes 40 500]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")

from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score  # noqa: E402

from assets import themes, warehouse  # noqa: E402
from assets.synthetic import theme_corpus  # noqa: E402


def stock_bertopic(docs: list[str]) -> tuple[list[int], float]:
    from bertopic import BERTopic

    embeddings = themes.embed(docs)
    started = time.perf_counter()
    topics, _ = BERTopic(embedding_model=themes.embedding_model()).fit_transform(docs, embeddings)
    return list(topics), time.perf_counter() - started


def agreement(sizes: list[int]) -> None:
    print("agreement with 5 true themes")
    print(f"{'calls':>6}  {'model':<38}{'themes':>7}{'outliers':>9}{'ARI':>7}{'NMI':>7}{'fit s':>8}")
    for n in sizes:
        calls = theme_corpus.corpus(n, seed=101)
        docs, truth = [c.text for c in calls], [c.theme for c in calls]
        themes.embed(docs[:2])  # load the model outside the timings
        started = time.perf_counter()
        fit = themes.fit(docs)
        fit_s = time.perf_counter() - started
        stock, stock_s = stock_bertopic(docs)
        for name, labels, found, outliers, secs in (
                ("callcanon (k-means, k by silhouette)", fit.assignments, len(fit.themes), 0, fit_s),
                ("stock BERTopic (UMAP + HDBSCAN)", stock, len(set(stock) - {-1}), stock.count(-1), stock_s)):
            print(f"{n:>6}  {name:<38}{found:>7}{outliers:>9}{adjusted_rand_score(truth, labels):>7.3f}"
                  f"{normalized_mutual_info_score(truth, labels):>7.3f}{secs:>8.1f}")

    new_day = theme_corpus.corpus(200, seed=102, start=date(2026, 6, 1), days=1)
    new_docs = [c.text for c in new_day]
    centroids = {t.theme_id: t.centroid for t in fit.themes}
    started = time.perf_counter()
    assigned = themes.assign(new_docs, centroids, fit.script)
    assign_s = time.perf_counter() - started
    started = time.perf_counter()
    themes.embed(themes.strip_script(new_docs, fit.script))  # the same text assign embeds
    embed_s = time.perf_counter() - started
    print(f"assign a new day of {len(new_docs)} calls to the {sizes[-1]}-call fit: ARI "
          f"{adjusted_rand_score([c.theme for c in new_day], assigned):.3f}, {1000 * assign_s / len(new_docs):.1f} ms "
          f"per call; embedding alone {1000 * embed_s / len(new_docs):.1f} ms "
          f"(assign / embed {assign_s / embed_s:.2f})")


def spike() -> None:
    calls, spike_day = theme_corpus.spike_series()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "warehouse.duckdb"
        with warehouse.connect(db) as conn:
            warehouse.ensure_schema(conn)
            theme_corpus.write_canon(conn, calls)
            refit = themes.refit(conn)
        env = {**os.environ, "CALLCANON_WAREHOUSE": str(db)}
        dbt = Path(sys.executable).parent / "dbt"
        proc = subprocess.run([str(dbt), "build", "--profiles-dir", ".", "--target-path", str(Path(tmp) / "target")],
                              cwd=ROOT / "dbt_project", env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(proc.stdout[-3000:] + proc.stderr[-3000:])
        import duckdb

        with duckdb.connect(str(db), read_only=True) as conn:
            flagged = conn.execute("SELECT call_date, theme_label, calls, baseline_mean FROM marts.theme_trends "
                                   "WHERE is_spike ORDER BY call_date").fetchall()
            days = conn.execute("SELECT count(*) FROM marts.theme_trends").fetchone()[0]
    right = [f for f in flagged if f[0] == spike_day and "pain" in f[1]]
    print(f"\nspike scenario: {len(calls)} calls over 56 days, {len(refit.themes)} themes found, "
          f"20 extra pain-relief calls on {spike_day}")
    for d, label, n, base in flagged:
        print(f"  flagged {d}  {label!r}: {n} calls (trailing mean {base})")
    print(f"  spike flagged on the right day: {'yes' if right else 'NO'}; "
          f"other theme-days flagged: {len(flagged) - len(right)} of {days - 1}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 500],
                        help="corpus sizes for the agreement table (a day's calls; a quarter's)")
    args = parser.parse_args()
    agreement(args.sizes)
    spike()


if __name__ == "__main__":
    main()
