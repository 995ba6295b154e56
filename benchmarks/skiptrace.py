"""Skip-trace benchmark: hit rates and latency on generated lost-contact borrowers.

For each size, on ``bench-data/store-N.db`` and its scenario's truth
(``benchmarks/load.py`` makes both):
  1. graphsvc: ``graphsvc.people.skiptrace.evaluate`` over every lost-contact borrower
     (hit@1, hit@3, MRR, coverage per route) and the latency of each skip-trace;
  2. the networkx way (sizes up to ``--skip-networkx-above``): the links table
     read into an ``nx.Graph`` once, then the same evidence gathered by walking
     it (co-holders of the borrower's device and identity, phones listed under
     the borrower's name by those who list the borrower, own and declared
     phones), ranked by the same confidence table.

    python benchmarks/skiptrace.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _percentiles(seconds: list[float]) -> str:
    p50, p95, p99 = np.percentile(np.array(seconds) * 1000, [50, 95, 99])
    return f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms"


def graphsvc_way(db: Path, truth: pd.DataFrame) -> None:
    from graphsvc.people.skiptrace import calibration_table, evaluate, skiptrace
    from graphsvc.store import open_store

    with open_store(str(db), readonly=True) as store:
        started = time.perf_counter()
        proposed: list = []
        figures = evaluate(store, truth, calibration=proposed)
        took = time.perf_counter() - started
        seconds = []
        for applicant in truth["applicant_id"]:
            t = time.perf_counter()
            skiptrace(store, applicant)
            seconds.append(time.perf_counter() - t)
    print(figures.to_string(index=False))
    print("calibration (the candidates' stated confidence against how often each was the new phone):")
    print(calibration_table(proposed).to_string(index=False))
    print(f"graphsvc: {len(truth)} borrowers in {took:.1f} s; one skip-trace {_percentiles(seconds)}")


def networkx_way(db: Path, truth: pd.DataFrame) -> None:
    import networkx as nx

    from graphsvc.ingest import normalise
    from graphsvc.people.skiptrace import EVIDENCE
    from graphsvc.store.embedded import sql

    started = time.perf_counter()
    con = sql.connect(db, readonly=True)
    links = sql.frame(con, "SELECT a.key AS applicant, i.kind, i.value, l.role, l.relation, l.first_seen, l.name "
                      "FROM links l JOIN applicants a ON a.id = l.applicant JOIN identifiers i ON i.id = l.identifier")
    lost = dict(con.execute("SELECT a.key, max(o.observed_at) FROM outcomes o JOIN applicants a "
                            "ON a.id = o.applicant WHERE o.outcome = 'lost_contact' GROUP BY a.key").fetchall())
    graph = nx.MultiGraph()
    graph.add_edges_from((a, f"{k}:{v}", {"role": r, "relation": rel, "seen": s, "name": n})
                         for a, k, v, r, rel, s, n in links.itertuples(index=False))
    built = time.perf_counter() - started

    def trace(borrower: str) -> list[str]:
        at = lost.get(borrower)
        scores: dict[str, float] = {}

        def offer(phone: str, kind: str, seen) -> None:
            _, after, before = EVIDENCE[kind]
            score = after if (at is None or (seen is not None and seen > at)) else before
            scores[phone] = max(scores.get(phone, 0), score)

        own_phones = set()
        for node, data in graph[borrower].items():
            for edge in data.values():
                kind, value = node.split(":", 1)
                if kind == "phone" and edge["role"] == "own":
                    own_phones.add(node)
                    offer(value, "own_phone", edge["seen"])
                elif kind == "phone":
                    offer(value, "declared_contact", edge["seen"])
        names = set()
        for phone in own_phones:
            for other, data in graph[phone].items():
                for edge in data.values():
                    if other != borrower and edge["role"] == "contact" and edge["name"]:
                        names.add(edge["name"])
                        for node, more in graph[other].items():
                            for e in more.values():
                                if e["role"] == "contact" and e["name"] in names and node not in own_phones:
                                    offer(node.split(":", 1)[1], "named_by_contact", e["seen"])
        for node in graph[borrower]:
            kind = node.split(":", 1)[0]
            if kind in ("device", "id_number") and graph.degree(node) <= 50:
                for other in graph[node]:
                    if other == borrower:
                        continue
                    for phone, data in graph[other].items():
                        for e in data.values():
                            if phone.startswith("phone:") and e["role"] == "own" and phone not in own_phones:
                                offer(phone[6:], "same_device" if kind == "device" else "same_identity", e["seen"])
        return [p for p, _ in sorted(scores.items(), key=lambda item: -item[1])][:10]

    news = normalise.phones(truth["new_phone"].astype(str)).to_numpy(object)
    seconds, hits = [], []
    for borrower, new, route in zip(truth["applicant_id"], news, truth["route"]):
        t = time.perf_counter()
        ranked = trace(borrower)
        seconds.append(time.perf_counter() - t)
        hits.append((route, new in ranked[:3]))
    frame = pd.DataFrame(hits, columns=["route", "hit_at_3"])
    reachable = frame[frame["route"] != "unreachable"]["hit_at_3"].mean()
    print(f"networkx: graph built in {built:.1f} s; hit@3 over reachable {reachable:.4f}; "
          f"one skip-trace {_percentiles(seconds)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--workdir", default=str(HERE.parent / "bench-data"))
    parser.add_argument("--skip-networkx-above", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000, help="borrowers per size (random, fixed seed)")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        workdir = Path(args.workdir)
        db = workdir / f"store-{size}.db"
        truth = pd.read_parquet(workdir / f"scenario-{size}" / "truth_lost_contact.parquet")
        truth = truth.sample(n=min(args.sample, len(truth)), random_state=0).reset_index(drop=True)
        print(f"== {size:,} applicants, {len(truth):,} lost-contact borrowers (sampled)")
        graphsvc_way(db, truth)
        if size <= args.skip_networkx_above:
            networkx_way(db, truth)


if __name__ == "__main__":
    main()
