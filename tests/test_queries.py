"""The Cypher library: honest headers, zero diagnostics from Neo4j's own parser
(``@neo4j-cypher/language-support``, ``lintCypherQuery``, under Node.js), and no
Cypher built from strings anywhere in the package."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from graphsvc.store.neo4j import queries

ROOT = Path(__file__).resolve().parents[1]
LINT = ROOT / "tests" / "cypher_lint"
CYPHER = re.compile(r"\b(MATCH|MERGE|UNWIND|DETACH DELETE|CALL gds|RETURN)\b.*[(:$]", re.S)


def _schema() -> dict:
    """The linter's database schema: our labels and types, and the signatures we call."""
    spec = json.loads((LINT / "signatures.json").read_text())

    def argument(a: list) -> dict:
        out = {"name": a[0], "description": a[0], "type": a[1], "isDeprecated": False}
        if len(a) > 2:
            out["default"] = f"DefaultParameterValue{{value={a[2]}, type={a[1]}}}"
        return out

    procedures = {name: {"name": name, "description": name, "mode": p["mode"], "worksOnSystem": False,
                         "admin": False, "argumentDescription": [argument(a) for a in p["args"]],
                         "returnDescription": [{"name": r[0], "description": r[0], "type": r[1],
                                                "isDeprecated": False} for r in p["returns"]],
                         "signature": name, "option": {"deprecated": False}}
                  for name, p in spec["procedures"].items()}
    functions = {name: {"name": name, "category": "", "description": name, "isBuiltIn": not name.startswith("gds."),
                        "argumentDescription": [argument(a) for a in f["args"]], "returnDescription": f["returns"],
                        "signature": name, "aggregating": f.get("aggregating", False), "isDeprecated": False}
                 for name, f in spec["functions"].items()}
    return {"procedures": {"CYPHER 5": procedures}, "functions": {"CYPHER 5": functions},
            "labels": list(queries.LABELS), "relationshipTypes": list(queries.REL_TYPES)}


def lint(items: list[tuple[str, str, tuple[str, ...]]]) -> dict[str, list[dict]]:
    """Diagnostics per query name from Neo4j's linter."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the Cypher linter cannot run")
    if not (LINT / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        pytest.fail("the Cypher linter is not installed: run `make test` (npm ci in tests/cypher_lint)")
    payload = {"schema": _schema(),
               "queries": [{"name": n, "text": t, "parameters": {p: None for p in ps}} for n, t, ps in items]}
    done = subprocess.run(["node", str(LINT / "lint.mjs")], input=json.dumps(payload), capture_output=True,
                          text=True, timeout=120, check=True)
    return {r["name"]: r["diagnostics"] for r in json.loads(done.stdout)}


def test_every_query_has_an_honest_header():
    library = queries.library()
    names = [q.name for q in library]
    assert len(names) == len(set(names)) >= 70
    assert {n.split("/")[0] for n in names} == {"schema", "store", "results", "gds", "investigate"}
    for q in library:
        assert q.description and q.returns
    with pytest.raises(ValueError, match="declares"):
        queries.parse("x/y", "// name: x/y\n// description: d\n// parameters: $a\n// returns: r\nRETURN $b")
    with pytest.raises(ValueError, match="header names"):
        queries.parse("x/y", "// name: x/z\n// description: d\n// parameters: none\n// returns: r\nRETURN 1")


def test_the_library_has_zero_diagnostics_from_neo4j_s_parser():
    found = lint([(q.name, q.text, q.parameters) for q in queries.library()])
    assert len(found) == len(queries.library())
    assert {name: d for name, d in found.items() if d} == {}


def test_the_linter_does_catch_mistakes():
    found = lint([
        ("syntax", "MATCH (a:Applicant RETURN a", ()),
        ("parameter", "MATCH (a:Applicant {id: $id}) RETURN a", ()),
        ("procedure", "CALL gds.louvain.stream('g') YIELD nodeId RETURN nodeId", ()),
        ("yield", "CALL gds.wcc.stream('g') YIELD nodeId, community RETURN nodeId", ()),
        ("type", "MATCH (a:Applicant)-[:HAZ]->(i) RETURN i", ()),
    ])
    assert all(found[name] for name in ("syntax", "parameter", "procedure", "yield", "type")), found
    assert "gds.louvain.stream" in found["procedure"][0]["message"]


def test_no_cypher_is_built_from_strings_in_the_package():
    """Cypher lives in queries/ only: no string literal in graphsvc/ looks like Cypher,
    and every statement the Neo4j backend runs is a library query's text."""
    offenders = []
    for path in sorted((ROOT / "graphsvc").rglob("*.py")):
        if "embedded" in path.parts:
            continue  # SQL
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if CYPHER.search(text):
                    offenders.append(f"{path.name}:{node.lineno} f-string")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if CYPHER.search(node.value) and "\n" in node.value or re.search(r"MATCH \(|MERGE \(|UNWIND \$", node.value):
                    offenders.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "run", "run_cypher") and "neo4j" in path.parts and node.args:
                source = ast.unparse(node.args[0])
                if not re.fullmatch(r"queries\.get\(\w+\)\.text", source):
                    offenders.append(f"{path.name}:{node.lineno} runs {source}")
    assert offenders == []
