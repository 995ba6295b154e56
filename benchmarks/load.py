"""Load benchmark: generated applicants into the embedded store vs a networkx graph.

For each size, in separate processes (so peak memory is per job):
  1. generate the scenario (Parquet),
  2. load it into a fresh embedded store with ``graphsvc.ingest.loader.load``,
  3. the networkx way: read the same files with pandas, normalise them with the
     same functions, and build an ``nx.Graph`` of applicants and identifiers
     with the same link attributes (first/last seen, count, role);
  4. the facts first: contacts, then outcomes, then applications, each in its own
     load into another fresh store (contacts and outcomes wait as pending facts and
     are attached by the applications' batches), with the same counts as 2.

Prints rows per second, links, wall time and peak memory (max RSS) of each job.

    python benchmarks/load.py                 # 100k and 1M
    python benchmarks/load.py --sizes 100000  # one size
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jobs

KEY = "benchmark-key-0123456789-abcdefghijkl"


def job_generate(size: int, out: Path) -> dict:
    from graphsvc.scenarios import Scenario, generate

    started = time.perf_counter()
    summary = generate(Scenario(size, seed=1), out)
    return {"seconds": time.perf_counter() - started, "rows": summary["rows"], "peak_mb": jobs.peak_mb()}


def job_store(data: Path, db: Path, facts_first: bool = False) -> dict:
    import pandas as pd

    from graphsvc.ingest.loader import load
    from graphsvc.ingest.sources import canonical_sources
    from graphsvc.scenarios import TABLE_FILES
    from graphsvc.settings import Settings
    from graphsvc.store import open_store

    files = {t: data / f"{t}.parquet" for t in TABLE_FILES}
    loads = ([{t: files[t]} for t in ("contacts", "outcomes", "applications")] if facts_first else [files])
    started = time.perf_counter()
    with open_store(str(db)) as store:
        reports = [load(store, canonical_sources(part), settings=Settings(hmac_key=KEY)) for part in loads]
        seconds = time.perf_counter() - started
        counts = store.counts()
        waiting = int(store.pending()["rows"].sum())
    summary = pd.concat([r.summary() for r in reports])
    return {"seconds": seconds, "rows": int(summary["read"].sum()), "loaded": int(summary["loaded"].sum()),
            "rejected": int(summary["rejected"].sum()), "links": sum(counts["links"].values()),
            "nodes": sum(counts["nodes"].values()), "attached": int(summary["attached"].sum()),
            "still_pending": waiting, "peak_mb": jobs.peak_mb()}


def job_networkx(data: Path) -> dict:
    import networkx as nx
    import pandas as pd

    from graphsvc.ingest import normalise

    started = time.perf_counter()
    key = KEY.encode()
    apps = pd.read_parquet(data / "applications.parquet")
    contacts = pd.read_parquet(data / "contacts.parquet")
    seen = normalise.timestamps(apps["applied_at"])
    columns = {"phone": normalise.phones(apps["phone"]), "device": normalise.plain_ids(apps["device_id"]),
               "ip": normalise.ips(apps["ip"]), "id_number": normalise.identity_tokens(apps["id_number"], key)}
    parts = [pd.DataFrame({"applicant": apps["applicant_id"], "kind": kind, "value": values, "role": "own",
                           "relation": "", "seen": seen}) for kind, values in columns.items()]
    parts.append(pd.DataFrame({"applicant": contacts["applicant_id"], "kind": "phone",
                               "value": normalise.phones(contacts["contact_phone"]), "role": "contact",
                               "relation": contacts["relation"],
                               "seen": normalise.timestamps(contacts["recorded_at"])}))
    links = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    links["seen"] = pd.to_numeric(links["seen"])
    grouped = links.groupby(["applicant", "kind", "value", "role", "relation"], sort=False)["seen"].agg(
        ["min", "max", "size"]).reset_index()
    graph = nx.Graph()
    graph.add_nodes_from(grouped["applicant"].unique(), kind="applicant")
    graph.add_edges_from(
        (a, f"{k}:{v}", {"role": r, "relation": rel, "first_seen": lo, "last_seen": hi, "count": n})
        for a, k, v, r, rel, lo, hi, n in grouped.itertuples(index=False))
    seconds = time.perf_counter() - started
    rows = len(apps) + len(contacts)
    return {"seconds": seconds, "rows": rows, "links": graph.number_of_edges(),
            "nodes": graph.number_of_nodes(), "peak_mb": jobs.peak_mb()}


def run_job(*args: str) -> dict:
    return jobs.run_job(__file__, *args)


def main() -> None:
    args = jobs.parser(__doc__, 2_000_000).parse_args()
    if args.job:
        name, *rest = args.job
        result = {"generate": lambda: job_generate(int(rest[0]), Path(rest[1])),
                  "store": lambda: job_store(Path(rest[0]), Path(rest[1])),
                  "facts-first": lambda: job_store(Path(rest[0]), Path(rest[1]), facts_first=True),
                  "networkx": lambda: job_networkx(Path(rest[0]))}[name]()
        print(json.dumps(result))
        return
    workdir = Path(args.workdir)
    print(f"{'applicants':>10} {'job':<18} {'seconds':>8} {'rows/s':>9} {'links':>10} {'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        data = workdir / f"scenario-{size}"
        if data.exists():
            shutil.rmtree(data)
        gen = run_job("generate", str(size), str(data))
        rows = sum(gen["rows"].values())
        print(f"{size:>10} {'generate':<18} {gen['seconds']:>8.1f} {rows / gen['seconds']:>9.0f} "
              f"{'':>10} {gen['peak_mb']:>8.0f}", flush=True)
        db = workdir / f"store-{size}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        store = run_job("store", str(data), str(db))
        print(f"{size:>10} {'embedded store':<18} {store['seconds']:>8.1f} {store['rows'] / store['seconds']:>9.0f} "
              f"{store['links']:>10} {store['peak_mb']:>8.0f}", flush=True)
        first_db = workdir / f"store-{size}-facts-first.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{first_db}{suffix}").unlink(missing_ok=True)
        first = run_job("facts-first", str(data), str(first_db))
        print(f"{size:>10} {'facts first':<18} {first['seconds']:>8.1f} {first['rows'] / first['seconds']:>9.0f} "
              f"{first['links']:>10} {first['peak_mb']:>8.0f}   ({first['attached']} facts waited and were attached, "
              f"{first['still_pending']} still wait; "
              f"links {'the same' if first['links'] == store['links'] else 'DIFFER'})",
              flush=True)
        if size <= args.skip_networkx_above:
            nxr = run_job("networkx", str(data))
            print(f"{size:>10} {'networkx graph':<18} {nxr['seconds']:>8.1f} {nxr['rows'] / nxr['seconds']:>9.0f} "
                  f"{nxr['links']:>10} {nxr['peak_mb']:>8.0f}", flush=True)
            print(f"{size:>10} {'store / networkx':<18} {store['seconds'] / nxr['seconds']:>8.2f}x time, "
                  f"{store['peak_mb'] / nxr['peak_mb']:.2f}x memory (the store is durable, deduplicated, "
                  "validated with rejects; the graph is in memory only)", flush=True)


if __name__ == "__main__":
    main()
