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
EMERGING_RING          0.85   online only: the group the application joins or
                              closes, its members and features (p = 0.85 x risk)
SHARES_WITH_FRAUD      0.60   the confirmed-fraud applicant and what is shared
*_VELOCITY             0.60   per family (device, network, identity, contact, group):
                              the identifier others used lately, with their counts,
                              or the strongly linked applicants who applied lately
FRAUD_PROXIMITY        0.50   path of applicants to the nearest confirmed fraud
                              (p from the lift of personalised PageRank mass)
HUB_IDENTIFIER         0.30   the hub identifier held and its number of holders
SHARED_INVALID_VALUE   0.30   an invalid phone, IP or identity number the applicant
                              typed as a few others did (its kind and holders; the
                              value masked or withheld as its kind's is)
DEFAULT_PROXIMITY      0.25   path of applicants to the nearest default
SCORECARD_*            1.00   with a fitted model: per feature family (device,
                              network, identity, contact, group, relations,
                              history), what the family adds to the model's fraud
                              probability, with each feature's value and log-odds
=====================  =====  ===================================================

With a fitted model (:mod:`graphsvc.analytics.model`) the score is the noisy OR of the
model's calibrated probability and the structural reasons it does not learn
(:data:`STRUCTURAL`); the hand-set local and proximity reasons give way to the
model's families.

Velocity strengths come from the policy (:class:`~graphsvc.analytics.policy.VelocityRule`);
the table gives the defaults' largest.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from scipy import sparse


class ReasonCode(StrEnum):
    """Why an applicant scored: each code is documented in ``docs/scoring.md``."""

    CONFIRMED_FRAUD = "CONFIRMED_FRAUD"
    RING_MEMBER = "RING_MEMBER"
    EMERGING_RING = "EMERGING_RING"
    SHARES_WITH_FRAUD = "SHARES_WITH_FRAUD"
    DEVICE_VELOCITY = "DEVICE_VELOCITY"
    NETWORK_VELOCITY = "NETWORK_VELOCITY"
    IDENTITY_VELOCITY = "IDENTITY_VELOCITY"
    CONTACT_VELOCITY = "CONTACT_VELOCITY"
    GROUP_VELOCITY = "GROUP_VELOCITY"
    FRAUD_PROXIMITY = "FRAUD_PROXIMITY"
    HUB_IDENTIFIER = "HUB_IDENTIFIER"
    SHARED_INVALID_VALUE = "SHARED_INVALID_VALUE"
    DEFAULT_PROXIMITY = "DEFAULT_PROXIMITY"
    # a fitted scorecard's reasons, one per feature family (graphsvc.analytics.model)
    SCORECARD_DEVICE = "SCORECARD_DEVICE"
    SCORECARD_NETWORK = "SCORECARD_NETWORK"
    SCORECARD_IDENTITY = "SCORECARD_IDENTITY"
    SCORECARD_CONTACT = "SCORECARD_CONTACT"
    SCORECARD_GROUP = "SCORECARD_GROUP"
    SCORECARD_RELATIONS = "SCORECARD_RELATIONS"
    SCORECARD_HISTORY = "SCORECARD_HISTORY"


#: the velocity reason of each policy family
VELOCITY_CODES = {"device": ReasonCode.DEVICE_VELOCITY, "network": ReasonCode.NETWORK_VELOCITY,
                  "identity": ReasonCode.IDENTITY_VELOCITY, "contact": ReasonCode.CONTACT_VELOCITY,
                  "group": ReasonCode.GROUP_VELOCITY}

STRENGTH = {
    ReasonCode.CONFIRMED_FRAUD: 0.95,
    ReasonCode.RING_MEMBER: 0.85,
    ReasonCode.EMERGING_RING: 0.85,
    ReasonCode.SHARES_WITH_FRAUD: 0.60,
    ReasonCode.DEVICE_VELOCITY: 0.60,
    ReasonCode.NETWORK_VELOCITY: 0.60,
    ReasonCode.IDENTITY_VELOCITY: 0.60,
    ReasonCode.CONTACT_VELOCITY: 0.60,
    ReasonCode.GROUP_VELOCITY: 0.45,
    ReasonCode.FRAUD_PROXIMITY: 0.50,
    ReasonCode.HUB_IDENTIFIER: 0.30,
    ReasonCode.SHARED_INVALID_VALUE: 0.30,
    ReasonCode.DEFAULT_PROXIMITY: 0.25,
    **{code: 1.0 for code in ReasonCode if code.startswith("SCORECARD_")},
}
#: with a fitted model, the reasons it does not replace: the applicant's own confirmed
#: fraud, and ring structure, which no feature carries (a direct link to fraud is in the
#: features already: counting it again over-flagged 27% of the AWS sample's new events)
STRUCTURAL = (ReasonCode.CONFIRMED_FRAUD, ReasonCode.RING_MEMBER, ReasonCode.EMERGING_RING)
#: reasons weaker than this are not reported (and do not count): a faint trace of
#: propagated risk three hops away is not a reason a person should read
MIN_POINTS = 50


def combine(strengths: dict[ReasonCode, np.ndarray], model_probability=None) -> np.ndarray:
    """Noisy-OR of reason strengths as an integer score 0-1000; reasons under
    :data:`MIN_POINTS` do not count. A fitted model's probability counts whole."""
    keep = 1.0 if model_probability is None else 1 - np.asarray(model_probability, dtype=float)
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
    and the link weight (-1 and 0 where there is none); ties go to the lower position."""
    n = graph.shape[0]
    best = np.full(n, -1, dtype=np.int64)
    weight = np.zeros(n)
    keep = np.flatnonzero(targets[graph.indices] & (graph.data > 0))  # links to a target: few
    if len(keep):
        row = np.searchsorted(graph.indptr, keep, side="right") - 1
        col, w = graph.indices[keep], graph.data[keep]
        order = np.lexsort((col, -w, row))
        first = order[np.r_[True, row[order][1:] != row[order][:-1]]]
        best[row[first]], weight[row[first]] = col[first], w[first]
    return best, weight

def velocity_prefixes(policy, kinds: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Feature prefixes of each velocity family. A declared kind (e-mail, card ...)
    counts only where the policy names it: how often its values are shared is the
    lender's knowledge, not ours (e-mails are reused in bulk in some sources)."""
    return {family: rule.prefixes for family, rule in policy.velocity.items()}


def velocity(table, policy, kinds: tuple[str, ...]) -> dict[ReasonCode, tuple[np.ndarray, np.ndarray]]:
    """Velocity strength of every row of a feature table (:class:`~graphsvc.analytics.feature_table.Features`),
    per family's code, with the index of the family's prefix that gave it (for the evidence)."""
    out = {}
    for family, prefixes in velocity_prefixes(policy, kinds).items():
        rule = policy.velocity[family]
        intensity, largest = np.zeros(len(table)), np.zeros(len(table))
        which = np.full(len(table), -1, dtype=np.int64)
        for k, prefix in enumerate(prefixes):
            if f"{prefix}_burst" not in table:
                continue
            value = table[f"{prefix}_burst"].astype(float)
            better = value > largest
            largest, which = np.where(better, value, largest), np.where(better, k, which)
            intensity = intensity + value if rule.adds_up else largest
        p = rule.strength * (1 - np.exp(-np.maximum(intensity - rule.allowance, 0) / rule.scale))
        out[VELOCITY_CODES[family]] = (p, which)
    return out


def shared_evidence(projection, linked, pairs: list[tuple[int, int]]) -> dict[int, tuple[list[int], list[int], bool]]:
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
