"""The console's own sources: its JavaScript unit tests pass under Node.js, and the
page shipped in the package is exactly what its sources and locked npm packages build."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ROOT / "console"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None or not (CONSOLE / "node_modules" / "esbuild").exists(),
                                reason="no node or no console/node_modules: make test runs npm ci in console/")


def test_the_console_s_unit_tests_pass():
    run = subprocess.run([NODE, "--test", "test/"], cwd=CONSOLE, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 3" in run.stdout


def test_the_shipped_page_is_built_from_its_sources(tmp_path):
    run = subprocess.run([NODE, "build.mjs", str(tmp_path)], cwd=CONSOLE, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    shipped = ROOT / "graphsvc" / "console" / "static"
    for name in ("app.js", "app.css"):
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), f"{name} is stale: run make console"
