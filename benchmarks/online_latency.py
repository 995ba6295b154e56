"""Score-on-write latency measured open-loop: requests at a fixed rate, latency from the scheduled time.

A closed-loop client waits for each answer before it asks again, so a slow answer
delays the next request and hides the queue behind it (coordinated omission).
Here an asyncio client on raw keep-alive connections sends each request at its
scheduled time, whatever came back, and measures from that time.

For each code version (this checkout, and with ``--baseline REV`` that git
revision, checked out into a temporary worktree and imported through
``PYTHONPATH``), in the same run:

1. copy ``bench-data/store-N.db`` and re-score the copy with that version's code,
2. serve it with that version's ``graphsvc serve`` (uvicorn, one process),
3. post new applications (as ``benchmarks/api_load.py`` makes them) at each
   ``--rates`` for ``--seconds``, and print p50, p95, p99 and p99.9.

    python benchmarks/online_latency.py --size 1000000 --rates 50,80 --seconds 30 --baseline 7b3b561
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from api_load import API_KEY, KEY, _existing, _free_port, application

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


async def _one(pool: asyncio.Queue, payload: bytes, scheduled: float, out: list, errors: dict) -> None:
    reader, writer = await pool.get()
    try:
        writer.write(payload)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1].decode()
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)
        if status == "200":
            out.append(asyncio.get_running_loop().time() - scheduled)
        else:
            errors[status] = errors.get(status, 0) + 1
    finally:
        pool.put_nowait((reader, writer))


async def _drive(port: int, rate: float, seconds: float, bodies: list[bytes], connections: int) -> tuple:
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    tasks = []
    start = loop.time() + 0.1
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        body = bodies[i]
        payload = (f"POST /v1/applications/score HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        tasks.append(asyncio.create_task(_one(pool, payload, scheduled, latencies, errors)))
    await asyncio.gather(*tasks)
    took = loop.time() - start
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    return np.array(latencies) * 1000, errors, took


def _serve(tree: Path | None, db: Path, env: dict) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "graphsvc.cli", "serve", "--db", str(db), "--port", str(port)],
                              env=env, cwd=tree or REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx2 as httpx

    for _ in range(900):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server, port
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--rates", default="50,80")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--baseline", help="a git revision to measure beside this checkout")
    parser.add_argument("--workdir", default=str(HERE.parent / "bench-data"))
    args = parser.parse_args()

    from graphsvc.api.security import digest

    source = Path(args.workdir) / f"store-{args.size}.db"
    if not source.exists():
        sys.exit(f"no {source}: run benchmarks/load.py --sizes {args.size} first")
    devices, ips = _existing(source, "device"), _existing(source, "ip")
    rates = [float(r) for r in args.rates.split(",")]
    versions: list[tuple[str, Path | None]] = [("this checkout", None)]
    worktree = None
    if args.baseline:
        worktree = Path(tempfile.mkdtemp(prefix="graphsvc-baseline-"))
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.baseline],
                       check=True, capture_output=True)
        versions.insert(0, (f"baseline {args.baseline}", worktree))
    results = {}
    try:
        for name, tree in versions:
            env = {**os.environ, "GRAPHSVC_HMAC_KEY": KEY,
                   "GRAPHSVC_API_KEYS": f'{{"{digest(API_KEY)}": {{"name": "bench", "role": "underwriter"}}}}',
                   "GRAPHSVC_API_RATE_PER_SECOND": "100000", "GRAPHSVC_API_RATE_BURST": "100000"}
            if tree is not None:
                env["PYTHONPATH"] = str(tree)
                env["GRAPHSVC_QUERIES_DIR"] = str(tree / "queries")
            db = Path(args.workdir) / f"latency-{args.size}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            shutil.copy(source, db)
            # ``-m`` puts the working directory first on the path: run each version from its own tree
            subprocess.run([sys.executable, "-m", "graphsvc.cli", "rescore", "--db", str(db)], env=env, check=True,
                           capture_output=True, cwd=tree or REPO)
            from graphsvc.store.embedded import sql

            con = sql.connect(db)  # the re-score's log folded into the file before serving, for both alike
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            con.close()
            server, port = _serve(tree, db, env)
            try:
                warm = random.Random(0)  # ten seconds of traffic first: caches, imports, the run's basis
                asyncio.run(_drive(port, 20, 10, [json.dumps(application(warm, f"warm-{name.split()[0]}", n, devices,
                                                                          ips)).encode() for n in range(200)],
                                   args.connections))
                for rate in rates:
                    rng = random.Random(int(rate))
                    tag = f"{name.split()[0]}-{int(rate)}"
                    bodies = [json.dumps(application(rng, tag, n, devices, ips)).encode()
                              for n in range(int(rate * args.seconds))]
                    ms, errors, took = asyncio.run(_drive(port, rate, args.seconds, bodies, args.connections))
                    p = np.percentile(ms, [50, 95, 99, 99.9]) if len(ms) else [float("nan")] * 4
                    results[(name, rate)] = p
                    print(f"{name:<22} offered {rate:>5.0f}/s  answered {len(ms) / took:>6.1f}/s  "
                          f"p50 {p[0]:6.1f}  p95 {p[1]:6.1f}  p99 {p[2]:6.1f}  p99.9 {p[3]:6.1f} ms  "
                          f"errors {sum(errors.values())} {errors or ''}", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True)
    if args.baseline:
        for rate in rates:
            base, now = results[(versions[0][0], rate)], results[("this checkout", rate)]
            print(f"offered {rate:.0f}/s: p99 {now[2]:.1f} ms against {base[2]:.1f} ms, {now[2] / base[2]:.2f}x")


if __name__ == "__main__":
    main()
