"""The wheel: every package listed, the Cypher library and the console built in, and an
install in a clean venv that runs the demo, lists the queries and serves."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_every_package_and_query_folder_is_listed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    code = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "graphsvc").rglob("__init__.py")}
    cypher = {f"graphsvc.cypher.{d.name}" for d in (REPO / "queries").iterdir() if d.is_dir()}
    assert set(config["packages"]) == code | cypher | {"graphsvc.cypher", "graphsvc.console.static"}
    assert config["package-dir"] == {"graphsvc.cypher": "queries"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_wheel_installs_and_runs_without_the_checkout(tmp_path):
    source = tmp_path / "source"  # built from a copy: setuptools leaves build/ behind in what it builds
    for part in ("graphsvc", "queries"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, source / part)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("graphsvc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    library = sorted(p.relative_to(REPO / "queries").as_posix() for p in (REPO / "queries").rglob("*.cypher"))
    assert sorted(n.removeprefix("graphsvc/cypher/") for n in names if n.endswith(".cypher")) == library
    assert {"graphsvc/console/static/index.html", "graphsvc/store/embedded/schema.sql"} <= set(names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_ = venv / "bin"
    subprocess.run([bin_ / "pip", "install", "--quiet", f"{wheel}[api,viz]"], check=True, capture_output=True)
    away = tmp_path / "elsewhere"  # no checkout in sight: the package must carry what it needs
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHSVC_")} | {"COLUMNS": "200"}

    def run(*args: str) -> str:
        done = subprocess.run([bin_ / "graphsvc", *args], cwd=away, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    listed = run("query")
    assert all(name.removesuffix(".cypher") in listed for name in library if name.startswith("investigate/"))
    shown = run("demo", "--workdir", "demo", "--applicants", "2000")
    assert "load into demo/graph.db" in shown and (away / "demo" / "graph.db").is_file()

    port = _free_port()
    server = subprocess.Popen([bin_ / "graphsvc", "serve", "--db", "demo/graph.db", "--port", str(port),
                               "--workers", "1", "--session-key", "underwriter"], cwd=away,
                              env=env | {"GRAPHSVC_HMAC_KEY_FILE": str(away / "demo" / "hmac.key")},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        key = server.stdout.readline().rsplit(": ", 1)[1].strip()
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/ui/", timeout=5) as page:
            assert b"<html" in page.read().lower()
        body = {"application_id": "WHEEL-1", "applicant_id": "WHEEL-A1", "applied_at": "2026-01-05T10:00:00Z",
                "phone": "13912345678", "device_id": "wheel-device", "contacts": []}
        request = urllib.request.Request(f"{base}/v1/applications/score", data=json.dumps(body).encode(),
                                         headers={"X-API-Key": key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            scored = json.loads(answer.read())
        assert (scored["applicant_id"], scored["stored"], scored["band"]) == ("WHEEL-A1", True, "low")
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()
