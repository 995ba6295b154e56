"""The import graph: the edges (the API's routes, the CLI's commands) go through the service.

Every route and command parses its input, calls :class:`graphsvc.service.Service` and
renders the answer; none imports the store, the linkage, the policy or the re-score
pipeline, nor reaches through the service to its store. Read from the source (no import
runs), so that a lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import graphsvc

PACKAGE = Path(graphsvc.__file__).parent
EDGES = ("api", "cli")
#: what the edges may not import: the layers below the service
BELOW = ("graphsvc.store", "graphsvc.analytics.linkage", "graphsvc.analytics.policy", "graphsvc.analytics.rescore")


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module a source file imports, at its top or inside a function (``from
    graphsvc.analytics import rescore`` counts as ``graphsvc.analytics.rescore``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def below(name: str) -> bool:
    return any(name == layer or name.startswith(f"{layer}.") for layer in BELOW)


def store_reaches(path: Path) -> list[int]:
    """Lines that read an attribute named ``store`` (``service.store.runs()``)."""
    return sorted(node.lineno for node in ast.walk(ast.parse(path.read_text(), str(path)))
                  if isinstance(node, ast.Attribute) and node.attr == "store")


@pytest.mark.parametrize("edge", EDGES)
def test_edges_do_not_import_the_layers_below_the_service(edge):
    found = {str(path.relative_to(PACKAGE)): sorted(n for n in imported(path) if below(n))
             for path in _modules(edge)}
    assert {module: names for module, names in found.items() if names} == {}


@pytest.mark.parametrize("edge", EDGES)
def test_edges_do_not_reach_through_the_service_to_its_store(edge):
    found = {str(path.relative_to(PACKAGE)): store_reaches(path) for path in _modules(edge)}
    assert {module: lines for module, lines in found.items() if lines} == {}


def test_the_check_sees_lazy_and_aliased_imports(tmp_path):
    source = tmp_path / "route.py"
    source.write_text("import os\n\ndef f(service):\n    from graphsvc.analytics import rescore as r\n"
                      "    from graphsvc.store.base import access_entry\n    return service.store.runs()\n")
    assert sorted(n for n in imported(source) if below(n)) == [
        "graphsvc.analytics.rescore", "graphsvc.store.base", "graphsvc.store.base.access_entry"]
    assert store_reaches(source) == [6]
    assert not below("graphsvc.storefront") and not below("graphsvc.analytics.policy_notes")
