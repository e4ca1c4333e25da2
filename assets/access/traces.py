"""Where a subject's number and name are held outside their own calls' rows: unknown sidecar
fields of other calls (`casework.calls.extra`), and files set aside in quarantine (a broken
re-send of the same call, a file named after a number). An erasure matches them in every stored
form and removes or redacts them; a subject access request reports the mentions.

Numbers are compared as national significant numbers (digits only, without +44 or the leading
0), so "07700 900 123", "+44 7700 900123" and "447700900123" are one number, and found in any
run of digits that contains them. Names are compared
case-insensitively as whole words, with runs of spaces as one. Nothing here is logged or stored: the matching
values stay in memory for the request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from assets import locations
from assets.access.subjects import call_ref

MIN_NUMBER_DIGITS = 9
ERASED = "[erased]"
_QUARANTINE_READ_LIMIT = 1 << 20  # sidecars are at most 64 KB; audio is matched by name and call only


def national(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    for prefix in ("0044", "44", "0"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= MIN_NUMBER_DIGITS:
            return digits[len(prefix):]
    return digits


def _name(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class Identifiers:
    """A subject's identifiers as an erasure or subject access request knows them."""

    numbers: set[str] = field(default_factory=set)  # national significant numbers
    names: set[str] = field(default_factory=set)    # lower case, single spaces

    @classmethod
    def of(cls, numbers=(), names=()) -> Identifiers:
        return cls({n for n in map(national, filter(None, numbers)) if len(n) >= MIN_NUMBER_DIGITS},
                   {n for n in map(_name, filter(None, names)) if len(n) >= 3})

    def __bool__(self) -> bool:
        return bool(self.numbers or self.names)

    def in_text(self, text: str) -> bool:
        # Digits only, then containment: however the number was spaced, split or run into a
        # date beside it ("07700900123_20260105"), its nine or more digits are still in a row.
        digits = re.sub(r"\D", "", text)
        if any(n in digits for n in self.numbers):
            return True
        flat = _name(text)
        # Whole words: "Ann Lee" is not in "Joann Leeds".
        return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", flat) for name in self.names)


def _walk(value, path: str, ids: Identifiers, hits: list[str]):
    """The value with every matching string replaced by ERASED; matching paths appended to hits."""
    if isinstance(value, dict):
        out = {}
        for n, (k, v) in enumerate(value.items()):
            key = f"{ERASED}{n}" if ids.in_text(str(k)) else k  # a sender's dict may be keyed by a number
            if key != k:
                hits.append(f"{path}.{key}" if path else key)
            out[key] = _walk(v, f"{path}.{key}" if path else str(key), ids, hits)
        return out
    if isinstance(value, list):
        return [_walk(v, f"{path}[{i}]", ids, hits) for i, v in enumerate(value)]
    if isinstance(value, (str, int)) and not isinstance(value, bool) and ids.in_text(str(value)):
        hits.append(path)
        return ERASED
    return value


def mentions_in_extras(conn, ids: Identifiers, exclude: list[str] = ()) -> dict[str, list[str]]:
    """Calls (other than `exclude`) whose unknown sidecar fields hold the identifiers: {call_id: [field]}."""
    found = {}
    if not ids:
        return found
    for call_id, extra in conn.execute("SELECT call_id, extra FROM casework.calls WHERE extra IS NOT NULL "
                                       "AND call_id NOT IN (SELECT unnest(?))", [list(exclude)]).fetchall():
        hits: list[str] = []
        _walk(json.loads(extra), "", ids, hits)
        if hits:
            found[call_id] = hits
    return found


def redact_extras(conn, ids: Identifiers, exclude: list[str]) -> dict[str, int]:
    """Replace the matching values in other calls' unknown fields: {call_ref: fields redacted}.
    The other call is someone else's and stays; only the subject's values in it go."""
    redacted = {}
    for call_id in mentions_in_extras(conn, ids, exclude):
        extra = conn.execute("SELECT extra FROM casework.calls WHERE call_id = ?", [call_id]).fetchone()[0]
        hits: list[str] = []
        cleaned = _walk(json.loads(extra), "", ids, hits)
        conn.execute("UPDATE casework.calls SET extra = ? WHERE call_id = ?", [json.dumps(cleaned), call_id])
        redacted[call_ref(call_id)] = len(hits)
    return redacted


def _holds(folder, ids: Identifiers) -> bool:
    """Whether a quarantined file's name, or a quarantined sidecar's text, holds the identifiers
    (audio is matched through its call id and its name: its bytes say nothing searchable)."""
    for path in folder.rglob("*") if folder.is_dir() else [folder]:
        if ids.in_text(path.name.replace("_", " ")):
            return True
        if ".json" in path.name and path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if ids.in_text(fh.read(_QUARANTINE_READ_LIMIT).decode("utf-8", "replace")):
                    return True
    return False


def quarantined(conn, ids: Identifiers, call_ids: list[str], labels: list[str]) -> list[tuple[str, str, str]]:
    """Quarantine rows (item, stage, location) for the calls, or whose files name or hold the identifiers."""
    rows = conn.execute("SELECT item, stage, location FROM casework.quarantine").fetchall()
    named = set(call_ids) | set(labels)
    return [(item, stage, loc) for item, stage, loc in rows
            if item in named or (ids and loc and _exists(loc) and _holds(locations.location(loc), ids))]


def _exists(loc: str) -> bool:
    try:
        return locations.location(loc).exists()
    except OSError:
        return False


def files_under(loc: str) -> list[str]:
    target = locations.location(loc)
    if target.is_dir():
        return sorted(str(p) for p in target.rglob("*") if p.is_file() or p.is_symlink())
    return [str(target)] if target.exists() else []


def call_folders(quarantine_root, call_ids: list[str]) -> list[str]:
    """The quarantine folders named after the calls (by id, or by the label of a name that was
    the call id), whether or not a row still names them: a fixed call's earlier broken send and a
    superseded recording stay there after their rows are cleared, and go with the call."""
    from assets.ingest.untrusted import labels

    root = locations.location(quarantine_root)
    names = {p.name for p in root.iterdir()} if root.exists() else set()
    if not names:
        return []
    wanted = set(call_ids) | (set(labels(call_ids).values()) if any(n.startswith("file-") for n in names) else set())
    return [str(root / n) for n in sorted(names & wanted)]


def quarantine_ref(item: str) -> str:
    return call_ref(item) if not item.startswith("file-") else item
