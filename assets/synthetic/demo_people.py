"""Demo accounts for `callcanon demo`: one local portal account per role of the policy, an
administrator holding the governance roles, and the OS account running the demo granted the same
(so that the data host's governance commands work on the demo data). Passwords are random on
every demo run and printed once: a demo must never ship a password anyone could look up."""

from __future__ import annotations

import secrets

from assets.access import identities
from assets.policy import Policy

DEMO_STAFF_ID = "staff-01"  # the demo calls' first staff member: the clinician's "own calls"


def _account(conn, name: str, roles: list[str], all_roles: list[str], by: str, display: str,
             password: str | None, staff_id: str | None = None) -> None:
    ident = identities.normalise(name)
    if conn.execute("SELECT 1 FROM governance.identities WHERE identity = ?", [ident]).fetchone():
        if password:
            identities.set_password(conn, ident, password)
    else:
        identities.add(conn, ident, by=by, display_name=display, password=password, staff_id=staff_id)
    for role in roles:
        if not identities.holds(conn, ident, role):
            identities.grant(conn, ident, role, by=by, roles=all_roles)


def create(conn, policy: Policy, by: str, os_identity: str) -> list[tuple[str, list[str], str]]:
    """(user name, roles, password) of each demo account, created or given a new password."""
    all_roles = list(policy.access.roles)
    accounts = [("demo-admin", policy.access.governing())]
    accounts += [(f"demo-{role.replace('_', '-')}", [role]) for role in all_roles]
    made = []
    for name, roles in accounts:
        password = f"demo-{secrets.token_urlsafe(12)}"
        staff = DEMO_STAFF_ID if any(policy.access.roles[r].scope == "own_calls" for r in roles) else None
        _account(conn, name, roles, all_roles, by, name.replace("-", " ").title(), password, staff)
        made.append((name, roles, password))
    _account(conn, os_identity, policy.access.governing(), all_roles, by, "the demo's data host account", None)
    return made
