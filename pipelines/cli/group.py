"""The `callcanon` click group; each command group lives in a module of its own beside it."""

from __future__ import annotations

import click

from assets.settings import Settings, SettingsError, owner_only_files
from assets.themes.taxonomy import TaxonomyError, load_taxonomy


@click.group()
def main() -> None:
    """callcanon: call recordings to pseudonymised themes, under a retention policy."""
    owner_only_files()  # the warehouse, audio, releases and keys it writes: 0600 / 0700
    try:
        settings = Settings.from_env()
        settings.export_for_dbt()
        # A typo in the taxonomy would leave a theme with nothing to match: stop before any work.
        load_taxonomy(settings.policy, settings.theme_taxonomy)
    except (SettingsError, TaxonomyError) as exc:
        raise click.ClickException(str(exc)) from None


