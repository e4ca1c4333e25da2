"""The theme registry in the warehouse: ids that last, and each day's statements assigned.

Analysts chart a theme for months, so its id must not change meaning: `themes.topics` is a
registry. Taxonomy themes are registered from the policy's taxonomy file the first time they
are seen (by their taxonomy id), so calls are assigned from the first day, before any refit. A
refit (weekly) fits BERTopic over every statement in the canon: taxonomy themes keep their id;
discovered topics match registered ones by centroid (one-to-one) or get a new id; a provisional
theme the refit finds again is confirmed, one whose statements now fit another theme is merged
into it, and one found nowhere is retired. Between refits each day's statements go to the
nearest active theme (`assign_dates`); those that fit none become candidates, and those a theme
took only weakly candidates of their day too, which `emerging` watches for new issues. Nothing
here runs on a canon that failed the residual-PII scan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from assets import warehouse
from assets.themes import model, words
from assets.themes.statements import Statement, statements
from assets.warehouse import marts_queue


class CanonNotClean(RuntimeError):
    """The residual-PII scan found identifiers in the canon: nothing downstream may use it."""


def _require_clean_canon(conn) -> None:
    dirty = conn.execute("SELECT count(*) FROM canon.leak_scan WHERE findings > 0").fetchone()[0]
    if dirty:
        raise CanonNotClean(f"{dirty} canon call(s) failed the residual-PII scan (canon.leak_scan); "
                            "themes and marts are blocked until the canon is clean")


@dataclass(frozen=True)
class CallStatements:
    call_id: str
    call_date: object
    service_area: str | None
    team: str | None
    statements: list[Statement]


def call_statements(conn, where: str = "", params: list | None = None) -> list[CallStatements]:
    """The canon's calls with their statements (the caller's turns where speakers are known;
    rows from before 0.9 have no statements column filled, so their caller text is split)."""
    rows = conn.execute(
        "SELECT call_id, call_date, service_area, team, statements, coalesce(caller_text, text) "
        f"FROM canon.transcripts WHERE call_id NOT IN ({warehouse.retired_sql('theme_assignments')}) "
        f"{where} ORDER BY call_id", params or []).fetchall()
    return [CallStatements(r[0], r[1], r[2], r[3], statements(list(r[4]) if r[4] is not None else [r[5]]))
            for r in rows]


def sync_taxonomy(conn, taxonomy) -> dict[str, int]:
    """Register every taxonomy theme not registered yet (a new id each), refresh the names and
    prototypes of those that are; a theme taken out of the file goes inactive. Returns the ids."""
    protos = model.prototypes(taxonomy)
    known = dict(conn.execute("SELECT taxonomy_id, theme_id FROM themes.topics WHERE kind = 'taxonomy'").fetchall())
    next_id = conn.execute("SELECT coalesce(max(theme_id), -1) + 1 FROM themes.topics").fetchone()[0]
    now = warehouse.utcnow()
    for t in taxonomy.themes:
        if t.id not in known:
            known[t.id], next_id = next_id, next_id + 1
            conn.execute("INSERT INTO themes.topics (theme_id, label, top_words, size, fitted_at, centroid, active, "
                         "first_fitted_at, kind, taxonomy_id) VALUES (?, ?, ?, 0, ?, ?, true, ?, 'taxonomy', ?)",
                         [known[t.id], t.name, list(t.seeds), now, protos[t.id].tolist(), now, t.id])
        else:
            conn.execute("UPDATE themes.topics SET label = ?, centroid = ?, active = true WHERE theme_id = ?",
                         [t.name, protos[t.id].tolist(), known[t.id]])
    gone = [i for tid, i in known.items() if tid not in taxonomy.by_id()]
    if gone:
        conn.execute("UPDATE themes.topics SET active = false WHERE theme_id IN (SELECT unnest(?))", [gone])
    return {tid: i for tid, i in known.items() if tid in taxonomy.by_id()}


def registry(conn, active_only: bool = True, kinds: tuple[str, ...] | None = None,
             merged: bool = True) -> dict[int, np.ndarray]:
    """Theme centroids by id: active ones only, or all; of some kinds; with or without themes a
    refit merged into another."""
    rows = conn.execute("SELECT theme_id, centroid, kind FROM themes.topics WHERE centroid IS NOT NULL"
                        + (" AND active" if active_only else "")
                        + ("" if merged else " AND merged_into IS NULL")).fetchall()
    return {int(i): np.asarray(c, dtype=np.float32) for i, c, k in rows if kinds is None or k in kinds}


def _write(conn, calls: list[CallStatements], found_per_statement: list[list[tuple[int | None, float]]],
           embeddings: np.ndarray) -> tuple[int, int]:
    """Each call's themes (how many statements mention each, and their summed score), and as
    candidates its unassigned statements and those a theme took weakly (with that theme).
    Returns (call-theme rows, unassigned candidates)."""
    rows, candidates, k = [], [], 0
    for call, found in zip(calls, found_per_statement):
        counts, scores = Counter(), Counter()
        for theme_id, score in found:
            if theme_id is not None:
                counts[theme_id] += 1
                scores[theme_id] += score
        for theme_id, n in counts.items():
            rows.append(dict(call_id=call.call_id, theme_id=theme_id, statements=n, call_date=call.call_date,
                             service_area=call.service_area, team=call.team, score=round(scores[theme_id], 4)))
        for s, (theme_id, score) in zip(call.statements, found):
            if theme_id is None or score < model.WEAK_BELOW:
                candidates.append(dict(call_id=call.call_id, stmt_idx=s.index, call_date=call.call_date,
                                       text=s.text, words=list(s.words), embedding=embeddings[k].tolist(),
                                       theme_id=theme_id, score=None if theme_id is None else round(score, 4)))
            k += 1
    warehouse.insert_rows(conn, "themes.call_themes", rows)
    warehouse.insert_rows(conn, "themes.candidates", candidates)
    return len(rows), sum(c["theme_id"] is None for c in candidates)


def _by_call(calls: list[CallStatements], found: list) -> list[list]:
    """A flat list, one item per statement, cut back into one list per call."""
    each = iter(found)
    return [[next(each) for _ in c.statements] for c in calls]


def _embed(calls: list[CallStatements]) -> np.ndarray:
    return model.embed([s.text for c in calls for s in c.statements])


def _seed_words(calls: list[CallStatements], taxonomy, named: dict[str, int]) -> dict[int, np.ndarray]:
    """Each named theme's seed-word score per statement, by registry id (`model.nearest`'s boost)."""
    scores = words.seed_word_scores([s.text for c in calls for s in c.statements], taxonomy)
    return {named[t.id]: scores[:, k] for k, t in enumerate(taxonomy.themes)}


@dataclass(frozen=True)
class Assigned:
    calls: int
    statements: int
    mentions: int      # call-theme rows
    candidates: int


def assign_dates(conn, call_dates: list, taxonomy) -> Assigned:
    """Assign the statements of these call dates' canon calls to the active themes (replacing
    what the dates had); those that fit none, or fit one only weakly, become candidates."""
    _require_clean_canon(conn)
    with warehouse.transaction(conn):
        named = sync_taxonomy(conn, taxonomy)
    centroids = registry(conn)
    calls = call_statements(conn, "AND call_date IN (SELECT unnest(?))", [call_dates])
    embeddings = _embed(calls)
    per_call = _by_call(calls, model.nearest(embeddings, centroids, boost=_seed_words(calls, taxonomy, named)))
    with warehouse.transaction(conn):
        for table in ("themes.call_themes", "themes.candidates"):
            conn.execute(f"DELETE FROM {table} WHERE call_date IN (SELECT unnest(?))", [call_dates])
        mentions, candidates = _write(conn, calls, per_call, embeddings)
        marts_queue.mark_days(conn, call_dates)
    return Assigned(len(calls), len(embeddings), mentions, candidates)


@dataclass(frozen=True)
class Refit:
    themes: list[model.Theme]    # with registry ids
    new_themes: int
    kept_themes: int
    inactive_themes: int
    confirmed: int               # provisional themes found again
    merged: int                  # provisional themes whose statements fit another theme
    reassigned_share: float | None


def refit(conn, taxonomy, min_cluster: int) -> Refit:
    """Fit on every statement in the canon, keep ids, reassign every call: one transaction."""
    _require_clean_canon(conn)
    with warehouse.transaction(conn):
        named = sync_taxonomy(conn, taxonomy)
    calls = call_statements(conn)
    texts = [s.text for c in calls for s in c.statements]
    result = model.fit(texts, taxonomy, min_cluster, [c.call_id for c in calls for _ in c.statements])
    mapping = {t.theme_id: named[t.taxonomy_id] for t in result.themes if t.taxonomy_id}
    discovered = [t for t in result.themes if not t.taxonomy_id]
    others = registry(conn, active_only=False, kinds=("discovered", "provisional"))
    mapping |= model.align(discovered, others)
    next_id = conn.execute("SELECT coalesce(max(theme_id), -1) + 1 FROM themes.topics").fetchone()[0]
    for t in discovered:
        if t.theme_id not in mapping:
            mapping[t.theme_id], next_id = next_id, next_id + 1
    kinds = dict(conn.execute("SELECT theme_id, kind FROM themes.topics").fetchall())
    before = Counter((c, t) for c, t in conn.execute("SELECT call_id, theme_id FROM themes.call_themes").fetchall())
    # BERTopic found the themes; every statement is then assigned by the one rule the daily run
    # uses, so a refit and the days after it agree.
    centroids = {mapping[t.theme_id]: t.centroid for t in result.themes}
    found_all = model.nearest(result.embeddings, centroids, boost=_seed_words(calls, taxonomy, named))
    per_call = _by_call(calls, found_all)
    after = {(c.call_id, t) for c, found in zip(calls, per_call) for t, _ in found if t is not None}
    moved = len(set(before) ^ after) / len(set(before) | after) if before else None
    sizes = Counter(i for i, _ in found_all)
    themes = [model.Theme(mapping[t.theme_id], t.label, t.top_words, sizes[mapping[t.theme_id]], t.centroid,
                          t.taxonomy_id) for t in result.themes]
    themes = [t for t in themes if t.size or t.taxonomy_id]
    found = {t.theme_id for t in themes}
    provisional = {i for i, k in kinds.items() if k == "provisional"}
    merged = _merges(before, after, provisional - found)
    now = warehouse.utcnow()
    with warehouse.transaction(conn):
        conn.execute("UPDATE themes.topics SET active = false, size = 0 WHERE kind <> 'taxonomy' AND "
                     "theme_id NOT IN (SELECT unnest(?))", [sorted(found)])
        for old, into in merged.items():
            conn.execute("UPDATE themes.topics SET merged_into = ? WHERE theme_id = ?", [into, old])
        for t in themes:
            if t.taxonomy_id:
                conn.execute("UPDATE themes.topics SET size = ?, top_words = coalesce(?, top_words), fitted_at = ? "
                             "WHERE theme_id = ?", [t.size, t.top_words or None, now, t.theme_id])
                continue
            conn.execute(
                "INSERT INTO themes.topics (theme_id, label, top_words, size, fitted_at, centroid, active, "
                "first_fitted_at, kind) VALUES (?, ?, ?, ?, ?, ?, true, ?, 'discovered') ON CONFLICT (theme_id) "
                "DO UPDATE SET label = excluded.label, top_words = excluded.top_words, size = excluded.size, "
                "fitted_at = excluded.fitted_at, centroid = excluded.centroid, active = true, kind = 'discovered'",
                [t.theme_id, t.label, t.top_words, t.size, now, t.centroid.tolist(), now])
        marts_queue.mark_everything(conn)
        conn.execute("DELETE FROM themes.call_themes")
        conn.execute("DELETE FROM themes.candidates")
        _write(conn, calls, per_call, result.embeddings)
        refit_ = Refit(themes, new_themes=len(found - set(kinds)), kept_themes=len(found & set(kinds)),
                       inactive_themes=len(set(others) - found), confirmed=len(provisional & found),
                       merged=len(merged), reassigned_share=moved)
        warehouse.insert_row(conn, "themes.fits", fitted_at=now, calls=len(calls), themes=len(themes),
                             new_themes=refit_.new_themes, kept_themes=refit_.kept_themes,
                             inactive_themes=refit_.inactive_themes, reassigned_share=moved, script_sentences=[])
    return refit_


def _merges(before: Counter, after: set, lost: set[int]) -> dict[int, int]:
    """For each provisional theme the refit did not find: the theme most of its calls now
    mention, when most of them mention one."""
    out = {}
    for old in lost:
        calls = {c for c, t in before if t == old}
        now = Counter(t for c, t in after if c in calls)
        if now and (best := now.most_common(1)[0])[1] * 2 >= len(calls):
            out[old] = best[0]
    return out


def candidates_on(conn, call_dates: list) -> int:
    """Statements of these dates that still fit no theme (after provisional themes took theirs)."""
    return conn.execute("SELECT count(*) FROM themes.candidates WHERE theme_id IS NULL AND call_date IN "
                        "(SELECT unnest(?))", [call_dates]).fetchone()[0]


def has_registered_themes(database) -> bool:
    """Whether the warehouse file holds an active theme yet (read-only; False for no file)."""
    if not Path(database).exists():
        return False
    with warehouse.connect(database, read_only=True) as conn:
        try:
            return bool(conn.execute("SELECT count(*) FROM themes.topics WHERE active").fetchone()[0])
        except duckdb.CatalogException:
            return False
