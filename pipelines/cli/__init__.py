"""The `callcanon` command: the group in `group`, one module per command group."""

from pipelines.cli import access, consent, keys, pipeline, portal, rights, text, users  # noqa: F401  (registers their commands)
from pipelines.cli.group import main  # noqa: F401
