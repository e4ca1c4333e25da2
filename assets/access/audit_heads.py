"""The audit chain's signed heads: the head file beside the warehouse, and the witness log.

Each time the chain advances, its head {seq, hash, at} is signed with the audit signing key
(Ed25519, `assets.keys.AUDIT_SIGNING`: a secret of its own, apart from the pseudonym key that
keys the chain's HMACs) and written twice: over the head file (owner-only, atomic replace) and
as one more line of the witness log (`heads.jsonl` in `Settings.audit_witness_dir`, appended
and fsynced, never rewritten). Production points the witness at a location the pipeline can
append to but not rewrite (docs/access.md). Because every witnessed hash must still be the
chain's hash at that sequence number, a chain re-keyed with the pseudonym key, cut short, or
emptied no longer matches what was witnessed, whatever the head file says.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

WITNESS_FILE = "heads.jsonl"
_CONTEXT = b"callcanon audit head v1\n"  # what the signature is for: never valid as anything else


def witness_path() -> Path:
    """The witness log (CALLCANON_AUDIT_WITNESS; by default <data>/audit_witness)."""
    from assets.settings import Settings

    return Settings.from_env().audit_witness_dir / WITNESS_FILE


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """The signing key as people compare it: sha256 of the raw public key, first 16 hex."""
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def _message(seq: int, digest: str, at: str) -> bytes:
    body = json.dumps({"seq": seq, "hash": digest, "at": at}, sort_keys=True, separators=(",", ":"))
    return _CONTEXT + body.encode()


def sign(signer: Ed25519PrivateKey, seq: int, digest: str, at: str) -> dict:
    """A signed head: its fields, the signature over their canonical JSON, and the key's fingerprint."""
    return {"seq": seq, "hash": digest, "at": at, "sig": signer.sign(_message(seq, digest, at)).hex(),
            "key": fingerprint(signer.public_key())}


def parse(text: str) -> dict | None:
    """A head's fields from one JSON object (at least seq and hash: an unsigned head from before
    signing reads too), or None when it is not one. The signature is not checked here."""
    try:
        head = json.loads(text)
    except ValueError:
        return None
    if not isinstance(head, dict) or type(head.get("seq")) is not int or not isinstance(head.get("hash"), str):
        return None
    return head


def signed_by(public_key: Ed25519PublicKey, head: dict) -> bool:
    try:
        public_key.verify(bytes.fromhex(head["sig"]), _message(head["seq"], head["hash"], head["at"]))
    except (KeyError, TypeError, ValueError, AttributeError, InvalidSignature):
        return False
    return True


def write_head(path: Path, head: dict) -> None:
    """Replace the head file, owner-only, in one step (a reader sees the old head or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(head, sort_keys=True).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def append_witness(path: Path, head: dict) -> None:
    """One more line at the end of the witness log, on disk before this returns. Opened for
    appending only: nothing here can rewrite what is already there."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(head, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def check_head(path: Path, public_key: Ed25519PublicKey, last: tuple[int, str], has_records: bool) -> list[str]:
    """The head file: present once there are records, signed by the signing key, and where the chain ends."""
    if not path.exists():
        return [f"no chain head at {path}: cannot tell whether records were cut off the end"] if has_records else []
    head = parse(path.read_text())
    if head is None:
        return [f"the chain head at {path} is not a head (unreadable)"]
    problems = []
    if not signed_by(public_key, head):
        problems.append(f"the chain head at {path} is not signed by the audit signing key (forged or altered)")
    if (head["seq"], head["hash"]) != last:
        if head["seq"] > last[0]:
            problems.append(f"the chain ends at record {last[0]} but its head says {head['seq']}: "
                            "records were cut off the end")
        else:
            problems.append(f"the chain's last record {last[0]} is not the head's ({head['seq']})")
    return problems


def _records(seqs: set[int]) -> str:
    """A set of sequence numbers in a few words: "record 7", "3 records (4 to 9)"."""
    if len(seqs) == 1:
        return f"record {next(iter(seqs))}"
    return f"{len(seqs)} records ({min(seqs)} to {max(seqs)})"


def check_witness(path: Path, public_key: Ed25519PublicKey, chain: dict[int, str],
                  last: tuple[int, str], floor: int = 0) -> tuple[int, list[str]]:
    """Every line of the witness log signed, and every witnessed (seq, hash) above `floor` (the
    audit checkpoint the chain starts from) the chain's record at that seq; the chain's last record
    the newest witnessed head. One pass over the log; `chain` maps each record's seq to its hash.
    Checkpoint lines are checked by `audit_retention`. Returns (signed heads read, problems)."""
    if not path.exists():
        return 0, ([f"no witness log at {path}: the chain's heads were never witnessed"] if chain else [])
    unsigned: list[int] = []
    beyond, differ, conflicts = set(), set(), set()
    seen: dict[int, str] = {}
    signed = 0
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            head = parse(line)
            if head is not None and head.get("kind") == "checkpoint":
                continue
            if head is None or not signed_by(public_key, head):
                unsigned.append(number)
                continue
            signed += 1
            seq, digest = head["seq"], head["hash"]
            if seen.setdefault(seq, digest) != digest:
                conflicts.add(seq)
            if seq <= floor:
                continue  # removed by audit retention, behind the signed checkpoint
            if seq not in chain:
                beyond.add(seq)
            elif chain[seq] != digest:
                differ.add(seq)
    problems = []
    if unsigned:
        problems.append(f"{len(unsigned)} witness line(s) not signed by the audit signing key "
                        f"(first: line {unsigned[0]}): forged or altered")
    if conflicts:
        problems.append(f"the witness log holds two different heads for {_records(conflicts)}: "
                        "the chain was rewritten")
    if beyond:
        problems.append(f"the witness log names {_records(beyond)} missing from the chain: removed, or cut off "
                        "the end")
    if differ:
        problems.append(f"the chain's hash differs from the witnessed one at {_records(differ)}: "
                        "the chain was rewritten")
    newest = max(seen) if seen else 0
    if chain and not seen:
        problems.append(f"the witness log at {path} holds no signed head for a chain of {len(chain)} records")
    elif last[0] > newest:
        problems.append(f"the chain's last record {last[0]} is after the newest witnessed head ({newest}): "
                        "records were added without the signing key, or the witness was not written")
    return signed, problems
