"""The theme registry in the warehouse: ids that last.

Analysts chart a theme for months, so its id must not change meaning when the model is refitted:
`themes.topics` is a registry. A refit matches its topics to registered themes by the cosine
similarity of their centroids (one-to-one, Hungarian); a match keeps the old id, anything new
gets a new id, and a registered theme the refit did not find stays, inactive. Between refits new
calls are assigned to the nearest active centroid (the model's `transform`). Nothing here runs on
a canon that failed the residual-PII scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from assets import warehouse
from assets.themes.model import Theme, align, assign, fit


class CanonNotClean(RuntimeError):
    """The residual-PII scan found identifiers in the canon: nothing downstream may use it."""


def _require_clean_canon(conn) -> None:
    dirty = conn.execute("SELECT count(*) FROM canon.leak_scan WHERE findings > 0").fetchone()[0]
    if dirty:
        raise CanonNotClean(f"{dirty} canon call(s) failed the residual-PII scan (canon.leak_scan); "
                            "themes and marts are blocked until the canon is clean")


def _canon_rows(conn, where: str = "", params: list | None = None) -> list[tuple]:
    return conn.execute(
        # The caller's words where speakers are known: why they called, not the staff script.
        "SELECT call_id, call_date, service_area, team, coalesce(caller_text, text) FROM canon.transcripts "
        f"WHERE call_id NOT IN ({warehouse.retired_sql('theme_assignments')}) {where} ORDER BY call_id",
        params or []).fetchall()


def registry(conn, active_only: bool = True) -> dict[int, np.ndarray]:
    rows = conn.execute("SELECT theme_id, centroid FROM themes.topics WHERE centroid IS NOT NULL"
                        + (" AND active" if active_only else "")).fetchall()
    return {int(i): np.asarray(c, dtype=np.float32) for i, c in rows}


def last_script(conn) -> frozenset[str]:
    row = conn.execute("SELECT script_sentences FROM themes.fits ORDER BY fitted_at DESC LIMIT 1").fetchone()
    return frozenset(row[0]) if row else frozenset()


@dataclass(frozen=True)
class Refit:
    themes: list[Theme]         # with registry ids
    assignments: dict[str, int]  # call_id -> theme_id
    new_themes: int
    kept_themes: int
    inactive_themes: int
    reassigned_share: float | None


def _write_assignments(conn, rows: list[tuple], theme_ids: list[int]) -> None:
    warehouse.insert_rows(conn, "themes.call_themes", [
        dict(call_id=r[0], theme_id=theme, call_date=r[1], service_area=r[2], team=r[3])
        for r, theme in zip(rows, theme_ids)])


def refit(conn, n_themes: int | None = None) -> Refit:
    """Fit on the whole canon, align to the registry, reassign every call: one transaction."""
    _require_clean_canon(conn)
    rows = _canon_rows(conn)
    result = fit([r[4] for r in rows], n_themes)
    known = registry(conn, active_only=False)
    mapping = align(result.themes, known)
    themes = [Theme(mapping[t.theme_id], t.label, t.top_words, t.size, t.centroid) for t in result.themes]
    assigned = {r[0]: mapping[t] for r, t in zip(rows, result.assignments)}
    before = dict(conn.execute("SELECT call_id, theme_id FROM themes.call_themes").fetchall())
    common = [c for c in assigned if c in before]
    moved = sum(assigned[c] != before[c] for c in common) / len(common) if common else None
    found = {t.theme_id for t in themes}
    now = warehouse.utcnow()
    with warehouse.transaction(conn):
        conn.execute("UPDATE themes.topics SET active = false, size = 0 WHERE theme_id NOT IN (SELECT unnest(?))",
                     [sorted(found)])
        for t in themes:
            conn.execute(
                "INSERT INTO themes.topics (theme_id, label, top_words, size, fitted_at, centroid, active, "
                "first_fitted_at) VALUES (?, ?, ?, ?, ?, ?, true, ?) ON CONFLICT (theme_id) DO UPDATE SET "
                "label = excluded.label, top_words = excluded.top_words, size = excluded.size, "
                "fitted_at = excluded.fitted_at, centroid = excluded.centroid, active = true",
                [t.theme_id, t.label, t.top_words, t.size, now, t.centroid.tolist(), now])
        conn.execute("DELETE FROM themes.call_themes")
        _write_assignments(conn, rows, [assigned[r[0]] for r in rows])
        refit_ = Refit(themes, assigned, new_themes=len(found - set(known)), kept_themes=len(found & set(known)),
                       inactive_themes=len(set(known) - found), reassigned_share=moved)
        warehouse.insert_row(conn, "themes.fits", fitted_at=now, calls=len(rows), themes=len(themes),
                             new_themes=refit_.new_themes, kept_themes=refit_.kept_themes,
                             inactive_themes=refit_.inactive_themes, reassigned_share=moved,
                             script_sentences=sorted(result.script))
    return refit_


def assign_dates(conn, call_dates: list) -> int | None:
    """Assign the canon calls of these call dates to the registered themes (replacing what the
    dates had). None when nothing has been fitted yet: a refit assigns everything."""
    _require_clean_canon(conn)
    centroids = registry(conn)
    if not centroids:
        return None
    rows = _canon_rows(conn, "AND call_date IN (SELECT unnest(?))", [call_dates])
    theme_ids = assign([r[4] for r in rows], centroids, last_script(conn))
    with warehouse.transaction(conn):
        conn.execute("DELETE FROM themes.call_themes WHERE call_date IN (SELECT unnest(?))", [call_dates])
        _write_assignments(conn, rows, theme_ids)
    return len(rows)


def has_registered_themes(database) -> bool:
    """Whether the warehouse file holds an active theme yet (read-only; False for no file)."""
    if not Path(database).exists():
        return False
    with warehouse.connect(database, read_only=True) as conn:
        try:
            return bool(conn.execute("SELECT count(*) FROM themes.topics WHERE active").fetchone()[0])
        except duckdb.CatalogException:
            return False
