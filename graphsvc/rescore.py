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

from graphsvc import linkage as linkage_
from graphsvc import normalise, propagation, rings
from graphsvc.policy import Policy
from graphsvc.projection import Projection
from graphsvc.scoring import (
    MIN_POINTS,
    STRENGTH,
    ReasonCode,
    combine,
    saturate,
    strongest_neighbour,
)
from graphsvc.store.base import Store

STAGES = ("read", "link", "rings", "propagate", "score", "write")
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

    @property
    def counts(self) -> dict[str, int]:
        bands = self.scores["band"].value_counts()
        return {"applicants": len(self.scores), "rings": len(self.rings),
                "ring_members": len(self.ring_members), "hubs": len(self.hubs),
                **{f"band_{b}": int(bands.get(b, 0)) for b in ("low", "review", "high")}}


def parse_as_of(text: str | None, timezone: str = "UTC") -> int | None:
    """ISO date or timestamp as epoch seconds; a bare date means its end (23:59:59)."""
    if text is None:
        return None
    value = normalise.timestamps(pd.Series([text]), timezone).iloc[0]
    if value is None or value != value:
        raise ValueError(f"--as-of {text!r} is not an ISO 8601 date or timestamp")
    return int(value) + (86_399 if len(text.strip()) == 10 else 0)


def _previous_rings(store: Store) -> dict[str, set[str]]:
    latest = store.latest_run()
    if latest is None:
        return {}
    members = store.run_table(latest["run_id"], "ring_members")
    return {ring: set(group) for ring, group in members.groupby("ring_id")["applicant_id"]}


def analyse(store: Store, *, as_of: int | None = None, seed: int = 7, policy: Policy | None = None,
            progress: Progress | None = None, hidden: set[str] | None = None) -> Analysis:
    """Run every stage in memory and return the results (nothing is written).

    ``hidden`` applicants' fraud outcomes are ignored (a hold-out backtest).
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

    projection = Projection.from_store(store, as_of)
    if hidden:
        projection.fraud[np.isin(projection.applicants, sorted(hidden))] = False
    done("read")
    linked = linkage_.link(projection, policy, store)
    done("link")
    algorithms = store.algorithms()
    label = rings.communities(linked.strong(policy.strong_link), policy, seed, algorithms)
    label[~projection.known] = -1
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
    to_fraud = propagation.nearest_seed_paths(linked.graph, projection.fraud)
    to_default = propagation.nearest_seed_paths(linked.graph, projection.default)
    done("propagate")
    scores = _score(projection, linked, policy, store, label, ring_ids, ring_risk,
                    fraud_mass * projection.known.sum(), default_mass * projection.known.sum(),
                    to_fraud, to_default)
    done("score")
    ring_table = ring_features.assign(ring_id=ring_ids, risk=ring_risk)
    ring_table["features"] = ring_features.drop(columns=["size", "fraud", "default"]).to_dict("records")
    ring_table = ring_table.sort_values(["risk", "size", "ring_id"], ascending=[False, False, True],
                                        ignore_index=True)
    members = pd.DataFrame({"ring_id": ring_ids[label[label >= 0]], "applicant_id": projection.applicants[label >= 0]})
    return Analysis(as_of, seed, policy, projection, scores,
                    ring_table[["ring_id", "size", "risk", "fraud", "default", "features"]],
                    members.sort_values(["ring_id", "applicant_id"], ignore_index=True),
                    linked.hubs.drop(columns=["identifier"]), timings)


def _score(projection: Projection, linked, policy: Policy, store: Store, label, ring_ids, ring_risk,
           fraud_mass, default_mass, to_fraud, to_default) -> pd.DataFrame:
    n = len(projection.applicants)
    fraud, default = projection.fraud, projection.default
    in_ring = label >= 0
    risk_of = np.zeros(n)
    risk_of[in_ring] = ring_risk[label[in_ring]]
    best, best_weight = strongest_neighbour(linked.graph, fraud)
    best[fraud] = -1
    kinds = projection.arrays.kinds
    risky_kind = np.array([policy.rule(k).hub_is_risk for k in kinds] or [False])
    hub_ids = linked.hubs.loc[linked.hubs["role"] == "own", "identifier"].to_numpy()
    risky_hubs = hub_ids[risky_kind[projection.arrays.identifier_kind[hub_ids]]] if len(hub_ids) else hub_ids
    hub_mask = np.zeros(projection.own.shape[1], dtype=np.float32)
    hub_mask[risky_hubs] = 1
    holds_hub = (projection.own @ hub_mask) > 0
    strength = {
        ReasonCode.CONFIRMED_FRAUD: np.where(fraud, STRENGTH[ReasonCode.CONFIRMED_FRAUD], 0.0),
        ReasonCode.RING_MEMBER: STRENGTH[ReasonCode.RING_MEMBER] * risk_of,
        ReasonCode.SHARES_WITH_FRAUD: np.where(best >= 0, STRENGTH[ReasonCode.SHARES_WITH_FRAUD]
                                               * np.minimum(best_weight, 1.0), 0.0),
        ReasonCode.FRAUD_PROXIMITY: np.where(fraud, 0.0, STRENGTH[ReasonCode.FRAUD_PROXIMITY]
                                             * saturate(np.maximum(fraud_mass - 1, 0), policy.proximity_scale)),
        ReasonCode.HUB_IDENTIFIER: np.where(holds_hub, STRENGTH[ReasonCode.HUB_IDENTIFIER], 0.0),
        ReasonCode.DEFAULT_PROXIMITY: np.where(default, 0.0, STRENGTH[ReasonCode.DEFAULT_PROXIMITY]
                                               * saturate(np.maximum(default_mass - 1, 0),
                                                          policy.default_proximity_scale)),
    }
    for code in strength:
        strength[code] = np.where(projection.known, strength[code], 0.0)
    score = combine(strength)
    points = {code: np.rint(1000 * p).astype(np.int64) for code, p in strength.items()}

    # evidence for the applicants with at least one reason
    scored = np.flatnonzero(score > 0)
    pairs = [(i, int(best[i])) for i in scored if points[ReasonCode.SHARES_WITH_FRAUD][i] >= MIN_POINTS]
    shared = _shared_evidence(projection, linked, pairs)
    hub_of = {}
    if len(risky_hubs):
        rows = projection.own[:, risky_hubs].tocoo()
        hub_of = dict(zip(rows.row.tolist(), risky_hubs[rows.col].tolist()))
    involved = np.array(sorted({i for ids in shared.values() for i in ids[0] + ids[1]} | set(hub_of.values())),
                        dtype=np.int64)
    named = projection.values(involved, store)
    kind_of = dict(zip(named["identifier"].tolist(), named["kind"].tolist()))
    value_of = dict(zip(named["identifier"].tolist(), named["value"].tolist()))
    holders = projection.holders()
    applicants = projection.applicants
    reasons: list[str | None] = [None] * n
    codes = list(ReasonCode)
    reported = {code: points[code] >= MIN_POINTS for code in codes}
    for i in scored.tolist():
        items = []
        for code in codes:
            if not reported[code][i]:
                continue
            p = int(points[code][i])
            if p < MIN_POINTS:
                continue
            if code is ReasonCode.CONFIRMED_FRAUD:
                evidence = {"outcome": "fraud"}
            elif code is ReasonCode.RING_MEMBER:
                evidence = {"ring_id": ring_ids[label[i]], "ring_risk": round(float(risk_of[i]), 4)}
            elif code is ReasonCode.SHARES_WITH_FRAUD:
                identifiers, contacts, listed = shared[i]
                evidence = {"applicant_id": applicants[best[i]],
                            "shared": [{"kind": kind_of[j], "value": value_of[j]} for j in identifiers],
                            "shared_contacts": [value_of[j] for j in contacts],
                            "contact_listing": listed}
            elif code is ReasonCode.HUB_IDENTIFIER:
                j = hub_of[i]
                evidence = {"kind": kind_of[j], "value": value_of[j], "holders": int(holders[j])}
            else:
                toward = to_fraud if code is ReasonCode.FRAUD_PROXIMITY else to_default
                evidence = {"path": applicants[propagation.path_to_seed(toward, i)].tolist()}
            items.append({"code": str(code), "points": p, "evidence": evidence})
        items.sort(key=lambda r: -r["points"])
        reasons[i] = json.dumps(items, ensure_ascii=False)
    known = projection.known
    ring_column = np.where(in_ring, ring_ids[np.maximum(label, 0)] if len(ring_ids) else None, None)
    return pd.DataFrame({
        "applicant_id": applicants[known], "score": score[known],
        "band": np.select([score[known] >= policy.bands.high, score[known] >= policy.bands.review],
                          ["high", "review"], "low").astype(object),
        "ring_id": ring_column[known], "reasons": np.asarray(reasons, dtype=object)[known],
    })


def _shared_evidence(projection: Projection, linked,
                     pairs: list[tuple[int, int]]) -> dict[int, tuple[list[int], list[int], bool]]:
    """What links each (applicant, other) pair: shared linking identifiers, shared
    contact numbers, and whether one lists the other's phone."""
    own, contact = projection.own, projection.contact
    weight = linked.own_weight
    out = {}
    for i, j in pairs:
        mine = set(own.indices[own.indptr[i]:own.indptr[i + 1]].tolist())
        theirs = own.indices[own.indptr[j]:own.indptr[j + 1]]
        common = sorted(k for k in theirs.tolist() if k in mine and weight[k] > 0)
        listed_mine = set(contact.indices[contact.indptr[i]:contact.indptr[i + 1]].tolist())
        listed_theirs = set(contact.indices[contact.indptr[j]:contact.indptr[j + 1]].tolist())
        common_contacts = sorted(k for k in listed_mine & listed_theirs if linked.contact_weight[k] > 0)
        listing = bool(listed_mine & set(theirs.tolist())) or bool(listed_theirs & mine)
        out[i] = (common, common_contacts, listing)
    return out


def new_run_id() -> str:
    return f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def rescore(store: Store, *, as_of: int | None = None, seed: int = 7, policy: Policy | None = None,
            progress: Progress | None = None) -> dict:
    """Run the analysis and write it as a new versioned run; returns the run record."""
    result = analyse(store, as_of=as_of, seed=seed, policy=policy, progress=progress)
    run = {
        "run_id": new_run_id(), "created_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "as_of": as_of, "seed": seed,
        "params": {"policy": result.policy.model_dump(mode="json"), "policy_version": result.policy.version},
        "timings": result.timings, "counts": result.counts,
    }
    rings_table = result.rings.assign(features=[json.dumps(f, sort_keys=True) for f in result.rings["features"]])
    store.save_run(run, {"scores": result.scores, "rings": rings_table, "ring_members": result.ring_members,
                         "hubs": result.hubs})
    if progress:
        progress("write", len(STAGES), len(STAGES))
    return run
