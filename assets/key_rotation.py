"""Rotating the audio key: every stored file and every casework text cell resealed under a new
key, then the key files swapped (`assets.keys`: `.next` beside the current key until the swap).

Crash-safe and re-runnable: the new key is written once and reused by a re-run; a file is
replaced atomically, a batch of text cells in one transaction; what is already under the new key
is skipped; the rotation is recorded (once per new key) before the key files are swapped. A run
killed anywhere leaves everything readable (both keys open while `.next` exists) and the next run
finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assets import keys, reseal, warehouse
from assets.access import governance_log
from assets.audio.vault import AudioVault
from assets.sealed_text import key_id


@dataclass
class Rotation:
    new_key_id: str
    resumed: bool        # a rotation killed earlier was finished
    files: int           # resealed now
    cells: int
    retired_key: Path    # where the old key is kept until the backups made under it expire


def rotate_audio(conn, audit_key: bytes, pseudonymiser, *, who: str, role: str, reason: str,
                 progress: Callable[[str], None] = lambda _: None) -> Rotation:
    new, fresh = keys.begin_rotation(keys.AUDIO)
    old = keys.AUDIO.load()
    vault = AudioVault(new, old)
    progress(("new audio key " if fresh else "resuming the rotation to audio key ") + vault.text.key_id)
    files = cells = 0
    for _ in range(3):  # a writer that loaded the old key before `.next` existed: catch what it wrote
        resealed, _already = reseal.reseal_files(conn, vault, progress)
        done = reseal.reseal_text(conn, vault.text, progress)
        files, cells = files + resealed, cells + done
        if not resealed and not done:
            break
    left = reseal.text_left(conn, vault.text) + reseal.files_left(conn, vault)
    if left:
        raise keys.SecretError(f"{left} items are still sealed under the old key (another process writing?): "
                               "stop the pipeline and run the rotation again")
    kid = key_id(new)
    record(conn, audit_key, pseudonymiser, "audio", kid, who=who, role=role, reason=reason,
           details={"files": files, "cells": cells})
    stamp = datetime.fromtimestamp(keys.next_path(keys.AUDIO).stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%SZ")
    retired = keys.finish_rotation(keys.AUDIO, stamp)
    progress(f"audio key rotated to {kid}; the old key is kept at {retired}")
    return Rotation(kid, not fresh, files, cells, retired)


def record(conn, audit_key: bytes, pseudonymiser, key_name: str, kid: str, *, who: str, role: str, reason: str,
           details: dict) -> bool:
    """The rotation in governance and the audit trail, once per new key (a resumed rotation does
    not record it twice); before the key files are swapped. Returns whether it was recorded now."""
    if conn.execute("SELECT 1 FROM governance.key_rotations WHERE key_name = ? AND new_key_id = ?",
                    [key_name, kid]).fetchone():
        return False
    seq = governance_log.record_action(conn, audit_key, pseudonymiser, action=f"rotate_{key_name}_key", reason=reason,
                                       object=f"{key_name}_key:{kid}", who=who, role=role, details=details)
    warehouse.insert_row(conn, "governance.key_rotations", key_name=key_name, new_key_id=kid,
                         rotated_at=warehouse.utcnow(), rotated_by=who, files=details.get("files"),
                         cells=details.get("cells"), audit_seq=seq)
    return True


def key_ages(conn, now: datetime | None = None) -> dict[str, str]:
    """Each key's age in days, from its last rotation or else its key file's time; a key given by
    an environment variable has no date callcanon can see."""
    now = now or warehouse.utcnow()
    out = {}
    for secret in (keys.AUDIO, keys.PSEUDONYM):
        row = conn.execute("SELECT max(rotated_at) FROM governance.key_rotations WHERE key_name = ?",
                           [secret.name]).fetchone()[0]
        path = secret.file_path()
        if row is not None:
            out[secret.name] = f"{(now - row).days} days (rotated {row:%Y-%m-%d})"
        elif path.exists():
            made = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            out[secret.name] = f"{(now - made).days} days (key file from {made:%Y-%m-%d}; never rotated)"
        else:
            out[secret.name] = f"unknown (given by {secret.env})"
    return out
