"""Underwriting load, open loop: score-on-write at fixed arrival rates against a served store.

For each store size and each code version (this checkout; with ``--baseline REV`` also
that git revision, checked out into a temporary worktree, over its own store from
``--baseline-workdir`` when its schema is older), in the same run:

1. copy ``bench-data/store-N.db`` (made by ``benchmarks/load.py`` and re-scored; re-scored
   here if it has no run yet) and serve the copy with ``graphsvc serve --workers W``;
2. warm it up (ten seconds at 50/s), then from a separate client process
   (``benchmarks/loadgen.py``) post applications of the mix in ``benchmarks/traffic.py``
   at each ``--rates`` for ``--seconds``, open loop: latency from the scheduled send time;
3. drive it closed loop for ``--ceiling-seconds`` to find its saturation throughput.

Then the same for the trivial endpoint (``benchmarks/ceiling.py``: FastAPI, one insert and
two look-ups, as many workers), whose saturation throughput is the ceiling the framework
and the file leave; each version's throughput is printed as a share of it. The networkx
way has no equivalent (it would rebuild the graph per request). The bars: at 500/s p99
at most 10 ms and p99.9 at most 25 ms with no error; p99 at most 25 ms up to 800/s.

    python benchmarks/api_load.py --sizes 100000,1000000 --rates 100,300,500,800 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jobs
import traffic

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEY = "benchmark-key-0123456789-abcdefghijkl"
API_KEY = "bench-underwriter-key"


def _environment() -> dict:
    from graphsvc.api.security import digest

    return {**os.environ, "GRAPHSVC_HMAC_KEY": KEY,
            "GRAPHSVC_API_KEYS": f'{{"{digest(API_KEY)}": {{"name": "bench", "role": "underwriter"}}}}',
            "GRAPHSVC_API_RATE_PER_SECOND": "100000", "GRAPHSVC_API_RATE_BURST": "100000"}


def drive(base: str, bodies: Path, rate: float, seconds: float, connections: int = 16) -> dict:
    """One run of the load client in its own process (``rate`` 0: closed loop)."""
    port = base.rsplit(":", 1)[1]
    out = subprocess.run([sys.executable, str(HERE / "loadgen.py"), "--port", port, "--bodies", str(bodies),
                          "--rate", str(rate), "--seconds", str(seconds), "--connections", str(connections),
                          "--key", API_KEY], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"the load client failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(name: str, result: dict) -> str:
    offered = "closed loop" if not result["rate"] else f"offered {result['rate']:>5.0f}/s"
    ms = "  ".join(f"{k} {result[k]:6.1f}" if result[k] is not None else f"{k}    -"
                   for k in ("p50", "p95", "p99", "p999"))
    errors = sum(result["errors"].values())
    return (f"{name:<28} {offered:<17} answered {result['throughput']:>6.1f}/s  {ms} ms  "
            f"errors {errors}{' ' + json.dumps(result['errors']) if errors else ''}")


def _fresh_copy(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(source, target)
    return target


def measure(name: str, served, population: traffic.Population, args, scratch: Path) -> dict:
    """Warm-up, the open-loop rates and the closed-loop ceiling of one served version."""
    results = {}
    with served as base:
        tag = name.split()[0]
        warm = traffic.write_bodies(scratch / f"{tag}-warm.jsonl", population, f"warm-{tag}", 500, 0)
        drive(base, warm, 50, 10)
        for rate in args.rates:
            bodies = traffic.write_bodies(scratch / f"{tag}-{rate:g}.jsonl", population, f"{tag}-{rate:g}",
                                          int(rate * args.seconds), int(rate))
            results[rate] = drive(base, bodies, rate, args.seconds)
            print(_row(name, results[rate]), flush=True)
        bodies = traffic.write_bodies(scratch / f"{tag}-ceiling.jsonl", population, f"{tag}-ceiling", 200_000, 1)
        results["ceiling"] = drive(base, bodies, 0, args.ceiling_seconds)
        print(_row(name, results["ceiling"]), flush=True)
    return results


def summary(name: str, results: dict, ceiling: float) -> None:
    met = [r for r in results if r != "ceiling" and results[r]["p99"] is not None and results[r]["p99"] <= 25
           and not results[r]["errors"]]
    at500 = results.get(500.0)
    highest = f"{max(met):.0f}/s" if met else "none"
    print(f"{name}: saturates at {results['ceiling']['throughput']:.0f}/s, "
          f"{results['ceiling']['throughput'] / ceiling:.2f} of the trivial endpoint's {ceiling:.0f}/s; "
          f"highest offered rate with p99 <= 25 ms: {highest}", flush=True)
    if at500 is not None:
        ok = at500["p99"] is not None and at500["p99"] <= 10 and at500["p999"] <= 25 and not at500["errors"]
        print(f"{name}: at 500/s p99 {at500['p99']} ms, p99.9 {at500['p999']} ms, "
              f"errors {sum(at500['errors'].values())}: bar (p99 <= 10, p99.9 <= 25, 0 errors) "
              f"{'met' if ok else 'NOT met'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--rates", default="100,300,500,800")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ceiling-seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--baseline", help="a git revision to measure beside this checkout")
    parser.add_argument("--baseline-workers", type=int, default=1,
                        help="worker processes serving the baseline (a revision before --workers existed: 1)")
    parser.add_argument("--baseline-workdir", help="where the baseline's own store-N.db files are, built from the same "
                                                   "generated files by the baseline's code (a revision whose store "
                                                   "schema is older than this checkout's); default: --workdir")
    parser.add_argument("--workdir", default=str(REPO / "bench-data"))
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    env = _environment()
    worktree = None
    if args.baseline:
        worktree = Path(tempfile.mkdtemp(prefix="graphsvc-baseline-"))
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.baseline],
                       check=True, capture_output=True)
    try:
        with tempfile.TemporaryDirectory(prefix="graphsvc-load-") as scratch:
            for size in (int(s) for s in args.sizes.split(",")):
                source = Path(args.workdir) / f"store-{size}.db"
                if not source.exists():
                    sys.exit(f"no {source}: run benchmarks/load.py --sizes {size} first")
                import graphsvc

                with graphsvc.open(source) as service:
                    if not len(service.runs()):
                        print(f"re-scoring {source} first ...", flush=True)
                        service.rescore()
                population = traffic.Population.of(source)
                print(f"applicants {size:,}  workers {args.workers}  {args.seconds:g} s per rate", flush=True)
                ceiling_db = _fresh_copy(source, Path(args.workdir) / f"ceiling-{size}.db")
                trivial = measure("trivial endpoint", jobs.served(ceiling_db, {**env, "CEILING_DB": str(ceiling_db)},
                                  command=[sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "--factory",
                                           "ceiling:create", "--port", "{port}", "--workers", str(args.workers),
                                           "--log-level", "warning", "--no-access-log"]),
                                  population, args, Path(scratch))
                ceiling = trivial["ceiling"]["throughput"]
                summary("trivial endpoint", trivial, ceiling)
                versions = [("this checkout", None, args.workers)]
                if worktree is not None:
                    versions.insert(0, (f"baseline {args.baseline}", worktree, args.baseline_workers))
                for name, tree, workers in versions:
                    own = source if tree is None or not args.baseline_workdir else (
                        Path(args.baseline_workdir) / f"store-{size}.db")
                    db = _fresh_copy(own, Path(args.workdir) / f"api-{size}{'-baseline' if tree else ''}.db")
                    results = measure(f"{name} ({workers} worker{'s' if workers > 1 else ''})",
                                      jobs.served(db, env, workers=workers, tree=tree), population, args,
                                      Path(scratch))
                    summary(name, results, ceiling)
    finally:
        if worktree is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True)


if __name__ == "__main__":
    main()
