"""The audit trail: every use of personal data, granted or refused, as an append-only hash chain.

Each record's hash is an HMAC (keyed from the pseudonym key, which lives outside the warehouse)
over its fields and the previous record's hash, so editing, removing or reordering a record
breaks the chain, and nobody who can only open the warehouse can forge a new one. Whoever holds
the pseudonym key could re-key a whole chain, so each new head (last sequence number and hash)
is also signed with the audit signing key, a secret of its own, and written outside the
warehouse twice: over the head file, and appended to the witness log (`audit_heads`). `verify`
checks the head's and every witnessed head's signature, and that every witnessed hash is still
the chain's at that sequence number, so a re-keyed, cut-off or emptied chain shows.

Records hold no personal data of the people who called — the call as a hash of its id, the
subject as a pseudonym token, the reason pseudonymised — so an erasure never rewrites the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assets import keys, warehouse
from assets.access import audit_heads, audit_retention
from assets.access.audit_heads import fingerprint, witness_path

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["GENESIS", "FIELDS", "Verification", "append", "chain_key", "fingerprint", "head_path", "read_head",
           "recent", "record_processing", "verify", "witness_path"]

GENESIS = "0" * 64
FIELDS = ("seq", "recorded_at", "actor", "role", "action", "object", "subject", "purpose", "reason", "outcome",
          "request",
          "prev_hash")


def head_path() -> Path:
    """Outside the warehouse file (CALLCANON_AUDIT_HEAD; by default beside the warehouse)."""
    from assets.settings import Settings

    return Settings.from_env().audit_head_path


def chain_key(pseudonym_key: bytes) -> bytes:
    """The key of the chain's HMACs: derived from the pseudonym key, or, once that key has been
    rotated, the one saved at the first rotation (`keys.save_chain_key`), so every record keeps
    verifying. The chain's integrity rests on the signed, witnessed heads either way."""
    saved = keys.saved_chain_key()
    if saved is not None:
        return saved
    return hmac.new(pseudonym_key, b"callcanon audit chain v1", hashlib.sha256).digest()


def _digest(key: bytes, record: dict) -> str:
    body = json.dumps({f: record[f] for f in FIELDS}, sort_keys=True, default=str, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def read_head(path: Path) -> tuple[int, str] | None:
    """The head file's (seq, hash), signed or not; `verify` checks the signature."""
    head = audit_heads.parse(path.read_text()) if path.exists() else None
    return (head["seq"], head["hash"]) if head else None


def _signer() -> Ed25519PrivateKey:
    return keys.load_audit_signing_key()


def append(conn, key: bytes, *, actor: str, role: str, action: str, outcome: str, object: str | None = None,
           subject: str | None = None, purpose: str | None = None, reason: str | None = None,
           request: str | None = None, head: Path | None = None, signer: Ed25519PrivateKey | None = None,
           witness: Path | None = None) -> int:
    """Add one record at the end of the chain, then sign its head and write it to the head file
    and the witness log; returns its sequence number. The signing key is loaded before anything
    is written: without it no record is added."""
    head, witness, signer = head or head_path(), witness or witness_path(), signer or _signer()
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
    signed = audit_heads.sign(signer, seq, digest, warehouse.utcnow().isoformat())
    audit_heads.append_witness(witness, signed)  # the witness first: it is the record that cannot be rewritten
    audit_heads.write_head(head, signed)
    return seq


def record_processing(conn, key: bytes, *, stage: str, scope: str, calls: int, run_id: str,
                      head: Path | None = None, signer: Ed25519PrivateKey | None = None,
                      witness: Path | None = None) -> int | None:
    """The pipeline's own use of personal data (the policy's "all uses"): one record per stage
    and partition run that read any, with how many calls, and the run to look up in Dagster."""
    if not calls:
        return None
    return append(conn, key, actor="callcanon-pipeline", role="system", action=stage, outcome="granted",
                  object=f"call_date:{scope}", purpose="automated_processing", reason=f"Dagster run {run_id}",
                  request=json.dumps({"calls": calls}), head=head, signer=signer,
                  witness=witness)


def recent(conn, limit: int = 200) -> list[tuple]:
    """The newest records, newest first: (seq, recorded_at, actor, role, action, object, purpose, outcome)."""
    return conn.execute("SELECT seq, recorded_at, actor, role, action, object, purpose, outcome FROM governance.audit "
                        "ORDER BY seq DESC LIMIT ?", [limit]).fetchall()


@dataclass
class Verification:
    records: int
    problems: list[str] = field(default_factory=list)
    witnessed: int = 0  # signed heads read from the witness log
    checkpoint: audit_retention.Checkpoint | None = None  # where the chain starts after audit retention

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn, key: bytes, head: Path | None = None, *, witness: Path | None = None,
           public_key: Ed25519PublicKey | None = None) -> Verification:
    """Walk the chain from the first record: every sequence number present and in order, every
    record's hash its own, every link to the one before; then the head file signed and where the
    chain ends, every witnessed head signed and still the chain's hash at its sequence number, and
    the chain's last record the newest witnessed head. After audit retention the walk starts from
    the signed checkpoint the first kept record follows (`audit_retention`), and heads witnessed
    for the removed records are no longer compared. `public_key` defaults to the signing key's."""
    head, witness = head or head_path(), witness or witness_path()
    public_key = public_key or _signer().public_key()
    rows = conn.execute(f"SELECT {', '.join(FIELDS)}, hash FROM governance.audit ORDER BY seq").fetchall()
    result = Verification(len(rows))
    # After audit retention the chain starts at a signed checkpoint: the first kept record must
    # follow it exactly, or the records before it show as removed.
    checkpoints, result.problems = audit_retention.checkpoints(conn, witness, public_key)
    start = checkpoints.get(rows[0][0] - 1) if rows and rows[0][0] > 1 else None
    result.checkpoint = start
    prev, expected_seq = (start.hash, start.seq + 1) if start else (GENESIS, 1)
    hashes: dict[int, str] = {}
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
        hashes[seq] = record["hash"]
    inside = sorted(s for s, c in checkpoints.items() if s in hashes and hashes[s] != c.hash)
    if inside:
        result.problems.append(f"the chain's hash at record {inside[0]} differs from its signed audit checkpoint: "
                               "the chain was rewritten")
    last = (rows[-1][0], rows[-1][-1]) if rows else (0, GENESIS)
    result.problems += audit_heads.check_head(head, public_key, last, bool(rows))
    result.witnessed, problems = audit_heads.check_witness(witness, public_key, hashes, last,
                                                           floor=start.seq if start else 0)
    result.problems += problems
    return result
