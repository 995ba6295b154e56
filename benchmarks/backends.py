"""Neo4j with GDS against the embedded store, on the same generated data, in one run.

For each backend, in its own process (so the peak memory is the job's own):
  1. load every application but the last ``--new`` (by application time), with
     their contacts and the outcomes, through the loader;
  2. re-score the whole graph (on Neo4j: the links read from the database, WCC,
     Leiden and personalised PageRank on GDS, the run written back);
  3. score-on-write the ``--new`` later applications, in time order, through the
     code path of ``POST /v1/applications/score`` (in process, no HTTP).
Then the two stores are compared (:mod:`graphsvc.analytics.parity`: counts, hubs, rings,
scores, reasons, explanations, skip-traces).

Prints wall time per step, score-on-write latency percentiles, peak memory of
the graphsvc process and of the Neo4j server (the JVM's peak resident set, read
from /proc), and the differences found. Starts its own throw-away server
(tools/neo4j) unless ``GRAPHSVC_NEO4J_URI`` is set; the database is emptied first.

    python benchmarks/backends.py                      # 100,000 applicants, 500 new
    python benchmarks/backends.py --size 20000 --new 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jobs

KEY = "benchmark-key-0123456789-abcdefghijkl"
ROOT = jobs.HERE.parent


def _split(data: Path, new: int, out: Path) -> Path:
    """The scenario without its last ``new`` applications (and their applicants' later contacts)."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    apps = pd.read_parquet(data / "applications.parquet").sort_values(["applied_at", "application_id"])
    later = apps.tail(new)
    apps.drop(later.index).to_parquet(out / "applications.parquet", index=False)
    later.to_parquet(out / "later.parquet", index=False)
    contacts = pd.read_parquet(data / "contacts.parquet")
    keys = contacts.set_index(["applicant_id", "recorded_at"]).index
    moved = keys.isin(list(zip(later["applicant_id"], later["applied_at"])))
    contacts[~moved].to_parquet(out / "contacts.parquet", index=False)
    contacts[moved].to_parquet(out / "later_contacts.parquet", index=False)
    pd.read_parquet(data / "outcomes.parquet").to_parquet(out / "outcomes.parquet", index=False)
    return out


def job(backend: str, split: str) -> dict:
    """One backend's load, re-score and score-on-write; figures as a dict."""
    import numpy as np
    import pandas as pd

    import graphsvc
    from graphsvc.ingest.loader import load
    from graphsvc.ingest.sources import canonical_sources
    from graphsvc.online.intake import prepare_application, store_application
    from graphsvc.online.scoring import score_neighbourhood
    from graphsvc.settings import Settings, use_settings
    from graphsvc.store import open_store

    folder = Path(split)
    db = folder / "graph.db"
    if backend == "embedded":
        settings = Settings(hmac_key=KEY)
        db.unlink(missing_ok=True)
    else:
        settings = Settings(hmac_key=KEY, backend="neo4j")
        _empty(settings)
    use_settings(settings)
    figures: dict = {"backend": backend}
    started = time.perf_counter()
    with open_store(str(db), settings=settings) as store:
        load(store, canonical_sources({t: folder / f"{t}.parquet" for t in ("applications", "contacts", "outcomes")}))
    figures["load_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with graphsvc.open(db, settings=settings) as service:
        run = service.rescore(seed=1)
    figures["rescore_s"] = round(time.perf_counter() - started, 1)
    figures["rings"] = run["counts"]["rings"]
    later = pd.read_parquet(folder / "later.parquet")
    contacts = pd.read_parquet(folder / "later_contacts.parquet")
    listed = {key: [{k: v for k, v in c.items() if isinstance(v, str) and v}
                    for c in group.drop(columns=["applicant_id"]).to_dict("records")]
              for key, group in contacts.groupby("applicant_id")}
    fields = ("application_id", "applicant_id", "applied_at", "phone", "device_id", "ip", "id_number")
    latencies, flagged = [], 0
    with open_store(str(db), settings=settings) as store:
        for record in later.to_dict("records"):
            application = {k: record[k] for k in fields if isinstance(record.get(k), str) and record[k]}
            began = time.perf_counter()
            prepared = prepare_application(application, listed.get(record["applicant_id"], []), settings)
            store_application(store, prepared)
            answer = score_neighbourhood(store, prepared)
            latencies.append((time.perf_counter() - began) * 1000)
            flagged += answer["band"] in ("review", "high")
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    figures |= {"written": len(latencies), "flagged": flagged, "sow_p50_ms": round(p50, 1),
                "sow_p95_ms": round(p95, 1), "sow_p99_ms": round(p99, 1), "peak_mb": round(jobs.peak_mb())}
    return figures


def _empty(settings) -> None:
    import neo4j

    password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else ""
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, password),
                                    notifications_min_severity="OFF") as driver:
        with driver.session(database=settings.neo4j_database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _jvm_peak_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=500, help="later applications scored on write")
    parser.add_argument("--workdir", default=str(ROOT / "bench-data"))
    parser.add_argument("--job", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(job(*args.job)))
        return

    sys.path.insert(0, str(ROOT / "tools" / "neo4j"))
    import server

    from graphsvc.scenarios import Scenario, generate

    data = Path(args.workdir) / f"gen-{args.size}"
    if not (data / "applications.parquet").exists():
        generate(Scenario(args.size, seed=1), data)
    split = _split(data, args.new, Path(args.workdir) / f"neo4j-{args.size}")
    pid = None
    if not os.environ.get("GRAPHSVC_NEO4J_URI"):
        pid, uri = server.start(0)
        os.environ.update(GRAPHSVC_NEO4J_URI=uri, GRAPHSVC_NEO4J_PASSWORD="unused")
    try:
        rows = [jobs.run_job(__file__, backend, str(split)) for backend in ("embedded", "neo4j")]
        rows[1]["server_peak_mb"] = _jvm_peak_mb(pid)
        differences = _compare(split)
    finally:
        if pid is not None:
            server.stop()
    print(f"{args.size:,} generated applicants, {args.new} later applications scored on write")
    columns = ["backend", "load_s", "rescore_s", "rings", "written", "flagged", "sow_p50_ms", "sow_p95_ms",
               "sow_p99_ms", "peak_mb", "server_peak_mb"]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row.get(c, "")) for c in columns))
    ratio = {k: round(rows[1][k] / rows[0][k], 1) for k in ("load_s", "rescore_s", "sow_p50_ms") if rows[0][k]}
    print(f"neo4j / embedded: {ratio}")
    print(f"parity: {differences}")


def _compare(split: Path) -> str:
    import graphsvc
    from graphsvc.analytics.parity import compare
    from graphsvc.settings import Settings

    with graphsvc.open(split / "graph.db", settings=Settings(hmac_key=KEY)) as embedded, \
            graphsvc.open(settings=Settings(hmac_key=KEY, backend="neo4j")) as neo4j:
        parity = compare(embedded, neo4j)
    if parity.same:
        return f"identical ({', '.join(f'{k} {v}' for k, v in parity.checked.items())})"
    return f"{len(parity.differences)} differences: " + "; ".join(parity.differences[:10])


if __name__ == "__main__":
    main()
