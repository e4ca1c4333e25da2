"""Resealing what is stored under the audio key: casework text cells and audio files, each under
the vault's sealing key, skipping what already is. What `callcanon seal-store` (text from before
sealing) and `callcanon keys rotate-audio` (everything, under a new key) run.

Each text batch is one transaction and each file is replaced atomically (write beside, fsync,
rename), so a run killed at any point leaves every cell and file readable under the old key or
the new, and a re-run picks up exactly what is left.
"""

from __future__ import annotations

from collections.abc import Callable

from assets import locations, warehouse
from assets.audio.vault import AudioVault
from assets.sealed_text import PREFIX, TRANSCRIPT, TextSeal, segment_place, word_place

# table, text column, key columns, where the cell sits (its authenticated place)
TEXT_CELLS = (
    ("casework.transcripts", "text", ("call_id",), lambda k: TRANSCRIPT),
    ("casework.segments", "text", ("call_id", "seg_idx"), lambda k: segment_place(k[1])),
    ("casework.words", "word", ("call_id", "seg_idx", "word_idx"), lambda k: word_place(k[1], k[2])),
)
BATCH = 20_000


def cells_without(conn, prefix: str) -> int:
    """Casework text cells that do not start with `prefix`: with `PREFIX`, those in clear; with a
    seal's `current_prefix`, those not yet under its key."""
    return sum(conn.execute(f"SELECT count(*) FROM {table} WHERE NOT starts_with({column}, ?)",
                            [prefix]).fetchone()[0] for table, column, _, _ in TEXT_CELLS)


def text_left(conn, seal: TextSeal) -> int:
    """Casework text cells not sealed under the seal's current key."""
    return cells_without(conn, seal.current_prefix)


def clear_cells(conn) -> int:
    """Casework text cells stored in clear (from before sealing, until `callcanon seal-store`)."""
    return cells_without(conn, PREFIX)


def files_left(conn, vault: AudioVault) -> int:
    """Stored files not yet sealed under the vault's sealing key."""
    return sum(1 for call_id, path in stored_files(conn)
               if (where := locations.location(path)).exists() and not vault.sealed_by_current(where, call_id))


def reseal_text(conn, seal: TextSeal, progress: Callable[[str], None] = lambda _: None) -> int:
    """Seal every casework text cell under the seal's current key (plain text from before sealing,
    or a cell under an older key the seal still opens). Returns the cells resealed."""
    current = seal.current_prefix
    done = 0
    for table, column, key_columns, place in TEXT_CELLS:
        keys = ", ".join(key_columns)
        while True:
            rows = conn.execute(f"SELECT {keys}, {column} FROM {table} WHERE NOT starts_with({column}, ?) "
                                f"LIMIT {BATCH}", [current]).fetchall()
            if not rows:
                break
            new = [seal.seal(seal.open(r[-1], r[0], place(r)), r[0], place(r)) for r in rows]
            columns = [[r[i] for r in rows] for i in range(len(key_columns))]
            unnests = ", ".join(f"unnest(?) AS k{i}" for i in range(len(key_columns)))
            match = " AND ".join(f"{table}.{c} = u.k{i}" for i, c in enumerate(key_columns))
            with warehouse.transaction(conn):
                conn.execute(f"UPDATE {table} SET {column} = u.v FROM (SELECT {unnests}, unnest(?) AS v) u "
                             f"WHERE {match}", [*columns, new])
            done += len(rows)
            progress(f"{table}: {done} text cells resealed so far")
    return done


def stored_files(conn) -> list[tuple[str, str]]:
    """(call id, path) of every sealed file the store still holds: originals and redacted copies."""
    return conn.execute(
        "SELECT call_id, audio_path FROM casework.calls WHERE audio_path IS NOT NULL AND audio_deleted_at IS NULL "
        "UNION ALL SELECT call_id, path FROM casework.redacted_audio ORDER BY 1, 2").fetchall()


def reseal_files(conn, vault: AudioVault, progress: Callable[[str], None] = lambda _: None) -> tuple[int, int]:
    """Reseal every stored file not yet under the vault's sealing key. Returns (resealed, already)."""
    files = stored_files(conn)
    resealed = already = 0
    for n, (call_id, path) in enumerate(files, 1):
        where = locations.location(path)
        if not where.exists():
            continue  # deleted by retention or erasure since
        if vault.sealed_by_current(where, call_id):
            already += 1
        else:
            vault.seal_bytes(vault.open(where, call_id).getvalue(), where, call_id)
            resealed += 1
        if n % 25 == 0 or n == len(files):
            progress(f"audio files: {n}/{len(files)} checked, {resealed} resealed")
    return resealed, already
