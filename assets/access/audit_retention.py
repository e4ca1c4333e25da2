"""The audit trail's own retention (ombudsman §5.3: audit logs kept as per the retention policy):
records older than the policy's `audit.keep_days` are removed from the start of the chain behind a
signed checkpoint, so that verification still proves nothing else was removed or altered.

A checkpoint is the last removed record's sequence number and hash, signed with the audit signing
key (under a context of its own, so it can never pass for a head) and written, like every head,
to the append-only witness log first and then to `governance.audit_checkpoints` in the same
transaction as the deletion. Verification starts from the checkpoint: the first kept record must
follow it exactly (its `prev_hash` is the checkpoint's hash), so cutting more than the checkpoint
covers, or cutting without one, still shows as removed records. A run that stops between the
witness and the deletion leaves a checkpoint inside the chain, which must match it; the next run
cuts again at the same place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from assets import keys, warehouse
from assets.access import audit_heads

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_CONTEXT = b"callcanon audit checkpoint v1\n"
_FIELDS = ("seq", "hash", "cut_before", "signed_at")


@dataclass(frozen=True)
class Checkpoint:
    seq: int            # the last record removed
    hash: str           # its hash: the first kept record's prev_hash
    cut_before: str     # records recorded before this day were removed (ISO date)
    signed_at: str


def _message(c: dict) -> bytes:
    return _CONTEXT + json.dumps({f: c[f] for f in _FIELDS}, sort_keys=True, separators=(",", ":")).encode()


def sign(signer: Ed25519PrivateKey, c: Checkpoint) -> dict:
    body = {f: getattr(c, f) for f in _FIELDS}
    return {"kind": "checkpoint", **body, "sig": signer.sign(_message(body)).hex(),
            "key": audit_heads.fingerprint(signer.public_key())}


def _signed(public_key: Ed25519PublicKey, c: dict) -> Checkpoint | None:
    try:
        public_key.verify(bytes.fromhex(c["sig"]), _message(c))
        return Checkpoint(int(c["seq"]), c["hash"], c["cut_before"], c["signed_at"])
    except Exception:  # noqa: BLE001 - any malformed or forged checkpoint is simply not one
        return None


def checkpoints(conn, witness: Path, public_key: Ed25519PublicKey) -> tuple[dict[int, Checkpoint], list[str]]:
    """Every signed checkpoint, from the witness log and the warehouse table, by seq; and the
    problems found (a checkpoint whose signature does not verify)."""
    lines = witness.read_text(encoding="utf-8", errors="replace").splitlines() if witness.exists() else []
    witnessed = [h for h in map(audit_heads.parse, lines) if h is not None and h.get("kind") == "checkpoint"]
    stored = [{"seq": r[0], "hash": r[1], "cut_before": str(r[2]), "signed_at": r[3], "sig": r[4]}
              for r in conn.execute("SELECT seq, hash, cut_before, signed_at, sig FROM governance.audit_checkpoints")
              .fetchall()]
    found: dict[int, Checkpoint] = {}
    forged = 0
    for body in witnessed + stored:
        c = _signed(public_key, body)
        forged += c is None
        if c:
            found.setdefault(c.seq, c)
    if forged:
        return found, [f"{forged} audit checkpoint(s) not signed by the audit signing key: forged or altered"]
    return found, []


def cut(conn, policy, today: date, *, signer: Ed25519PrivateKey | None = None,
        witness: Path | None = None) -> tuple[Checkpoint, int] | None:
    """Remove the records recorded before `today - audit.keep_days` from the start of the chain,
    behind a signed checkpoint. Returns (checkpoint, records removed), or None when none are due.
    The caller records the cut itself in the trail (`audit.record_processing`)."""
    signer = signer or keys.load_audit_signing_key()
    witness = witness or audit_heads.witness_path()
    cut_before = (today - timedelta(days=policy.audit.keep_days)).isoformat()
    # The oldest records up to the first one that must stay: the chain is only ever cut at its start,
    # and never to nothing (the newest record stays, so the next one follows it, not a new chain).
    last = conn.execute(
        "SELECT seq, hash FROM governance.audit WHERE seq < coalesce((SELECT min(seq) FROM governance.audit "
        "WHERE left(recorded_at, 10) >= ?), (SELECT max(seq) FROM governance.audit)) ORDER BY seq DESC LIMIT 1",
        [cut_before]).fetchone()
    if last is None:
        return None
    checkpoint = Checkpoint(last[0], last[1], cut_before, warehouse.utcnow().isoformat())
    signed = sign(signer, checkpoint)
    audit_heads.append_witness(witness, signed)  # the witness first, as for every head
    with warehouse.transaction(conn):
        removed = conn.execute("SELECT count(*) FROM governance.audit WHERE seq <= ?", [last[0]]).fetchone()[0]
        conn.execute("DELETE FROM governance.audit_checkpoints WHERE seq = ?", [last[0]])
        warehouse.insert_row(conn, "governance.audit_checkpoints", seq=last[0], hash=last[1], cut_before=cut_before,
                             signed_at=checkpoint.signed_at, sig=signed["sig"], key=signed["key"], removed=removed)
        conn.execute("DELETE FROM governance.audit WHERE seq <= ?", [last[0]])
    return checkpoint, removed
