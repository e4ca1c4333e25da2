"""One configuration: every CALLCANON_* setting read and validated by `assets.settings`."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from assets.settings import Settings, SettingsError


def test_a_bad_setting_is_one_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CALLCANON_MAX_SIDECAR_BYTES", "0")
    monkeypatch.setenv("CALLCANON_FIRST_CALL_DATE", "last tuesday")
    with pytest.raises(SettingsError) as err:
        Settings.from_env()
    assert "CALLCANON_MAX_SIDECAR_BYTES" in str(err.value) and "CALLCANON_FIRST_CALL_DATE" in str(err.value)
    from pipelines.cli import main

    result = CliRunner().invoke(main, ["retention", "--dry-run"])
    assert result.exit_code != 0 and "CALLCANON_MAX_SIDECAR_BYTES" in result.output
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
