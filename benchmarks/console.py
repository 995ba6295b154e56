"""Console benchmark: the investigators' console in headless Chromium against a served store.

1. Serves ``bench-data/store-N.db`` (``benchmarks/load.py`` and ``benchmarks/rescore.py``
   make it; re-scored here if it has no run) with ``graphsvc serve`` in its own process.
2. Drives Debian's Chromium with Playwright (core only, ``/usr/bin/chromium``):
   - first paint: from navigating to ``/ui`` to the sign-in page drawn, and from
     signing in on an applicant's address to its page and its network drawn;
   - node expansion: ``--expansions`` applicants expanded one after another into the
     same drawing (a third ring members, a third holders of the most shared IPs and
     devices, a third anyone), each timed in the page from the click's work to the
     next painted frame (the API call, merging, placing and drawing), beside the
     API's own time for the same network request (measured from this process);
   - the graph library: Cytoscape.js and Sigma.js drawing the same 2,000 nodes and
     3,000 edges (first frame, and frame time while panning).
3. Prints the figures; the bars are first paint under 1 s and expansion p95 under 300 ms.

The networkx way has no browser to compare with; the API column is what a notebook
calling ``Service.ego_network`` over HTTP would wait for.

    python benchmarks/console.py --size 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jobs
import numpy as np

HERE = Path(__file__).resolve().parent
KEY = "benchmark-key-0123456789-abcdefghijkl"
API_KEY = "bench-console-key"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]  # WebGL in software, for Sigma.js


def _sample(db: Path, count: int, seed: int) -> list[str]:
    """Applicants to expand: ring members, holders of the most shared IPs and devices, anyone."""
    import graphsvc
    from graphsvc.store.embedded import sql

    rng = random.Random(seed)
    with graphsvc.open(db, readonly=True) as service:
        rings = service.rings(top=50)
        members = [m for r in rings["ring_id"] for m in service.ring_members(r)["applicant_id"]]
    con = sql.connect(db, readonly=True)
    try:
        everyone = [r[0] for r in con.execute("SELECT key FROM applicants ORDER BY random() LIMIT 5000")]
        shared = [r[0] for r in con.execute(
            "SELECT a.key FROM links l JOIN applicants a ON a.id = l.applicant WHERE l.identifier IN "
            "(SELECT l2.identifier FROM links l2 JOIN identifiers i ON i.id = l2.identifier "
            " WHERE i.kind IN ('ip', 'device') GROUP BY l2.identifier ORDER BY count(*) DESC LIMIT 200) LIMIT 5000")]
    finally:
        con.close()
    third = count // 3
    return rng.sample(members, min(third, len(members))) + rng.sample(shared, min(third, len(shared))) + \
        rng.sample(everyone, count - 2 * third)


def _percentiles(values: list[float]) -> str:
    a = np.array(values)
    return (f"p50 {np.percentile(a, 50):6.1f} ms  p95 {np.percentile(a, 95):6.1f} ms  "
            f"p99 {np.percentile(a, 99):6.1f} ms  max {a.max():6.1f} ms  (n={len(a)})")


def _libraries(browser, runs: int = 3) -> dict[str, list[dict]]:
    """Cytoscape.js and Sigma.js (graphology, WebGL: software-rendered here) drawing the
    same 2,000 nodes and 3,000 edges: time to the first painted frame, then the mean
    frame time of a 30-frame pan (``console/bench``, built with esbuild for this run)."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["node", str(HERE.parent / "console" / "bench" / "build.mjs"), out], check=True)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.goto(Path(out, "libraries.html").as_uri())
        found = {name: [page.evaluate(f"() => window.draw{name}(2000, 3000)") for _ in range(runs)]
                 for name in ("Cytoscape", "Sigma")}
        page.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--db", help="a scored store to serve (default: bench-data/store-SIZE.db)")
    parser.add_argument("--expansions", type=int, default=60)
    parser.add_argument("--workdir", default=str(HERE.parent / "bench-data"))
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    import httpx2 as httpx
    from playwright.sync_api import sync_playwright

    import graphsvc
    from graphsvc.api.security import digest

    db = Path(args.db or Path(args.workdir) / f"store-{args.size}.db")
    if not db.exists():
        sys.exit(f"no {db}: run benchmarks/load.py --sizes {args.size} first")
    chromium = shutil.which("chromium") or sys.exit("no chromium: apt-get install chromium")
    os.environ.setdefault("GRAPHSVC_HMAC_KEY", KEY)
    with graphsvc.open(db) as service:
        if not len(service.runs()):
            print("re-scoring the store first ...", flush=True)
            service.rescore()
    sample = _sample(db, args.expansions, args.seed)
    env = {**os.environ, "GRAPHSVC_API_KEYS": json.dumps({digest(API_KEY): {"name": "bench", "role": "investigator"}}),
           "GRAPHSVC_API_RATE_PER_SECOND": "100000", "GRAPHSVC_API_RATE_BURST": "100000"}
    with jobs.served(db, env) as base:
        api = []
        with httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}) as client:
            for applicant in sample:
                started = time.perf_counter()
                client.get(f"/v1/applicants/{applicant}/network",
                           params={"hops": 2, "max_nodes": 200}).raise_for_status()
                api.append((time.perf_counter() - started) * 1000)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.perf_counter()
            page.goto(f"{base}/ui/")
            page.wait_for_selector("body[data-started=yes]")
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            sign_in_page = (time.perf_counter() - started) * 1000
            page.goto(f"{base}/ui/#/applicant/{sample[0]}")
            page.wait_for_selector("body[data-started=yes]")
            page.fill("#key", API_KEY)
            started = time.perf_counter()
            page.click("#signin-form button")
            page.wait_for_function("a => document.body.dataset.rendered === a"
                                   " && Number(document.body.dataset.expanded) >= 1",
                                   arg=f"#/applicant/{sample[0]}")
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            first_view = (time.perf_counter() - started) * 1000
            expansions = [page.evaluate("id => window.graphsvcConsole.timedExpand(id)", a) for a in sample[1:]]
            drawn = page.evaluate("() => window.graphsvcConsole.graph.size()")
            libraries = _libraries(browser)
            browser.close()
    print(f"store: {db} ({args.size:,} applicants), Chromium {chromium}")
    print(f"first paint, the sign-in page:                  {sign_in_page:7.1f} ms")
    print(f"first view, sign-in to applicant page and graph: {first_view:7.1f} ms")
    print(f"node expansion in the browser (API + merge + draw): {_percentiles(expansions)}; "
          f"{drawn:,} nodes drawn at the end")
    print(f"the same network requests, API only:                {_percentiles(api)}")
    for name, runs in libraries.items():
        first = ", ".join(f"{r['first']:.0f}" for r in runs)
        frame = ", ".join(f"{r['frame']:.0f}" for r in runs)
        print(f"{name + '.js':13s} 2,000 nodes, 3,000 edges: first frame {first} ms; pan frame {frame} ms")
    print(f"bars: first paint < 1000 ms: {'met' if max(sign_in_page, first_view) < 1000 else 'NOT met'}; "
          f"expansion p95 <= 300 ms: {'met' if np.percentile(expansions, 95) <= 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
