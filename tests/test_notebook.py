"""The analysts' notebooks run against the published analytics copy, read-only, and draw their charts."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.e2e

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def run_notebook(name: str, copy: Path) -> tuple[list[dict], str]:
    """Run with the analytics copy as its only data; the warehouse is moved out of reach, so a
    notebook that still opened it would fail here."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    env = {"CALLCANON_ANALYTICS": str(copy), "CALLCANON_WAREHOUSE": str(copy.parent / "no-such-warehouse.duckdb")}
    previous = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits them
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for k, v in previous.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "read_only=True" in source and "casework" not in source and "CALLCANON_WAREHOUSE" not in source
    return outputs, "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)


def _charts(outputs) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("name", ["theme_trends.ipynb", "theme_explorer.ipynb"])
def test_notebook_runs_on_the_acceptance_scenario(name, trends):
    db, _, spike = trends
    outputs, text = run_notebook(name, db.parent / "analytics.duckdb")
    if name == "theme_trends.ipynb":
        assert _charts(outputs) >= 2
        assert spike.isoformat() in text and "pain management" in text  # the spike table names the day
    else:
        assert _charts(outputs) >= 1
        assert "pain relief" in text and "taxonomy" in text and "candidate pool" in text
        assert all(f"[{theme_id}] " in text for theme_id in range(5))  # excerpts of every theme


def test_trends_notebook_runs_on_the_demo_warehouse(pipeline_run):
    """A few days of demo calls: nearly every count is suppressed, and the notebook still runs."""
    outputs, _ = run_notebook("theme_trends.ipynb", pipeline_run.warehouse.parent / "analytics.duckdb")
    assert _charts(outputs) >= 2
