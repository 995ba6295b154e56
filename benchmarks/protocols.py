"""The held-out protocols on data nobody here wrote, with their baselines, in one run.

* ``../shared/data/aws`` (AWS Fraud Detector sample registrations): a time split at
  the 70th percentile of the event time. The model is fitted on what was known at
  the cut; every later event is scored as score-on-write scored it (earlier events
  known, labels only as known at the cut). Baselines: the fraud share of earlier
  labelled events on the same IP, and the larger of the IP and e-mail shares.
* ``../shared/data/p2p`` (the real P2P payment-platform sample): 30% of the 241
  fraud flags hidden (seeds 1, 2, 3), the model fitted on the rest, every unflagged
  user ranked. Baseline: personalised PageRank from the known flags over the
  user-card, user-device and transfer graph, with no hub handling (networkx).

It also measures the model library: the scorecard (scikit-learn logistic
regression on binned features) against gradient-boosted trees
(``HistGradientBoostingClassifier``) on the very same feature tables.

Usage: ``python benchmarks/protocols.py [--aws DIR] [--p2p DIR]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from graphsvc.analytics import feature_table, features  # noqa: E402
from graphsvc.analytics.backtest import auc, backtest, holdout, precision_at  # noqa: E402
from graphsvc.analytics.linkage import link  # noqa: E402
from graphsvc.analytics.model import fit, training_set  # noqa: E402
from graphsvc.analytics.policy import Policy  # noqa: E402
from graphsvc.analytics.projection import Projection  # noqa: E402
from graphsvc.ingest.loader import load  # noqa: E402
from graphsvc.ingest.normalise import parse_as_of  # noqa: E402
from graphsvc.ingest.sources import read_mapping  # noqa: E402
from graphsvc.settings import Settings, use_settings  # noqa: E402
from graphsvc.store import open_store  # noqa: E402

AWS_CUT = "2022-11-17T12:25:06Z"
ROWS: list[dict] = []


def row(data: str, scorer: str, auc_: float | None, p100: float | None, seconds: float, note: str = "") -> None:
    ROWS.append({"data": data, "scorer": scorer, "auc": None if auc_ is None else round(auc_, 4),
                 "p_at_100": None if p100 is None else round(p100, 4), "seconds": round(seconds, 1), "note": note})
    print(f"{data:4} {scorer:52} AUC {ROWS[-1]['auc']!s:7} P@100 {ROWS[-1]['p_at_100']!s:6} "
          f"{ROWS[-1]['seconds']:7.1f} s  {note}", flush=True)


def aws(directory: Path, work: Path) -> None:
    frame = pd.read_csv(directory / "registration_data_20K_minimum.csv")
    frame["at"] = pd.to_datetime(frame["EVENT_TIMESTAMP"]).astype("datetime64[s, UTC]").astype("int64")
    frame["fraud"] = frame["EVENT_LABEL"] == "fraud"
    cut = parse_as_of(AWS_CUT)
    later = frame["at"] > cut
    label = frame.loc[later, "fraud"].to_numpy()
    started = time.perf_counter()
    shares = {}
    for column in ("ip_address", "email_address"):
        share = frame[~later].groupby(column)["fraud"].mean()
        shares[column] = frame.loc[later, column].map(share).fillna(0).to_numpy()
    row("aws", "baseline: fraud share of earlier events on the IP", auc(shares["ip_address"], label),
        precision_at(shares["ip_address"], label, 100), time.perf_counter() - started)
    both = np.maximum(shares["ip_address"], shares["email_address"])
    row("aws", "baseline: the larger of the IP and e-mail shares", auc(both, label), precision_at(both, label, 100),
        time.perf_counter() - started)

    with open_store(str(work / "aws.db")) as store:
        load(store, read_mapping(REPO / "loaders" / "aws.toml", directory))
        started = time.perf_counter()
        policy_figures = backtest(store, cut)["new"]
        row("aws", "graphsvc, hand-set policy, scored on write", policy_figures["auc"],
            policy_figures["precision_at_100"], time.perf_counter() - started, "6,000 later events")
        started = time.perf_counter()
        projection = Projection.from_store(store, cut)
        linked = link(projection, Policy(), store)
        model = fit(projection, Policy(), as_of=cut, store=store, linked=linked)
        fitted = time.perf_counter() - started
        figures = backtest(store, cut, model=model)["new"]
        row("aws", "graphsvc, fitted scorecard, scored on write", figures["auc"], figures["precision_at_100"],
            time.perf_counter() - started, f"fit {fitted:.1f} s, recall at review {figures['recall_at_review']}, "
                                           f"alert rate {figures['alert_rate']}")
        _libraries("aws", store, projection, linked, cut, model)


def _libraries(data: str, store, projection: Projection, linked, cut: int | None, model, hidden=None) -> None:
    """The scorecard against gradient-boosted trees on identical point-in-time tables."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    policy = Policy()
    train = training_set(projection, policy, as_of=cut, store=store, linked=linked, prior=model.prior)
    if data == "aws":  # later events: features at their own time, labels as of the cut
        full = Projection.from_store(store)
        arrays = full.arrays
        known = arrays.outcome_at <= cut
        full.fraud[:] = False
        full.fraud[arrays.outcome_applicant[known & (arrays.outcome == "fraud")]] = True
        new = np.flatnonzero(full.first_applied > cut)
        test = features.compute(full, policy, at=full.first_applied[new], positions=new, prior=model.prior,
                                store=store, linked=link(full, policy, store))
        fraud = set(store.outcome_events("fraud")["applicant_id"])
        label = np.isin(test.applicant_id, sorted(fraud))
    else:  # the label hold-out: every unflagged user, features as of now
        test = train.table
        label = np.isin(test.applicant_id, sorted(hidden))
        keep = ~train.label
        test = feature_table.Features(test.applicant_id[keep], {k: v[keep] for k, v in test.columns.items()},
                                      test.prior)
        label = label[keep]
    names = sorted(train.table.columns)
    x_train = np.column_stack([train.table[n] for n in names])
    x_test = np.column_stack([test[n] if n in test else np.zeros(len(test)) for n in names])
    started = time.perf_counter()
    p = model.probability(test)
    row(data, "  library: scorecard (logistic regression, batch path)", auc(p, label), precision_at(p, label, 100),
        time.perf_counter() - started)
    started = time.perf_counter()
    trees = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=7).fit(x_train, train.label)
    q = trees.predict_proba(x_test)[:, 1]
    row(data, "  library: gradient-boosted trees, same features", auc(q, label), precision_at(q, label, 100),
        time.perf_counter() - started, "not additive: no exact reason points")


def p2p(directory: Path, work: Path) -> None:
    import networkx as nx

    with open_store(str(work / "p2p.db")) as store:
        load(store, read_mapping(REPO / "loaders" / "p2p.toml", directory))
        fraud = sorted(set(store.outcome_events("fraud")["applicant_id"]))
        arrays = store.graph_arrays()
        graph = nx.Graph()
        graph.add_edges_from(zip((f"a{a}" for a in arrays.link_applicant), (f"i{i}" for i in arrays.link_identifier)))
        graph.add_edges_from(zip((f"a{a}" for a in arrays.relation_src[arrays.relation_type == "transfer"]),
                                 (f"a{a}" for a in arrays.relation_dst[arrays.relation_type == "transfer"])))
        position = {a: i for i, a in enumerate(arrays.applicants)}
        for scorer in ("ppr", "policy", "model"):
            aucs, p100s, started = [], [], time.perf_counter()
            for seed in (1, 2, 3):
                if scorer == "ppr":
                    rng = np.random.default_rng(seed)
                    hidden = set(rng.choice(np.array(fraud, dtype=object), size=round(0.3 * len(fraud)),
                                            replace=False))
                    seeds = {f"a{position[a]}": 1.0 for a in fraud if a not in hidden}
                    rank = nx.pagerank(graph, alpha=0.85, personalization=seeds)
                    users = [a for a in arrays.applicants if a not in set(fraud) - hidden]
                    value = np.array([rank.get(f"a{position[a]}", 0.0) for a in users])
                    label = np.isin(users, sorted(hidden))
                    aucs.append(auc(value, label))
                    p100s.append(precision_at(value, label, 100))
                else:
                    figures = holdout(store, 0.3, seed=seed, fit=scorer == "model")
                    aucs.append(figures["auc"])
                    p100s.append(figures["precision_at_100"])
            name = {"ppr": "baseline: personalised PageRank from known flags (networkx)",
                    "policy": "graphsvc, hand-set policy", "model": "graphsvc, fitted scorecard"}[scorer]
            row("p2p", name, float(np.mean(aucs)), float(np.mean(p100s)), time.perf_counter() - started,
                "mean of seeds 1-3: " + ", ".join(f"{a:.3f}" for a in aucs))
        rng = np.random.default_rng(1)
        hidden = set(rng.choice(np.array(fraud, dtype=object), size=round(0.3 * len(fraud)), replace=False))
        projection = Projection.from_store(store)
        projection.fraud[np.isin(projection.applicants, sorted(hidden))] = False
        linked = link(projection, Policy(), store)
        model = fit(projection, Policy(), as_of=None, seed=1, store=store, linked=linked)
        _libraries("p2p", store, projection, linked, None, model, hidden=hidden)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws", type=Path, default=Path(os.environ.get(
        "GRAPHSVC_AWS_DIR", REPO.parent / "shared" / "data" / "aws")))
    parser.add_argument("--p2p", type=Path, default=Path(os.environ.get(
        "GRAPHSVC_P2P_DIR", REPO.parent / "shared" / "data" / "p2p")))
    args = parser.parse_args()
    use_settings(Settings(hmac_key="benchmark-key-0123456789-abcdefghij"))
    with tempfile.TemporaryDirectory() as work:
        aws(args.aws, Path(work))
        p2p(args.p2p, Path(work))


if __name__ == "__main__":
    main()
