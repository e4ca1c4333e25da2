"""The access layer and the audit trail (issue 7's security tests): each role of each policy
tries each action; what the policy forbids is refused, and every attempt, granted or refused,
is in the hash chain; the chain shows any edited, removed, reordered or cut-off record, and
holds no caller's personal data. Real DuckDB, real Presidio, real files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from conftest import grant_this_account, synthetic_warehouse

from assets import warehouse
from assets.access import approvals, audit, identities
from assets.access.layer import AccessLayer, AccessRefused, AccessRequest, CallQuery
from assets.audio.vault import AudioVault
from assets.keys import load_audio_key, load_key
from assets.pii.pseudonymiser import Pseudonymiser
from assets.policy import ACTIONS, PERSONAL_ACTIONS, load_policy
from assets.synthetic.warehouse_rows import SynthCall

DAY = date(2026, 3, 2)
REASON = "caller asked for a review of how their complaint was handled"
NUMBER = "07700900123"


@pytest.fixture(scope="module")
def pseudonymiser():
    return Pseudonymiser(load_key())


@pytest.fixture
def store(tmp_path, monkeypatch):
    calls = [SynthCall("call-a", DAY, external_number=NUMBER), SynthCall("call-b", DAY, external_number="07700900456")]
    with synthetic_warehouse(tmp_path, monkeypatch, calls) as conn:
        # call-a was taken by dr-lee, call-b by dr-khan (clinicians see only their own calls).
        conn.execute("UPDATE casework.calls SET staff_id = 'dr-lee' WHERE call_id = 'call-a'")
        conn.execute("UPDATE casework.calls SET staff_id = 'dr-khan' WHERE call_id = 'call-b'")
        # The administrator's grants: each person acts only in a role granted to them.
        people = {f"{r}-1": [r] for p in ("ombudsman", "gp_practice") for r in load_policy(p).access.roles}
        people |= {"cw-1": ["caseworker"], "ir-1": ["information_rights"], "mallory": ["information_rights"],
                   "sec-1": ["security_officer", "information_rights"], "dr-lee": ["clinician"],
                   **{f"cw-{n}": ["caseworker"] for n in range(2, 10)}}
        for who, roles in people.items():
            identities.add(conn, f"oidc:{who}", by="test-administrator",
                           staff_id=who if who.startswith("dr-") else None)
            for role in roles:
                identities.grant(conn, f"oidc:{who}", role, by="test-administrator", roles=[role])
        identities.add(conn, "mallory", by="test-administrator", password="a long enough passphrase 4 tests")
        identities.grant(conn, "mallory", "information_rights", by="test-administrator", roles=["information_rights"])
    return tmp_path


def layer(conn, store: Path, pseudonymiser, profile: str) -> AccessLayer:
    return AccessLayer(conn, load_policy(profile), pseudonymiser, load_key(), AudioVault(load_audio_key()),
                       head=store / "audit_head.json")


def attempt(access: AccessLayer, store: Path, req: AccessRequest):
    do = {"listen": lambda: access.listen(req), "view_transcript": lambda: access.view_transcript(req),
          "export": lambda: access.export(req, store / "out"),
          "download_audio": lambda: access.download(req, store / "out"),
          "search_calls": lambda: access.search_calls(req, CallQuery(external_number="+44 7700 900123"))}
    return do[req.action]()


@pytest.mark.parametrize("profile", ["ombudsman", "gp_practice"])
def test_each_role_tries_each_action_and_only_what_the_policy_allows_happens(profile, store, pseudonymiser):
    policy = load_policy(profile)
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        access = layer(conn, store, pseudonymiser, profile)
        attempts = 0
        for role_name, role in policy.access.roles.items():
            for action in PERSONAL_ACTIONS:
                for purpose in sorted(set(role.purposes) | {"curiosity"}):
                    user = "oidc:dr-lee" if role.scope == "own_calls" else f"oidc:{role_name}-1"
                    req = AccessRequest(user, role_name, action, "call-a", purpose, REASON)
                    allowed = (action in role.may and purpose in role.purposes
                               and (action != "download_audio" or purpose in policy.access.download_purposes)
                               # approval is per release of a call, and nobody searches for a police purpose
                               and purpose not in policy.access.needs_approval)
                    attempts += 1
                    if allowed:
                        assert attempt(access, store, req), (role_name, action, purpose)
                    else:
                        with pytest.raises(AccessRefused):
                            attempt(access, store, req)
        outcomes = conn.execute("SELECT outcome FROM governance.audit").fetchall()
        assert len(outcomes) == attempts  # every attempt, granted or refused, is recorded
        assert {o for (o,) in outcomes} >= {"granted", "refused:action_not_allowed", "refused:purpose_not_allowed",
                                            "refused:download_purpose", "refused:needs_approval"}
        assert audit.verify(conn, access.key, store / "audit_head.json").ok
    # The data analyst reaches no personal data at all.
    analyst = policy.access.roles["data_analyst"]
    assert not set(analyst.may) & set(PERSONAL_ACTIONS) and set(analyst.may) <= set(ACTIONS)


def test_browsing_without_a_reason_is_refused_and_audited(store, pseudonymiser):
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        access = layer(conn, store, pseudonymiser, "ombudsman")
        for reason in ("", "x", "just looking"):
            with pytest.raises(AccessRefused, match="no_reason"):
                access.view_transcript(AccessRequest("oidc:cw-1", "caseworker", "view_transcript", "call-a",
                                                     "complaint_handling", reason))
        assert conn.execute("SELECT count(*) FROM governance.audit WHERE outcome = 'refused:no_reason'"
                            ).fetchone()[0] == 3


@pytest.mark.parametrize("fields, mismatch", [
    ({"staff_member": "dr-khan"}, "staff member"),
    ({"external_number": "07700 900456"}, "external number"),  # call-b's number, on call-a's id
    ({"call_time": "2026-03-03 09:00"}, "call date"),
    ({"staff_member": "DR-LEE", "external_number": "+44 7700 900123", "call_time": "2026-03-02"}, None),
])
def test_request_fields_that_contradict_the_call_record_are_refused(fields, mismatch, store, pseudonymiser):
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        access = layer(conn, store, pseudonymiser, "ombudsman")
        req = AccessRequest("oidc:cw-1", "caseworker", "view_transcript", "call-a", "complaint_handling", REASON,
                            **fields)
        if mismatch:
            with pytest.raises(AccessRefused, match=f"request_mismatch.*{mismatch}") as err:
                access.view_transcript(req)
            assert "900123" not in str(err.value) and "dr-lee" not in str(err.value)  # the record is not revealed
        else:
            assert "transcript of call-a" in access.view_transcript(req)
        outcome = conn.execute("SELECT outcome FROM governance.audit").fetchall()
    assert outcome == [("refused:request_mismatch" if mismatch else "granted",)]


def test_a_clinician_reaches_only_their_own_calls(store, pseudonymiser):
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        access = layer(conn, store, pseudonymiser, "gp_practice")
        own = AccessRequest("oidc:dr-lee", "clinician", "view_transcript", "call-a", "patient_care", REASON)
        assert "transcript of call-a" in access.view_transcript(own)
        with pytest.raises(AccessRefused, match="not_own_call"):
            access.view_transcript(AccessRequest("oidc:dr-lee", "clinician", "view_transcript", "call-b",
                                                 "patient_care", REASON))


def test_a_police_release_needs_a_recorded_approval_by_an_authorising_role_first(store, pseudonymiser):
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        access = layer(conn, store, pseudonymiser, "ombudsman")
        req = AccessRequest("oidc:sec-1", "security_officer", "download_audio", "call-a", "police",
                            "police request reference for an assault investigation", call_time="2026-03-02 10:14",
                            staff_member="dr-lee", external_number="+44 7700 900123")
        with pytest.raises(AccessRefused, match="needs_approval"):
            access.download(req, store / "out")
        def approve(approver, role, reason, for_user="oidc:sec-1", action="download_audio"):
            return approvals.approve_call(access, approver=approver, role=role, call_id="call-a", action=action,
                                          purpose="police", for_user=for_user, reason=reason)
        with pytest.raises(AccessRefused, match="cannot_authorise"):  # not an authorising role
            approve("oidc:cw-1", "caseworker", "looks fine to me honestly")
        with pytest.raises(AccessRefused, match="self_approval"):  # sec-1 holds an authorising role too
            approve("oidc:sec-1", "information_rights", "approving my own request")
        with pytest.raises(AccessRefused, match="self_approval"):  # the same person, however it is typed
            approve("Mallory ", "information_rights", "approving my own request", for_user="local:mallory")
        with pytest.raises(AccessRefused, match="role_not_granted"):  # a role claimed, not granted
            approve("oidc:cw-1", "information_rights", "police disclosure form checked and signed")
        approve("oidc:ir-1", "information_rights", "police disclosure form checked and signed", action="listen")
        with pytest.raises(AccessRefused, match="needs_approval"):  # an approval is of one action only
            access.download(req, store / "out")
        approve("oidc:ir-1", "information_rights", "police disclosure form checked and signed")
        copy = access.download(req, store / "out")
        assert copy.read_bytes().startswith(b"RIFF")
        with pytest.raises(AccessRefused, match="needs_approval"):  # and is used once
            access.download(req, store / "out")
        actions = conn.execute("SELECT action, outcome FROM governance.audit ORDER BY seq").fetchall()
        assert approvals.pending(conn) == []  # refused approvals leave nothing in the queue
    assert [a for a, _ in actions] == (["download_audio"] + ["approve"] * 5 + ["download_audio", "approve"]
                                       + ["download_audio"] * 2)
    assert [o.split(" ")[0] for _, o in actions] == [
        "refused:needs_approval", "refused:cannot_authorise", "refused:self_approval", "refused:self_approval",
        "refused:role_not_granted", "granted:request", "refused:needs_approval", "granted:request", "granted",
        "refused:needs_approval"]
    assert actions[5][1].endswith("for oidc:sec-1")


def test_the_audit_trail_holds_no_callers_personal_data(store, pseudonymiser):
    with warehouse.connect(store / "warehouse.duckdb") as conn:
        access = layer(conn, store, pseudonymiser, "ombudsman")
        access.view_transcript(AccessRequest(
            "oidc:cw-1", "caseworker", "view_transcript", "call-a", "complaint_handling",
            "Mary Jones rang back on 07700 900123 about her complaint", external_number=NUMBER,
            parties="Mary Jones and her son David Jones", nature="complaint about pain relief"))
        rows = conn.execute("SELECT * FROM governance.audit").fetchall()
    flat = " ".join(str(v) for r in rows for v in r)
    for personal in ("Mary", "Jones", "David", "900123", NUMBER, "call-a"):
        assert personal not in flat, personal
    assert pseudonymiser.token("PHONE_NUMBER", NUMBER) in flat  # the subject, as a pseudonym
    assert "pain relief" in flat  # the nature of the call is kept, its identifiers are not


def _tamper(db: Path, sql: str) -> None:
    with duckdb.connect(str(db)) as conn:
        conn.execute(sql)


@pytest.mark.parametrize("tamper, problem", [
    (None, None),
    ("UPDATE governance.audit SET reason = 'nothing to see' WHERE seq = 3", "record 3 was altered"),
    ("UPDATE governance.audit SET outcome = 'granted' WHERE seq = 1", "record 1 was altered"),  # a refusal
    ("DELETE FROM governance.audit WHERE seq = 3", "record 3 missing"),
    ("UPDATE governance.audit SET seq = CASE seq WHEN 2 THEN 4 WHEN 4 THEN 2 ELSE seq END", "reordered"),
    ("DELETE FROM governance.audit WHERE seq = 5", "cut off the end"),
])
def test_audit_verify_detects_edits_removals_reordering_and_a_cut_tail(tamper, problem, store, pseudonymiser):
    db = store / "warehouse.duckdb"
    with warehouse.connect(db) as conn:
        access = layer(conn, store, pseudonymiser, "ombudsman")
        for n in range(5):
            req = AccessRequest(f"oidc:cw-{n or 1}", "caseworker", "listen", "call-a",
                                "complaint_handling" if n % 2 else "quality", REASON)
            try:
                access.listen(req)
            except AccessRefused:
                pass
    if tamper:
        _tamper(db, tamper)
    env = {"CALLCANON_DATA": str(store), "CALLCANON_WAREHOUSE": str(db),
           "CALLCANON_AUDIT_HEAD": str(store / "audit_head.json")}
    from pipelines.cli import main

    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    if problem is None:
        assert result.exit_code == 0 and "5 records, chain intact" in result.output, result.output
    else:
        assert result.exit_code == 1 and problem in result.output, result.output


def test_the_cli_serves_a_granted_request_and_refuses_a_forbidden_one(store):
    from pipelines.cli import main

    env = {"CALLCANON_DATA": str(store), "CALLCANON_WAREHOUSE": str(store / "warehouse.duckdb"),
           "CALLCANON_AUDIT_HEAD": str(store / "head.json"), "CALLCANON_POLICY": "ombudsman"}
    base = ["--reason", REASON]
    # Who asks is this operating-system account, never a typed name; it acts only in granted roles.
    claimed = CliRunner().invoke(main, ["access", "transcript", "call-a", "--role", "caseworker",
                                        "--purpose", "complaint_handling", *base], env=env)
    assert claimed.exit_code == 1 and "role_not_granted" in claimed.output, claimed.output
    assert CliRunner().invoke(main, ["access", "transcript", "call-a", "--user", "cw-1"], env=env).exit_code == 2
    grant_this_account(store / "warehouse.duckdb", "caseworker", "data_analyst")
    granted = CliRunner().invoke(main, ["access", "transcript", "call-a", "--role", "caseworker",
                                        "--purpose", "complaint_handling", *base], env=env)
    assert granted.exit_code == 0 and "transcript of call-a" in granted.output, granted.output
    refused = CliRunner().invoke(main, ["access", "transcript", "call-a", "--role", "data_analyst",
                                        "--purpose", "analysis", *base], env=env)
    assert refused.exit_code == 1 and "action_not_allowed" in refused.output
    assert "transcript of call-a" not in refused.output
    # Listening streams the audio, unsealed, to a player's stdin; nothing is written to disk.
    files_before = sorted(store.rglob("*"))
    listened = CliRunner().invoke(main, ["access", "listen", "call-a", "--role", "caseworker",
                                         "--purpose", "complaint_handling", *base], env=env)
    assert listened.exit_code == 0 and listened.stdout_bytes.startswith(b"RIFFaudio of call-a")
    assert sorted(store.rglob("*")) == files_before
    verified = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert verified.exit_code == 0 and "4 records, chain intact" in verified.output


def test_rights_requests_find_calls_by_each_criterion_and_build_a_subject_access_package(store, pseudonymiser):
    import csv
    import json

    with warehouse.connect(store / "warehouse.duckdb") as conn:
        # call-a's transcript named Mary Jones (the canon stage records each call's tokens).
        conn.execute("INSERT INTO casework.call_pseudonyms VALUES ('call-a', ?)",
                     [pseudonymiser.token("PERSON", "Mary Jones")])
        access = layer(conn, store, pseudonymiser, "ombudsman")

        def search(**criteria):
            req = AccessRequest("oidc:ir-1", "information_rights", "search_calls", "", "subject_access", REASON)
            return access.search_calls(req, CallQuery(**criteria))

        assert search(external_number="+44 (0)7700 900123") == ["call-a"]  # any format of the number
        assert search(person_name="Mary Jones") == ["call-a"]
        assert search(staff_member="dr-khan") == ["call-b"]
        assert search(date_from=DAY, date_to=DAY) == ["call-a", "call-b"]
        assert search(date_from=date(2026, 3, 3)) == []
        with pytest.raises(AccessRefused, match="no_criteria"):
            search()
        with pytest.raises(AccessRefused, match="action_not_allowed"):
            access.search_calls(AccessRequest("oidc:cw-1", "caseworker", "search_calls", "", "complaint_handling",
                                              REASON), CallQuery(person_name="Mary Jones"))

        req = AccessRequest("oidc:ir-1", "information_rights", "export", "", "subject_access",
                            "subject access request received by post and identity checked")
        package = access.subject_access_package(req, CallQuery(external_number="07700 900123"), store / "sar")
        records = conn.execute("SELECT action, outcome FROM governance.audit WHERE seq > 7 ORDER BY seq").fetchall()
    index = json.loads((package / "index.json").read_text())
    assert [c["call_id"] for c in index["calls"]] == ["call-a"]
    assert (package / index["calls"][0]["audio"]).read_bytes().startswith(b"RIFF")
    exported = json.loads((package / index["calls"][0]["metadata_and_transcript"]).read_text())
    assert exported["transcript"].startswith("transcript of call-a") and exported["call"]["external_number"] == NUMBER
    assert [r["call_id"] for r in csv.DictReader((package / "calls.csv").open())] == ["call-a"]
    assert records == [("search_calls", "granted"), ("export", "granted"), ("download_audio", "granted")]


def test_the_cli_builds_a_subject_access_package(store):
    from pipelines.cli import main

    env = {"CALLCANON_DATA": str(store), "CALLCANON_WAREHOUSE": str(store / "warehouse.duckdb"),
           "CALLCANON_AUDIT_HEAD": str(store / "head.json"), "CALLCANON_POLICY": "ombudsman"}
    grant_this_account(store / "warehouse.duckdb", "information_rights")
    base = ["--role", "information_rights", "--purpose", "subject_access", "--reason", REASON]
    found = CliRunner().invoke(main, ["access", "search", *base, "--staff", "dr-khan"], env=env)
    assert found.exit_code == 0 and found.output.split() == ["call-b"], found.output
    sar = CliRunner().invoke(main, ["sar", *base, "--caller-number", "07700900456",
                                    "--to", str(store / "sar")], env=env)
    assert sar.exit_code == 0, sar.output
    assert len(list((store / "sar").glob("sar-*/call-b/*.wav"))) == 1
