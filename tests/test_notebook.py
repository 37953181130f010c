"""notebooks/feature_exploration.ipynb runs headless on generated data, and is committed clean."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "feature_exploration.ipynb"


def _execute(path: Path) -> tuple[str, int]:
    """Run a notebook headless in its own folder; return its printed text and how many figures it drew."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=dict(os.environ))  # raises CellExecutionError on any failing cell
    texts, figures = [], 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                texts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                texts.append(out.data.get("text/plain", ""))
                figures += "image/png" in out.data
    return "\n".join(texts), figures


def test_the_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code"
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs before committing"


@pytest.mark.slow
def test_the_notebook_executes_on_generated_data(monkeypatch):
    monkeypatch.setenv("SMARTLAYER_NOTEBOOK_DATA", "generated")
    monkeypatch.setenv("SMARTLAYER_NOTEBOOK_HUMANS", "30")
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)  # the kernel configures its own
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend makes the PNGs
    text, figures = _execute(NOTEBOOK)
    assert "data source: generated" in text
    assert "NOTEBOOK_OK" in text
    assert "hostile flagged" in text        # the per-version score table
    assert figures >= 5                     # distributions, correlations, per-label, scores, clients


FS2_NOTEBOOK = NOTEBOOK.parent / "fs2_generated_traffic.ipynb"


def test_the_fs2_notebook_is_committed_clean():
    nb = nbformat.read(FS2_NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
def test_the_fs2_notebook_executes_on_generated_traffic(monkeypatch):
    monkeypatch.setenv("SMARTLAYER_NOTEBOOK_HUMANS", "40")
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    text, figures = _execute(FS2_NOTEBOOK)
    assert "feature set fs2" in text and "moderate bot" in text and "NOTEBOOK_OK" in text
    assert figures >= 3
