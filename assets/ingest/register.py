"""Register landed calls in `casework.calls` and seal their audio into the store.

The row is written before the audio is sealed into the store (`assets.audio.vault`, atomic) and
the landed file removed, so a crash in between leaves the files in the landing zone and the next
run simply registers and seals them again (an upsert): nothing is lost and nothing is doubled.
The row's checksum and size are the recording's own, as the telephony system sent it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from assets import locations, storage, warehouse
from assets.audio import vault as audio_vault
from assets.ingest import landing, redelivery, untrusted


@dataclass
class IngestResult:
    registered: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (item, reason): no file names
    already: list[str] = field(default_factory=list)  # re-landed byte-identical calls, landing files removed
    replaced: list[str] = field(default_factory=list)  # fixes for undecodable calls; the first audio kept aside


def store_dir_for(store_root: Path, call_date: date) -> Path:
    return store_root / call_date.isoformat()


def _sidecar_row(s: landing.Sidecar) -> dict:
    return dict(
        call_id=s.call_id, started_at=s.started_at, call_date=s.call_date, direction=s.direction,
        staff_id=s.staff_id, team=s.team, external_number=s.external_number, complaint_id=s.complaint_id,
        case_last_activity=s.case_last_activity, service_area=s.service_area,
        privacy_notice_played=s.privacy_notice_played, recording_stopped_on_request=s.recording_stopped_on_request,
        channels=json.dumps(s.channels) if s.channels else None, extra=json.dumps(s.extra_fields, default=str),
    )


def _row(call: landing.LandedCall, stored_audio: Path, sha256: str, size: int) -> dict:
    return {**_sidecar_row(call.sidecar), "audio_path": str(stored_audio), "audio_sha256": sha256,
            "audio_bytes": size, "ingested_at": datetime.now(UTC)}


def quarantine(conn: duckdb.DuckDBPyConnection, rejected: landing.Rejected, quarantine_dir: Path) -> None:
    """Set a refused call aside under its item (a call id or a hash, never the sender's name):
    regular files are moved, never copied through a link; links, FIFOs and devices are removed
    (they hold nothing of their own), their targets untouched."""
    dest = quarantine_dir / rejected.item
    if rejected.reason == "not_owned":  # not ours to move: refused on record, left for its owner
        warehouse.record_quarantine(conn, rejected.item, "ingest", rejected.reason,
                                    rejected.detail + "; left in the landing zone", None)
        return
    # Record first: if the move fails, the reason is still on file and the source untouched.
    warehouse.record_quarantine(conn, rejected.item, "ingest", rejected.reason, rejected.detail, str(dest))
    with storage.writing("quarantine folder", quarantine_dir):
        untrusted.move_into(rejected.paths, dest)
    for entry in rejected.discard:
        untrusted.discard(entry)


def ingest_date(
    conn: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    store_root: Path,
    quarantine_dir: Path,
    call_date: date,
    vault: audio_vault.AudioVault,
    sidecar_grace_s: float = landing.DEFAULT_SIDECAR_GRACE_S,
    limits: landing.Limits = landing.Limits(),
) -> IngestResult:
    """Register the landed calls of one call date; quarantine anything broken seen on the way.
    One bad file never stops the others: whatever goes wrong with a file is that file's
    quarantine reason, except a location that cannot be written (`storage.StorageError`)."""
    result = IngestResult()
    for item in landing.scan(landing_dir, sidecar_grace_s, limits):
        if isinstance(item, landing.Rejected):
            try:
                half = item.reason in ("missing_audio", "missing_sidecar")
                if half and redelivery.leftover(conn, item, _sidecar_row):
                    for path in item.paths:  # the other half of this call's ingest, cut short
                        path.unlink(missing_ok=True)
                    continue
                _set_aside(conn, item, quarantine_dir, result)
            except (OSError, storage.StorageError) as exc:  # on record; the files wait for the next run
                result.quarantined.append((item.item, f"{item.reason} (not moved: {type(exc).__name__})"))
            continue
        if item.sidecar.call_date != call_date:
            continue
        try:
            _register(conn, item, store_root, quarantine_dir, vault, limits, result)
        except storage.StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - one file's failure is its own, named by type only
            rejected = landing.Rejected(item.sidecar.call_id, tuple(
                p for p in (item.sidecar_path, item.audio_path) if p.exists() and not p.is_symlink()),
                "unreadable", f"ingest failed ({type(exc).__name__})", item.sidecar.call_id)
            try:
                _set_aside(conn, rejected, quarantine_dir, result)
            except (OSError, storage.StorageError) as again:  # on record; the files wait for the next run
                result.quarantined.append((rejected.item, f"unreadable (not moved: {type(again).__name__})"))
    return result


def _set_aside(conn, rejected: landing.Rejected, quarantine_dir: Path, result: IngestResult) -> None:
    quarantine(conn, rejected, quarantine_dir)
    result.quarantined.append((rejected.item, rejected.reason))


def _register(conn, item: landing.LandedCall, store_root: Path, quarantine_dir: Path,
              vault: audio_vault.AudioVault, limits: landing.Limits, result: IngestResult) -> None:
    call_id = item.sidecar.call_id
    dest = store_dir_for(store_root, item.sidecar.call_date)
    stored_audio = dest / audio_vault.sealed_name(item.audio_path.name)
    with untrusted.open_regular(item.audio_entry, limits.max_audio_bytes) as audio:
        sha256, size = redelivery.digest(audio)
        row = _row(item, stored_audio, sha256, size)
        if redelivery.registered(conn, call_id):
            _again(conn, item, row, audio, stored_audio, quarantine_dir, vault, result)
            return
        audio.seek(0)
        # Sealed copy first, then the row, then the landing files: a crash (or a full disk) at any
        # point leaves the landing files, so a re-run finishes the job; never a row without audio.
        with storage.writing("audio store", dest):
            vault.seal(audio, stored_audio, call_id)
    warehouse.replace_rows(conn, "casework.calls", "call_id", [call_id], [row])
    _remove_landed(item)
    warehouse.clear_quarantine(conn, call_id, "ingest")
    warehouse.clear_quarantine(conn, untrusted.label(call_id), "ingest")
    result.registered.append(call_id)


def _again(conn, item: landing.LandedCall, row: dict, audio, stored_audio: Path, quarantine_dir: Path,
           vault: audio_vault.AudioVault, result: IngestResult) -> None:
    """A call id already registered (`assets.ingest.redelivery`)."""
    call_id = row["call_id"]
    if redelivery.same_delivery(conn, row):
        _remove_landed(item)  # sealed and recorded already; only the landing files were left
        result.already.append(call_id)
    elif redelivery.undecodable(conn, call_id) and redelivery.same_delivery(conn, row, audio=False):
        redelivery.keep_superseded(conn, call_id, quarantine_dir)  # a fix: the first is kept aside
        audio.seek(0)
        with storage.writing("audio store", stored_audio.parent):
            vault.seal(audio, stored_audio, call_id)
        redelivery.replace_recording(conn, row)
        _remove_landed(item)
        result.replaced.append(call_id)
        result.registered.append(call_id)
    else:  # never a silent overwrite: the first call stays as it is
        _set_aside(conn, landing.Rejected(call_id, (item.sidecar_path, item.audio_path), "duplicate_call_id",
                                          "a call with this id is already registered; the first is kept",
                                          call_id), quarantine_dir, result)


def _remove_landed(item: landing.LandedCall) -> None:
    # The row holds every sidecar field (unknown ones in extra_fields), so the store keeps no
    # second copy of the metadata: one place to serve, restrict and erase, one file less to sweep.
    item.audio_path.unlink(missing_ok=True)
    item.sidecar_path.unlink(missing_ok=True)


def pending_dates(landing_dir: Path, limits: landing.Limits, last_partition: date) -> list[date]:
    """Call dates to run for what waits in the landing zone (`landing.Limits.route`)."""
    routed = {limits.route(landing.peek_call_date(entry, limits.max_sidecar_bytes), last_partition)
              for entry in landing.sidecars(landing_dir)}
    return sorted(d for d in routed if d is not None)


def seal_store(conn: duckdb.DuckDBPyConnection, vault: audio_vault.AudioVault) -> int:
    """Seal audio stored before sealing existed (callcanon < 0.5), originals and redacted
    copies: each file is sealed beside itself, its row pointed at the sealed file, then the
    plaintext removed, so a crash at any point leaves a row that points at a readable file."""
    sealed = 0
    for table, column in (("casework.calls", "audio_path"), ("casework.redacted_audio", "path")):
        rows = conn.execute(f"SELECT call_id, {column} FROM {table} WHERE {column} IS NOT NULL "
                            f"AND NOT ends_with({column}, '{audio_vault.SUFFIX}')").fetchall()
        for call_id, path in rows:
            plain = locations.location(path)
            if not plain.exists():
                continue  # deleted by retention or erasure: nothing left to seal
            target = plain.with_name(audio_vault.sealed_name(plain.name))
            vault.seal_file(plain, target, call_id)
            conn.execute(f"UPDATE {table} SET {column} = ? WHERE call_id = ?", [str(target), call_id])
            plain.unlink()
            sealed += 1
    return sealed


def calls_on(conn, call_date) -> int:
    return conn.execute("SELECT count(*) FROM casework.calls WHERE call_date = ?", [call_date]).fetchone()[0]
