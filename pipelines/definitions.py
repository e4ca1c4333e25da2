"""Entry point for `dagster dev -w workspace.yaml`, `dg`, the CLI and the tests."""

from pathlib import Path

import dagster as dg

from assets.settings import Settings, owner_only_files


@dg.definitions
def defs() -> dg.Definitions:
    owner_only_files()  # every file a run writes is its owner's alone
    # dbt, a process of its own, reads its profile from the environment.
    Settings.from_env().export_for_dbt()
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
