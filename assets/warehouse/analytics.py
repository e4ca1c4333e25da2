"""The analytics copy: the pseudonymised layers as their own DuckDB file, the only file analysts open.

DuckDB lets one process write a file or many processes read it, never both, so a notebook left
open on the warehouse stopped the pipeline and the nightly deletion (measured: `callcanon run`
failed in 16 s). The pipeline therefore writes a fresh copy of `canon`, `themes` and `marts`
beside the published file and renames it over it. The rename is atomic: a reader that has the
old copy open keeps reading the old file (POSIX keeps an unlinked file's blocks for whoever
holds it open), and the next connection opens the new one. Writing into a new file rather than
updating the old one in place means readers never see a half-written copy; when the new file
starts as a copy of the old one (`analytics_patch`), that is only on days nothing was deleted.

Nothing personal is in the copy (`casework`, `governance`, dbt's `staging` views and
`intermediate` tables stay in the warehouse), so it alone may be readable by an analysts' group.
"""

from __future__ import annotations

import glob
import grp
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assets.warehouse import analytics_patch
from assets.warehouse.db import fsync, insert_row, utcnow

SCHEMAS = ("canon", "themes", "marts")
# Model internals no analysis reads, and the copy's largest columns: statement embeddings and
# theme centroids (384 floats each).
LEFT_OUT = {("themes", "candidates"): "embedding", ("themes", "topics"): "centroid"}
ALIAS = "callcanon_analytics"
PARTIAL = ".publishing"  # a copy being written: never opened by readers, removed if left behind
OWNER_ONLY, GROUP_READ = 0o600, 0o640


class PublishError(RuntimeError):
    """The copy cannot be published as configured (the message says why)."""


@dataclass(frozen=True)
class Published:
    path: Path
    published_at: datetime
    tables: dict[str, int]  # "schema.table": rows
    bytes: int
    group: str | None
    how: str  # "patched", or why it was written afresh


def leftovers(target: Path) -> list[Path]:
    """Half-written copies (and their WALs) a crashed publish left beside the target."""
    return sorted(Path(target).parent.glob(f".{glob.escape(Path(target).name)}.*{PARTIAL}*"))


def group_id(name: str) -> int:
    """The analysts' group, which this account must belong to (chgrp is refused otherwise)."""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        raise PublishError(f"no group called {name!r} on this machine (CALLCANON_ANALYTICS_GROUP)") from None
    if gid not in os.getgroups() and gid != os.getegid() and os.geteuid() != 0:
        raise PublishError(f"this account is not in the group {name!r}, so it cannot hand the analytics copy "
                           "to it (CALLCANON_ANALYTICS_GROUP)")
    return gid


def open_folder(folder: Path, gid: int) -> None:
    """Let the analysts' group reach the copy by name: the folder gets the group and group
    search (x), never group read, so they cannot list or open anything else in it (every other
    file there is 0600 anyway). Only a folder this account owns is changed."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.stat().st_uid != os.geteuid():
        return
    os.chown(folder, -1, gid)
    folder.chmod(stat.S_IMODE(folder.stat().st_mode) & 0o700 | 0o010)


def publish(conn, target: Path, group: str | None = None, patch: bool = True) -> Published:
    """Write the pseudonymised layers from the warehouse `conn` has open into a new file and
    swap it in for `target`; record the publication in `governance.publications`.

    With `patch`, the new file starts as a copy of the published one with only what changed
    replaced, when that is safe (`analytics_patch`); otherwise it is written afresh. `conn` must
    be the pipeline's writer connection (it attaches the new file). A failure leaves the previous
    copy published and no partial file behind."""
    target = Path(target).resolve()
    gid = group_id(group) if group else None  # a bad group fails before anything is written
    target.parent.mkdir(parents=True, exist_ok=True)
    if gid is not None:
        open_folder(target.parent, gid)
    for old in leftovers(target):
        old.unlink(missing_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL}")
    published = _published_columns(conn)
    try:
        fresh_because = "there is no copy yet" if not target.exists() else None if patch else "asked to"
        if fresh_because is None:
            shutil.copyfile(target, partial)
            conn.execute(f"ATTACH '{_quoted(partial)}' AS {ALIAS}")
            fresh_because = analytics_patch.patch(conn, ALIAS, published)
            if fresh_because:
                conn.execute(f"DETACH {ALIAS}")
                partial.unlink()
        if fresh_because:
            conn.execute(f"ATTACH '{_quoted(partial)}' AS {ALIAS}")
            _write_afresh(conn, published)
        counts = {f"{s}.{t}": conn.execute(f'SELECT count(*) FROM {ALIAS}."{s}"."{t}"').fetchone()[0]
                  for s, t in published}
        conn.execute(f"CHECKPOINT {ALIAS}")
        conn.execute(f"DETACH {ALIAS}")
        os.chmod(partial, GROUP_READ if gid is not None else OWNER_ONLY)
        if gid is not None:
            os.chown(partial, -1, gid)
        fsync(partial)
        os.replace(partial, target)
        fsync(target.parent)
    except BaseException:
        try:
            conn.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
        finally:
            for path in (partial, Path(f"{partial}.wal")):
                path.unlink(missing_ok=True)
        raise
    done = Published(target, utcnow(), counts, target.stat().st_size, group, fresh_because or "patched")
    insert_row(conn, "governance.publications", published_at=done.published_at, path=str(target),
               bytes=done.bytes, tables=len(counts), canon_calls=counts.get("canon.transcripts", 0),
               group_name=group, how=done.how)
    return done


def _published_columns(conn) -> dict[tuple[str, str], list[str]]:
    """Each table the copy holds, with its columns (the warehouse's, less `LEFT_OUT`)."""
    found: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in conn.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            f"WHERE database_name = current_database() AND schema_name IN ({', '.join(repr(s) for s in SCHEMAS)}) "
            "ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        if LEFT_OUT.get((schema, table)) != column:
            found.setdefault((schema, table), []).append(column)
    return found


def _write_afresh(conn, published: dict[tuple[str, str], list[str]]) -> None:
    for schema in SCHEMAS:
        conn.execute(f'CREATE SCHEMA {ALIAS}."{schema}"')
    for (schema, table), names in published.items():
        # CREATE TABLE AS: the rows, compressed afresh; no keys or constraints, which a
        # read-only copy has no use for and which would slow the copy down.
        columns = analytics_patch.column_list(names)
        conn.execute(f'CREATE TABLE {ALIAS}."{schema}"."{table}" AS SELECT {columns} FROM "{schema}"."{table}"')


def last_published(conn) -> datetime | None:
    """When the analytics copy was last published (for the evidence pack)."""
    return conn.execute("SELECT max(published_at) FROM governance.publications").fetchone()[0]


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
