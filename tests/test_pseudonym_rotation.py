"""Pseudonym key rotation (issue 22), on a copy of the session's pipeline run: `callcanon keys
rotate-pseudonym` is killed with SIGKILL after its first call date and run again; then every canon
row carries the new key's tokens only, a restriction on a caller's number still keeps their call
out, the themes were refitted and the analytics copy republished, the audit chain still verifies,
and the rotation is on record once. Real Presidio, BERTopic, dbt, Dagster, processes."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import TEST_KEY, child_env, grant_this_account, run_cli_killed_at
from test_erasure import LOCATIONS, relocated_copy

from assets.pii.pseudonymiser import TOKEN, Pseudonymiser

pytestmark = pytest.mark.e2e


def _rotate(env: dict, kill_at: str | None = None) -> tuple[int, str]:
    return run_cli_killed_at(["keys", "rotate-pseudonym", "--reason", "key rotation after a staff change (ticket 12)"],
                             env, kill_at)


def _q(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def _own_heads_only(data: Path, db: Path) -> None:
    """Keep only this warehouse's heads in the copied witness log. Earlier tests in the session run
    stages on warehouses of their own while CALLCANON_DATA is the session's folder, so their
    chains' heads land in the session's witness log too (a test-isolation flaw, noted)."""
    chain = dict(_q(db, "SELECT seq, hash FROM governance.audit"))
    witness = data / "audit_witness" / "heads.jsonl"
    lines = [line for line in witness.read_text().splitlines() if line.strip()
             and json.loads(line).get("hash") == chain.get(json.loads(line)["seq"])]
    witness.write_text("\n".join(lines) + "\n")


def test_a_pseudonym_rotation_killed_part_way_converges(pipeline_run, tmp_path, monkeypatch):
    from pipelines.cli import main

    data = relocated_copy(pipeline_run, tmp_path / "data", monkeypatch)
    db = data / "warehouse.duckdb"
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o700)
    key_file = keys_dir / "pseudonym.key"
    key_file.write_text(TEST_KEY + "\n")
    key_file.chmod(0o600)
    monkeypatch.delenv("CALLCANON_PSEUDONYM_KEY")
    monkeypatch.setenv("CALLCANON_KEY_FILE", str(key_file))
    monkeypatch.setenv("CALLCANON_AUDIT_CHAIN_KEY_FILE", str(keys_dir / "audit_chain.key"))
    _own_heads_only(data, db)
    grant_this_account(db, "information_rights")
    before = CliRunner().invoke(main, ["audit", "verify"])
    assert before.exit_code == 0 and "chain intact" in before.output, before.output
    old_p = Pseudonymiser(bytes.fromhex(TEST_KEY))
    target = pipeline_run.calls[0].call_id
    [(number,)] = _q(db, "SELECT external_number FROM casework.calls WHERE call_id = ?", [target])
    restricted = CliRunner().invoke(main, ["restrict", "--kind", "number", "--value", number, "--reason", "RR-9"])
    assert restricted.exit_code == 0, restricted.output
    old_tokens = {t for (text,) in _q(db, "SELECT text FROM canon.transcripts") for t in TOKEN.findall(text)}
    assigned = _q(db, "SELECT count(*) FROM themes.call_themes")[0][0]
    published = _q(db, "SELECT count(*) FROM governance.publications")[0][0]
    assert old_tokens and target not in {r[0] for r in _q(db, "SELECT call_id FROM canon.transcripts")}

    env = {k: v for k, v in child_env(data, DAGSTER_HOME=os.environ["DAGSTER_HOME"], CALLCANON_KEY_FILE=str(key_file),
                                      CALLCANON_AUDIT_CHAIN_KEY_FILE=str(keys_dir / "audit_chain.key"),
                                      **{var: os.environ[var] for var in LOCATIONS}).items()
           if k != "CALLCANON_PSEUDONYM_KEY"}
    code, out = _rotate(env, kill_at="[2/")
    assert code == -signal.SIGKILL, out
    assert (keys_dir / "pseudonym.key.next").exists() and key_file.read_text().strip() == TEST_KEY
    code, out = _rotate(env)
    assert code == 0, out
    assert "resuming the rotation" in out and "carried over: 0 (1 already)" in out

    new_key = bytes.fromhex(key_file.read_text().strip())
    new_p = Pseudonymiser(new_key)
    assert new_key.hex() != TEST_KEY and not (keys_dir / "pseudonym.key.next").exists()
    [retired] = keys_dir.glob("pseudonym.key.retired-*")
    assert retired.read_text().strip() == TEST_KEY
    # The canon is under the new key alone; the restriction followed the caller's number.
    new_tokens = {t for (text,) in _q(db, "SELECT text FROM canon.transcripts") for t in TOKEN.findall(text)}
    assert new_tokens and not new_tokens & old_tokens
    [(ref,)] = _q(db, "SELECT ref FROM governance.restrictions WHERE kind = 'number'")
    assert ref == new_p.token("PHONE_NUMBER", number) != old_p.token("PHONE_NUMBER", number)
    assert target not in {r[0] for r in _q(db, "SELECT call_id FROM canon.transcripts")}
    # Themes refitted over the new canon, marts rebuilt, the analysts' copy republished with it.
    assert _q(db, "SELECT count(*) FROM themes.call_themes")[0][0] == assigned
    assert _q(db, "SELECT count(*) FROM governance.publications")[0][0] > published
    copy = {t for (text,) in _q(data / "analytics.duckdb", "SELECT text FROM canon.transcripts")
            for t in TOKEN.findall(text)}
    assert copy == new_tokens
    # On record once; the audit chain (its key kept) verifies across the rotation.
    assert _q(db, "SELECT key_name FROM governance.key_rotations") == [("pseudonym",)]
    assert _q(db, "SELECT count(*) FROM governance.audit WHERE action = 'rotate_pseudonym_key'") == [(1,)]
    verified = CliRunner().invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0 and "chain intact" in verified.output, verified.output
