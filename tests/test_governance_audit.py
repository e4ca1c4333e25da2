"""Governance commands leave an audit record with who ran them and why (issue 17: `hold release`,
`restrict`, `case` and a manual `retention` left none, and `erase` no actor), and an analyst's
phrase search is recorded too. Real CLI, real warehouse, real audit chain."""

from __future__ import annotations

import json
import os
import pwd
from datetime import date

import duckdb
import pytest
from click.testing import CliRunner
from conftest import grant_this_account

from assets import warehouse
from assets.audio.vault import AudioVault
from assets.keys import load_audio_key
from assets.synthetic.warehouse_rows import SynthCall, add_calls
from assets.warehouse import analytics

DAY = date(2026, 3, 2)
ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def site(tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith("CALLCANON_") and not v.endswith("_KEY")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CALLCANON_DATA", str(tmp_path))
    with warehouse.connect(tmp_path / "warehouse.duckdb") as conn:
        warehouse.ensure_schema(conn)
        add_calls(conn, tmp_path, [SynthCall("call-a", DAY, external_number="07700900123")],
                  vault=AudioVault(load_audio_key()))
        analytics.publish(conn, tmp_path / "analytics.duckdb")  # what `callcanon search` reads
    grant_this_account(tmp_path / "warehouse.duckdb", "information_rights")  # a governance role (ombudsman)
    return tmp_path


def _cli(*args: str):
    from pipelines.cli import main

    return CliRunner().invoke(main, list(args))


def _audit(site) -> list[tuple]:
    with warehouse.connect(site / "warehouse.duckdb", read_only=True) as conn:
        return conn.execute("SELECT actor, role, action, reason, request FROM governance.audit ORDER BY seq").fetchall()


@pytest.mark.e2e  # five CLI commands through the real pseudonymiser: the full tier, not `make check`
def test_each_governance_command_is_audited_with_the_accounts_name_and_its_reason(site):
    steps = [
        ("hold", "place", "--kind", "number", "--value", "07700 900123", "--reason", "LH-2026-4 litigation"),
        ("hold", "release", "1", "--reason", "LH-2026-4 settled"),
        ("case", "--complaint", "C-1001", "--last-activity", "2026-03-09", "--link-call", "call-a",
         "--reason", "casework update on C-1001"),
        ("restrict", "--kind", "call", "--value", "call-a", "--reason", "RR-2026-2 restriction request"),
        ("search", "pain relief"),
    ]
    copy = f"{site / 'analytics.duckdb'}"
    in_copy = "SELECT count(*) FROM canon.transcripts WHERE call_id = 'call-a'"
    with duckdb.connect(copy, read_only=True) as conn:
        assert conn.execute(in_copy).fetchone()[0] == 1
    for step in steps:
        result = _cli(*step)
        assert result.exit_code == 0, (step, result.output)
    with duckdb.connect(copy, read_only=True) as conn:  # the restriction reached what analysts read
        assert conn.execute(in_copy).fetchone()[0] == 0
    records = _audit(site)
    assert [r[2] for r in records] == ["hold_place", "hold_release", "case_activity", "restrict", "phrase_search"]
    # The actor is the operating-system account that ran the command, never something typed, in the
    # governance role an administrator granted it.
    assert {r[0] for r in records} == {f"os:{ME.casefold()}"}
    assert {r[1] for r in records[:4]} == {"information_rights"}
    # The reason, pseudonymised like every reason in the trail (a reference becomes a token).
    reasons = ("litigation", "settled", "casework update", "restriction request")
    for record, words in zip(records, reasons, strict=False):
        assert words in record[3], record
    assert json.loads(records[4][4]) == {"by": "day", "phrase": "pain relief"}
    assert "07700" not in str(records) and "call-a" not in str(records)  # numbers and call ids as hashes only
    verified = _cli("audit", "verify")
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("command", [("hold", "release", "1"), ("restrict", "--kind", "call", "--value", "call-a"),
                                     ("case", "--complaint", "C-1", "--last-activity", "2026-03-09"),
                                     ("retention",)])
def test_a_governance_command_without_a_reason_is_refused_and_changes_nothing(command, site):
    result = _cli(*command)
    assert result.exit_code != 0 and "--reason" in result.output
    assert _audit(site) == []


def test_without_the_audit_signing_key_nothing_is_changed(site, monkeypatch):
    monkeypatch.delenv("CALLCANON_AUDIT_SIGNING_KEY")
    monkeypatch.setenv("CALLCANON_AUDIT_SIGNING_KEY_FILE", str(site / "absent.key"))
    result = _cli("restrict", "--kind", "call", "--value", "call-a", "--reason", "RR-2026-3 request")
    assert result.exit_code != 0 and "audit_signing" in result.output and "Traceback" not in result.output
    with warehouse.connect(site / "warehouse.duckdb", read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM governance.restrictions").fetchone()[0] == 0


def test_an_account_without_a_granted_governance_role_changes_nothing(site):
    """The role is the administrator's grant, not the person's say: once revoked, the same account
    is refused with the command that fixes it, and nothing is restricted or recorded."""
    from assets.access import identities

    with warehouse.connect(site / "warehouse.duckdb") as conn:
        identities.revoke(conn, f"os:{ME}", "information_rights", by="test-administrator")
    result = _cli("restrict", "--kind", "call", "--value", "call-a", "--reason", "RR-2026-4 request")
    assert result.exit_code != 0 and "callcanon users grant" in result.output, result.output
    with warehouse.connect(site / "warehouse.duckdb", read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM governance.restrictions").fetchone()[0] == 0
    assert _audit(site) == []
