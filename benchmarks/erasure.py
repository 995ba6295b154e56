"""Erasure benchmark: `subject forget` on a loaded, scored embedded store vs networkx.

For each size, in separate processes:
  1. generate the scenario and load it into a fresh embedded store, re-score it;
  2. forget one applicant (plan, one transaction, the file rewritten, the log
     emptied), then twenty more in one call (one rewrite for all);
  3. the networkx way: the same graph in memory, the same applicants' nodes and their
     only-theirs identifiers removed (nothing durable, no results, no tombstones).

Prints seconds per step, the store's size and peak memory.

    python benchmarks/erasure.py                 # 100k and 1M
    python benchmarks/erasure.py --sizes 100000  # one size
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jobs

KEY = "benchmark-key-0123456789-abcdefghijkl"


def job_prepare(size: int, data: Path, db: Path) -> dict:
    from graphsvc.analytics.rescore import rescore
    from graphsvc.ingest.loader import load
    from graphsvc.ingest.sources import canonical_sources
    from graphsvc.scenarios import TABLE_FILES, Scenario, generate
    from graphsvc.settings import Settings, use_settings
    from graphsvc.store import open_store

    use_settings(Settings(hmac_key=KEY))
    generate(Scenario(size, seed=1), data)
    with open_store(str(db)) as store:
        load(store, canonical_sources({t: data / f"{t}.parquet" for t in TABLE_FILES}))
        rescore(store, seed=1)
    return {"mb": db.stat().st_size / 2**20, "peak_mb": jobs.peak_mb()}


def _people(store, count: int) -> list[str]:
    """Ring members first (they appear in others' reasons), then the first applicants."""
    run = store.served_run()
    members = store.run_table(run["run_id"], "ring_members")["applicant_id"].tolist()
    first = store.graph_arrays().applicants[:count].tolist()
    return list(dict.fromkeys(members + first))[:count]


def job_forget(db: Path) -> dict:
    import graphsvc
    from graphsvc.people import erasure
    from graphsvc.settings import Settings
    from graphsvc.store.base import access_entry

    with graphsvc.open(db, settings=Settings(hmac_key=KEY)) as service:
        people = _people(service.store, 21)
        started = time.perf_counter()
        service.forget(people[0], "benchmark", caller="benchmark")
        one = time.perf_counter() - started
        started = time.perf_counter()
        plans = [erasure.plan(service.store, p, "benchmark", KEY.encode()) for p in people[1:]]
        entries = [access_entry("benchmark", "admin", "benchmark", "CLI", 200, [p]) for p in people[1:]]
        service.store.forget(plans, entries)
        twenty = time.perf_counter() - started
    return {"one": one, "twenty": twenty, "people": people, "mb": db.stat().st_size / 2**20,
            "peak_mb": jobs.peak_mb()}


def job_networkx(data: Path, people: list[str]) -> dict:
    import networkx as nx
    import pandas as pd

    apps = pd.read_parquet(data / "applications.parquet")
    contacts = pd.read_parquet(data / "contacts.parquet")
    graph = nx.Graph()
    for column in ("phone", "device_id", "ip", "id_number"):
        graph.add_edges_from(zip(apps["applicant_id"], column + ":" + apps[column].astype(str)))
    graph.add_edges_from(zip(contacts["applicant_id"], "contact:" + contacts["contact_phone"].astype(str)))
    started = time.perf_counter()
    for person in people:
        only_theirs = [n for n in graph.neighbors(person) if graph.degree(n) == 1]
        graph.remove_nodes_from([person, *only_theirs])
    return {"seconds": time.perf_counter() - started, "peak_mb": jobs.peak_mb()}


def run_job(*args: str) -> dict:
    return jobs.run_job(__file__, *args)


def main() -> None:
    args = jobs.parser(__doc__, 2_000_000).parse_args()
    if args.job:
        name, *rest = args.job
        result = {"prepare": lambda: job_prepare(int(rest[0]), Path(rest[1]), Path(rest[2])),
                  "forget": lambda: job_forget(Path(rest[0])),
                  "networkx": lambda: job_networkx(Path(rest[0]), json.loads(rest[1]))}[name]()
        print(json.dumps(result))
        return
    workdir = Path(args.workdir)
    print(f"{'applicants':>10} {'step':<34} {'seconds':>8} {'store MB':>9} {'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        data, db = workdir / f"erasure-{size}", workdir / f"erasure-{size}.db"
        shutil.rmtree(data, ignore_errors=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        ready = run_job("prepare", str(size), str(data), str(db))
        print(f"{size:>10} {'loaded and scored':<34} {'':>8} {ready['mb']:>9.0f} {ready['peak_mb']:>8.0f}", flush=True)
        done = run_job("forget", str(db))
        print(f"{size:>10} {'forget one (file rewritten)':<34} {done['one']:>8.2f} {done['mb']:>9.0f} "
              f"{done['peak_mb']:>8.0f}", flush=True)
        print(f"{size:>10} {'forget twenty (one rewrite)':<34} {done['twenty']:>8.2f}", flush=True)
        if size <= args.skip_networkx_above:
            nxr = run_job("networkx", str(data), json.dumps(done["people"]))
            print(f"{size:>10} {'networkx: remove 21 in memory':<34} {nxr['seconds']:>8.3f} {'':>9} "
                  f"{nxr['peak_mb']:>8.0f}   (nothing durable: no results, no tombstones, no log)", flush=True)


if __name__ == "__main__":
    main()
