"""Every notebook runs top to bottom on a small generated store (they are jupytext
percent scripts, so running them as Python executes every cell in order)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.py"))


def test_there_are_notebooks():
    assert [n.stem for n in NOTEBOOKS] == ["01_quick_start", "02_investigate_a_ring", "03_explain_a_score",
                                           "04_skiptrace"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, tmp_path_factory):
    work = tmp_path_factory.getbasetemp() / "notebook-data"
    env = {**os.environ, "GRAPHSVC_NOTEBOOK_DIR": str(work), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, notebook.name], cwd=notebook.parent, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
