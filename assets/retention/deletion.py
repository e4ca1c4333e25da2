"""Deleting what is due, everywhere it lives: the one deletion path. Each scheduled
`retention/<class>` asset calls `delete_class`, the `governance/retention_certificate` asset calls
`close_sweep`, and `sweep` (the evidence-pack test, the benchmark) is exactly those calls in the
schedule's order.

Crash safety comes from order, not locks: files go first, then one transaction marks the rows
and writes the log. A crash in between leaves files already gone and rows still present; the
re-run finds the same calls due, finds the files missing, and completes. Nothing outside the due
set is ever touched, because every delete is keyed by the due call ids. The log names calls only
by a hash of their id.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from assets import locations, warehouse
from assets.access import releases
from assets.access.subjects import call_ref
from assets.access.traces import call_folders, files_under
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import Policy
from assets.retention.certificates import Certificate, issue_certificate, new_certificate_id
from assets.retention.expiry import CLASS_TABLES, SWEPT_CLASSES, Due, due, holding_sql
from assets.retention.holds import held_calls
from assets.settings import Settings
from assets.warehouse import marts_queue

# Tables that hold a call's data beyond the classes: removed with the call record itself.
RECORD_TABLES = ("casework.call_pseudonyms", "casework.retired", "casework.calls")


# Calls per transaction: each commit is an fsync that waits for the unlinks queued in the
# filesystem's journal, so fewer, larger batches (measured: 25 000 against 10 000, sweep/floor at
# 100 000 calls 0.89 against 1.01) while a failed batch still rolls back a bounded amount.
BATCH = 25_000

# Classes whose rows the marts count: deleting them makes their call dates' marts stale.
COUNTED_CLASSES = ("canon", "theme_assignments")


UNLINK_THREADS, UNLINK_PROBE, SLOW_UNLINK_S = 8, 256, 60e-6


def _files_of(conn, data_class: str, call_ids: list[str]) -> dict[str, list[str]]:
    """The files a class keeps for each call, in one query per batch."""
    files: dict[str, list[str]] = {}
    if data_class == "audio":
        # Stores ingested before 0.4 kept a sidecar copy beside the audio; a missing one costs a
        # failed lookup, not a journalled unlink.
        for cid, path in conn.execute(
                "SELECT call_id, audio_path FROM casework.calls WHERE call_id IN (SELECT unnest(?))",
                [call_ids]).fetchall():
            if path:  # strings, not Paths: at 100 000 calls pathlib alone costs seconds
                files[cid] = [path, os.path.join(os.path.dirname(path), f"{cid}.json")]
    elif data_class == "redacted_audio":
        for cid, path in conn.execute(
                "SELECT call_id, path FROM casework.redacted_audio WHERE call_id IN (SELECT unnest(?))",
                [call_ids]).fetchall():
            files.setdefault(cid, []).append(path)
    return files


def _unlink_all(paths: list[str]) -> list[int]:
    return [locations.remove(p) for p in paths]


def unlink_files(files: dict[str, list[str]]) -> dict[str, int]:
    """Delete the files, returning bytes freed per call; the first failure is raised before any
    row is marked.

    What an unlink costs depends on the filesystem, measured here: 13 µs on tmpfs, 180 µs on a
    VM's ext4, where it waits on the journal. Threads make the slow case 1.5x faster and the fast
    case 6x slower, so the first files are timed and threads used only when unlinks are slow."""
    pairs = [(cid, p) for cid, paths in files.items() for p in paths]
    started = time.perf_counter()
    sizes = [locations.remove(p) for _, p in pairs[:UNLINK_PROBE]]
    per_file = (time.perf_counter() - started) / max(1, len(sizes))
    rest = [p for _, p in pairs[UNLINK_PROBE:]]
    if per_file > SLOW_UNLINK_S and len(rest) > UNLINK_PROBE:
        # One contiguous slice per thread: a task per file costs more in futures and locks
        # than the unlink itself (ThreadPoolExecutor ignores map's chunksize).
        step = -(-len(rest) // UNLINK_THREADS)
        with ThreadPoolExecutor(UNLINK_THREADS) as pool:
            for part in pool.map(_unlink_all, [rest[i:i + step] for i in range(0, len(rest), step)]):
                sizes += part
    else:
        sizes += [locations.remove(p) for p in rest]
    freed: dict[str, int] = {}
    for (cid, _), size in zip(pairs, sizes):
        freed[cid] = freed.get(cid, 0) + size
    return freed


def _log(conn, items: list[Due], policy: str, certificate_id: str, reason: str, sizes: dict[str, int]) -> None:
    now = warehouse.utcnow()
    warehouse.insert_rows(conn, "governance.retention_log", [
        dict(run_at=now, policy=policy, rule=d.rule, data_class=d.data_class, call_ref=call_ref(d.call_id),
             call_date=d.call_date, expired_on=d.expires_on, bytes_deleted=sizes.get(d.call_id, 0),
             certificate_id=certificate_id, reason=reason) for d in items])


def delete(conn, items: list[Due], policy: str, certificate_id: str, reason: str = "retention") -> int:
    """Delete the given class items (all of one data class) in batches; returns bytes freed."""
    freed = 0
    for start in range(0, len(items), BATCH):
        batch = items[start:start + BATCH]
        data_class = batch[0].data_class
        ids = [d.call_id for d in batch]
        sizes = unlink_files(_files_of(conn, data_class, ids))  # per call, for the log
        with warehouse.transaction(conn):
            if data_class in COUNTED_CLASSES:
                marts_queue.mark_calls(conn, ids)  # the dates their rows have, before they go
            for table in CLASS_TABLES[data_class]:
                conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [ids])
            if data_class == "audio":
                conn.execute("UPDATE casework.calls SET audio_deleted_at = ? WHERE call_id IN (SELECT unnest(?))",
                             [warehouse.utcnow(), ids])
            conn.execute("INSERT INTO casework.retired SELECT unnest(?), ?, ?", [ids, data_class, warehouse.utcnow()])
            _log(conn, batch, policy, certificate_id, reason, sizes)
        freed += sum(sizes.values())
    return freed


def delete_class(conn, policy: Policy, pseudonymiser: Pseudonymiser, data_class: str, as_of: date,
                 certificate_id: str, call_date: date | None = None) -> tuple[list[Due], list[Due], int]:
    """Delete one class's due items (one call date, or all), sparing held calls, under one
    checkpoint. Returns (deleted, suspended, bytes). What each `retention/<class>` asset calls."""
    with warehouse.one_checkpoint(conn):
        items = due(conn, policy, data_class, as_of, call_date)
        held = held_calls(conn, pseudonymiser) if items else set()
        suspended = [d for d in items if d.call_id in held]
        go = [d for d in items if d.call_id not in held]
        return go, suspended, delete(conn, go, policy.name, certificate_id) if go else 0


def retire_finished_calls(conn, policy: str, certificate_id: str, as_of: date,
                          call_date: date | None = None, call_ids: list[str] | None = None) -> int:
    """Remove the call record (metadata: number, staff, complaint link) of calls with nothing
    left in any class: the last step of a call's life. Limited to one call date or to given calls."""
    holding = " UNION ".join(holding_sql(c) for c in SWEPT_CLASSES)
    if call_ids is not None:
        where, params = "AND call_id IN (SELECT unnest(?))", [call_ids]
    else:
        where, params = ("AND call_date = ?", [call_date]) if call_date else ("", [])
    rows = conn.execute(
        f"SELECT call_id, call_date FROM casework.calls WHERE call_id NOT IN ({holding}) {where}", params
    ).fetchall()
    items = [Due(cid, d, "call_record", as_of, "all classes expired") for cid, d in rows]
    for start in range(0, len(items), BATCH):
        batch = items[start:start + BATCH]
        ids = [d.call_id for d in batch]
        # Files set aside for these calls (a broken re-send) go with the record; first, so that a
        # crash leaves a quarantine row naming files already gone, never files nothing names.
        set_aside = {r[0] for r in conn.execute(
            "SELECT location FROM casework.quarantine WHERE item IN (SELECT unnest(?)) AND location IS NOT NULL",
            [ids]).fetchall()} | set(call_folders(Settings.from_env().quarantine_dir, ids))
        unlink_files({"": [f for loc in sorted(set_aside) for f in files_under(loc)]})
        releases.remove(conn, ids, certificate_id)  # copies written to disk go with the record
        with warehouse.transaction(conn):
            for table in RECORD_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE call_id IN (SELECT unnest(?))", [ids])
            conn.execute("DELETE FROM casework.quarantine WHERE item IN (SELECT unnest(?))", [ids])
            _log(conn, batch, policy, certificate_id, "retention", {})
    return len(items)


def close_sweep(conn, policy: Policy, pseudonymiser: Pseudonymiser, as_of: date, certificate_id: str,
                call_date: date | None = None) -> tuple[Certificate, int]:
    """After every class: remove the records of calls with nothing left and file the run's
    certificate, counting the calls a legal hold kept. Returns (certificate, records removed).
    What the `governance/retention_certificate` asset calls."""
    with warehouse.one_checkpoint(conn):
        records = retire_finished_calls(conn, policy.name, certificate_id, as_of, call_date)
    _, held = plan(conn, policy, pseudonymiser, as_of, call_date)
    cert = issue_certificate(conn, certificate_id, "retention", policy.name, "retention policy",
                             call_date.isoformat() if call_date else "all call dates", as_of,
                             len({d.call_id for d in held}))
    return cert, records


def sweep(conn, policy: Policy, pseudonymiser: Pseudonymiser, as_of: date, call_date: date | None = None,
          certificate_id: str | None = None) -> Certificate:
    """One retention run as the schedule makes it: `delete_class` for every class in the
    schedule's order, then `close_sweep`."""
    certificate_id = certificate_id or new_certificate_id("retention")
    for data_class in SWEPT_CLASSES:
        delete_class(conn, policy, pseudonymiser, data_class, as_of, certificate_id, call_date)
    return close_sweep(conn, policy, pseudonymiser, as_of, certificate_id, call_date)[0]


def plan(conn, policy: Policy, pseudonymiser: Pseudonymiser, as_of: date,
         call_date: date | None = None) -> tuple[list[Due], list[Due]]:
    """What a sweep on `as_of` would delete, and what a legal hold spares (a dry run)."""
    items = [d for c in SWEPT_CLASSES for d in due(conn, policy, c, as_of, call_date)]
    held = held_calls(conn, pseudonymiser)
    return [d for d in items if d.call_id not in held], [d for d in items if d.call_id in held]
