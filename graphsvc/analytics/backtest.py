"""Backtests: score with what was known at a date, judge with what came after.

:func:`backtest` runs the analysis as of ``as_of`` (links, applications and
outcomes known then; nothing is written) and evaluates its scores against
fraud outcomes observed later, among applicants known at ``as_of`` who were not
yet confirmed fraud. On generated data a truth file (``truth_applicants``)
also measures ring recovery and the false-flag rate among legitimate sharing
(families on a home IP or tablet, carrier NAT users).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from graphsvc.analytics.linkage import link
from graphsvc.analytics.model import fit as fit_model
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.analytics.rescore import Progress, analyse
from graphsvc.errors import InputError
from graphsvc.ingest import normalise
from graphsvc.store.base import Store
from graphsvc.store.rows import RunScore


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties averaged); None without both classes."""
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def precision_at(scores: np.ndarray, labels: np.ndarray, k: int) -> float | None:
    """Share of positives among the ``k`` highest scores (stable order on ties); None
    when there is nothing to find (no scores, or no positive among them)."""
    if not len(scores) or not np.asarray(labels, dtype=bool).any():
        return None
    top = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(np.asarray(labels, dtype=bool)[top].mean())


def calibration_table(probability: np.ndarray, labels: np.ndarray, bins: int = 10,
                      weights: np.ndarray | None = None) -> list[dict]:
    """Predicted against observed fraud rate per decile of the predictions (equal-count
    bins; ties kept together): ``{low, high, applicants, predicted, observed}``; rows
    count ``weights`` times (a case-control sample weighted back)."""
    probability, labels = np.asarray(probability, dtype=float), np.asarray(labels, dtype=bool)
    if not len(probability):
        return []
    weights = np.ones(len(probability)) if weights is None else np.asarray(weights, dtype=float)
    edges = np.unique(np.quantile(probability, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, max(len(edges) - 2, 0))
    out = []
    for b in np.unique(which):
        mine = which == b
        w = weights[mine]
        out.append({"low": round(float(probability[mine].min()), 6), "high": round(float(probability[mine].max()), 6),
                    "applicants": int(round(float(w.sum()))),
                    "predicted": round(float(np.average(probability[mine], weights=w)), 6),
                    "observed": round(float(np.average(labels[mine], weights=w)), 6)})
    return out


def adjusted_rand(first: np.ndarray, second: np.ndarray) -> float:
    """Adjusted Rand index of two labelings of the same items (Hubert and Arabie)."""
    pairs = lambda x: x * (x - 1) / 2  # noqa: E731
    table = pd.DataFrame({"a": first, "b": second}).value_counts().to_numpy(float)
    a = pd.Series(first).value_counts().to_numpy(float)
    b = pd.Series(second).value_counts().to_numpy(float)
    index, sum_a, sum_b = pairs(table).sum(), pairs(a).sum(), pairs(b).sum()
    expected = sum_a * sum_b / pairs(float(len(first))) if len(first) > 1 else 0.0
    top = (sum_a + sum_b) / 2
    return 1.0 if top == expected else float((index - expected) / (top - expected))


def ring_recovery(members: pd.DataFrame, scores: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Ring membership precision and recall, ARI over ring members, and false flags
    among legitimately sharing applicants (flagged: in a ring or in the high band)."""
    known = set(scores["applicant_id"])
    truth = truth[truth["applicant_id"].isin(known)]
    true_ring = truth.dropna(subset=["ring_id"]).set_index("applicant_id")["ring_id"]
    found = members.set_index("applicant_id")["ring_id"]
    hit = len(set(true_ring.index) & set(found.index))
    union = sorted(set(true_ring.index) | set(found.index))
    singletons = pd.Series([f"_{a}" for a in union], index=union)
    ari = adjusted_rand(true_ring.reindex(union).fillna(singletons).to_numpy(object),
                        found.reindex(union).fillna(singletons).to_numpy(object)) if union else None
    by_kind = {}
    if "ring_kind" in truth:
        kind_of = truth.dropna(subset=["ring_id"]).set_index("applicant_id")["ring_kind"]
        majority = (pd.DataFrame({"ring": found, "kind": kind_of.reindex(found.index).fillna("none").to_numpy()})
                    .groupby("ring")["kind"].agg(lambda k: k.value_counts().index[0]))
        found_kind = majority.reindex(found.to_numpy()).to_numpy(object)
        for kind in sorted(kind_of.unique()):
            members = set(kind_of.index[kind_of == kind])
            mine = found.index[found_kind == kind]
            by_kind[kind] = {"members": len(members),
                             "recall": round(len(members & set(found.index)) / len(members), 4),
                             "precision": round(float(np.isin(mine, sorted(members)).mean()), 4) if len(mine)
                             else None}
    legit = truth[truth["ring_id"].isna() & (truth["shares_home_ip"] | truth["shares_tablet"] | truth["nat_user"])]
    by_id = scores.set_index("applicant_id")
    flagged = by_id["ring_id"].notna() | by_id["band"].eq("high")
    legit_flagged = flagged.reindex(legit["applicant_id"]).fillna(False).astype(bool)
    return {
        "ring_members_true": len(true_ring), "ring_members_found": len(found),
        "ring_precision": round(hit / len(found), 4) if len(found) else None,
        "ring_recall": round(hit / len(true_ring), 4) if len(true_ring) else None,
        "adjusted_rand": None if ari is None else round(ari, 4),
        "legitimate_sharing": len(legit), "legitimate_flagged": int(legit_flagged.sum()),
        "false_flag_rate": round(float(legit_flagged.mean()), 4) if len(legit) else None,
        "by_ring_kind": by_kind,
    }


def judge(score: np.ndarray, label: np.ndarray, alerted: np.ndarray, k: int,
          probability: np.ndarray | None = None) -> dict:
    """AUC, precision at k, recall at the review band, alert rate and a calibration
    table (of ``probability``, default ``score / 1000``) of scores against labels."""
    label, alerted = np.asarray(label, dtype=bool), np.asarray(alerted, dtype=bool)
    return {
        "applicants": len(label), "fraud": int(label.sum()),
        "auc": None if (a := auc(score, label)) is None else round(a, 4),
        f"precision_at_{k}": None if (p := precision_at(score, label, k)) is None else round(p, 4),
        "recall_at_review": round(float(alerted[label].mean()), 4) if label.any() else None,
        "alert_rate": round(float(alerted.mean()), 4) if len(alerted) else None,
        "calibration": calibration_table(np.asarray(score, dtype=float) / 1000 if probability is None
                                         else probability, label),
    }


def holdout(store: Store, share: float = 0.3, *, seed: int = 7, policy: Policy | None = None, k: int = 100,
            fit: bool = False, progress: Progress | None = None) -> dict:
    """Hide a random ``share`` of the confirmed-fraud applicants, score without
    their labels, and measure how well the scores find them again among every
    applicant not labelled fraud (for data without dates, such as P2P). With
    ``fit``, a scorecard is fitted on the labels left (:mod:`graphsvc.analytics.model`) and
    scores with it."""
    if not 0 < share < 1:
        raise InputError("the held-out share must be between 0 and 1")
    fraud = sorted(set(store.outcome_events("fraud")["applicant_id"]))
    rng = np.random.default_rng(seed)
    hidden = set(rng.choice(np.array(fraud, dtype=object), size=max(1, round(share * len(fraud))), replace=False))
    policy = policy or Policy()
    fitted = None
    projection = Projection.from_store(store, consent=policy.consent)
    if fit:
        projection.fraud[np.isin(projection.applicants, sorted(hidden))] = False
        fitted = fit_model(projection, policy, as_of=None, seed=seed, store=store,
                           linked=link(projection, policy, store))
    result = analyse(store, seed=seed, policy=policy, progress=progress, hidden=hidden, model=fitted,
                     projection=projection)
    scores = result.scores[~result.scores["applicant_id"].isin(set(fraud) - hidden)]
    label = scores["applicant_id"].isin(hidden).to_numpy()
    figures = judge(scores["score"].to_numpy(), label, scores["band"].isin(["review", "high"]).to_numpy(), k)
    return {"held_out": len(hidden), "labelled": len(fraud) - len(hidden), "applicants_scored": len(scores),
            "seed": seed, "scorer": fitted.model_id if fitted else f"policy {policy.version}",
            **{key: v for key, v in figures.items() if key not in ("applicants", "fraud")},
            "timings": result.timings}


def backtest(store: Store, as_of: int, *, seed: int = 7, policy: Policy | None = None, k: int = 100,
             truth: Path | None = None, model=None, new_applications: bool = True, limit: int | None = None,
             progress: Progress | None = None) -> dict:
    """Score as of ``as_of`` and evaluate against fraud observed after it.

    ``known``: applicants known at ``as_of`` and not yet confirmed fraud, scored
    by the run as of that date. ``new`` (with ``new_applications``): applicants
    whose first application came later, each scored as score-on-write scored it
    at its own application time (:func:`graphsvc.online.scoring.score_as_of`: earlier
    applications known, later ones not; outcomes only as known at ``as_of``;
    the run as of ``as_of`` as its basis), at most ``limit`` of them, the
    earliest first. With ``model``, both are scored by it.
    """
    policy = policy or Policy()
    result = analyse(store, as_of=as_of, seed=seed, policy=policy, progress=progress, model=model)
    scores = result.scores
    fraud_events = store.outcome_events("fraud")
    fraud_later = set(fraud_events.loc[fraud_events["observed_at"] > as_of, "applicant_id"])
    already = set(result.projection.applicants[result.projection.fraud])
    judged = scores[~scores["applicant_id"].isin(already)]
    label = judged["applicant_id"].isin(fraud_later).to_numpy()
    known = judge(judged["score"].to_numpy(), label, judged["band"].isin(["review", "high"]).to_numpy(), k)
    out = {
        "as_of": normalise.format_timestamp(as_of), "seed": seed, "policy_version": result.policy.version,
        "model_id": model.model_id if model is not None else None,
        "applicants_scored": len(judged), "fraud_after": int(label.sum()),
        **{key: v for key, v in known.items() if key not in ("applicants", "fraud", "calibration")},
        "rings": len(result.rings), "timings": result.timings, "known": known,
    }
    if truth is not None:
        out.update(ring_recovery(result.ring_members, scores, pd.read_parquet(truth) if str(truth).endswith(
            ".parquet") else pd.read_csv(truth)))
    if new_applications:
        out["new"] = _new_applications(store, result, as_of, set(fraud_events["applicant_id"]), k, limit, progress)
    return out


def _new_applications(store: Store, result, as_of: int, fraud: set[str], k: int, limit: int | None,
                      progress: Progress | None) -> dict:
    """Applicants first applying after ``as_of``, scored as on write at their own time."""
    from graphsvc.online.scoring import Basis, score_as_of

    arrays = Projection.from_store(store).arrays
    first = np.full(len(arrays.applicants), np.inf)
    np.minimum.at(first, arrays.application_applicant, arrays.application_at.astype(float))
    new = np.flatnonzero(np.isfinite(first) & (first > as_of))
    new = new[np.argsort(first[new], kind="stable")][:limit]
    basis = Basis("backtest", result.policy, result.seed, result.prior, result.model)
    lookup = _run_lookup(result)
    answers = []
    started = time.perf_counter()
    for done, i in enumerate(new, start=1):
        answer = score_as_of(store, str(arrays.applicants[i]), int(first[i]), basis=basis, run_scores=lookup,
                             labels_until=as_of)
        answers.append((answer["score"], answer["band"]))
        if progress and (done % 100 == 0 or done == len(new)):
            progress("new applications", done, len(new))
    score = np.array([a[0] for a in answers], dtype=float)
    band = np.array([a[1] for a in answers], dtype=object)
    label = np.isin(arrays.applicants[new], sorted(fraud))
    figures = judge(score, label, np.isin(band, ["review", "high"]), k)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return figures


def _run_lookup(result):
    """``Store.latest_scores``' answer, from an analysis that was not written."""
    rings = {r.ring_id: (float(r.risk), int(r.size)) for r in result.rings.itertuples(index=False)}
    rows = {r.applicant_id: RunScore(int(r.score), r.band, r.ring_id, r.reasons, *rings.get(r.ring_id, (None, None)))
            for r in result.scores.itertuples(index=False)}
    return lambda ids: {a: rows[a] for a in ids if a in rows}
