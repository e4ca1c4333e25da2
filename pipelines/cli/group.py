"""The `callcanon` click group; each command group lives in a module of its own beside it."""

from __future__ import annotations

import click

from assets.policy import PolicyError
from assets.settings import Settings, SettingsError, owner_only_files


@click.group()
def main() -> None:
    """callcanon: call recordings to pseudonymised themes, under a retention policy."""
    owner_only_files()  # the warehouse, audio, releases and keys it writes: 0600 / 0700
    try:
        Settings.from_env().export_for_dbt()
    except (SettingsError, PolicyError) as exc:
        raise click.ClickException(str(exc)) from None


