"""Forging the audit trail (issue 17, point 5): the attacks that used to pass `audit verify` —
re-keying the chain with the pseudonym key, cutting the tail and editing the head, deleting the
head and every record — each fail it now, because every head is signed with the audit signing
key and appended to a witness log the chain must still agree with. Real DuckDB, real files, no
pipeline run."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assets import keys, warehouse
from assets.access import audit, audit_heads

RECORDS = 5


class Chain:
    """A warehouse with an honest chain of RECORDS records, its head file and its witness log."""

    def __init__(self, root: Path):
        self.db, self.head, self.witness = root / "warehouse.duckdb", root / "head.json", root / "w" / "heads.jsonl"
        self.key = audit.chain_key(keys.load_key())
        with warehouse.connect(self.db) as conn:
            warehouse.ensure_schema(conn)
            for n in range(RECORDS):
                self.append(conn, n)

    def append(self, conn, n: int, **kwargs) -> int:
        return audit.append(conn, self.key, actor=f"cw-{n}", role="caseworker", action="listen", outcome="granted",
                            purpose="complaint_handling", reason="complaint review", object=f"ref-{n}",
                            head=self.head, witness=self.witness, **kwargs)

    def verify(self) -> audit.Verification:
        with warehouse.connect(self.db) as conn:
            return audit.verify(conn, self.key, self.head, witness=self.witness)

    def rekey_without(self, seq: int) -> None:
        """What the pseudonym key allows: remove a record, renumber and re-link the rest, and
        recompute every hash with the real chain key, so the chain walks clean."""
        with warehouse.connect(self.db) as conn:
            conn.execute("DELETE FROM governance.audit WHERE seq = ?", [seq])
            cols = ", ".join((*audit.FIELDS, "hash"))
            rows = [dict(zip((*audit.FIELDS, "hash"), r))
                    for r in conn.execute(f"SELECT {cols} FROM governance.audit ORDER BY seq").fetchall()]
            conn.execute("DELETE FROM governance.audit")
            prev = audit.GENESIS
            for n, record in enumerate(rows, 1):
                record.update(seq=n, prev_hash=prev)
                record["hash"] = prev = audit._digest(self.key, record)
                conn.execute(f"INSERT INTO governance.audit ({cols}) VALUES ({', '.join('?' * len(record))})",
                             [record[c] for c in (*audit.FIELDS, "hash")])

    def last(self) -> tuple[int, str]:
        with warehouse.connect(self.db) as conn:
            return conn.execute("SELECT seq, hash FROM governance.audit ORDER BY seq DESC LIMIT 1").fetchone()

    def witnessed(self) -> list[dict]:
        return [json.loads(line) for line in self.witness.read_text().splitlines()]


@pytest.fixture
def chain(tmp_path) -> Chain:
    return Chain(tmp_path)


def _failed(result: audit.Verification, *expected: str) -> str:
    text = "\n".join(result.problems)
    assert not result.ok
    for phrase in expected:
        assert phrase in text, text
    return text


def test_an_honest_chain_verifies_and_its_heads_are_private_and_signed(chain):
    result = chain.verify()
    assert result.ok and result.records == RECORDS and result.witnessed == RECORDS, result.problems
    heads = chain.witnessed()
    assert [h["seq"] for h in heads] == list(range(1, RECORDS + 1))
    assert json.loads(chain.head.read_text()) == heads[-1] and (heads[-1]["seq"], heads[-1]["hash"]) == chain.last()
    public = keys.load_audit_signing_key().public_key()
    assert all(audit_heads.signed_by(public, h) for h in heads)
    assert {h["key"] for h in heads} == {audit.fingerprint(public)}
    for path, mode in ((chain.head, 0o600), (chain.witness, 0o600), (chain.witness.parent, 0o700)):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
    assert not list(chain.head.parent.glob("*.tmp"))


def test_another_signing_key_does_not_verify(chain):
    with warehouse.connect(chain.db) as conn:
        result = audit.verify(conn, chain.key, chain.head, witness=chain.witness,
                              public_key=Ed25519PrivateKey.generate().public_key())
    _failed(result, "head at", "not signed by the audit signing key", f"{RECORDS} witness line(s) not signed")


@pytest.mark.parametrize("head", ["unsigned", "edited", "own_key"])
def test_a_chain_rekeyed_with_the_pseudonym_key_fails(chain, head):
    """(a) The attacker holds the pseudonym key, not the signing key: record 3 goes, the chain is
    renumbered and re-HMACed so every link and hash checks out, and the head is rewritten."""
    chain.rekey_without(3)
    seq, digest = chain.last()
    old = json.loads(chain.head.read_text())
    forged = {"unsigned": {"seq": seq, "hash": digest},
              "edited": {**old, "seq": seq, "hash": digest},  # the old signature kept
              "own_key": audit_heads.sign(Ed25519PrivateKey.generate(), seq, digest, old["at"])}[head]
    chain.head.write_text(json.dumps(forged))
    _failed(chain.verify(), "not signed by the audit signing key",
            "the chain's hash differs from the witnessed one at 2 records (3 to 4)",
            f"names record {RECORDS} missing from the chain")


def test_a_rekeyed_chain_fails_even_with_the_signing_key(chain):
    """(a') The attacker holds both keys: the head is re-signed and the rewritten heads appended
    to the witness log, which they cannot rewrite; the earlier witnessed hashes still disagree."""
    chain.rekey_without(3)
    signer = keys.load_audit_signing_key()
    with warehouse.connect(chain.db) as conn:
        rows = conn.execute("SELECT seq, hash FROM governance.audit WHERE seq >= 3 ORDER BY seq").fetchall()
    for seq, digest in rows:
        signed = audit_heads.sign(signer, seq, digest, "2026-01-01T00:00:00+00:00")
        audit_heads.append_witness(chain.witness, signed)
    audit_heads.write_head(chain.head, signed)
    text = _failed(chain.verify(), "two different heads for 2 records (3 to 4)",
                   f"names record {RECORDS} missing from the chain")
    assert "not signed" not in text  # every signature is genuine: the witness alone catches it


@pytest.mark.parametrize("head", ["edited", "replayed"])
def test_a_cut_tail_with_the_head_made_to_match_fails(chain, head):
    """(b) No key at all: the last two records go and the head file is made to match, by editing
    it or by copying in the genuinely signed head of record 3 from the (readable) witness log."""
    with warehouse.connect(chain.db) as conn:
        conn.execute("DELETE FROM governance.audit WHERE seq > 3")
    seq, digest = chain.last()
    forged = (chain.witnessed()[2] if head == "replayed"
              else {**json.loads(chain.head.read_text()), "seq": seq, "hash": digest})
    chain.head.write_text(json.dumps(forged))
    text = _failed(chain.verify(), "names 2 records (4 to 5) missing from the chain: removed, or cut off the end")
    assert ("not signed" in text) == (head == "edited")


def test_deleting_the_head_and_every_record_fails(chain):
    """(c) Nothing left to walk: the witness log still names every record."""
    with warehouse.connect(chain.db) as conn:
        conn.execute("DELETE FROM governance.audit")
    chain.head.unlink()
    result = chain.verify()
    assert result.records == 0
    _failed(result, f"names {RECORDS} records (1 to {RECORDS}) missing from the chain")


def test_a_record_added_with_the_pseudonym_key_alone_fails(chain, monkeypatch):
    """A record forged onto the end: its HMAC is right, but no signed head ever named it."""
    with monkeypatch.context() as without_signing_key:
        without_signing_key.delenv("CALLCANON_AUDIT_SIGNING_KEY")
        without_signing_key.setenv("CALLCANON_AUDIT_SIGNING_KEY_FILE", str(chain.db.parent / "no-such.key"))
        with warehouse.connect(chain.db) as conn, pytest.raises(keys.SecretError, match="no audit_signing key"):
            chain.append(conn, 99)  # the real path adds nothing without the signing key
    assert chain.verify().ok
    seq, prev = chain.last()
    record = {f: None for f in audit.FIELDS} | {"seq": seq + 1, "recorded_at": "2026-01-01 00:00:00+00",
                                                 "actor": "cw-x", "role": "caseworker", "action": "listen",
                                                 "outcome": "granted", "prev_hash": prev}
    cols = ", ".join((*audit.FIELDS, "hash"))
    with warehouse.connect(chain.db) as conn:
        conn.execute(f"INSERT INTO governance.audit ({cols}) VALUES ({', '.join('?' * (len(audit.FIELDS) + 1))})",
                     [*(record[f] for f in audit.FIELDS), audit._digest(chain.key, record)])
    result = chain.verify()
    assert result.records == RECORDS + 1
    _failed(result, f"last record {RECORDS + 1} is after the newest witnessed head ({RECORDS})")


def test_a_missing_witness_log_fails(chain):
    chain.witness.unlink()
    _failed(chain.verify(), "no witness log at")


def test_the_signing_key_is_a_secret_of_its_own(tmp_path, monkeypatch):
    assert keys.AUDIT_SIGNING in keys.ALL and keys.AUDIT_SIGNING.env == "CALLCANON_AUDIT_SIGNING_KEY"
    monkeypatch.delenv("CALLCANON_AUDIT_SIGNING_KEY")
    path = tmp_path / "k" / "audit_signing.key"
    monkeypatch.setenv("CALLCANON_AUDIT_SIGNING_KEY_FILE", str(path))
    assert keys.AUDIT_SIGNING.init() == (path, True) and stat.S_IMODE(path.stat().st_mode) == 0o600
    public = keys.load_audit_signing_key().public_key()
    monkeypatch.setenv("CALLCANON_PSEUDONYM_KEY", "ab" * 32)  # another pseudonym key: the same signing key
    assert audit.fingerprint(keys.load_audit_signing_key().public_key()) == audit.fingerprint(public)
    monkeypatch.setenv("CALLCANON_AUDIT_SIGNING_KEY", "ab" * 16)  # 16 bytes is no Ed25519 seed
    with pytest.raises(keys.SecretError, match="32 bytes"):
        keys.load_audit_signing_key()


def test_the_cli_passes_an_honest_chain_and_fails_a_forged_one(tmp_path, monkeypatch):
    for var in ("CALLCANON_WAREHOUSE", "CALLCANON_AUDIT_HEAD", "CALLCANON_AUDIT_WITNESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CALLCANON_DATA", str(tmp_path))
    key = audit.chain_key(keys.load_key())
    db = tmp_path / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        for n in range(3):  # every location from the settings, as the access layer and the pipeline do
            audit.append(conn, key, actor=f"cw-{n}", role="caseworker", action="listen", outcome="granted")
    assert (tmp_path / "audit_witness" / "heads.jsonl").exists() and (tmp_path / "audit_head.json").exists()
    from pipelines.cli import main

    fp = audit.fingerprint(keys.load_audit_signing_key().public_key())
    honest = CliRunner().invoke(main, ["audit", "verify"])
    assert honest.exit_code == 0, honest.output
    assert "3 records, chain intact" in honest.output and "3 signed heads checked" in honest.output
    assert f"signing key {fp}" in honest.output and str(tmp_path / "audit_witness" / "heads.jsonl") in honest.output

    with warehouse.connect(db) as conn:
        conn.execute("DELETE FROM governance.audit WHERE seq = 3")
    (tmp_path / "audit_head.json").write_text((tmp_path / "audit_witness" / "heads.jsonl").read_text().splitlines()[1])
    forged = CliRunner().invoke(main, ["audit", "verify"])
    assert forged.exit_code == 1 and "TAMPERED: the witness log names record 3 missing" in forged.output, forged.output
