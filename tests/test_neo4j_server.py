"""tools/neo4j/server.py without Java: the suite runs on, the Neo4j tests skip and
the message says how to get them; CI (GRAPHSVC_REQUIRE_NEO4J) fails instead."""

from __future__ import annotations

import importlib.util
import sys

from conftest import REPO


def _server():
    spec = importlib.util.spec_from_file_location("neo4j_server", REPO / "tools" / "neo4j" / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_java_the_command_runs_without_a_server(monkeypatch, capsys):
    server = _server()
    monkeypatch.setattr(server.shutil, "which", lambda tool: None if tool == "java" else f"/usr/bin/{tool}")
    monkeypatch.delenv("GRAPHSVC_NEO4J_URI", raising=False)
    monkeypatch.delenv("GRAPHSVC_REQUIRE_NEO4J", raising=False)
    probe = [sys.executable, "-c", "import os, sys; sys.exit(3 if 'GRAPHSVC_NEO4J_URI' in os.environ else 0)"]
    assert server.run(probe) == 0  # ran, and without a URI
    said = capsys.readouterr().err
    assert "no `java` on PATH" in said and "the Neo4j tests will skip" in said
    assert "apt-get install openjdk-17-jdk-headless maven" in said
    monkeypatch.setenv("GRAPHSVC_REQUIRE_NEO4J", "1")
    assert server.run(probe) == 1
    assert "GRAPHSVC_REQUIRE_NEO4J is set" in capsys.readouterr().err


def test_a_given_uri_is_used_as_it_is(monkeypatch, capsys):
    server = _server()
    monkeypatch.setattr(server, "start", lambda port=0: (_ for _ in ()).throw(AssertionError("started a server")))
    monkeypatch.setenv("GRAPHSVC_NEO4J_URI", "bolt://db.example:7687")
    probe = [sys.executable, "-c",
             "import os, sys; sys.exit(0 if os.environ['GRAPHSVC_NEO4J_URI'] == 'bolt://db.example:7687' else 4)"]
    assert server.run(probe) == 0
    assert "using GRAPHSVC_NEO4J_URI=bolt://db.example:7687" in capsys.readouterr().err
