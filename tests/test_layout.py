"""The house rules of the layout (docs/layout.md), checked on the code as it is."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules(*folders: str) -> list[Path]:
    # Only the package's modules: not what tools leave in hidden folders (dagster's local defs state).
    return [p for d in folders for p in (ROOT / d).rglob("*.py")
            if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)]


def _grep(pattern: str, *folders: str) -> list[str]:
    found = subprocess.run(["grep", "-rnE", "--include=*.py", "--exclude-dir=.*", pattern, *folders], cwd=ROOT,
                           capture_output=True, text=True)
    return found.stdout.splitlines()


def test_every_callcanon_variable_is_read_in_the_settings_module_alone():
    """Outside assets/settings.py a CALLCANON_ name may appear in text (a docstring, an error
    message), never as a read of the environment."""
    reads = [line for line in _grep(r"(environ|getenv|EnvVar)[^#]*CALLCANON_", "assets", "pipelines")
             if not line.startswith("assets/settings.py")]
    assert reads == []


def test_no_module_is_over_300_lines():
    assert [str(p.relative_to(ROOT)) for p in _modules("assets", "pipelines")
            if len(p.read_text().splitlines()) > 300] == []


def test_the_wiring_runs_no_sql():
    sql = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE)\b.*\b(FROM|INTO|SET)\b")
    assert [str(p.relative_to(ROOT)) for p in _modules("pipelines") if sql.search(p.read_text())] == []


def test_the_domain_has_no_dagster_and_data_flows_one_way():
    assert _grep(r"^\s*(import|from) (dagster|pipelines)", "assets") == []


def test_only_the_demo_command_imports_the_generators():
    users = {line.split(":")[0] for line in _grep(r"assets(\.| import )synthetic", "assets", "pipelines")}
    assert {u for u in users if not u.startswith("assets/synthetic/")} == {"pipelines/cli/pipeline.py"}
