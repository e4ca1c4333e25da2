"""Key rotation on the data host (a governance role's): `callcanon keys rotate-audio`."""

from __future__ import annotations

import click

from pipelines.cli.common import _audit_ready, _governor, _key, _pseudonymiser, _warehouse
from pipelines.cli.group import main
from pipelines.cli.rights import _REASON


@main.group("keys")
def keys_group() -> None:
    """Rotate the keys that protect stored data (docs/access.md, "Key rotation")."""


@keys_group.command("rotate-audio")
@_REASON
def rotate_audio(reason: str) -> None:
    """Reseal every stored recording and casework text cell under a new audio key, then swap the
    key files (the old key is kept apart). Safe to kill and run again; holds the warehouse."""
    from assets import keys
    from assets.access import audit
    from assets.key_rotation import rotate_audio as rotate

    _audit_ready()
    _key("audio")
    with _warehouse() as conn:
        who, role = _governor(conn)
        try:
            done = rotate(conn, audit.chain_key(_key("pseudonym")), _pseudonymiser(), who=who, role=role,
                          reason=reason, progress=click.echo)
        except keys.SecretError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"rotated: {done.files} files and {done.cells} text cells resealed"
               + (" (an interrupted rotation finished)" if done.resumed else "")
               + f"; destroy {done.retired_key} once no backup made under it is kept")
