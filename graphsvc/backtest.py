"""Backtests: score with what was known at a date, judge with what came after.

:func:`backtest` runs the analysis as of ``as_of`` (links, applications and
outcomes known then; nothing is written) and evaluates its scores against
fraud outcomes observed later, among applicants known at ``as_of`` who were not
yet confirmed fraud. On generated data a truth file (``truth_applicants``)
also measures ring recovery and the false-flag rate among legitimate sharing
(families on a home IP or tablet, carrier NAT users).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from graphsvc.policy import Policy
from graphsvc.rescore import Progress, analyse
from graphsvc.store.base import Store


def auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, ties averaged); None without both classes."""
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if not positives or not negatives:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def precision_at(scores: np.ndarray, labels: np.ndarray, k: int) -> float | None:
    """Share of positives among the ``k`` highest scores (stable order on ties)."""
    if not len(scores):
        return None
    top = np.argsort(-np.asarray(scores), kind="stable")[:k]
    return float(np.asarray(labels, dtype=bool)[top].mean())


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
    }


def holdout(store: Store, share: float = 0.3, *, seed: int = 7, policy: Policy | None = None, k: int = 100,
            progress: Progress | None = None) -> dict:
    """Hide a random ``share`` of the confirmed-fraud applicants, score without
    their labels, and measure how well the scores find them again among every
    applicant not labelled fraud (for data without dates, such as P2P)."""
    if not 0 < share < 1:
        raise ValueError("the held-out share must be between 0 and 1")
    fraud = sorted(set(store.outcome_events("fraud")["applicant_id"]))
    rng = np.random.default_rng(seed)
    hidden = set(rng.choice(np.array(fraud, dtype=object), size=max(1, round(share * len(fraud))), replace=False))
    result = analyse(store, seed=seed, policy=policy, progress=progress, hidden=hidden)
    scores = result.scores[~result.scores["applicant_id"].isin(set(fraud) - hidden)]
    label = scores["applicant_id"].isin(hidden).to_numpy()
    value = scores["score"].to_numpy()
    alerted = scores["band"].isin(["review", "high"]).to_numpy()
    return {
        "held_out": len(hidden), "labelled": len(fraud) - len(hidden), "applicants_scored": len(scores),
        "auc": None if (a := auc(value, label)) is None else round(a, 4),
        f"precision_at_{k}": None if (p := precision_at(value, label, k)) is None else round(p, 4),
        "recall_at_review": round(float(alerted[label].mean()), 4) if label.any() else None,
        "alert_rate": round(float(alerted.mean()), 4), "seed": seed, "timings": result.timings,
    }


def backtest(store: Store, as_of: int, *, seed: int = 7, policy: Policy | None = None, k: int = 100,
             truth: Path | None = None, progress: Progress | None = None) -> dict:
    """Score as of ``as_of`` and evaluate against fraud observed after it."""
    result = analyse(store, as_of=as_of, seed=seed, policy=policy, progress=progress)
    scores = result.scores
    fraud_later = store.outcome_events("fraud")
    fraud_later = set(fraud_later.loc[fraud_later["observed_at"] > as_of, "applicant_id"])
    already = set(result.projection.applicants[result.projection.fraud])
    judged = scores[~scores["applicant_id"].isin(already)]
    label = judged["applicant_id"].isin(fraud_later).to_numpy()
    value = judged["score"].to_numpy()
    alerted = judged["band"].isin(["review", "high"]).to_numpy()
    out = {
        "as_of": as_of, "seed": seed, "policy_version": result.policy.version,
        "applicants_scored": len(judged), "fraud_after": int(label.sum()),
        "auc": None if (a := auc(value, label)) is None else round(a, 4),
        f"precision_at_{k}": None if (p := precision_at(value, label, k)) is None else round(p, 4),
        "recall_at_review": round(float(alerted[label].mean()), 4) if label.any() else None,
        "alert_rate": round(float(alerted.mean()), 4) if len(alerted) else None,
        "rings": len(result.rings), "timings": result.timings,
    }
    if truth is not None:
        out.update(ring_recovery(result.ring_members, scores, pd.read_parquet(truth) if str(truth).endswith(
            ".parquet") else pd.read_csv(truth)))
    return out
