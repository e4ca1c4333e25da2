"""Entry point for `dagster dev -w workspace.yaml`, `dg`, the CLI and the tests."""

from pathlib import Path

import dagster as dg

from assets.settings import Settings

# Resolve data locations once, before any resource reads its EnvVar.
Settings.from_env().export()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
