"""Erasure requests (UK GDPR art. 17): every class of every matching call, now, sparing calls
under a legal hold."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date

from assets import locations, warehouse
from assets.access import releases, traces
from assets.access.subjects import call_ref, matching_calls, subject_ref
from assets.ingest import untrusted
from assets.pii.pseudonymiser import Pseudonymiser
from assets.retention.certificates import Certificate, issue_certificate, new_certificate_id
from assets.retention.deletion import delete, retire_finished_calls, unlink_files
from assets.retention.expiry import SWEPT_CLASSES, Due, holding_sql
from assets.retention.holds import held_calls
from assets.settings import Settings


@dataclass
class ErasurePlan:
    calls: list[str]
    held: list[str]


def plan_erasure(conn, pseudonymiser: Pseudonymiser, kind: str, value: str) -> ErasurePlan:
    calls = matching_calls(conn, pseudonymiser, kind, subject_ref(pseudonymiser, kind, value))
    held = held_calls(conn, pseudonymiser)
    return ErasurePlan([c for c in calls if c not in held], [c for c in calls if c in held])


def erase(conn, pseudonymiser: Pseudonymiser, policy: str, kind: str, value: str, reason: str,
          as_of: date, names: list[str] = ()) -> Certificate:
    """Delete every class of every matching call, and the call records, now; then every other
    place the subject's number or name is held: other calls' unknown sidecar fields (redacted),
    quarantined files (deleted) and releases written to disk (deleted). Calls under a legal hold
    are spared and counted (UK GDPR art. 17(3)(e): legal claims).

    `names`: the subject's name(s) as the request gives them, matched and never stored. The marts
    are rebuilt and the warehouse file rewritten by the caller afterwards
    (`pipelines.runner.finish_erasure`), so that no copy of the rows survives on disk."""
    certificate_id = new_certificate_id("erasure")
    todo = plan_erasure(conn, pseudonymiser, kind, value)
    calls = conn.execute("SELECT call_id, call_date, external_number FROM casework.calls "
                         "WHERE call_id IN (SELECT unnest(?))", [todo.calls]).fetchall()
    dates = {call_id: day for call_id, day, _ in calls}
    ids = traces.Identifiers.of([*(n for _, _, n in calls), value if kind == "number" else None], names)
    if todo.calls:
        for data_class in SWEPT_CLASSES:
            holding = {r[0] for r in conn.execute(
                f"SELECT call_id FROM ({holding_sql(data_class)}) WHERE call_id IN (SELECT unnest(?))",
                [todo.calls]).fetchall()}
            items = [Due(c, dates[c], data_class, as_of, "erasure request") for c in todo.calls if c in holding]
            if items:
                delete(conn, items, policy, certificate_id, reason="erasure")
    # Before the call records go: their quarantine rows name what to remove.
    _erase_traces(conn, ids, todo, _Log(conn, policy, certificate_id, as_of))
    if todo.calls:
        _erase_staged(todo.calls, dates)
        retire_finished_calls(conn, policy, certificate_id, as_of, call_ids=todo.calls)
    scope = f"{kind}:{call_ref(subject_ref(pseudonymiser, kind, value))}"
    return issue_certificate(conn, certificate_id, "erasure", policy, reason, scope, as_of, len(todo.held))


def _erase_staged(call_ids: list[str], dates: dict) -> None:
    """Results a worker staged for the calls and the loader has not taken yet (`assets.staging`),
    with the redacted copies written for them (by name), and the calls taken out of their dates'
    manifests (which needs the audio key, only where a manifest is there)."""
    from assets.audio.vault import AudioVault
    from assets.settings import Settings
    from assets.staging import Staging

    settings = Settings.from_env()
    staging = Staging(settings.staging_dir, vault=None)
    for call_id in call_ids:
        staging.remove_call(dates[call_id], call_id, settings.redacted_dir)
    for day in {dates[c] for c in call_ids}:
        if staging.has_manifest(day):
            staging.vault = staging.vault or AudioVault.from_keys()
            staging.forget(day, call_ids)


class _Log:
    """retention_log rows for what an erasure removed outside the call's own classes."""

    def __init__(self, conn, policy: str, certificate_id: str, as_of: date):
        self.conn, self.policy, self.certificate_id, self.as_of = conn, policy, certificate_id, as_of

    def __call__(self, data_class: str, ref: str, bytes_deleted: int = 0) -> None:
        warehouse.insert_row(self.conn, "governance.retention_log", run_at=warehouse.utcnow(), policy=self.policy,
                             rule="erasure request", data_class=data_class, call_ref=ref, call_date=self.as_of,
                             expired_on=self.as_of, bytes_deleted=bytes_deleted,
                             certificate_id=self.certificate_id, reason="erasure")


def _erase_traces(conn, ids: traces.Identifiers, todo: ErasurePlan, log: _Log) -> None:
    """Held calls keep their own quarantine and releases (the hold covers them); the subject's
    values in other calls' fields go either way, unless they are on a held call."""
    for ref, fields in traces.redact_extras(conn, ids, exclude=[*todo.calls, *todo.held]).items():
        for _ in range(fields):  # one row per field redacted (no bytes: the record stays)
            log("third_party_fields", ref)
    labels = list(untrusted.labels(todo.calls).values())
    for item, stage, location in traces.quarantined(conn, ids, todo.calls, labels):
        if item in todo.held:
            continue
        freed = _remove(location) if location else 0
        conn.execute("DELETE FROM casework.quarantine WHERE item = ? AND stage = ?", [item, stage])
        log("quarantine", traces.quarantine_ref(item), freed)
    # Then folders named after the calls that no row names any more (a fixed call's earlier
    # send, a superseded recording).
    for folder in traces.call_folders(Settings.from_env().quarantine_dir, todo.calls):
        freed = _remove(folder)
        if freed:
            log("quarantine", traces.quarantine_ref(locations.location(folder).name), freed)
    for kind, ref, size in releases.remove(conn, todo.calls, log.certificate_id):
        log(f"release:{kind}", ref, size)


def _remove(location: str) -> int:
    """A quarantine location's files, and its folder where it is one on a local disk; bytes freed."""
    freed = sum(unlink_files({"": traces.files_under(location)}).values())
    target = locations.location(location)
    if locations.is_local(target) and target.is_dir():
        shutil.rmtree(target, ignore_errors=True)
    return freed
