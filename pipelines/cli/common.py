"""What the command groups share: secrets, the warehouse connection, the request options."""

from __future__ import annotations

import functools

import click

from assets.settings import Settings


def _key(name: str) -> bytes:
    """A secret from `assets.keys` (pseudonym or audio), or a one-line error saying how to set it."""
    from assets import keys
    try:
        return {"pseudonym": keys.PSEUDONYM, "audio": keys.AUDIO}[name].load()
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from exc


def _audit_ready() -> None:
    """A command's audit record is written after its change, so the keys it needs are loaded
    before: no change is made that could not be recorded."""
    from assets import keys

    _key("pseudonym")
    try:
        keys.load_audit_signing_key()
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from exc


def _pseudonymiser():
    from assets.pii.pseudonymiser import Pseudonymiser

    return Pseudonymiser(_key("pseudonym"))


def _vault():
    from assets import keys
    from assets.audio.vault import AudioVault
    _key("audio")  # a missing key is a one-line error
    try:
        return AudioVault.from_keys()
    except keys.SecretError as exc:
        raise click.ClickException(str(exc)) from exc


def _warehouse(read_only: bool = False):
    """The warehouse, or a clear error when another process has it (DuckDB allows one writer)."""
    import duckdb

    from assets import warehouse
    settings = Settings.from_env()
    try:
        conn = warehouse.connect(settings.warehouse_path, read_only=read_only)
    except duckdb.IOException as exc:
        raise click.ClickException(f"cannot open the warehouse {settings.warehouse_path}: {exc}") from exc
    if not read_only:
        warehouse.ensure_schema(conn)
    return conn


def _analytics():
    """The published analytics copy, read-only: what analysts' commands read (never the warehouse)."""
    import duckdb

    path = Settings.from_env().analytics_path
    if not path.exists():
        raise click.ClickException(f"no analytics copy at {path} yet: the pipeline publishes it after each marts "
                                   "build (`callcanon run`)")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise click.ClickException(f"cannot open the analytics copy {path}: {exc}") from exc


_SUBJECT = [
    click.option("--kind", type=click.Choice(["call", "complaint", "number", "person"]), required=True),
    click.option("--value", required=True, help="call id, complaint id, phone number, or a <PERSON_...> token"),
]


def _subject(f):
    """The --kind/--value options of every request command; a bad value (a person given by name
    rather than token, an invalid policy file) is a one-line error, not a traceback."""
    @functools.wraps(f)
    def command(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc

    for option in reversed(_SUBJECT):
        command = option(command)
    return command



def _policy():
    from assets.policy import load_policy

    return load_policy(Settings.from_env().policy)


def _governor(conn) -> tuple[str, str]:
    """(identity, role) of whoever runs a governance command: the operating-system account, which
    an administrator must have added (`callcanon users add os:NAME`) and granted one of the policy's
    governance roles. Nothing the person types says who they are or what they may do."""
    from assets.access import governance_log, identities

    who = governance_log.os_identity()
    governing = _policy().access.governing()
    for role in governing:
        if identities.holds(conn, who, role):
            return who, role
    raise click.ClickException(
        f"{who} holds none of the policy's governance roles ({', '.join(governing)}): an administrator grants "
        f"one with `callcanon users add {who}` and `callcanon users grant {who} ROLE`")
