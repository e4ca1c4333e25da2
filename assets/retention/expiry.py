"""What has expired: computed afresh on every sweep from the policy and the call's current state
(linked to a complaint or not, the case's last activity), so a later update to the case moves the
expiry. Data is kept through `anchor + days` and deleted from the day after. This SQL is the one
place expiry is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assets.policy import DATA_CLASSES, Policy, RetentionRule

# Where each data class lives. `audio` is files plus the call row's `audio_deleted_at`; the
# marts are aggregates rebuilt from theme assignments after every sweep (see policy.ClassDays).
CLASS_TABLES = {
    "theme_assignments": ("themes.call_themes", "themes.candidates"),
    "canon": ("canon.transcripts", "canon.leak_scan"),
    "segments": ("casework.words", "casework.segments"),
    "transcript": ("casework.transcripts",),
    "redacted_audio": ("casework.redacted_audio",),
    "audio": (),
}


SWEPT_CLASSES = tuple(c for c in DATA_CLASSES if c in CLASS_TABLES)


@dataclass(frozen=True)
class Due:
    call_id: str
    call_date: date
    data_class: str
    expires_on: date
    rule: str  # e.g. "unlinked.audio"


def _anchor_sql(rule: RetentionRule) -> str:
    if rule.anchor == "call":
        return "call_date"
    return "greatest(call_date, coalesce(case_last_activity, call_date))"


def holding_sql(data_class: str) -> str:
    """Calls that still hold some of `data_class`."""
    if data_class == "audio":
        return "SELECT call_id FROM casework.calls WHERE audio_deleted_at IS NULL"
    return " UNION ".join(f"SELECT call_id FROM {t}" for t in CLASS_TABLES[data_class])


def due(conn, policy: Policy, data_class: str, as_of: date, call_date: date | None = None) -> list[Due]:
    """Everything of `data_class` past its retention on `as_of` (one call date, or all)."""
    linked, unlinked = policy.retention.linked, policy.retention.unlinked
    where, params = ("AND call_date = ?", [call_date]) if call_date else ("", [])
    rows = conn.execute(
        f"""WITH c AS (
              SELECT call_id, call_date, complaint_id IS NOT NULL AS linked,
                     CASE WHEN complaint_id IS NOT NULL
                          THEN {_anchor_sql(linked)} + {int(getattr(linked.days, data_class))}
                          ELSE {_anchor_sql(unlinked)} + {int(getattr(unlinked.days, data_class))}
                     END AS expires_on
              FROM casework.calls
              WHERE call_id IN ({holding_sql(data_class)}) {where})
            SELECT call_id, call_date, linked, expires_on FROM c WHERE expires_on < ?
            ORDER BY call_date, call_id""",
        [*params, as_of],
    ).fetchall()
    return [Due(cid, d, data_class, exp, f"{'linked' if lk else 'unlinked'}.{data_class}")
            for cid, d, lk, exp in rows]


def due_dates(conn, policy: Policy, as_of: date) -> list[date]:
    """Call dates with anything due: the partitions a daily sweep needs to run."""
    return sorted({d.call_date for c in SWEPT_CLASSES for d in due(conn, policy, c, as_of)})
