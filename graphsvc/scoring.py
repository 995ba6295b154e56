"""Applicant scores (0-1000) with a band and reason codes that carry evidence.

Each reason is a probability-like strength ``p`` in [0, 1] shown as
``points = round(1000 p)``; the score combines them as a noisy OR,
``1000 (1 - prod(1 - p))``, so reasons add up without passing 1000 and the
strongest one dominates. The catalogue (``docs/scoring.md``):

=====================  =====  ===================================================
code                   p max  evidence
=====================  =====  ===================================================
CONFIRMED_FRAUD        0.95   the applicant's own fraud outcome
RING_MEMBER            0.85   ring id, ring risk and size (p = 0.85 x risk)
SHARES_WITH_FRAUD      0.60   the confirmed-fraud applicant and what is shared
FRAUD_PROXIMITY        0.50   path of applicants to the nearest confirmed fraud
                              (p from the lift of personalised PageRank mass)
HUB_IDENTIFIER         0.30   the hub identifier held and its number of holders
DEFAULT_PROXIMITY      0.25   path of applicants to the nearest default
=====================  =====  ===================================================
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd
from scipy import sparse


class ReasonCode(StrEnum):
    """Why an applicant scored: each code is documented in ``docs/scoring.md``."""

    CONFIRMED_FRAUD = "CONFIRMED_FRAUD"
    RING_MEMBER = "RING_MEMBER"
    SHARES_WITH_FRAUD = "SHARES_WITH_FRAUD"
    FRAUD_PROXIMITY = "FRAUD_PROXIMITY"
    HUB_IDENTIFIER = "HUB_IDENTIFIER"
    DEFAULT_PROXIMITY = "DEFAULT_PROXIMITY"


STRENGTH = {
    ReasonCode.CONFIRMED_FRAUD: 0.95,
    ReasonCode.RING_MEMBER: 0.85,
    ReasonCode.SHARES_WITH_FRAUD: 0.60,
    ReasonCode.FRAUD_PROXIMITY: 0.50,
    ReasonCode.HUB_IDENTIFIER: 0.30,
    ReasonCode.DEFAULT_PROXIMITY: 0.25,
}
#: reasons weaker than this are not reported (and do not count): a faint trace of
#: propagated risk three hops away is not a reason a person should read
MIN_POINTS = 50


def combine(strengths: dict[ReasonCode, np.ndarray]) -> np.ndarray:
    """Noisy-OR of reason strengths as an integer score 0-1000."""
    keep = 1.0
    for p in strengths.values():
        p = np.where(np.round(p * 1000) >= MIN_POINTS, p, 0.0)
        keep = keep * (1 - p)
    return np.rint(1000 * (1 - keep)).astype(np.int64)


def saturate(excess: np.ndarray, scale: float) -> np.ndarray:
    """Map a non-negative excess (of propagated risk over the average) to [0, 1):
    ``1 - exp(-excess / scale)``."""
    return 1 - np.exp(-np.asarray(excess, dtype=float) / scale)


def strongest_neighbour(graph: sparse.csr_matrix, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each applicant, its strongest directly linked applicant among ``targets``
    and the link weight (-1 and 0 where there is none)."""
    n = graph.shape[0]
    to_targets = (graph @ sparse.diags(targets.astype(np.float32))).tocsr()
    to_targets.eliminate_zeros()
    best = np.full(n, -1, dtype=np.int64)
    weight = np.zeros(n)
    rows = np.flatnonzero(np.diff(to_targets.indptr))
    if len(rows):
        coo = to_targets.tocoo()
        frame = pd.DataFrame({"row": coo.row, "col": coo.col, "w": coo.data})
        top = frame.sort_values(["row", "w", "col"], ascending=[True, False, True]).drop_duplicates("row")
        best[top["row"].to_numpy()] = top["col"].to_numpy()
        weight[top["row"].to_numpy()] = top["w"].to_numpy()
    return best, weight
