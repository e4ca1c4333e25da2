"""People and roles (issue 21), the fast tier: identities are normalised, passwords follow the rules
and are argon2 hashes, repeated failures lock an account, a grant can end, `callcanon users`
audits every change under the OS account, and portal sessions end when idle or too old."""

from __future__ import annotations

import os
import pwd
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from click.testing import CliRunner

from assets import warehouse
from assets.access import identities
from portal.sessions import RateLimit, SessionStore

ME = f"os:{pwd.getpwuid(os.geteuid()).pw_name.casefold()}"
GOOD = "a long enough passphrase 4 tests"


@pytest.fixture
def conn(tmp_path):
    with warehouse.connect(tmp_path / "warehouse.duckdb") as conn:
        warehouse.ensure_schema(conn)
        yield conn


@pytest.mark.parametrize("typed, expected", [("Mallory ", "local:mallory"), ("local:MALLORY", "local:mallory"),
                                             ("OIDC:AbC-123 ", "oidc:AbC-123"), ("os:Root", "os:root"),
                                             ("ｍａｌｌｏｒｙ", "local:mallory")])  # full-width letters: NFKC
def test_identities_are_compared_after_normalisation(typed, expected):
    assert identities.normalise(typed) == expected


@pytest.mark.parametrize("bad", ["", "  ", "two words", "tab\there", "nul\x00"])
def test_an_unusable_identity_is_a_clear_error(bad):
    with pytest.raises(identities.IdentityError):
        identities.normalise(bad)


@pytest.mark.parametrize("password, problem", [("short", "at least 12"), ("x" * 129, "at most 128"),
                                               ("alice-is-my-password", "user name"),
                                               ("password1234", "too easy"), ("aaaaaaaaaaaaaa", "too easy")])
def test_password_rules(conn, password, problem):
    with pytest.raises(identities.IdentityError, match=problem):
        identities.add(conn, "alice", by="admin", password=password)
    assert conn.execute("SELECT count(*) FROM governance.identities").fetchone()[0] == 0


def test_a_password_is_stored_as_an_argon2id_hash_and_repeated_failures_lock_the_account(conn):
    identities.add(conn, "alice", by="admin", password=GOOD)
    stored = conn.execute("SELECT password_hash FROM governance.identities").fetchone()[0]
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert identities.check_password(conn, " Alice", GOOD) == ("local:alice", "ok")
    outcomes = [identities.check_password(conn, "alice", "wrong")[1] for _ in range(identities.MAX_FAILURES)]
    assert outcomes == ["wrong"] * (identities.MAX_FAILURES - 1) + ["locked"]
    assert identities.check_password(conn, "alice", GOOD) == ("local:alice", "locked")  # stays out
    conn.execute("UPDATE governance.identities SET locked_until = ?", [warehouse.utcnow() - timedelta(seconds=1)])
    assert identities.check_password(conn, "alice", GOOD) == ("local:alice", "ok")  # the lock ran out
    assert identities.check_password(conn, "nobody", GOOD) == (None, "unknown")
    assert identities.check_password(conn, "oidc:alice", GOOD) == (None, "unknown")  # no password sign-in for OIDC


def test_roles_are_only_what_was_granted_and_a_grant_can_end(conn):
    identities.add(conn, "oidc:sub-1", by="admin")
    roles = ["caseworker", "manager"]
    with pytest.raises(identities.IdentityError, match="no role 'superuser'"):
        identities.grant(conn, "oidc:sub-1", "superuser", by="admin", roles=roles)
    identities.grant(conn, "oidc:sub-1", "caseworker", by="admin", roles=roles)
    identities.grant(conn, "oidc:sub-1", "manager", by="admin", roles=roles,
                     until=datetime.now(UTC) + timedelta(hours=1))
    assert identities.roles_of(conn, "oidc:sub-1") == ["caseworker", "manager"]
    conn.execute("UPDATE governance.role_grants SET expires_at = ? WHERE role = 'manager'",
                 [warehouse.utcnow() - timedelta(seconds=1)])
    assert identities.roles_of(conn, "oidc:sub-1") == ["caseworker"]  # the cover ended
    assert identities.revoke(conn, "OIDC:SUB-1", "caseworker", by="admin") == 0  # a subject keeps its case
    assert identities.revoke(conn, " OIDC:sub-1 ", "caseworker", by="admin") == 1
    assert identities.roles_of(conn, "oidc:sub-1") == []
    identities.grant(conn, "oidc:sub-1", "caseworker", by="admin", roles=roles)
    identities.disable(conn, "oidc:sub-1")
    assert identities.roles_of(conn, "oidc:sub-1") == [] and not identities.known(conn, "oidc:sub-1")


@pytest.mark.e2e  # the real CLI through the pseudonymiser (Presidio's load): the full tier
def test_the_users_command_audits_every_change_under_the_os_account(tmp_path, monkeypatch):
    from pipelines.cli import main

    monkeypatch.setenv("CALLCANON_DATA", str(tmp_path))
    monkeypatch.setenv("CALLCANON_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("CALLCANON_AUDIT_HEAD", str(tmp_path / "audit_head.json"))
    monkeypatch.setenv("CALLCANON_AUDIT_WITNESS", str(tmp_path / "audit_witness"))
    runner = CliRunner()
    steps = [(["users", "add", "Alice", "--name", "Alice A", "--password-stdin"], GOOD + "\n"),
             (["users", "grant", "alice", "caseworker", "--until", "2099-01-01"], None),
             (["users", "add", "oidc:sub-7"], None),
             (["users", "grant", "oidc:sub-7", "information_rights", "--reason", "ticket 12"], None),
             (["users", "revoke", "alice", "caseworker"], None),
             (["users", "passwd", "alice", "--password-stdin"], "another long passphrase\n"),
             (["users", "unlock", "alice"], None)]
    for args, stdin in steps:
        result = runner.invoke(main, args, input=stdin)
        assert result.exit_code == 0, (args, result.output)
    refused = runner.invoke(main, ["users", "grant", "alice", "god_mode"])
    assert refused.exit_code == 1 and "no role 'god_mode'" in refused.output
    weak = runner.invoke(main, ["users", "add", "bob", "--password-stdin"], input="bob\n")
    assert weak.exit_code == 1 and "at least 12" in weak.output
    listed = runner.invoke(main, ["users", "list"]).output
    assert "local:alice" in listed and "(no roles)" in listed and "oidc:sub-7" in listed
    assert "information_rights" in listed
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        records = conn.execute("SELECT actor, role, action, object FROM governance.audit ORDER BY seq").fetchall()
        assert "another long passphrase" not in str(conn.execute("SELECT * FROM governance.identities").fetchall())
    assert [r[2] for r in records] == ["user_add", "role_grant", "user_add", "role_grant", "role_revoke",
                                       "user_password", "user_unlock"]
    assert {r[0] for r in records} == {ME} and {r[1] for r in records} == {"administrator"}
    assert GOOD not in str(records)
    verified = runner.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_a_portal_session_ends_when_idle_or_too_old_and_the_rate_limit_holds():
    now = [0.0]
    store = SessionStore(idle_s=15 * 60, absolute_s=8 * 3600, clock=lambda: now[0])
    session = store.start("local:alice", "Alice", "password")
    for _ in range(40):  # in use every 14 minutes: alive until the absolute limit
        now[0] += 14 * 60
        if now[0] > 8 * 3600:
            break
        assert store.get(session.sid)[1] == "ok"
    now[0] = 8 * 3600 + 1
    assert store.get(session.sid) == (None, "expired")
    idle = store.start("local:alice", "Alice", "password")
    now[0] += 15 * 60 + 1
    assert store.get(idle.sid) == (None, "idle")
    assert store.get("made-up") == (None, "unknown") and store.get(None) == (None, "none")
    assert session.ref != session.sid and len(session.ref) == 16  # the audit names a hash, not the cookie
    limit = RateLimit(attempts=3, window_s=60, clock=lambda: now[0])
    blocked = []
    for _ in range(4):
        blocked.append(limit.blocked("10.0.0.1"))
        limit.failed("10.0.0.1")
    assert blocked == [False, False, False, True]
    assert not limit.blocked("10.0.0.2")
    now[0] += 61
    assert not limit.blocked("10.0.0.1")


@pytest.mark.parametrize("profile", ["ombudsman", "gp_practice"])
def test_the_demo_prints_a_working_account_per_role_with_new_passwords_each_run(conn, profile):
    from assets.policy import load_policy
    from assets.synthetic import demo_people

    policy = load_policy(profile)
    first = demo_people.create(conn, policy, by=ME, os_identity=ME)
    assert {r for _, roles, _ in first for r in roles} == set(policy.access.roles)
    admin = first[0]
    assert admin[0] == "demo-admin" and admin[1] == policy.access.governing()
    again = demo_people.create(conn, policy, by=ME, os_identity=ME)  # `make demo` run twice
    for (name, roles, old), (_, _, new) in zip(first, again, strict=True):
        assert old != new
        assert identities.check_password(conn, name, new) == (f"local:{name}", "ok")
        assert identities.check_password(conn, name, old)[1] == "wrong"
        assert identities.roles_of(conn, f"local:{name}") == sorted(roles)
    assert identities.roles_of(conn, ME) == sorted(policy.access.governing())
