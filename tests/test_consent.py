"""Consent under both policy profiles (issue 22): every combination of notice played, not played
or not recorded, inbound or outbound, and recording stopped on request, through the real canon
stage (real Presidio, real DuckDB): which calls reach the canon and themes, which are listed for
review, what a reviewer's release or erasure does, what the access layer still allows, and the
evidence pack's counts."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from conftest import grant_this_account, synthetic_warehouse

from assets import canon, retention, warehouse
from assets.access import audit, identities
from assets.access.layer import AccessLayer, AccessRefused, AccessRequest
from assets.audio.vault import AudioVault
from assets.canon import consent
from assets.governance import evidence_pack, pack_sections
from assets.keys import load_audio_key, load_key
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import load_policy
from assets.synthetic.warehouse_rows import SynthCall

DAY = date(2026, 3, 2)
REASON = "the caller asked how their complaint was handled"
# call id -> (direction, privacy_notice_played, recording_stopped_on_request)
CALLS = {
    "told": ("inbound", True, False),
    "in-silent": ("inbound", False, False),
    "out-silent": ("outbound", False, False),
    "unknown": ("inbound", None, False),
    "stopped": ("inbound", True, True),
    "silent-stopped": ("inbound", False, True),
}
# What reaches the canon, and what governance is shown, per profile.
IN_CANON = {"ombudsman": {"told", "unknown", "stopped"},
            "gp_practice": {"told", "out-silent", "unknown"}}
LISTED = {"ombudsman": {("in-silent", "no_notice_inbound", "hold_for_review"),
                        ("out-silent", "no_notice_outbound", "hold_for_review"),
                        ("stopped", "stopped_on_request", "policy_exception"),
                        ("silent-stopped", "no_notice_inbound", "hold_for_review"),
                        ("silent-stopped", "stopped_on_request", "policy_exception")},
          "gp_practice": {("in-silent", "no_notice_inbound", "hold_for_review"),
                          ("stopped", "stopped_on_request", "keep_out_of_analytics"),
                          ("silent-stopped", "no_notice_inbound", "hold_for_review"),
                          ("silent-stopped", "stopped_on_request", "keep_out_of_analytics")}}


@pytest.fixture(scope="module")
def pseudonymiser():
    return Pseudonymiser(load_key())


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLCANON_AUDIT_HEAD", str(tmp_path / "audit_head.json"))
    with synthetic_warehouse(tmp_path, monkeypatch, [SynthCall(c, DAY) for c in CALLS]) as conn:
        for call_id, (direction, told, stopped) in CALLS.items():
            conn.execute("UPDATE casework.calls SET direction = ?, privacy_notice_played = ?, "
                         "recording_stopped_on_request = ? WHERE call_id = ?", [direction, told, stopped, call_id])
    return tmp_path


def _canon_run(conn, policy, pseudonymiser) -> set[str]:
    held = consent.record_date(conn, policy, DAY)
    canon.pseudonymise_date(conn, DAY, pseudonymiser, AudioVault(load_audio_key()).text, held=held)
    return {r[0] for r in conn.execute("SELECT call_id FROM canon.transcripts").fetchall()}


@pytest.mark.parametrize("profile", ["ombudsman", "gp_practice"])
def test_each_consent_case_under_each_profile(profile, store, pseudonymiser):
    policy = load_policy(profile)
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        assert _canon_run(conn, policy, pseudonymiser) == IN_CANON[profile]
        # Held calls left the themes too (the synthetic rows put every call there first).
        themed = {r[0] for r in conn.execute("SELECT call_id FROM themes.call_themes").fetchall()}
        assert themed == IN_CANON[profile]
        listed = consent.listed(conn)
        assert {(c.call_id, c.case, c.action) for c in listed} == LISTED[profile]
        assert all(c.decision is None for c in listed)
        pending = {c.call_id for c in consent.listed(conn, pending_only=True)}
        assert pending == {"in-silent", "silent-stopped"} | ({"out-silent"} if profile == "ombudsman" else set())
        # A re-run keeps them out, and records nothing twice.
        assert _canon_run(conn, policy, pseudonymiser) == IN_CANON[profile]
        assert len(consent.listed(conn)) == len(LISTED[profile])

        # Access: a GP recording stopped on request is reached only for the purposes the policy names.
        access = AccessLayer(conn, policy, pseudonymiser, load_key(), AudioVault(load_audio_key()),
                             head=store / "audit_head.json")
        identities.add(conn, "oidc:sup-1", by="test-administrator")
        role = "supervisor" if profile == "gp_practice" else "manager"
        identities.grant(conn, "oidc:sup-1", role, by="test-administrator", roles=[role])
        training = AccessRequest("oidc:sup-1", role, "listen", "stopped", "training", REASON)
        if profile == "gp_practice":
            with pytest.raises(AccessRefused) as refused:
                access.listen(training)
            assert refused.value.code == "consent_limited"
            complaint = AccessRequest("oidc:sup-1", role, "view_transcript", "stopped", "complaint_handling", REASON)
            assert "transcript of stopped" in access.view_transcript(complaint)
        else:
            assert access.listen(training).read().startswith(b"RIFF")  # a stopped call is no less usable here

        # The evidence pack counts each case under the policy's action.
        text = "\n".join(pack_sections.consent_lines(conn, policy, evidence_pack._table))
        assert "| inbound, recording notice not played | `hold_for_review` | 2 | 2 | 0 | 0 |" in text
        exceptions = 2 if profile == "ombudsman" else 0
        assert f"Policy exceptions reported: {exceptions}." in text


@pytest.mark.parametrize("profile", ["ombudsman", "gp_practice"])
def test_a_reviewer_releases_or_erases_a_held_call(profile, store, pseudonymiser):
    policy = load_policy(profile)
    key = audit.chain_key(load_key())
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        _canon_run(conn, policy, pseudonymiser)
        with pytest.raises(consent.ConsentError):  # only a held call awaits a decision
            consent.decide(conn, key, pseudonymiser, "told", "released", who="os:reviewer", role="x", reason=REASON)
        day = consent.decide(conn, key, pseudonymiser, "in-silent", "released", who="os:reviewer",
                             role="information_rights", reason="the caller confirmed they were told")
        assert day == DAY and consent.dates_awaiting_canon(conn) == [DAY]
        assert "in-silent" in _canon_run(conn, policy, pseudonymiser)
        assert consent.dates_awaiting_canon(conn) == []
        # A call with a second case that keeps it out stays out after its hold is released (GP:
        # stopped on request is never analytics); under the ombudsman it goes in, as an exception.
        consent.decide(conn, key, pseudonymiser, "silent-stopped", "released", who="os:reviewer",
                       role="information_rights", reason="the caller confirmed they were told")
        assert ("silent-stopped" in _canon_run(conn, policy, pseudonymiser)) == (profile == "ombudsman")
        with pytest.raises(consent.ConsentError):
            consent.decide(conn, key, pseudonymiser, "in-silent", "erased", who="os:reviewer", role="x",
                           reason=REASON)

        # Erasure: the decision first, then the erasure itself; the review list keeps only its ref.
        # (Only the ombudsman holds an outbound call with no notice; the GP's staff tell the patient.)
        victim = "out-silent" if profile == "ombudsman" else None
        if victim:
            consent.decide(conn, key, pseudonymiser, victim, "erased", who="os:reviewer", role="privacy_specialist",
                           reason="nobody was told the call was recorded")
            retention.erase(conn, pseudonymiser, profile, "call", victim, "consent review", DAY, [])
            erased = [c for c in consent.listed(conn) if c.decision == "erased"]
            assert [(c.call_id, c.case) for c in erased] == [(None, "no_notice_outbound")]
            assert not conn.execute("SELECT count(*) FROM casework.calls WHERE call_id = ?", [victim]).fetchone()[0]
        trail = conn.execute("SELECT actor, role, action, object FROM governance.audit WHERE action LIKE 'consent_%' "
                             "ORDER BY seq").fetchall()
        assert [t[2] for t in trail] == ["consent_release", "consent_release"] + (["consent_erase"] if victim else [])
        assert all(t[0] == "os:reviewer" and len(t[3]) == 16 for t in trail)  # the call by its ref only
        assert audit.verify(conn, key, store / "audit_head.json").ok


def test_the_review_list_is_a_governance_role_s(store, pseudonymiser):
    from pipelines.cli import main

    db = store / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        _canon_run(conn, load_policy("ombudsman"), pseudonymiser)
    env = {"CALLCANON_DATA": str(store), "CALLCANON_WAREHOUSE": str(db), "CALLCANON_POLICY": "ombudsman"}
    refused = CliRunner().invoke(main, ["consent", "list"], env=env)
    assert refused.exit_code == 1 and "governance roles" in refused.output and "in-silent" not in refused.output
    grant_this_account(db, "information_rights")
    listed = CliRunner().invoke(main, ["consent", "list", "--pending"], env=env)
    assert listed.exit_code == 0 and "3 call case(s) awaiting review" in listed.output, listed.output
    assert "in-silent" in listed.output and "told" not in listed.output
    wrong = CliRunner().invoke(main, ["consent", "release", "told", "--reason", "x"], env=env)
    assert wrong.exit_code == 1 and "no call awaiting a consent review" in wrong.output
