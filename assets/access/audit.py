"""The audit trail: every use of personal data, granted or refused, as an append-only hash chain.

Each record's hash is an HMAC (keyed from the pseudonym key, which lives outside the warehouse)
over its fields and the previous record's hash, so editing, removing or reordering a record
breaks the chain, and nobody who can only open the warehouse can forge a new one. The chain's
head (last sequence number and hash) is also written to a file outside the warehouse; `verify`
compares the two, so cutting records off the end shows as well.

Records hold no personal data of the people who called — the call as a hash of its id, the
subject as a pseudonym token, the reason pseudonymised — so an erasure never rewrites the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from assets import warehouse

GENESIS = "0" * 64
FIELDS = ("seq", "recorded_at", "actor", "role", "action", "object", "subject", "purpose", "reason", "outcome",
          "request",
          "prev_hash")


def head_path() -> Path:
    """Outside the warehouse file (CALLCANON_AUDIT_HEAD; by default beside the warehouse)."""
    from assets.settings import Settings

    return Settings.from_env().audit_head_path


def chain_key(pseudonym_key: bytes) -> bytes:
    return hmac.new(pseudonym_key, b"callcanon audit chain v1", hashlib.sha256).digest()


def _digest(key: bytes, record: dict) -> str:
    body = json.dumps({f: record[f] for f in FIELDS}, sort_keys=True, default=str, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _write_head(path: Path, seq: int, digest: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"seq": seq, "hash": digest}))
    os.replace(tmp, path)


def read_head(path: Path) -> tuple[int, str] | None:
    if not path.exists():
        return None
    head = json.loads(path.read_text())
    return int(head["seq"]), str(head["hash"])


def append(conn, key: bytes, *, actor: str, role: str, action: str, outcome: str, object: str | None = None,
           subject: str | None = None, purpose: str | None = None, reason: str | None = None,
           request: str | None = None, head: Path | None = None) -> int:
    """Add one record at the end of the chain; returns its sequence number."""
    head = head or head_path()
    with warehouse.transaction(conn):
        last = conn.execute("SELECT seq, hash FROM governance.audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        record = {"seq": seq, "recorded_at": warehouse.utcnow().isoformat(), "actor": actor, "role": role,
                  "action": action, "object": object, "subject": subject, "purpose": purpose,
                  "reason": reason, "outcome": outcome, "request": request, "prev_hash": prev}
        digest = _digest(key, record)
        placeholders = ", ".join("?" * (len(FIELDS) + 1))
        conn.execute(f"INSERT INTO governance.audit ({', '.join(FIELDS)}, hash) VALUES ({placeholders})",
                     [*(record[f] for f in FIELDS), digest])
    _write_head(head, seq, digest)
    return seq


def record_processing(conn, key: bytes, *, stage: str, scope: str, calls: int, run_id: str,
                      head: Path | None = None) -> int | None:
    """The pipeline's own use of personal data (the policy's "all uses"): one record per stage
    and partition run that read any, with how many calls, and the run to look up in Dagster."""
    if not calls:
        return None
    return append(conn, key, actor="callcanon-pipeline", role="system", action=stage, outcome="granted",
                  object=f"call_date:{scope}", purpose="automated_processing", reason=f"Dagster run {run_id}",
                  request=json.dumps({"calls": calls}), head=head)


@dataclass
class Verification:
    records: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn, key: bytes, head: Path | None = None) -> Verification:
    """Walk the chain from the first record: every sequence number present and in order, every
    record's hash its own, every link to the one before, and the end where the head says."""
    head = head or head_path()
    rows = conn.execute(f"SELECT {', '.join(FIELDS)}, hash FROM governance.audit ORDER BY seq").fetchall()
    result = Verification(len(rows))
    prev, expected_seq = GENESIS, 1
    for row in rows:
        record = dict(zip((*FIELDS, "hash"), row))
        seq = record["seq"]
        if seq != expected_seq:
            result.problems.append(f"record {expected_seq}{f'-{seq - 1}' if seq - 1 > expected_seq else ''} "
                                   "missing (removed)")
        if record["prev_hash"] != prev:
            result.problems.append(f"record {seq} does not follow the record before it (removed or reordered)")
        if _digest(key, record) != record["hash"]:
            result.problems.append(f"record {seq} was altered (its hash does not match its contents)")
        prev, expected_seq = record["hash"], seq + 1
    stored = read_head(head)
    last = (rows[-1][0], rows[-1][-1]) if rows else (0, GENESIS)
    if stored is None:
        if rows:
            result.problems.append(f"no chain head at {head}: cannot tell whether records were cut off the end")
    elif stored != last:
        if stored[0] > last[0]:
            result.problems.append(f"the chain ends at record {last[0]} but its head says {stored[0]}: "
                                   "records were cut off the end")
        else:
            result.problems.append(f"the chain's last record {last[0]} is not the head's ({stored[0]})")
    return result
