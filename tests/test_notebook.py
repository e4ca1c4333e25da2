"""The analysts' notebook runs against the warehouse, read-only, and draws its chart."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_theme_trends_notebook_runs_and_plots(pipeline_run):
    nb = nbformat.read(NOTEBOOKS / "theme_trends.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no chart drawn"
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "read_only=True" in source and "casework" not in source
