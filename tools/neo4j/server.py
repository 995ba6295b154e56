"""Start and stop the throw-away Neo4j with Graph Data Science that the tests run on.

    python tools/neo4j/server.py start [--port N]   # in the background; prints the Bolt URI
    python tools/neo4j/server.py stop
    python tools/neo4j/server.py run -- COMMAND...  # start, run COMMAND with GRAPHSVC_NEO4J_URI set, stop

The server is the Maven project beside this file (versions in its ``pom.xml``):
Neo4j's test harness on an empty database under ``.neo4j/`` at the repository's
root, Bolt on 127.0.0.1, authentication off, the GDS procedures registered. The
first start compiles it and resolves its jars from Maven Central into
``~/.m2`` (a few minutes, once). Without ``java`` or ``mvn``, ``run`` runs the
command without a server (the Neo4j tests then skip and say why), unless
``GRAPHSVC_REQUIRE_NEO4J`` is set (CI), and ``start`` fails with the same advice. Only
the standard library is used, so the script runs before the project is installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STATE = ROOT / ".neo4j"
CLASSPATH = HERE / "target" / "classpath"
SOURCES = (HERE / "pom.xml", HERE / "src" / "main" / "java" / "graphsvc" / "neo4j" / "Server.java")
HEAP = os.environ.get("GRAPHSVC_NEO4J_HEAP", "2g")
START_TIMEOUT = 300.0
ADVICE = ("install a JDK 17 and Maven (Debian: apt-get install openjdk-17-jdk-headless maven) "
          "and Maven Central must be reachable; or point GRAPHSVC_NEO4J_URI at a Neo4j 5.26 with GDS")


class Unavailable(RuntimeError):
    """No server can be started on this machine (the reason says what is missing)."""


def missing() -> str | None:
    """What this machine lacks to build and start the server, or None."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            return f"no `{tool}` on PATH"
    return None


def build() -> None:
    """Compile the launcher and list its class path, unless both are newer than the sources."""
    if CLASSPATH.exists() and all(CLASSPATH.stat().st_mtime >= s.stat().st_mtime for s in SOURCES):
        return
    print("neo4j: building the launcher (resolves Neo4j and GDS from Maven Central the first time)",
          file=sys.stderr, flush=True)
    done = subprocess.run(["mvn", "-q", "-B", "-Dstyle.color=never", "compile", "dependency:build-classpath",
                           f"-Dmdep.outputFile={CLASSPATH}"], cwd=HERE, capture_output=True, text=True)
    if done.returncode != 0 or not CLASSPATH.exists():
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise Unavailable(f"the Maven build in {HERE} failed (exit {done.returncode})")


def start(port: int = 0) -> tuple[int, str]:
    """Start a server on an empty database in the background; (its pid, its Bolt URI)."""
    reason = missing()
    if reason:
        raise Unavailable(f"{reason}; to run on Neo4j, {ADVICE}")
    if _running() is not None:
        raise Unavailable(f"a server is already running (pid file {STATE / 'pid'}): stop it first")
    build()
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    classpath = f"{HERE / 'target' / 'classes'}{os.pathsep}{CLASSPATH.read_text().strip()}"
    with open(STATE / "server.log", "wb") as log:
        process = subprocess.Popen(["java", f"-Xmx{HEAP}", "-XX:+UseG1GC", "-cp", classpath, "graphsvc.neo4j.Server",
                                    str(STATE / "data"), str(port)],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    (STATE / "pid").write_text(f"{process.pid}\n")
    uri_file = STATE / "data" / "uri"
    deadline = time.monotonic() + START_TIMEOUT
    while not uri_file.exists():
        if process.poll() is not None:
            raise Unavailable(f"the server exited with {process.returncode} while starting; see {STATE / 'server.log'}")
        if time.monotonic() > deadline:
            stop()
            raise Unavailable(f"the server did not answer within {START_TIMEOUT:.0f} s; see {STATE / 'server.log'}")
        time.sleep(0.2)
    return process.pid, uri_file.read_text().strip()


def stop() -> bool:
    """Stop the server started by :func:`start` (SIGTERM, the database closes cleanly); whether one ran."""
    pid = _running()
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(300):
        if _running() is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    (STATE / "pid").unlink(missing_ok=True)
    return True


def _running() -> int | None:
    try:
        pid = int((STATE / "pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    try:  # a zombie of ours that has exited is not running
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return None if waited == pid else pid
    except ChildProcessError:
        return pid


def run(command: list[str]) -> int:
    """Run ``command`` with a server started for it (or without one, saying why); its exit code."""
    environment = dict(os.environ)
    started = False
    if environment.get("GRAPHSVC_NEO4J_URI"):
        print(f"neo4j: using GRAPHSVC_NEO4J_URI={environment['GRAPHSVC_NEO4J_URI']}", file=sys.stderr)
    else:
        try:
            _, uri = start()
            started = True
            environment.update(GRAPHSVC_NEO4J_URI=uri, GRAPHSVC_NEO4J_USER="neo4j", GRAPHSVC_NEO4J_PASSWORD="unused")
            print(f"neo4j: server on {uri} for this run", file=sys.stderr, flush=True)
        except Unavailable as exc:
            if environment.get("GRAPHSVC_REQUIRE_NEO4J"):  # CI: the Neo4j tests must run, not skip
                print(f"neo4j: no server ({exc}) and GRAPHSVC_REQUIRE_NEO4J is set", file=sys.stderr, flush=True)
                return 1
            print(f"neo4j: no server ({exc}); the Neo4j tests will skip", file=sys.stderr, flush=True)
    try:
        return subprocess.run(command, env=environment).returncode
    finally:
        if started:
            stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    begin = commands.add_parser("start", help="start a server in the background and print its Bolt URI")
    begin.add_argument("--port", type=int, default=7687, help="Bolt port on 127.0.0.1 (0: any free one)")
    commands.add_parser("stop", help="stop the server started by `start`")
    wrap = commands.add_parser("run", help="run a command with a server started for it")
    wrap.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    arguments = parser.parse_args(argv)
    if arguments.command == "start":
        try:
            pid, uri = start(arguments.port)
        except Unavailable as exc:
            print(f"neo4j: cannot start a server: {exc}", file=sys.stderr)
            return 1
        print(f"neo4j: running (pid {pid}, log {STATE / 'server.log'}); stop with `make neo4j-stop`", file=sys.stderr)
        print(f"export GRAPHSVC_NEO4J_URI={uri} GRAPHSVC_NEO4J_PASSWORD=unused")
        return 0
    if arguments.command == "stop":
        print("neo4j: stopped" if stop() else "neo4j: no server was running", file=sys.stderr)
        return 0
    command = arguments.cmd[1:] if arguments.cmd[:1] == ["--"] else arguments.cmd
    if not command:
        parser.error("run needs a command after --")
    return run(command)


if __name__ == "__main__":
    sys.exit(main())
