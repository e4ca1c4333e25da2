"""Register landed calls in `casework.calls` and seal their audio into the store.

The row is written before the audio is sealed into the store (`assets.audio.vault`, atomic) and
the landed file removed, so a crash in between leaves the files in the landing zone and the next
run simply registers and seals them again (an upsert): nothing is lost and nothing is doubled.
The row's checksum and size are the recording's own, as the telephony system sent it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from assets import locations, storage, warehouse
from assets.audio import vault as audio_vault
from assets.ingest import landing


@dataclass
class IngestResult:
    registered: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (item, reason)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_dir_for(store_root: Path, call_date: date) -> Path:
    return store_root / call_date.isoformat()


def _row(call: landing.LandedCall, stored_audio: Path) -> dict:
    s = call.sidecar
    return dict(
        call_id=s.call_id, started_at=s.started_at, call_date=s.call_date, direction=s.direction,
        staff_id=s.staff_id, team=s.team, external_number=s.external_number, complaint_id=s.complaint_id,
        case_last_activity=s.case_last_activity, service_area=s.service_area,
        privacy_notice_played=s.privacy_notice_played, recording_stopped_on_request=s.recording_stopped_on_request,
        channels=json.dumps(s.channels) if s.channels else None, extra=json.dumps(s.extra_fields, default=str),
        audio_path=str(stored_audio), audio_sha256=sha256_of(call.audio_path),
        audio_bytes=call.audio_path.stat().st_size, ingested_at=datetime.now(UTC),
    )


def quarantine(conn: duckdb.DuckDBPyConnection, rejected: landing.Rejected, quarantine_dir: Path) -> None:
    dest = quarantine_dir / rejected.stem
    # Record first: if the move fails, the reason is still on file and the source untouched.
    warehouse.record_quarantine(conn, rejected.stem, "ingest", rejected.reason, rejected.detail, str(dest))
    with storage.writing("quarantine folder", quarantine_dir):
        landing.move_into(rejected.paths, dest)


def ingest_date(
    conn: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    store_root: Path,
    quarantine_dir: Path,
    call_date: date,
    vault: audio_vault.AudioVault,
    sidecar_grace_s: float = landing.DEFAULT_SIDECAR_GRACE_S,
) -> IngestResult:
    """Register the landed calls of one call date; quarantine anything broken seen on the way."""
    result = IngestResult()
    for item in landing.scan(landing_dir, sidecar_grace_s):
        if isinstance(item, landing.Rejected):
            if item.reason in ("missing_audio", "missing_sidecar") and _stored(conn, item.stem):
                for path in item.paths:  # the other half of a call whose ingest was cut short
                    path.unlink(missing_ok=True)
                continue
            quarantine(conn, item, quarantine_dir)
            result.quarantined.append((item.stem, item.reason))
            continue
        if item.sidecar.call_date != call_date:
            continue
        dest = store_dir_for(store_root, call_date)
        stored_audio = dest / audio_vault.sealed_name(item.audio_path.name)
        row = _row(item, stored_audio)
        # Sealed copy first, then the row, then the landing files: a crash (or a full disk) at any
        # point leaves the landing files, so a re-run finishes the job; never a row without audio.
        with storage.writing("audio store", dest):
            vault.seal_file(item.audio_path, stored_audio, item.sidecar.call_id)
        warehouse.replace_rows(conn, "casework.calls", "call_id", [row["call_id"]], [row])
        item.audio_path.unlink()
        # The row holds every sidecar field (unknown ones in extra_fields), so the store keeps no
        # second copy of the metadata: one place to serve, restrict and erase, one file less to sweep.
        item.sidecar_path.unlink(missing_ok=True)
        warehouse.clear_quarantine(conn, item.sidecar.call_id, "ingest")
        result.registered.append(item.sidecar.call_id)
    return result


def _stored(conn: duckdb.DuckDBPyConnection, call_id: str) -> bool:
    row = conn.execute("SELECT audio_path FROM casework.calls WHERE call_id = ?", [call_id]).fetchone()
    return bool(row and row[0] and locations.location(row[0]).exists())


def pending_dates(landing_dir: Path) -> list[date]:
    """Call dates that have files waiting in the landing zone."""
    dates = {landing.peek_call_date(p) for p in landing_dir.glob("*.json")} if landing_dir.exists() else set()
    return sorted(d for d in dates if d is not None)


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
