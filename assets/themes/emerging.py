"""New issues the day they happen, without waiting for the weekly refit.

The ombudsman's example (policy §4.4) is 20 calls in one day, from four service areas, about
something no theme named. Assigned to the nearest registered theme, they would spread thinly over
several and stay under the suppression threshold everywhere. So statements that fit no theme are
kept as candidates (`registry.assign_dates`), and so, on their own day, are those a theme took
only weakly: a named theme's net is wide enough to catch much of a new issue (measured: lost
belongings taken by "dignity and care", "discharge" and "diagnosis" at 0.40-0.55). Each daily
run looks first for a burst among the day's own candidates, weak fits included, whose calls do
not mostly mention one theme firmly (if they do, it is that theme's spike told loosely); then
clusters the fitting-nothing candidates of the day and the days before it. A burst, or a
cluster, that reaches the publishable size (the policy's suppress_below) in distinct calls on
one day, or a cluster that grows steadily over the window, becomes a provisional theme that same
run: a new id, a label from its own readable words, its calls assigned to it (weak fits taken
from the theme that had them, so the marts flag its spike that day), and a centroid new
statements are assigned by. The next refit confirms, merges or retires it (`registry.refit`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from assets import warehouse
from assets.themes import model, words
from assets.themes.registry import registry
from assets.warehouse import marts_queue

WINDOW_DAYS = 14
# Candidates in one cluster are at least this similar on average (average-linkage cosine).
# Measured on the benchmark's transcribed calls (docs/themes.md): at 0.5 and 0.4 the day's
# lost-property calls, misheard in many ways, stay in pieces too small to publish; at 0.35 they
# are one issue and nothing else in four weeks qualifies.
CLUSTER_MIN_SIMILARITY = 0.35
# A qualifying cluster this close to a registered provisional or discovered theme's centroid is
# that issue again (a theme a refit did not find), not a new one.
SAME_ISSUE_SIMILARITY = 0.7

# A statement this close to ones said in other calls on at least FORMULA_MIN_DAYS days of the
# window (its own day counted) is a formula, not an issue: how callers open ("I'm ringing about
# the way I was treated at ..."), heard alike every day. Left in, the same opening, misheard
# past the opening rules, grew "steadily" into a theme of its own (measured, docs/themes.md). An
# issue is told in callers' own words; a burst on one day is a formula only with near-copies on
# two other days, and an issue told word for word on four days cannot grow "steadily" (unseen).
FORMULA_SIMILARITY = 0.9
FORMULA_MIN_DAYS = 3

# A day's burst of statements that fit no theme or fit one only weakly (`model.WEAK_BELOW`) is no
# new issue when at least this share of its calls firmly mention one theme in their other
# statements: it is what that theme's own spike left behind, told loosely ("he was screaming
# every time they moved him" on a pain-relief day). Measured on the four benchmark script files
# (docs/themes.md): a new kind's bursts 0.00-0.17, a pain-relief day's leftovers 0.50-0.75. The
# centre's distance from the named themes does not tell them apart (0.30-0.52 against 0.34-0.47).
FIRM_SHARE = 0.4

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


def _formulas(embeddings: np.ndarray, days: list[date]) -> np.ndarray:
    """Which statements are formulas (FORMULA_SIMILARITY to statements of other calls on
    FORMULA_MIN_DAYS days or more, their own included)."""
    day_index = {d: i for i, d in enumerate(sorted(set(days)))}
    on_day = np.zeros((len(days), len(day_index)), dtype=np.float32)
    on_day[np.arange(len(days)), [day_index[d] for d in days]] = 1
    out = np.zeros(len(days), dtype=bool)
    for start in range(0, len(days), 2048):  # a block at a time: never the whole square in memory
        close = (embeddings[start:start + 2048] @ embeddings.T >= FORMULA_SIMILARITY).astype(np.float32)
        out[start:start + 2048] = ((close @ on_day) > 0).sum(axis=1) >= FORMULA_MIN_DAYS
    return out


def _calls_per_day(members: list[tuple]) -> Counter:
    """Distinct calls a day among candidate rows."""
    return Counter({r[0]: r[2] for r in members}.values())


def _qualifies(members: list[tuple], day: date, min_calls: int, window_days: int) -> bool:
    per_day = _calls_per_day(members)
    if max(per_day.values()) >= min_calls:
        return True
    calls = sum(per_day.values())
    middle = day - timedelta(days=window_days // 2)
    later = sum(n for d, n in per_day.items() if d > middle)
    return calls >= min_calls and len(per_day) >= STEADY_MIN_DAYS and later * 2 >= calls


def detect(conn, day: date, min_calls: int, window_days: int = WINDOW_DAYS, first_day: date | None = None
           ) -> list[Provisional]:
    """Find the new issues of `day` and register each as a provisional theme, its calls assigned
    to it: first a burst of `day`'s own statements that fit no theme or fit one only weakly,
    most of whose calls mention no one theme firmly; then a cluster of the candidates of the
    `window_days` days ending on `day` (from `first_day`, if earlier) that fit nothing, on one
    day or growing steadily. An issue already registered (a re-run of the day, or one a refit
    did not find again) goes back to that theme, keeping its id."""
    since = min(day - timedelta(days=window_days - 1), first_day or day)
    rows = conn.execute(
        "SELECT call_id, stmt_idx, call_date, text, embedding, theme_id, score FROM themes.candidates "
        "WHERE call_date BETWEEN ? AND ? AND (theme_id IS NULL OR call_date = ?) ORDER BY call_id, stmt_idx",
        [since, day, day]).fetchall()
    # A weak fit is a candidate on its own day only; the days before this one have had theirs.
    conn.execute("DELETE FROM themes.candidates WHERE theme_id IS NOT NULL AND call_date < ?", [day])
    if len({r[0] for r in rows}) < min_calls:
        return []
    formulas = _formulas(np.asarray([r[4] for r in rows], dtype=np.float32), [r[2] for r in rows])
    rows = [r for r, formula in zip(rows, formulas) if not formula]
    # Issues already registered: a theme's centroid (a theme a refit retired keeps one), and the
    # window's calls that mention it. A merged theme is not reused: its issue lives on in another.
    known = registry(conn, active_only=False, kinds=("provisional", "discovered"), merged=False)
    mentioned: dict[int, set[str]] = {}
    for theme_id, call_id in conn.execute(
            "SELECT theme_id, call_id FROM themes.call_themes WHERE call_date BETWEEN ? AND ? "
            "AND theme_id IN (SELECT unnest(?))", [since, day, sorted(known)]).fetchall():
        mentioned.setdefault(theme_id, set()).add(call_id)
    firm = _firm_mentions(conn, day)

    def theirs(members, near) -> bool:
        """A burst on the day whose calls mostly mention one theme firmly: that theme's spike."""
        calls = {r[0] for r in members + near if r[2] == day}
        return len(calls) >= min_calls and any(
            len(calls & mentioning) >= FIRM_SHARE * len(calls) for mentioning in firm.values())

    def burst(members, near, centre) -> bool:
        return _busy(members + near, min_calls) and not theirs(members, near)

    def window(members, near, centre) -> bool:
        return _qualifies(members, day, min_calls, window_days) and not theirs(members, near)

    found, claimed = [], set()
    for keep, qualifies in ((lambda r: r[2] == day, burst), (lambda r: r[5] is None, window)):
        pool = [r for r in rows if keep(r) and (r[0], r[1]) not in claimed]
        for members, top in _issues(pool, rows, min_calls, qualifies):
            claimed |= {(r[0], r[1]) for r in members}
            centre = model.centroid(np.asarray([r[4] for r in members]))
            found.append(_register(conn, members, top, day, _same_issue(members, centre, known, mentioned)))
    return found


def _firm_mentions(conn, day: date) -> dict[int, set[str]]:
    """The calls of `day` that mention each theme firmly: by a statement it took at
    `model.WEAK_BELOW` or more (a theme's statements less its weak fits)."""
    out: dict[int, set[str]] = {}
    for theme_id, call_id in conn.execute(
            "SELECT t.theme_id, t.call_id FROM themes.call_themes t LEFT JOIN (SELECT call_id, theme_id, "
            "count(*) AS weak FROM themes.candidates WHERE call_date = ? AND theme_id IS NOT NULL GROUP BY ALL) c "
            "USING (call_id, theme_id) WHERE t.call_date = ? AND t.statements > coalesce(c.weak, 0)",
            [day, day]).fetchall():
        out.setdefault(theme_id, set()).add(call_id)
    return out


def _issues(pool: list[tuple], rows: list[tuple], min_calls: int, qualifies):
    """Clusters of `pool` (joined when the same calls tell them), the biggest on one day first,
    each with the pool's statements near it, that `qualifies(members, near, centre)` and have
    two readable words to name them by (against the window's other candidates)."""
    if len({r[0] for r in pool}) < min_calls:
        return
    labels = _clusters(np.asarray([r[4] for r in pool], dtype=np.float32))
    calls_of = {c: {r[0] for r, k in zip(pool, labels) if k == c} for c in set(labels.tolist())}
    big = {c: calls for c, calls in calls_of.items() if len(calls) >= max(2, min_calls // 2)}
    joined = model.merge_by_calls(big)
    groups = {c: joined.get(c, c) for c in calls_of}
    taken: set[tuple] = set()
    # The biggest issue of a day first: the near statements it takes are not another's to count.
    busiest = {g: max(_calls_per_day([r for r, c in zip(pool, labels) if groups[c] == g]).values())
               for g in set(groups.values())}
    for group in sorted(busiest, key=lambda g: (-busiest[g], g)):
        members = [r for r, c in zip(pool, labels) if groups[c] == group and (r[0], r[1]) not in taken]
        if not members:
            continue
        centre = model.centroid(np.asarray([r[4] for r in members]))
        # What tomorrow's statements will be assigned by, applied to the pool's other statements
        # now: the same issue put in words the clustering kept apart.
        inside = {(r[0], r[1]) for r in members}
        seen = taken | inside
        near = [r for r in pool if (r[0], r[1]) not in seen
                and float(np.dot(r[4], centre)) >= model.ASSIGN_MIN_SIMILARITY]
        if not qualifies(members, near, centre):
            continue
        inside |= {(r[0], r[1]) for r in near}
        top = words.top_words([r[3] for r in members], [r[3] for r in rows if (r[0], r[1]) not in inside],
                              centre=centre)
        if len(top) < 2:
            continue  # not two readable words to call it by: not an issue anyone could act on
        taken |= inside
        yield members + near, top


def _busy(members: list[tuple], min_calls: int) -> bool:
    return max(_calls_per_day(members).values()) >= min_calls


def _same_issue(members: list[tuple], centre: np.ndarray, known: dict[int, np.ndarray],
                mentioned: dict[int, set[str]]) -> int | None:
    """The registered theme these statements are the issue of: most of their calls already
    mention it and it is near (a re-run of the day leaves behind the statements least like the
    theme's centre, told by the same calls; a call that mentions an older theme in another
    sentence is no reason to file a new issue under it), or its centroid is within
    SAME_ISSUE_SIMILARITY (a theme a refit did not find again)."""
    calls = {r[0] for r in members}
    overlap = {i: len(calls & c) / len(calls) for i, c in mentioned.items()
               if float(np.dot(known[i], centre)) >= model.ASSIGN_MIN_SIMILARITY}
    if overlap and (best := max(overlap, key=overlap.get)) is not None and overlap[best] >= 0.5:
        return best
    close = max(known, key=lambda i: float(np.dot(known[i], centre)), default=None)
    return close if close is not None and float(np.dot(known[close], centre)) >= SAME_ISSUE_SIMILARITY else None


def _register(conn, members: list[tuple], top: list[str], day: date, theme_id: int | None) -> Provisional:
    """A new provisional theme for these statements (or, given `theme_id`, the registered theme
    they are already the issue of, made active again) and their calls assigned to it."""
    now = warehouse.utcnow()
    per_call = Counter(r[0] for r in members)
    centre = model.centroid(np.asarray([r[4] for r in members]))
    score = Counter()
    for r in members:
        score[r[0]] += float(np.dot(r[4], centre))
    with warehouse.transaction(conn):
        if theme_id is None:
            theme_id = conn.execute("SELECT coalesce(max(theme_id), -1) + 1 FROM themes.topics").fetchone()[0]
            conn.execute("INSERT INTO themes.topics (theme_id, label, top_words, size, fitted_at, centroid, active, "
                         "first_fitted_at, kind, found_on) VALUES (?, ?, ?, ?, ?, ?, true, ?, 'provisional', ?)",
                         [theme_id, words.label(top), top, len(members), now, centre.tolist(), now, day])
        else:
            conn.execute("UPDATE themes.topics SET active = true WHERE theme_id = ?", [theme_id])
        conn.execute(
            "INSERT INTO themes.call_themes (call_id, theme_id, statements, call_date, service_area, team, score) "
            "SELECT c.call_id, ?, c.n, k.call_date, k.service_area, k.team, c.score FROM "
            "(SELECT unnest(?) AS call_id, unnest(?) AS n, unnest(?) AS score) c JOIN canon.transcripts k "
            "USING (call_id) ON CONFLICT (call_id, theme_id) DO UPDATE SET "
            "statements = call_themes.statements + excluded.statements, "
            "score = coalesce(call_themes.score, 0) + excluded.score",
            [theme_id, list(per_call), list(per_call.values()), [round(score[c], 4) for c in per_call]])
        _take_from_themes(conn, [r for r in members if r[5] is not None])
        marts_queue.mark_calls(conn, list(per_call))
        conn.execute("DELETE FROM themes.candidates WHERE call_id || ':' || stmt_idx IN (SELECT unnest(?))",
                     [[f"{r[0]}:{r[1]}" for r in members]])
        label = conn.execute("SELECT label FROM themes.topics WHERE theme_id = ?", [theme_id]).fetchone()[0]
    busiest, n = _calls_per_day(members).most_common(1)[0]
    return Provisional(theme_id, label, len(per_call), busiest, n)


def _take_from_themes(conn, weak: list[tuple]) -> None:
    """Statements a theme had taken weakly, now the new issue's: that theme's count and score for
    their calls go down by theirs, and a call none of whose statements it still has loses it."""
    if not weak:
        return
    n, score = Counter(), Counter()
    for r in weak:
        n[r[0], r[5]] += 1
        score[r[0], r[5]] += r[6] or 0.0
    conn.execute(
        "UPDATE themes.call_themes t SET statements = t.statements - m.n, score = t.score - m.score FROM "
        "(SELECT unnest(?) AS call_id, unnest(?) AS theme_id, unnest(?) AS n, unnest(?) AS score) m "
        "WHERE t.call_id = m.call_id AND t.theme_id = m.theme_id",
        [[c for c, _ in n], [t for _, t in n], list(n.values()), [score[k] for k in n]])
    conn.execute("DELETE FROM themes.call_themes WHERE call_id IN (SELECT unnest(?)) AND statements <= 0",
                 [sorted({c for c, _ in n})])
