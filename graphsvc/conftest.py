"""The doctests of the package's docstrings (``make test`` runs them with the suite).

Every example runs where ``make demo`` leaves its files: in a folder holding
``demo-data/graph.db``, the demo's 20,000 generated applicants loaded and re-scored,
built once per test session. So an example reads as what a new user types after the
quick start, and its output is what they see. Examples that use ``svc`` find it open
on that store (``svc = graphsvc.open("demo-data/graph.db")``).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _demo_folder(tmp_path_factory):
    from typer.testing import CliRunner

    from graphsvc.cli import app

    folder = tmp_path_factory.mktemp("doctests")
    done = CliRunner().invoke(app, ["demo", "--workdir", str(folder / "demo-data")])
    assert done.exit_code == 0, done.output
    return folder


@pytest.fixture(autouse=True)
def _in_demo_folder(request, monkeypatch, doctest_namespace):
    """Doctests that name ``demo-data/`` or use ``svc`` run beside it, with the demo's
    identity-number key."""
    test = getattr(request.node, "dtest", None)
    text = (test.docstring or "") if test is not None else ""
    if "demo-data" not in text and "svc." not in text:
        yield
        return
    import graphsvc
    from graphsvc.settings import use_settings

    folder = request.getfixturevalue("_demo_folder")
    monkeypatch.chdir(folder)
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY_FILE", str(folder / "demo-data" / "hmac.key"))
    use_settings(None)
    with graphsvc.open("demo-data/graph.db") as service:
        doctest_namespace["svc"] = service
        yield
    del doctest_namespace["svc"]
    monkeypatch.undo()
    use_settings(None)
