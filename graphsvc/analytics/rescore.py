"""The batch re-score job: project, link, find rings, propagate, score, write.

:func:`analyse` runs the stages in memory (a backtest uses it as of a past
date); :func:`rescore` also writes the run: an id, the policy and its version,
the seed, per-stage timings and counts, and the scores, rings, ring members and
hubs tables, in one store transaction.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from graphsvc.analytics import features, propagation, reasons, rings, serving
from graphsvc.analytics import linkage as linkage_
from graphsvc.analytics.feature_table import Features
from graphsvc.analytics.model import Model
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.analytics.scoring import MIN_POINTS, STRENGTH, STRUCTURAL, VELOCITY_CODES, ReasonCode, combine, saturate
from graphsvc.background import PARALLEL_ROWS, ahead
from graphsvc.store.base import Store

STAGES = ("read", "link", "rings", "propagate", "features", "score", "write")
Progress = Callable[[str, int, int], None]


@dataclass
class Analysis:
    """Everything one run computed, before it is written."""

    as_of: int | None
    seed: int
    policy: Policy
    projection: Projection
    scores: pd.DataFrame  # applicant_id, score, band, ring_id, reasons (JSON text or None)
    rings: pd.DataFrame  # ring_id, size, risk, fraud, default, features (dict)
    ring_members: pd.DataFrame  # ring_id, applicant_id
    hubs: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)
    prior: tuple[float, float] = (0.0, 0.0)  # base fraud and default rates the features' shares smooth toward
    model: Model | None = None

    @property
    def counts(self) -> dict[str, int]:
        bands = self.scores["band"].value_counts()
        return {"applicants": len(self.scores),
                "not_scored": int(len(self.projection.applicants) - len(self.scores)),  # nothing known at as_of
                "rings": len(self.rings),
                "ring_members": len(self.ring_members), "hubs": len(self.hubs),
                **{f"band_{b}": int(bands.get(b, 0)) for b in ("low", "review", "high")}}


def _previous_rings(store: Store) -> dict[str, set[str]]:
    latest = store.served_run()
    if latest is None:
        return {}
    members = store.run_table(latest["run_id"], "ring_members")
    return {ring: set(group) for ring, group in members.groupby("ring_id")["applicant_id"]}


def analyse(store: Store, *, as_of: int | None = None, seed: int = 7, policy: Policy | None = None,
            progress: Progress | None = None, hidden: set[str] | None = None, model: Model | None = None,
            projection: Projection | None = None) -> Analysis:
    """Run every stage in memory and return the results (nothing is written).

    ``hidden`` applicants' fraud outcomes are ignored (a hold-out backtest). With
    ``model`` (:mod:`graphsvc.analytics.model`) scores are its probability with the
    structural reasons. ``projection`` saves the read when one is in hand.
    """
    policy = policy or Policy()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def done(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now
        if progress:
            progress(stage, STAGES.index(stage) + 1, len(STAGES))

    if projection is None:
        projection = Projection.from_store(store, as_of, policy.consent)
    if hidden:
        projection.fraud[np.isin(projection.applicants, sorted(hidden))] = False
    done("read")
    # the feature table needs no linkage (but its linked_* columns): on a large graph it
    # is computed on the second core while this one links, finds rings and propagates
    projection.service_numbers(store)  # the one part that reads the store, done before the fork
    prior = model.prior if model is not None else None
    pending = ahead(lambda: iter([features.compute(projection, policy, prior=prior)]),
                    parallel=int(projection.known.sum()) >= PARALLEL_ROWS)
    linked = linkage_.link(projection, policy, store)
    done("link")
    algorithms = store.algorithms()
    label = rings.communities(linked.strong(policy.strong_link), policy, seed, algorithms)
    label[~projection.known] = -1
    label = rings.prune(label, linked, policy)
    label = rings.relabel(label, min_size=policy.min_ring_size)
    ring_features = rings.features(label, projection, linked, policy)
    ring_risk = rings.risk(ring_features) if len(ring_features) else np.zeros(0)
    keep = ring_risk >= policy.min_ring_risk
    label = rings.relabel(label, keep)
    ring_features, ring_risk = ring_features[keep].reset_index(drop=True), ring_risk[keep]
    groups = rings.members(label)
    ring_ids = np.array(rings.stable_ids(groups, _previous_rings(store), projection.applicants,
                                         policy.ring_match), dtype=object)
    done("rings")
    fraud_mass = algorithms.pagerank(linked.graph, projection.fraud, policy.restart)
    default_mass = algorithms.pagerank(linked.graph, projection.default, policy.restart)
    to_fraud = propagation.nearest_flagged_paths(linked.graph, projection.fraud)
    to_default = propagation.nearest_flagged_paths(linked.graph, projection.default)
    done("propagate")
    table = next(pending)
    for _ in pending:  # the child's end
        pass
    features.add_linked(table, projection, linked, policy)
    done("features")
    scores = _score(projection, linked, policy, store, label, ring_ids, ring_risk,
                    fraud_mass * projection.known.sum(), default_mass * projection.known.sum(),
                    to_fraud, to_default, table, model)
    done("score")
    ring_table = ring_features.assign(ring_id=ring_ids, risk=ring_risk)
    ring_table["features"] = [{k: (None if v != v else v) for k, v in record.items()}  # NaN: no evidence
                              for record in ring_features.drop(columns=["size", "fraud", "default"]).to_dict("records")]
    ring_table = ring_table.sort_values(["risk", "size", "ring_id"], ascending=[False, False, True],
                                        ignore_index=True)
    members = pd.DataFrame({"ring_id": ring_ids[label[label >= 0]], "applicant_id": projection.applicants[label >= 0]})
    return Analysis(as_of, seed, policy, projection, scores,
                    ring_table[["ring_id", "size", "risk", "fraud", "default", "features"]],
                    members.sort_values(["ring_id", "applicant_id"], ignore_index=True),
                    linked.hubs.drop(columns=["identifier"]), timings, table.prior, model)


def _score(projection: Projection, linked, policy: Policy, store: Store, label, ring_ids, ring_risk,
           fraud_mass, default_mass, to_fraud, to_default, table: Features,
           model: Model | None = None) -> pd.DataFrame:
    """Scores of the applicants in ``table`` (every known applicant, in position order):
    the hand-set policy's reasons, or with ``model`` its probability and the structural reasons."""
    positions = np.flatnonzero(projection.known)
    fraud, default = projection.fraud[positions], projection.default[positions]
    in_ring = label[positions] >= 0
    risk_of = np.where(in_ring, ring_risk[np.maximum(label[positions], 0)] if len(ring_risk) else 0.0, 0.0)
    found = reasons.local(projection, linked, policy, positions, table)
    strength = dict(found.strength)
    strength[ReasonCode.RING_MEMBER] = STRENGTH[ReasonCode.RING_MEMBER] * risk_of
    strength[ReasonCode.FRAUD_PROXIMITY] = np.where(fraud, 0.0, STRENGTH[ReasonCode.FRAUD_PROXIMITY] * saturate(
        np.maximum(fraud_mass[positions] - 1, 0), policy.proximity_scale))
    strength[ReasonCode.DEFAULT_PROXIMITY] = np.where(default, 0.0, STRENGTH[ReasonCode.DEFAULT_PROXIMITY] * saturate(
        np.maximum(default_mass[positions] - 1, 0), policy.default_proximity_scale))
    points = {code: np.rint(1000 * p).astype(np.int64) for code, p in strength.items()}
    if model is not None:
        probability, family_points = reasons.scorecard(model, table)
        strength = {code: strength[code] for code in STRUCTURAL if code in strength}
        score = combine(strength, model_probability=probability)
        points = {**{code: points[code] for code in strength}, **family_points}
    else:
        score = combine(strength)
    codes = [c for c in ReasonCode if c in points]

    shown = np.column_stack([points[c] >= MIN_POINTS for c in codes]) if codes else np.zeros((len(score), 0), bool)
    scored = np.flatnonzero(shown.any(axis=1)).tolist()  # only those with a reason to show get evidence
    reported = {i: [codes[k] for k in np.flatnonzero(shown[i])] for i in scored}
    fast = [i for i in scored if any(c in VELOCITY_CODES.values() for c in reported[i])]
    rows, row_of = None, {i: r for r, i in enumerate(fast)}
    if fast:  # the links behind velocity reasons, for the few who have one
        rows = features.compute(projection, policy, positions=positions[fast], store=store, prior=table.prior,
                                linked=linked, keep_rows=True).rows
    local_codes = {i: [c for c in reported[i] if c in reasons.LOCAL] for i in scored}
    involved = reasons.involved(found, scored, local_codes, projection, linked, policy, rows, row_of)
    named = projection.values(involved, store)
    names = dict(zip(named["identifier"].tolist(), zip(named["kind"].tolist(), named["value"].tolist())))
    applicants = projection.applicants
    text: list[str | None] = [None] * len(positions)
    cards = reasons.scorecard_evidence(model, table, scored) if model is not None else [{}] * len(scored)
    for i, card in zip(scored, cards):
        items = []
        for code in reported[i]:
            if code in card:
                evidence = card[code]
            elif code in reasons.LOCAL:
                evidence = reasons.evidence(found, i, code, projection, linked, policy, rows, row_of.get(i, -1), names)
            elif code is ReasonCode.RING_MEMBER:
                evidence = {"ring_id": ring_ids[label[positions[i]]], "ring_risk": round(float(risk_of[i]), 4)}
            else:
                toward = to_fraud if code is ReasonCode.FRAUD_PROXIMITY else to_default
                evidence = {"path": applicants[propagation.path_to_flagged(toward, int(positions[i]))].tolist()}
            items.append({"code": str(code), "points": int(points[code][i]), "evidence": evidence})
        items.sort(key=lambda r: -r["points"])
        text[i] = json.dumps(items, ensure_ascii=False)
    ring_column = np.where(in_ring, ring_ids[np.maximum(label[positions], 0)] if len(ring_ids) else None, None)
    return pd.DataFrame({
        "applicant_id": applicants[positions], "score": score,
        "band": np.select([score >= policy.bands.high, score >= policy.bands.review], ["high", "review"],
                          "low").astype(object),
        "ring_id": ring_column, "reasons": np.asarray(text, dtype=object),
    })


def new_run_id() -> str:
    return f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def rescore(store: Store, *, as_of: int | None = None, seed: int = 7, policy: Policy | None = None,
            model: Model | None = None, progress: Progress | None = None, promote: bool = False) -> dict:
    """Run the analysis and write it as a new versioned run with its serving decision
    (:mod:`graphsvc.analytics.serving`: promoted when it covers the store, else held unless
    ``promote``); returns the run record (with the model, when one scores the run, in
    its parameters, and ``decision`` and ``reason``)."""
    result = analyse(store, as_of=as_of, seed=seed, policy=policy, progress=progress, model=model)
    run = {
        "run_id": new_run_id(), "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "as_of": as_of, "seed": seed,
        "params": {"policy": result.policy.model_dump(mode="json"), "policy_version": result.policy.version,
                   "prior": list(result.prior), "model_id": model.model_id if model else None,
                   "kinds": list(result.projection.arrays.kinds),  # the evidence the source carries
                   **({"model": model.to_dict()} if model else {})},
        "timings": result.timings, "counts": result.counts,
    }
    rings_table = result.rings.assign(features=[json.dumps(f, sort_keys=True) for f in result.rings["features"]])
    log = serving.entries(store, run, requested=promote)
    store.save_run(run, {"scores": result.scores, "rings": rings_table, "ring_members": result.ring_members,
                         "hubs": result.hubs}, log)
    run["decision"], run["reason"] = log[-1]["action"], log[-1]["reason"]
    if progress:
        progress("write", len(STAGES), len(STAGES))
    return run
