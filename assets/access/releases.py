"""The releases register: every copy of personal data the access layer writes to disk (an audio
download, an export, a subject access package) is recorded with its path, so that an erasure can
list every copy that left the vault and remove those still where they were written.

Releases are written owner-only (0600 files, 0700 folders) whatever the process's umask: they
hold a caller's voice and words outside the warehouse's protection.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from assets import warehouse
from assets.access.subjects import call_ref


def owner_only(path: Path) -> Path:
    """Tighten a written file, or a folder and everything in it, to its owner."""
    if path.is_dir():
        for root, _dirs, files in os.walk(path):
            os.chmod(root, 0o700)
            for name in files:
                os.chmod(Path(root) / name, 0o600)
    elif path.exists():
        os.chmod(path, 0o600)
    return path


def record(conn, *, kind: str, call_id: str, path: Path, actor: str, audit_seq: int | None = None) -> None:
    owner_only(path)
    warehouse.insert_row(conn, "governance.releases", kind=kind, call_ref=call_ref(call_id),
                         path=str(Path(path).resolve()), released_at=warehouse.utcnow(), actor=actor,
                         audit_seq=audit_seq)


def record_sent(conn, *, kind: str, call_id: str, actor: str, to: str) -> None:
    """A copy sent over the network (the portal's downloads): on record for the erasure
    certificate, already marked removed because no copy was written on this host."""
    now = warehouse.utcnow()
    warehouse.insert_row(conn, "governance.releases", kind=kind, call_ref=call_ref(call_id), path=to,
                         released_at=now, actor=actor, removed_at=now, removed_by="sent, not stored here")


def mark_sent(conn, path: Path, to: str) -> None:
    """Releases written under `path` only to be sent on (the portal zips a subject access package
    and streams it), after the folder was removed: on record as sent, nothing left here."""
    folder = str(Path(path).resolve())
    conn.execute("UPDATE governance.releases SET path = ?, removed_at = ?, removed_by = 'sent, not stored here' "
                 "WHERE (path = ? OR starts_with(path, ?)) AND removed_at IS NULL",
                 [to, warehouse.utcnow(), folder, folder + os.sep])


def outstanding(conn, call_ids: list[str]) -> list[tuple[int, str, str, str]]:
    """(release_id, kind, call_ref, path) of the calls' releases not yet removed."""
    return conn.execute(
        "SELECT release_id, kind, call_ref, path FROM governance.releases WHERE removed_at IS NULL "
        "AND call_ref IN (SELECT unnest(?)) ORDER BY release_id", [[call_ref(c) for c in call_ids]]).fetchall()


def remove(conn, call_ids: list[str], certificate_id: str) -> list[tuple[str, str, int]]:
    """Delete every outstanding release of the calls where it was written; (kind, call_ref, bytes).
    A release already moved elsewhere by its recipient is marked removed too (what is on record
    is every place it went from here; the erasure certificate lists them)."""
    removed = []
    for release_id, kind, ref, path in outstanding(conn, call_ids):
        target = Path(path)
        size = 0
        if target.is_dir() and not target.is_symlink():
            size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            size = target.stat().st_size if target.is_file() else 0
            target.unlink()
        conn.execute("UPDATE governance.releases SET removed_at = ?, removed_by = ? WHERE release_id = ?",
                     [warehouse.utcnow(), certificate_id, release_id])
        removed.append((kind, ref, size))
    return removed
