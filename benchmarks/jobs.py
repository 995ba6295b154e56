"""What the benchmark scripts share: each job runs in its own process, so that the
peak memory it reports (max RSS) is its own."""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_job(script: str, *args: str) -> dict:
    """Run ``script --job ARGS`` in a new interpreter; its last stdout line is JSON."""
    out = subprocess.run([sys.executable, script, "--job", *args], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"the job {' '.join(args)} failed with exit code {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def parser(doc: str, networkx_up_to: int) -> argparse.ArgumentParser:
    """The options every size-by-size benchmark takes."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--workdir", default=str(HERE.parent / "bench-data"))
    p.add_argument("--skip-networkx-above", type=int, default=networkx_up_to)
    p.add_argument("--job", nargs="+", help=argparse.SUPPRESS)
    return p


@contextlib.contextmanager
def served(db: Path, env: dict, *, workers: int = 1, tree: Path | None = None, command: list[str] | None = None):
    """``graphsvc serve`` over ``db`` in its own process on a free port (with ``workers``
    worker processes; from the source tree ``tree`` when given: another version's
    checkout), once it is ready; yields its base URL and stops it afterwards.
    ``command`` serves something else instead: its ``{port}`` is filled in."""
    import socket

    from graphsvc.api.serving import wait_until_ready

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [a.format(port=port) for a in command] if command else [
        sys.executable, "-m", "graphsvc.cli", "serve", "--db", str(db), "--port", str(port),
        *(["--workers", str(workers)] if workers != 1 else [])]
    if tree is not None:
        env = {**env, "PYTHONPATH": str(tree), "GRAPHSVC_QUERIES_DIR": str(tree / "queries")}
    # ``-m`` puts the working directory first on the path: run each version from its own tree
    server = subprocess.Popen(argv, env=env, cwd=tree or HERE.parent, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ready(base, 180):
            sys.exit("the server did not come up")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
