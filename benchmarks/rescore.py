"""Re-score benchmark: graphsvc's batch job vs the networkx way, on generated data.

For each size, in separate processes (so peak memory is per job):
  1. make sure a loaded store exists (generates and loads it when missing,
     reusing ``bench-data/store-N.db`` from ``benchmarks/load.py``),
  2. ``graphsvc.analytics.rescore.rescore``: the whole job, written as a run; then ``fit`` (a
     scorecard on the outcomes known at 2025-06-30) and the re-score with it,
  3. the networkx way of the same graph work: read the links table with pandas,
     build an ``nx.Graph`` of applicants and identifiers, project it onto
     applicants with the same weights (hub caps, rarity, burst of shared contact
     numbers, contact listing and common contacts), connected components over
     strong links, Louvain (``nx.community.louvain_communities``) inside large
     components, the two personalised PageRanks, the hubs table, evidence (the
     strongest linked confirmed fraud, shortest paths to the nearest fraud and
     default) and a scores table written back to SQLite.
     Both partitions go through the same ring features and risk filter (graphsvc's
     code, timed in both jobs), so ring quality compares the graph work alone.

Prints wall time, peak memory (max RSS) and, against the truth file, ring-member
precision and recall, adjusted Rand index and the false-flag rate among
legitimately sharing applicants.

With ``--population skewed`` the scenario is random skewed sharing without rings
(``graphsvc generate --population skewed --ring-share 0``: a few devices, phones
and IPs with thousands of holders, most with tens): the time cliff of unbounded
community detection, where every ring found is a false one.

    python benchmarks/rescore.py                    # 100k with networkx, 1M without
    python benchmarks/rescore.py --sizes 100000
    python benchmarks/rescore.py --sizes 100000 --population skewed
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import jobs

KEY = "benchmark-key-0123456789-abcdefghijkl"


def _quality(members, scores, data: Path) -> dict:
    import pandas as pd

    from graphsvc.analytics.backtest import ring_recovery

    figures = ring_recovery(members, scores, pd.read_parquet(data / "truth_applicants.parquet"))
    return {**{k: figures[k] for k in ("ring_precision", "ring_recall", "adjusted_rand", "false_flag_rate")},
            "ring_members": figures["ring_members_found"]}


def _figure(value, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.4f}"


def job_prepare(size: int, data: Path, db: Path, population: str = "households") -> dict:
    from graphsvc.ingest.loader import load
    from graphsvc.ingest.sources import canonical_sources
    from graphsvc.scenarios import TABLE_FILES, Scenario, generate
    from graphsvc.settings import Settings
    from graphsvc.store import open_store

    if not (data / "truth.json").exists():
        generate(Scenario(size, seed=1, population=population, ring_share=0.0 if population == "skewed" else 0.02),
                 data)
    with open_store(str(db)) as store:
        load(store, canonical_sources({t: data / f"{t}.parquet" for t in TABLE_FILES}),
             settings=Settings(hmac_key=KEY))
    return {}


FIT_AS_OF = "2025-06-30"


def job_fit(data: Path, db: Path) -> dict:
    """``graphsvc fit``: read the store as of a date, link, features at each applicant's
    own first application, the scorecard, written next to the store."""
    import graphsvc
    from graphsvc.settings import Settings

    started = time.perf_counter()
    with graphsvc.open(db, readonly=True, settings=Settings(hmac_key=KEY)) as service:
        model = service.fit(FIT_AS_OF)
    seconds = time.perf_counter() - started
    model.save(db.with_suffix(".model.json"))
    return {"seconds": seconds, "peak_mb": jobs.peak_mb(), "auc": model.metrics["cross_fitted_auc"],
            "positives": model.metrics["positives"], "rows": model.metrics["rows"]}


def job_graphsvc(data: Path, db: Path, with_model: str = "") -> dict:
    from graphsvc.analytics.model import Model
    from graphsvc.analytics.rescore import rescore
    from graphsvc.store import open_store

    model = Model.load(db.with_suffix(".model.json")) if with_model else None
    started = time.perf_counter()
    with open_store(str(db)) as store:
        run = rescore(store, model=model)
        seconds = time.perf_counter() - started
        members = store.run_table(run["run_id"], "ring_members")
        scores = store.run_table(run["run_id"], "scores")
    return {"seconds": seconds, "peak_mb": jobs.peak_mb(), "timings": run["timings"], "rings": run["counts"]["rings"],
            **_quality(members, scores, data)}


def job_networkx(data: Path, db: Path) -> dict:
    import sqlite3

    import networkx as nx
    import numpy as np
    import pandas as pd

    from graphsvc.analytics.policy import Policy
    from graphsvc.analytics.projection import Projection
    from graphsvc.analytics.rings import features, relabel, risk
    from graphsvc.ingest import normalise
    from graphsvc.store import open_store
    from graphsvc.store.embedded import sql

    policy = Policy()
    started = time.perf_counter()
    con = sql.connect(db, readonly=True)
    links = sql.frame(con, "SELECT a.key AS applicant, i.kind, i.value, l.role, l.first_seen FROM links l "
                      "JOIN applicants a ON a.id = l.applicant JOIN identifiers i ON i.id = l.identifier")
    outcomes = sql.frame(con, "SELECT a.key AS applicant, o.outcome FROM outcomes o "
                         "JOIN applicants a ON a.id = o.applicant")
    bipartite = nx.Graph()
    own = links[links["role"] == "own"]
    bipartite.add_edges_from(zip(own["applicant"], own["kind"] + ":" + own["value"]))
    weights: dict[tuple[str, str], float] = {}

    def add(a: str, b: str, w: float) -> None:
        key = (a, b) if a < b else (b, a)
        weights[key] = weights.get(key, 0.0) + w

    for node in [n for n in bipartite if ":" in n]:
        holders = list(bipartite[node])
        rule = policy.rule(node.split(":", 1)[0])
        if 2 <= len(holders) <= rule.hub:
            w = rule.weight * min(1.0, policy.rarity_reference / len(holders)) ** 0.5
            for a, b in itertools.combinations(holders, 2):
                add(a, b, w)
    # one listing per applicant and number (a number listed under two relations is two links)
    listed = links[links["role"] == "contact"].groupby(["applicant", "value"], as_index=False)["first_seen"].min()
    owners = {n: list(bipartite[n]) for n in bipartite if n.startswith("phone:")}
    by_phone = listed.groupby("value")
    rule = policy.shared_contact
    for phone, rows in by_phone:
        node = f"phone:{phone}"
        if node in owners:
            if len(owners[node]) <= policy.rule("phone").hub:
                for a in rows["applicant"]:
                    for b in owners[node]:
                        if a != b:
                            add(a, b, policy.contact_link)
        elif 2 <= len(rows) <= rule.hub and not normalise.is_service_number(phone):
            spread = rows["first_seen"].max() - rows["first_seen"].min()
            burst = min(1.0, policy.velocity_window_days * 86_400 / max(spread, policy.velocity_window_days * 86_400))
            w = rule.weight * min(1.0, policy.rarity_reference / len(rows)) ** 0.5 * burst
            for a, b in itertools.combinations(sorted(set(rows["applicant"])), 2):
                add(a, b, w)
    listing = nx.Graph()
    for phone, rows in by_phone:
        for a in rows["applicant"]:
            for b in owners.get(f"phone:{phone}", []):
                if a != b:
                    listing.add_edge(a, b)
    for a, b in listing.edges():
        add(a, b, policy.contact_common * min(3, len(list(nx.common_neighbors(listing, a, b)))))
    graph = nx.Graph()
    graph.add_nodes_from(links["applicant"].unique())
    graph.add_weighted_edges_from((a, b, w) for (a, b), w in weights.items() if w > 0)
    strong = nx.Graph((a, b) for a, b, w in graph.edges(data="weight") if w >= policy.strong_link)
    groups = []
    for component in nx.connected_components(strong):
        if len(component) > policy.refine_above:
            groups += nx.community.louvain_communities(strong.subgraph(component), seed=7)
        else:
            groups.append(component)
    fraud = set(outcomes.loc[outcomes["outcome"] == "fraud", "applicant"])
    default = set(outcomes.loc[outcomes["outcome"] == "default", "applicant"])
    ppr_fraud = nx.pagerank(graph, alpha=1 - policy.restart, personalization={a: 1 for a in fraud}, weight="weight")
    ppr_default = nx.pagerank(graph, alpha=1 - policy.restart, personalization={a: 1 for a in default},
                              weight="weight")
    # hubs: identifiers above their kind's cap, with the fraud among their holders
    hubs = [(node, len(bipartite[node]), sum(a in fraud for a in bipartite[node])) for node in bipartite
            if ":" in node and len(bipartite[node]) > policy.rule(node.split(":", 1)[0]).hub]
    # evidence: the strongest linked confirmed fraud, shortest paths to the nearest seeds
    strongest = {a: max(((w, b) for b, w in ((b, d["weight"]) for b, d in graph[a].items()) if b in fraud),
                        default=None) for a in graph}
    to_fraud = nx.multi_source_dijkstra_path(graph, fraud & set(graph), weight=None) if fraud else {}
    to_default = nx.multi_source_dijkstra_path(graph, default & set(graph), weight=None) if default else {}
    # the same ring features and risk filter as graphsvc
    with open_store(str(db), readonly=True) as store:
        projection = Projection.from_store(store)
    position = {a: i for i, a in enumerate(projection.applicants)}
    label = np.full(len(position), -1)
    for number, group in enumerate(g for g in groups if len(g) >= policy.min_ring_size):
        label[[position[a] for a in group]] = number
    label = relabel(label)

    class _Linkage:  # features only read the graph's shape
        pass

    linked = _Linkage()
    linked.graph = nx.to_scipy_sparse_array(graph, nodelist=list(projection.applicants), format="csr")
    table = features(label, projection, linked, policy)
    keep = risk(table) >= policy.min_ring_risk
    label = relabel(label, keep)
    # one score row per applicant written back
    n = graph.number_of_nodes()
    rows = [(a, ppr_fraud[a] * n, ppr_default[a] * n, json.dumps({
        "fraud_path": to_fraud.get(a, [])[::-1][:7], "default_path": to_default.get(a, [])[::-1][:7],
        "strongest_fraud": strongest[a][1] if strongest[a] else None})) for a in graph]
    out = sqlite3.connect(db.with_suffix(".networkx.db"))
    out.execute("DROP TABLE IF EXISTS scores")
    pd.DataFrame(rows, columns=["applicant_id", "fraud_lift", "default_lift", "evidence"]).to_sql(
        "scores", out, index=False)
    out.commit()
    out.close()
    seconds = time.perf_counter() - started
    members = pd.DataFrame({"ring_id": label[label >= 0], "applicant_id": projection.applicants[label >= 0]})
    scores = pd.DataFrame({"applicant_id": projection.applicants, "band": "low",
                           "ring_id": np.where(label >= 0, label, None)})
    return {"seconds": seconds, "peak_mb": jobs.peak_mb(), "rings": int(keep.sum()), "hubs": len(hubs),
            **_quality(members, scores, data)}


def run_job(*args: str) -> dict:
    return jobs.run_job(__file__, *args)


def main() -> None:
    parser = jobs.parser(__doc__, 100_000)
    parser.add_argument("--population", choices=("households", "skewed"), default="households")
    args = parser.parse_args()
    skewed = args.population == "skewed"
    if args.job:
        name, *rest = args.job
        result = {"prepare": lambda: job_prepare(int(rest[0]), Path(rest[1]), Path(rest[2]), rest[3]),
                  "graphsvc": lambda: job_graphsvc(Path(rest[0]), Path(rest[1])),
                  "fit": lambda: job_fit(Path(rest[0]), Path(rest[1])),
                  "model": lambda: job_graphsvc(Path(rest[0]), Path(rest[1]), with_model="yes"),
                  "networkx": lambda: job_networkx(Path(rest[0]), Path(rest[1]))}[name]()
        print(json.dumps(result))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'applicants':>10} {'job':<10} {'seconds':>8} {'peak MB':>8} {'rings':>6} {'precision':>9} "
          f"{'recall':>7} {'ARI':>6} {'false flags':>11} {'in rings':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        name = f"skewed-{size}" if skewed else str(size)
        data, db = workdir / f"scenario-{name}", workdir / f"store-{name}.db"
        if not db.exists() or not (data / "truth.json").exists():
            run_job("prepare", str(size), str(data), str(db), args.population)
        ways = ["graphsvc"] + ([] if skewed else ["fit", "model"]) + (
            ["networkx"] if size <= args.skip_networkx_above else [])
        results = {}
        for job in ways:
            r = results[job] = run_job(job, str(data), str(db))
            if job == "fit":
                print(f"{size:>10} {job:<10} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f}   (as of {FIT_AS_OF}: "
                      f"{r['positives']:,} fraud labels, {r['rows']:,} rows sampled, cross-fitted AUC {r['auc']})",
                      flush=True)
                continue
            print(f"{size:>10} {job:<10} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} {r['rings']:>6} "
                  f"{_figure(r['ring_precision'], 9)} {_figure(r['ring_recall'], 7)} {_figure(r['adjusted_rand'], 6)} "
                  f"{_figure(r['false_flag_rate'], 11)} {r['ring_members']:>8}", flush=True)
        print(f"{size:>10} graphsvc stages (s): {results['graphsvc']['timings']}")
        if "model" in results:
            print(f"{size:>10} with the model / without: "
                  f"{results['model']['seconds'] / results['graphsvc']['seconds']:.2f}x "
                  f"time; stages (s): {results['model']['timings']}")
        if "networkx" in results:
            ratio = results['networkx']['seconds'] / results['graphsvc']['seconds']
            print(f"{size:>10} networkx / graphsvc: {ratio:.1f}x time", flush=True)


if __name__ == "__main__":
    main()
