"""`callcanon users`: the administrator's command on the data host that says who may sign in and
which of the policy's roles each person holds. Every change is audited under the operating-system
account that made it. There is deliberately no web page for this: granting a role is done where
the keys are, by whoever administers the host."""

from __future__ import annotations

import sys

import click

from pipelines.cli.common import _audit_ready, _key, _policy, _pseudonymiser, _warehouse
from pipelines.cli.group import main


def _record(conn, action: str, identity: str, details: dict, reason: str | None = None) -> None:
    from assets.access import audit, governance_log

    governance_log.record_action(conn, audit.chain_key(_key("pseudonym")), _pseudonymiser(), action=action,
                                 reason=reason, object=identity, details=details,
                                 role=governance_log.ADMINISTRATOR_ROLE)


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _change(action: str, reason: str | None = None):
    """Run an identities change in one transaction with its audit record; a refusal is one line."""
    def run(f, *args, **details):
        from assets import warehouse
        from assets.access.identities import IdentityError
        _audit_ready()
        with _warehouse() as conn:
            try:
                with warehouse.transaction(conn):
                    ident = f(conn, *args)
            except IdentityError as exc:
                raise click.ClickException(str(exc)) from exc
            _record(conn, action, ident, details, reason)
        return ident
    return run


@main.group()
def users() -> None:
    """People and their granted roles (local accounts, identity-provider subjects, OS accounts)."""


@users.command("add")
@click.argument("identity")
@click.option("--name", "display_name", help="how the portal greets them")
@click.option("--staff-id", help="their staff id in the call records (roles scoped to own calls reach these)")
@click.option("--password-stdin", is_flag=True, help="read a local account's password from stdin")
def users_add(identity: str, display_name: str | None, staff_id: str | None, password_stdin: bool) -> None:
    """Add IDENTITY: `alice` (a local portal account: asks for a password), `oidc:SUBJECT` (the
    identity provider's subject claim) or `os:ACCOUNT` (a data-host account, for the CLI)."""
    from assets.access import identities
    from assets.access.governance_log import os_identity

    try:
        ident = identities.normalise(identity)
    except identities.IdentityError as exc:
        raise click.ClickException(str(exc)) from exc
    password = _password(password_stdin) if ident.startswith("local:") else None
    _change("user_add")(lambda conn: identities.add(conn, ident, by=os_identity(), display_name=display_name,
                                                    password=password, staff_id=staff_id), kind=ident.split(":")[0])
    click.echo(f"added {ident}; grant roles with `callcanon users grant {ident} ROLE`")


@users.command("grant")
@click.argument("identity")
@click.argument("role")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
              help="the grant ends then (UTC), e.g. cover for a colleague's leave")
@click.option("--reason", help="the ticket or decision behind the grant (no personal data)")
def users_grant(identity: str, role: str, until, reason: str | None) -> None:
    """Grant ROLE (a role of the policy profile) to IDENTITY."""
    from datetime import UTC

    from assets.access import identities
    from assets.access.governance_log import os_identity

    until = until.replace(tzinfo=UTC) if until else None
    roles = list(_policy().access.roles)
    ident = _change("role_grant", reason)(
        lambda conn: identities.grant(conn, identity, role, by=os_identity(), roles=roles, until=until),
        role=role, until=until.isoformat() if until else None)
    click.echo(f"{ident} now holds {role}" + (f" until {until:%Y-%m-%d %H:%M} UTC" if until else ""))


@users.command("revoke")
@click.argument("identity")
@click.argument("role")
@click.option("--reason", help="the ticket or decision behind it (no personal data)")
def users_revoke(identity: str, role: str, reason: str | None) -> None:
    """Revoke IDENTITY's ROLE at once (their open portal sessions lose it on the next request)."""
    from assets.access import identities
    from assets.access.governance_log import os_identity

    count = {}

    def revoke(conn):
        count["n"] = identities.revoke(conn, identity, role, by=os_identity())
        return identities.normalise(identity)
    ident = _change("role_revoke", reason)(revoke, role=role)
    click.echo(f"{ident}: {role} revoked" if count["n"] else f"{ident} held no live {role} grant")


@users.command("passwd")
@click.argument("identity")
@click.option("--password-stdin", is_flag=True)
def users_passwd(identity: str, password_stdin: bool) -> None:
    """Set a local account's password (and clear its lockout)."""
    from assets.access import identities

    password = _password(password_stdin)
    ident = _change("user_password")(lambda conn: identities.set_password(conn, identity, password))
    click.echo(f"password set for {ident}")


@users.command("unlock")
@click.argument("identity")
def users_unlock(identity: str) -> None:
    """Clear a local account's lockout after repeated failed sign-ins."""
    from assets.access import identities

    click.echo(f"unlocked {_change('user_unlock')(lambda conn: identities.unlock(conn, identity))}")


@users.command("disable")
@click.argument("identity")
def users_disable(identity: str) -> None:
    """Stop IDENTITY signing in or using any role (kept, with its grants, as the record)."""
    from assets.access import identities

    click.echo(f"disabled {_change('user_disable')(lambda conn: identities.disable(conn, identity))}")


@users.command("list")
def users_list() -> None:
    """Every identity, its state and its live roles."""
    from assets.access import identities

    with _warehouse(read_only=True) as conn:
        rows = identities.listing(conn)
    for ident, name, state, roles in rows:
        click.echo(f"{ident:32} {state:8} {', '.join(roles) or '(no roles)'}" + (f"   {name}" if name else ""))
    if not rows:
        click.echo("no identities yet: `callcanon users add NAME`")
