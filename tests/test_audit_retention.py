"""The audit trail's own retention (issue 22): records past the policy's period go from the start
of the chain behind a signed checkpoint; verification starts from it and still shows any other
removal, a forged checkpoint, and a cut that went further than its checkpoint; a cut that stops
between its witness line and its deletion converges when run again. Real DuckDB, real Ed25519,
the asset through Dagster."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pytest
from click.testing import CliRunner

from assets import warehouse
from assets.access import audit, audit_heads, audit_retention
from assets.keys import load_audit_signing_key, load_key
from assets.policy import load_policy

OLD = datetime(2018, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def trail(tmp_path, monkeypatch):
    """Three records from 2018, then two from today, in a warehouse of their own."""
    monkeypatch.setenv("CALLCANON_AUDIT_WITNESS", str(tmp_path / "audit_witness"))
    monkeypatch.setenv("CALLCANON_AUDIT_HEAD", str(tmp_path / "audit_head.json"))
    db = tmp_path / "warehouse.duckdb"
    key = audit.chain_key(load_key())
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        with monkeypatch.context() as m:
            m.setattr(warehouse, "utcnow", lambda: OLD)
            for n in range(3):
                audit.append(conn, key, actor=f"oidc:cw-{n}", role="caseworker", action="listen", outcome="granted")
        for _ in range(2):
            audit.append(conn, key, actor="oidc:cw-9", role="caseworker", action="listen", outcome="granted")
    return db, key


def _verify(conn, key):
    return audit.verify(conn, key)


def test_old_records_go_behind_a_signed_checkpoint_and_the_chain_still_verifies(trail):
    db, key = trail
    policy = load_policy("ombudsman")
    with warehouse.connect(db) as conn:
        assert audit_retention.cut(conn, policy, date(2018, 6, 1)) is None  # nothing past 2192 days yet
        checkpoint, removed = audit_retention.cut(conn, policy, date.today())
        assert (checkpoint.seq, removed) == (3, 3)
        assert [r[0] for r in conn.execute("SELECT seq FROM governance.audit ORDER BY seq").fetchall()] == [4, 5]
        result = _verify(conn, key)
        assert result.ok, result.problems
        assert (result.records, result.checkpoint.seq) == (2, 3)
        assert audit_retention.cut(conn, policy, date.today()) is None  # a second run has nothing to do
        # Even when every record is past its period, the newest stays: the chain goes on from it.
        checkpoint, removed = audit_retention.cut(conn, policy, date(2040, 1, 1))
        assert (checkpoint.seq, removed) == (4, 1) and _verify(conn, key).ok
        # The checkpoint row gone from the warehouse: the witness log still holds it.
        conn.execute("DELETE FROM governance.audit_checkpoints")
        assert _verify(conn, key).ok
        # Cutting one record more than the checkpoint covers shows.
        conn.execute("DELETE FROM governance.audit WHERE seq = 5")
        assert any("missing" in p or "does not follow" in p for p in _verify(conn, key).problems)


def test_a_forged_checkpoint_does_not_cover_removed_records(trail):
    db, key = trail
    with warehouse.connect(db) as conn:
        # Records 1-3 removed without the signing key: a checkpoint row is written, but not signed by it.
        last = conn.execute("SELECT hash FROM governance.audit WHERE seq = 3").fetchone()[0]
        conn.execute("INSERT INTO governance.audit_checkpoints VALUES (3, ?, '2018-06-01', 'now', ?, 'x', 3)",
                     [last, "00" * 64])
        conn.execute("DELETE FROM governance.audit WHERE seq <= 3")
        problems = _verify(conn, key).problems
    assert any("not signed by the audit signing key" in p for p in problems)
    assert any("record 1-3 missing" in p for p in problems), problems


def test_a_cut_stopped_after_its_witness_line_converges_when_run_again(trail, tmp_path):
    db, key = trail
    policy = load_policy("ombudsman")
    with warehouse.connect(db) as conn:
        # The run signed and witnessed its checkpoint, then died before deleting anything.
        last = conn.execute("SELECT hash FROM governance.audit WHERE seq = 3").fetchone()[0]
        cp = audit_retention.Checkpoint(3, last, "2020-01-01", datetime.now(UTC).isoformat())
        audit_heads.append_witness(audit_heads.witness_path(), audit_retention.sign(load_audit_signing_key(), cp))
        assert _verify(conn, key).ok  # a checkpoint inside the chain matches it
        assert audit_retention.cut(conn, policy, date.today())[1] == 3
        assert _verify(conn, key).ok


def test_the_daily_asset_cuts_audits_the_cut_and_the_cli_names_the_checkpoint(trail, tmp_path):
    from pipelines.cli import main
    from pipelines.defs.governance.assets import audit_retention_asset
    from pipelines.defs.resources import PolicyProfile, PseudonymKey, Warehouse

    db, key = trail
    result = dg.materialize(
        [audit_retention_asset],
        resources={"warehouse": Warehouse(database=str(db)), "policy": PolicyProfile(profile="gp_practice"),
                   "pseudonym_key": PseudonymKey()},
        run_config={"ops": {"governance__audit_retention": {"config": {"as_of": date.today().isoformat()}}}})
    [event] = result.asset_materializations_for_node("governance__audit_retention")
    assert event.metadata["records_removed"].value == 3
    with warehouse.connect(db, read_only=True) as conn:
        last = conn.execute("SELECT actor, action, request FROM governance.audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert last[:2] == ("callcanon-pipeline", "audit_retention") and '"removed": 3' in last[2]
    # The asset's clock never runs ahead of today: "as of" ten years on cuts only what today would.
    again = dg.materialize(
        [audit_retention_asset],
        resources={"warehouse": Warehouse(database=str(db)), "policy": PolicyProfile(profile="gp_practice"),
                   "pseudonym_key": PseudonymKey()},
        run_config={"ops": {"governance__audit_retention": {"config": {"as_of": "2036-01-01"}}}})
    [event] = again.asset_materializations_for_node("governance__audit_retention")
    assert event.metadata["records_removed"].value == 0
    env = {"CALLCANON_DATA": str(tmp_path), "CALLCANON_WAREHOUSE": str(db)}
    verified = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output
    assert "3 records, chain intact" in verified.output
    assert "starts from the signed checkpoint after record 3" in verified.output
