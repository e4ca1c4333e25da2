"""The `callcanon` click group; each command group lives in a module of its own beside it."""

from __future__ import annotations

import click

from assets.settings import Settings, SettingsError


@click.group()
def main() -> None:
    """callcanon: call recordings to pseudonymised themes, under a retention policy."""
    try:
        Settings.from_env().export_for_dbt()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


