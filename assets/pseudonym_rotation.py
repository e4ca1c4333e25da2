"""Rotating the pseudonym key: the canon and its themes are made again under a new key, and what
governance holds as pseudonyms (restrictions and legal holds on a number or a person) is carried
over to the new tokens. The Dagster side (re-pseudonymising every call date, refitting themes,
rebuilding the marts, publishing the analytics copy) is `pipelines.runner.repseudonymise`.

A token is an HMAC of the value, so carrying one over needs the value: a number's from the call
records, a person's from the transcripts of the calls their token was found in (read again,
opened from their seal, in memory only). A reference no held call can translate any more (a
restriction on a number whose calls have all gone) cannot follow the key: the rotation refuses
before changing anything, unless told to drop those, and says how many.

The audit chain's HMAC key is kept (`keys.save_chain_key`, before anything else changes): its
records were hashed with it, and its integrity rests on the signed, witnessed heads anyway.
Audit records keep the tokens they were written with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from assets import keys, warehouse
from assets.pii.pseudonymiser import Pseudonymiser
from assets.sealed_text import TRANSCRIPT, TextSeal

GOVERNED = ("governance.restrictions", "governance.legal_holds")


def key_id(key: bytes) -> str:
    """Which pseudonym key, without saying anything about it."""
    return hashlib.sha256(b"callcanon pseudonym key id\n" + key).hexdigest()[:8]


@dataclass
class Carried:
    """Governance references to carry over: (table, kind, old ref) -> new ref, and those that
    cannot be carried, with the number already carried (a re-run after an interruption)."""
    changes: dict[tuple[str, str, str], str] = field(default_factory=dict)
    lost: list[tuple[str, str, str]] = field(default_factory=list)   # (table, kind, ref)
    already: int = 0


def plan(conn, old: Pseudonymiser, new: Pseudonymiser, seal: TextSeal) -> Carried:
    """What every number and person reference in restrictions and legal holds becomes."""
    refs = [(t, k, r) for t in GOVERNED
            for k, r in conn.execute(f"SELECT DISTINCT kind, ref FROM {t} WHERE kind IN ('number', 'person')"
                                     + (" AND released_at IS NULL" if t.endswith("legal_holds") else "")).fetchall()]
    numbers = [r[0] for r in conn.execute(
        "SELECT DISTINCT external_number FROM casework.calls WHERE external_number IS NOT NULL").fetchall()]
    tokens = {old.token("PHONE_NUMBER", n): new.token("PHONE_NUMBER", n) for n in numbers}
    people = {r for _, k, r in refs if k == "person"}
    if people:
        tokens |= _person_tokens(conn, old, new, seal, people)
    done = set(tokens.values())
    out = Carried()
    for table, kind, ref in refs:
        if ref in tokens:
            out.changes[(table, kind, ref)] = tokens[ref]
        elif ref in done:
            out.already += 1
        else:
            out.lost.append((table, kind, ref))
    return out


def _person_tokens(conn, old: Pseudonymiser, new: Pseudonymiser, seal: TextSeal, people: set[str]) -> dict:
    """old token -> new token for every entity found in the calls these people's tokens came from."""
    calls = conn.execute("SELECT DISTINCT c.call_id, t.text FROM casework.call_pseudonyms c "
                         "JOIN casework.transcripts t USING (call_id) WHERE c.token IN (SELECT unnest(?))",
                         [sorted(people)]).fetchall()
    texts = [seal.open(text, call_id, TRANSCRIPT) for call_id, text in calls]
    out = {}
    for text, entities in zip(texts, new.find_many(texts) if texts else []):
        for e in entities:
            value = e.value or text[e.start:e.end]
            out[old.token(e.type, value)] = new.token(e.type, value)
    return out


def carry_over(conn, carried: Carried) -> int:
    """Rewrite the references still under the old key, all in one transaction; returns how many
    rows changed (none on a re-run: the plan's old refs are gone)."""
    changed = 0
    with warehouse.transaction(conn):
        for (table, kind, ref), new_ref in carried.changes.items():
            changed += conn.execute(f"UPDATE {table} SET ref = ? WHERE kind = ? AND ref = ?",
                                    [new_ref, kind, ref]).fetchone()[0]
    return changed


def save_plan(path: Path, carried: Carried) -> None:
    """The plan made before anything changed, kept beside the new key until the swap: a resumed
    rotation must not work it out again from a half-redone canon (where a person's calls no
    longer carry the old token, so their restriction would look impossible to carry over)."""
    body = {"changes": [[t, k, r, n] for (t, k, r), n in carried.changes.items()],
            "lost": [list(x) for x in carried.lost], "already": carried.already}
    keys.write_private(path, json.dumps(body))


def load_plan(path: Path) -> Carried:
    body = json.loads(path.read_text())
    return Carried({(t, k, r): n for t, k, r, n in body["changes"]}, [tuple(x) for x in body["lost"]],
                   body["already"])


def drop_lost(conn, carried: Carried) -> int:
    """Remove the references that cannot follow the key (only when asked to, by the command)."""
    with warehouse.transaction(conn):
        for table, kind, ref in carried.lost:
            conn.execute(f"DELETE FROM {table} WHERE kind = ? AND ref = ?", [kind, ref])
    return len(carried.lost)


def dates_to_redo(conn) -> list:
    """Every call date whose calls have a transcript: the canon is made again from them."""
    return [r[0] for r in conn.execute("SELECT DISTINCT call_date FROM casework.transcripts ORDER BY 1").fetchall()]


def canon_rows_without_transcript(conn) -> int:
    """Canon rows whose transcript retention has already removed (a policy keeping the canon longer
    than transcripts): they cannot be made again and keep the old key's tokens until they expire."""
    return conn.execute("SELECT count(*) FROM canon.transcripts WHERE call_id NOT IN "
                        "(SELECT call_id FROM casework.transcripts)").fetchone()[0]
