"""Reading what a sender put in the landing zone, which callcanon does not trust.

Whoever can write to the landing zone can leave a symbolic link to a key file, a FIFO that blocks
a reader forever, a link to /dev/zero, a sidecar nested a hundred thousand levels deep or a name
that climbs out of the quarantine folder. So the landing zone is read by one rule: only regular
files this process owns, never through a link (checked with lstat, opened with O_NOFOLLOW and
re-checked on the open descriptor, so swapping a file for a link in between gains nothing), never
more bytes than the limit, JSON only to a bounded depth. On object storage a key is always a
plain object; the size limits and the JSON rule still apply.

File names are the sender's words too: one may hold a caller's number, a newline that forges a
log line, or `..`. Logs, the quarantine register and quarantine paths therefore name a file that
is not (yet) a validated call by `label` (a hash), and files keep a `safe_name` in quarantine,
where `move_into` puts them: renamed on one disk, never copied through a link.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assets import locations

MAX_JSON_DEPTH = 32
_NO_FOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


class Refused(ValueError):
    """A landed file callcanon will not read; `reason` is the quarantine reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Entry:
    """One name in the landing zone as lstat saw it (the link itself, never its target)."""

    path: Path
    name: str
    kind: str  # "a regular file", "a symbolic link", "a FIFO", ...
    size: int
    owned: bool
    mtime: float

    @property
    def regular(self) -> bool:
        return self.kind == "a regular file"

    def problem(self, limit: int) -> Refused | None:
        """Why this entry may not be read, if it may not."""
        if not self.regular:
            return Refused("not_a_regular_file", f"{self.kind}, not a regular file: not opened, not copied")
        if not self.owned:
            return Refused("not_owned", "a file owned by another account: not read")
        if self.size > limit:
            return Refused("too_large", f"{self.size} bytes, over the limit of {limit}")
        return None


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "a regular file" if stat.S_ISREG(mode) else "odd")


def entries(folder) -> list[Entry]:
    """Every name in the folder, described without following links or opening anything."""
    if not folder.exists():
        return []
    if not locations.is_local(folder):  # object storage: keys are plain objects, owned by the bucket
        return [Entry(p, p.name, "a regular file", int(p.stat().st_size), True, locations.modified_at(p))
                for p in sorted(folder.iterdir()) if p.is_file()]
    uid, found = os.geteuid(), []
    with os.scandir(folder) as listing:
        for item in listing:
            try:
                st = item.stat(follow_symlinks=False)
            except FileNotFoundError:  # renamed or removed while listed (a sender's `.part` -> name)
                continue
            found.append(Entry(Path(item.path), item.name, _kind(st.st_mode), st.st_size, st.st_uid == uid,
                               st.st_mtime))
    return sorted(found, key=lambda e: e.name)


def open_regular(entry: Entry, limit: int) -> io.BufferedReader:
    """A read handle on the file the entry names, if it is still a regular file within the limit."""
    refused = entry.problem(limit)
    if refused:
        raise refused
    if not locations.is_local(entry.path):
        return entry.path.open("rb")
    try:
        fd = os.open(entry.path, _NO_FOLLOW)
    except OSError as exc:
        raise Refused("not_a_regular_file", f"could not be opened as a regular file ({exc.strerror})") from None
    st = os.fstat(fd)
    # What was opened is checked again: a file swapped in after the listing, a hard link to
    # another account's file, or one grown past the limit is refused as the listing would have.
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit or st.st_uid != os.geteuid() or st.st_nlink != 1:
        os.close(fd)
        reason = ("not_a_regular_file" if not stat.S_ISREG(st.st_mode) else "too_large" if st.st_size > limit
                  else "not_owned")
        raise Refused(reason, "changed into something else while being opened, or is a link to another file")
    return os.fdopen(fd, "rb")


def open_unfollowed(path) -> io.BufferedReader:
    """A file opened for reading without following a link or blocking on a FIFO (object storage
    has neither)."""
    if not locations.is_local(path):
        return path.open("rb")
    return os.fdopen(os.open(path, _NO_FOLLOW), "rb")


def read_bounded(entry: Entry, limit: int) -> bytes:
    with open_regular(entry, limit) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise Refused("too_large", f"over the limit of {limit} bytes")
    return data


def json_depth(data: bytes) -> int:
    """How deep objects and arrays nest, strings aside: checked before parsing, because Python's
    parser recurses and a deep enough document ends in RecursionError rather than a reason. One
    pass with no backtracking, so no input makes it slow."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def parse_json(data: bytes) -> object:
    if json_depth(data) > MAX_JSON_DEPTH:
        raise Refused("bad_sidecar_json", f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refused("bad_sidecar_json", f"sidecar is not valid JSON ({type(exc).__name__})") from None


def label(stem: str) -> str:
    """How logs and the quarantine register name files whose name is not a validated call id: an
    HMAC of the name keyed from the pseudonym key, so a name that is a phone number cannot be
    found again by hashing every number (a plain hash of ten digits is reversed in minutes)."""
    return labels([stem])[stem]


def labels(stems) -> dict[str, str]:
    """`label` of many names, the key loaded once."""
    key = _label_key()
    return {stem: "file-" + hmac.new(key, stem.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:12]
            for stem in stems}


@lru_cache(maxsize=4)
def _label_key_for(pseudonym_key: bytes) -> bytes:
    return hmac.new(pseudonym_key, b"callcanon file labels v1", hashlib.sha256).digest()


def _label_key() -> bytes:
    from assets import keys

    return _label_key_for(keys.load_key())


def safe_name(name: str) -> str:
    """A file name that stays inside the folder it is put in and reads as one line."""
    cleaned = _UNSAFE_CHARS.sub("_", name).lstrip(".")
    return cleaned[:120] or label(name)


def discard(entry: Entry) -> None:
    """Remove a link, FIFO or device from the landing zone: it holds no data of its own, and its
    target (if any) is left untouched."""
    if entry.path.is_dir() and not entry.path.is_symlink():
        return  # a folder is left where it is; its refusal is on record
    entry.path.unlink(missing_ok=True)


def move_into(paths: tuple[Path, ...] | list[Path], dest_dir: Path) -> list[Path]:
    """Move regular files into dest_dir under safe names; an existing file of the same name is
    replaced only after the new one is in place. On one disk this is a rename, which never
    follows a link; across filesystems (landing on a bucket, quarantine on a disk) a copy and a
    delete, the source opened without following a link."""
    locations.ensure_dir(dest_dir)
    moved = []
    for src in paths:
        both_local = locations.is_local(src) and locations.is_local(dest_dir)
        if (both_local and src.is_symlink()) or not src.exists():
            continue
        target = _free_name(dest_dir, safe_name(src.name))
        if both_local and _rename(src, target):
            moved.append(target)
            continue
        tmp = dest_dir / (target.name + ".partial")
        with open_unfollowed(src) as fin, tmp.open("wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
        locations.replace(tmp, target)
        src.unlink()
        moved.append(target)
    return moved


def _rename(src: Path, target: Path) -> bool:
    """Rename on one disk, which never follows a link; False across filesystems (copy instead)."""
    try:
        os.rename(src, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        return False
    with contextlib.suppress(PermissionError):  # another account's file keeps its mode
        target.chmod(0o600)  # the sender's file mode is not ours to keep
    return True


def _free_name(dest_dir: Path, name: str) -> Path:
    """A name not yet taken in dest_dir: a second broken send of the same call is kept beside
    the first, not over it."""
    target, n = dest_dir / name, 0
    while target.exists() or target.is_symlink():
        n += 1
        target = dest_dir / f"{name}.{n}"
    return target
