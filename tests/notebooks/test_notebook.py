"""The evaluation notebook runs top to bottom (tiny mode: fake encoder, small sizes).

Tiny mode never loads a real embedding model (the dense scorer is the tests'
hashing encoder), so this is not a ``slow`` test; without ../shared/data the
notebook's quality sections skip themselves and the plan sections still run.
"""
from __future__ import annotations

from pathlib import Path

import ipykernel  # noqa: F401  (the kernel the notebook runs in; a test dependency)
import matplotlib  # noqa: F401  (the notebook plots)
import nbclient
import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "evaluation.ipynb"


def test_notebook_is_committed_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "notebook has no code cells"
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs before committing"


def test_notebook_runs_top_to_bottom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XFD_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert "staffed" in text and "over capacity 0" in text  # the plan section ran
    assert "bonus" in text and "moves" in text              # the continuity section ran
    assert "learning curve:" in text or "skipped: no ../shared/data" in text  # the verdicts section ran
    assert "report 2026春 by college: 8 rows" in text        # the 绩效评估 section ran on the demo's 2026春
    assert len(images) >= 2                                  # plan + continuity figures at least
