"""Erasure requests (UK GDPR art. 17): every class of every matching call, now, sparing calls
under a legal hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from assets import locations
from assets.access.subjects import call_ref, matching_calls, subject_ref
from assets.pii.pseudonymiser import Pseudonymiser
from assets.retention.certificates import Certificate, issue_certificate, new_certificate_id
from assets.retention.deletion import delete, retire_finished_calls, unlink_files
from assets.retention.expiry import SWEPT_CLASSES, Due, holding_sql
from assets.retention.holds import held_calls


@dataclass
class ErasurePlan:
    calls: list[str]
    held: list[str]


def plan_erasure(conn, pseudonymiser: Pseudonymiser, kind: str, value: str) -> ErasurePlan:
    calls = matching_calls(conn, pseudonymiser, kind, subject_ref(pseudonymiser, kind, value))
    held = held_calls(conn, pseudonymiser)
    return ErasurePlan([c for c in calls if c not in held], [c for c in calls if c in held])


def erase(conn, pseudonymiser: Pseudonymiser, policy: str, kind: str, value: str, reason: str,
          as_of: date) -> Certificate:
    """Delete every class of every matching call, and the call records, now. Calls under a
    legal hold are spared and counted (UK GDPR art. 17(3)(e): legal claims).

    The marts are rebuilt and the warehouse file rewritten by the caller afterwards
    (`pipelines.runner.finish_erasure`), so that no copy of the rows survives on disk."""
    certificate_id = new_certificate_id("erasure")
    todo = plan_erasure(conn, pseudonymiser, kind, value)
    if todo.calls:
        dates = dict(conn.execute("SELECT call_id, call_date FROM casework.calls WHERE call_id IN (SELECT unnest(?))",
                                  [todo.calls]).fetchall())
        for data_class in SWEPT_CLASSES:
            holding = {r[0] for r in conn.execute(
                f"SELECT call_id FROM ({holding_sql(data_class)}) WHERE call_id IN (SELECT unnest(?))",
                [todo.calls]).fetchall()}
            items = [Due(c, dates[c], data_class, as_of, "erasure request") for c in todo.calls if c in holding]
            if items:
                delete(conn, items, policy, certificate_id, reason="erasure")
        _erase_quarantined(conn, todo.calls)
        retire_finished_calls(conn, policy, certificate_id, as_of, call_ids=todo.calls)
    scope = f"{kind}:{call_ref(subject_ref(pseudonymiser, kind, value))}"
    return issue_certificate(conn, certificate_id, "erasure", policy, reason, scope, as_of, len(todo.held))


def _erase_quarantined(conn, call_ids: list[str]) -> None:
    """Files a stage set aside for these calls (e.g. audio that would not decode)."""
    rows = conn.execute("SELECT location FROM casework.quarantine WHERE item IN (SELECT unnest(?))",
                        [call_ids]).fetchall()
    for (location,) in rows:
        target = locations.location(location) if location else None
        if target and target.is_dir():
            unlink_files({"": sorted(str(p) for p in target.rglob("*") if p.is_file())})
        elif target and target.is_file() and target.stem in call_ids:
            unlink_files({"": [str(target)]})
