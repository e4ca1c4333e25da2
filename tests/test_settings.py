"""One configuration: every CALLCANON_* setting read and validated by `assets.settings`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from assets.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_a_bad_setting_is_one_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CALLCANON_SUPPRESS_BELOW", "0")
    monkeypatch.setenv("CALLCANON_FIRST_CALL_DATE", "last tuesday")
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    assert "CALLCANON_SUPPRESS_BELOW" in str(err.value) and "CALLCANON_FIRST_CALL_DATE" in str(err.value)
    from pipelines.cli import main

    result = CliRunner().invoke(main, ["retention", "--dry-run"])
    assert result.exit_code != 0 and "CALLCANON_SUPPRESS_BELOW" in result.output
    assert "Traceback" not in result.output


def test_an_invalid_complaint_reference_pattern_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("CALLCANON_COMPLAINT_REF", "C-(")
    with pytest.raises(SettingsError, match="CALLCANON_COMPLAINT_REF"):
        Settings.from_env()


def test_settings_come_from_a_dot_env_file_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CALLCANON_POLICY", raising=False)
    monkeypatch.delenv("CALLCANON_WAREHOUSE", raising=False)
    (tmp_path / ".env").write_text("CALLCANON_POLICY=gp_practice\nCALLCANON_DATA=elsewhere\n")
    monkeypatch.setenv("CALLCANON_DATA", str(tmp_path / "explicit"))
    s = Settings.from_env()
    assert s.policy == "gp_practice"
    assert s.warehouse_path == tmp_path / "explicit" / "warehouse.duckdb"


def test_only_what_dbt_reads_is_written_to_the_environment(tmp_path, monkeypatch):
    for var in ("CALLCANON_WAREHOUSE", "CALLCANON_SUPPRESS_BELOW"):
        monkeypatch.setenv(var, "")  # so monkeypatch puts back whatever was there, after the export
    for var in [v for v in os.environ if v.startswith("CALLCANON_") and not v.endswith("_KEY")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("CALLCANON_DATA", str(tmp_path))
    Settings.from_env().export_for_dbt()
    written = sorted(v for v in os.environ if v.startswith("CALLCANON_") and not v.endswith("_KEY"))
    assert written == ["CALLCANON_DATA", "CALLCANON_SUPPRESS_BELOW", "CALLCANON_WAREHOUSE"]
    assert os.environ["CALLCANON_WAREHOUSE"] == str(tmp_path / "warehouse.duckdb")


def test_every_callcanon_variable_is_read_in_the_settings_module_alone():
    """The house rule: outside assets/settings.py a CALLCANON_ name may appear in text (a docstring,
    an error message), never as a read of the environment."""
    out = subprocess.run(["grep", "-rnE", r"(environ|getenv|EnvVar)[^#]*CALLCANON_", "assets", "pipelines"],
                         cwd=ROOT, capture_output=True, text=True).stdout
    reads = [line for line in out.splitlines() if not line.startswith("assets/settings.py")]
    assert reads == []
    too_long = [str(p.relative_to(ROOT)) for d in ("assets", "pipelines") for p in (ROOT / d).rglob("*.py")
                if len(p.read_text().splitlines()) > 300]
    assert too_long == []
    sql = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE)\b.*\b(FROM|INTO|SET)\b")
    in_wiring = [str(p.relative_to(ROOT)) for p in (ROOT / "pipelines").rglob("*.py") if sql.search(p.read_text())]
    assert in_wiring == []
