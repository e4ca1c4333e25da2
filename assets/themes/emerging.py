"""New issues the day they happen, without waiting for the weekly refit.

The ombudsman's example (policy §4.4) is 20 calls in one day, from four service areas, about
something no theme named. Assigned to the nearest registered theme, they would spread thinly over
several and stay under the suppression threshold everywhere. So statements that fit no theme are
kept as candidates (`registry.assign_dates`), and each daily run clusters the candidates of the
day and the days before it. A cluster that reaches the publishable size (the policy's
suppress_below) in distinct calls on one day, or that grows steadily over the window, becomes a
provisional theme that same run: a new id, a label from its own readable words, its calls
assigned to it (so the marts flag its spike that day), and a centroid new statements are
assigned by. The next refit confirms, merges or retires it (`registry.refit`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from assets import warehouse
from assets.themes import model, words

WINDOW_DAYS = 14
# Candidates in one cluster are at least this similar on average (average-linkage cosine).
# Measured on the benchmark's transcribed calls (docs/themes.md): at 0.5 and 0.4 the day's
# lost-property calls, misheard in many ways, stay in pieces too small to publish; at 0.35 they
# are one issue and nothing else in four weeks qualifies.
CLUSTER_MIN_SIMILARITY = 0.35
# "Growing steadily": enough distinct calls, over at least this many days of the window, with
# the window's later half holding at least as many as its earlier half.
STEADY_MIN_DAYS = 4


@dataclass(frozen=True)
class Provisional:
    theme_id: int
    label: str
    calls: int
    busiest_day: date
    busiest_day_calls: int


def _clusters(embeddings: np.ndarray) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(embeddings) < 2:
        return np.zeros(len(embeddings), dtype=int)
    return AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                   distance_threshold=1 - CLUSTER_MIN_SIMILARITY).fit_predict(embeddings)


def _qualifies(days_of_calls: dict[str, date], day: date, min_calls: int, window_days: int) -> bool:
    per_day = Counter(days_of_calls.values())
    if max(per_day.values()) >= min_calls:
        return True
    middle = day - timedelta(days=window_days // 2)
    later = sum(n for d, n in per_day.items() if d > middle)
    return len(days_of_calls) >= min_calls and len(per_day) >= STEADY_MIN_DAYS and later * 2 >= len(days_of_calls)


def detect(conn, day: date, min_calls: int, window_days: int = WINDOW_DAYS, first_day: date | None = None
           ) -> list[Provisional]:
    """Cluster the candidates from `window_days` before `day` (or `first_day`, if earlier) to
    `day`; register each qualifying cluster as a provisional theme and assign its calls to it."""
    since = min(day - timedelta(days=window_days), first_day or day)
    rows = conn.execute(
        "SELECT call_id, stmt_idx, call_date, text, embedding FROM themes.candidates "
        "WHERE call_date BETWEEN ? AND ? ORDER BY call_id, stmt_idx", [since, day]).fetchall()
    if len({r[0] for r in rows}) < min_calls:
        return []
    labels = _clusters(np.asarray([r[4] for r in rows], dtype=np.float32))
    calls_of = {c: {r[0] for r, k in zip(rows, labels) if k == c} for c in set(labels.tolist())}
    big = {c: calls for c, calls in calls_of.items() if len(calls) >= max(2, min_calls // 2)}
    joined = model.merge_by_calls(big)
    groups = {c: joined.get(c, c) for c in calls_of}
    found, claimed = [], set()
    for group in sorted(set(groups.values())):
        members = [r for r, c in zip(rows, labels) if groups[c] == group]
        days_of_calls = {r[0]: r[2] for r in members}
        if not _qualifies(days_of_calls, day, min_calls, window_days):
            continue
        top = words.top_words([r[3] for r in members], [r[3] for r, c in zip(rows, labels) if groups[c] != group])
        if len(top) < 2:
            continue  # not two readable words to call it by: not an issue anyone could act on
        # What tomorrow's statements will be assigned by, applied to the window's other candidates
        # now: the same issue put in words the clustering kept apart.
        centre = model.centroid(np.asarray([r[4] for r in members]))
        taken = {(r[0], r[1]) for r in members} | claimed
        near = [r for r in rows if (r[0], r[1]) not in taken
                and float(np.dot(r[4], centre)) >= model.ASSIGN_MIN_SIMILARITY]
        claimed |= {(r[0], r[1]) for r in members + near}
        found.append(_register(conn, members + near, top, day))
    return found


def _register(conn, members: list[tuple], top: list[str], day: date) -> Provisional:
    theme_id = (conn.execute("SELECT max(theme_id) FROM themes.topics").fetchone()[0] or -1) + 1
    label = words.label(top)
    now = warehouse.utcnow()
    per_call = Counter(r[0] for r in members)
    with warehouse.transaction(conn):
        conn.execute("INSERT INTO themes.topics (theme_id, label, top_words, size, fitted_at, centroid, active, "
                     "first_fitted_at, kind, found_on) VALUES (?, ?, ?, ?, ?, ?, true, ?, 'provisional', ?)",
                     [theme_id, label, top, len(members), now,
                      model.centroid(np.asarray([r[4] for r in members])).tolist(), now, day])
        conn.execute(
            "INSERT INTO themes.call_themes (call_id, theme_id, statements, call_date, service_area, team) "
            "SELECT c.call_id, ?, c.n, k.call_date, k.service_area, k.team FROM "
            "(SELECT unnest(?) AS call_id, unnest(?) AS n) c JOIN canon.transcripts k USING (call_id)",
            [theme_id, list(per_call), list(per_call.values())])
        conn.execute("DELETE FROM themes.candidates WHERE call_id || ':' || stmt_idx IN (SELECT unnest(?))",
                     [[f"{r[0]}:{r[1]}" for r in members]])
    per_day = Counter({r[0]: r[2] for r in members}.values())
    busiest, n = per_day.most_common(1)[0]
    return Provisional(theme_id, label, len(per_call), busiest, n)
