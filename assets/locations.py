"""Where calls' files live: a local folder by default, or object storage named by an fsspec URL
(`s3://bucket/landing`, `gs://…`, `az://…`; `memory://` in tests) through universal_pathlib.

Why a seam and not fsspec calls everywhere: a local folder stays a plain `pathlib.Path`, so the
default keeps what POSIX gives (atomic rename, fsync, the fast unlinks retention measured), and a
URL becomes a `UPath` with the same methods. The few places where object storage differs are
here, once: it has no folders to create, no fsync, a rename that is copy-then-delete (still safe,
because a `.partial` object is never read as a call) and modification times under other names.

Credentials and endpoints are fsspec's: `FSSPEC_S3_ENDPOINT_URL`, `FSSPEC_S3_KEY`, … in the
environment (fsspec's own configuration), never in the repo. The warehouse is not a location:
DuckDB needs a local file.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
from datetime import datetime

from upath import UPath

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MODIFIED_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created", "timeCreated")


def is_url(text: str | os.PathLike) -> bool:
    return bool(_URL.match(str(text)))


def location(text: str | os.PathLike) -> pathlib.Path | UPath:
    """A folder or file named in settings or a warehouse row: a URL as a UPath, anything else
    as an absolute local path."""
    if isinstance(text, UPath) and not is_local(text):
        return text
    return UPath(str(text)) if is_url(text) else pathlib.Path(text).expanduser().resolve()


def is_local(path) -> bool:
    return isinstance(path, pathlib.Path)


def ensure_dir(path) -> None:
    """Object stores have no folders: a key's prefix exists once an object is written under it."""
    if is_local(path):
        path.mkdir(parents=True, exist_ok=True)


def sync(path, fh) -> None:
    """Flush a written file to the disk where there is one (object stores commit on close)."""
    if is_local(path):
        fh.flush()
        os.fsync(fh.fileno())


def replace(src, dest) -> None:
    """Put `src` where `dest` is, replacing it: atomic on a local disk; on object storage a copy
    and a delete, so a reader sees the old object or the whole new one."""
    if is_local(src):
        src.replace(dest)
    else:
        src.rename(dest)


def copy(src, dest) -> None:
    """Copy across filesystems (landing on a bucket, quarantine on a disk, or the other way)."""
    if is_local(src) and is_local(dest):
        shutil.copy2(src, dest)
        return
    with src.open("rb") as fin, dest.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def modified_at(path) -> float:
    """Seconds since the epoch the file was last written; 0.0 where the store does not say."""
    if is_local(path):
        return path.stat().st_mtime
    info = path.fs.info(path.path)  # each store names it its own way
    for key in _MODIFIED_KEYS:
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)) and value:
            return float(value)
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return 0.0


def remove(text: str) -> int:
    """Delete one file named by a path or URL; its size in bytes, or 0 if it was already gone
    (a crashed run got this far). A local path stays a string: retention removes a night's
    files in one go, and building a pathlib object for each costs seconds at 100 000 calls."""
    try:
        if not is_url(text):
            size = os.stat(text).st_size
            os.unlink(text)
            return size
        path = UPath(text)
        size = path.stat().st_size
        path.unlink()
        return int(size)
    except FileNotFoundError:
        return 0
