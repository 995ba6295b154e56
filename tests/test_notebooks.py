"""Every notebook runs top to bottom on a small generated store (they are jupytext
percent scripts, so running them as Python executes every cell in order)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NEO4J_URI, NO_NEO4J, P2P_DIR, empty_neo4j, on_neo4j

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9]*.py"))
NEEDS = {  # notebooks that need something a machine may lack: the reason they skip without it
    "05_p2p_case_study": (lambda: (P2P_DIR / "User.parquet").exists(),
                          f"P2P dataset not found at {P2P_DIR} (set GRAPHSVC_P2P_DIR)"),
    "06_neo4j": (lambda: bool(NEO4J_URI), NO_NEO4J),
}


def test_there_are_notebooks():
    assert [n.stem for n in NOTEBOOKS] == ["01_quick_start", "02_investigate_a_ring", "03_explain_a_score",
                                           "04_skiptrace", "05_p2p_case_study", "06_neo4j"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(notebook, tmp_path_factory, settings):
    available, reason = NEEDS.get(notebook.stem, (lambda: True, ""))
    if not available():
        pytest.skip(reason)
    if notebook.stem == "06_neo4j":
        empty_neo4j(on_neo4j(settings))  # it loads its sample into a throw-away database
    work = tmp_path_factory.getbasetemp() / "notebook-data"
    env = {**os.environ, "GRAPHSVC_NOTEBOOK_DIR": str(work), "MPLBACKEND": "Agg", "GRAPHSVC_P2P_DIR": str(P2P_DIR)}
    result = subprocess.run([sys.executable, notebook.name], cwd=notebook.parent, env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
