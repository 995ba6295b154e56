"""Weighted applicant-applicant linkage through shared identifiers, and the hubs.

Three kinds of evidence link two applicants (weights from :class:`~graphsvc.policy.Policy`):

* **shared own identifier** (device, phone, identity, IP, card ...): the kind's
  weight times a rarity factor, 1 up to ``rarity_reference`` holders and
  ``sqrt(reference / holders)`` above, so a value shared by 3 says more than one
  shared by 30;
* **shared contact number** that is nobody's own phone (an agent's phone listed
  by a whole ring): the ``shared_contact`` rule, same rarity; business service
  lines (400/800 numbers) never link anyone;
* **contact listing**: A lists B's own phone (``contact_link`` per direction),
  reinforced by each contact both list (``contact_common``, up to 3), which sets
  a clique of cross-listed identities apart from a chain of friends;
* **relations** between applicants (money transfers, referrals): each type's
  ``relation_weights`` entry, once per pair.

Identifiers with more holders than the kind's ``hub`` cap link nobody: they are
reported in the hubs table with a verdict instead. Evidence adds up, and the
graph is symmetric with an empty diagonal.

Complexity: sparse products over non-hub identifiers, so at most ``hub²`` pairs
per identifier; ``O(links + pairs)`` memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from graphsvc import normalise
from graphsvc.policy import Policy
from graphsvc.projection import Projection, incidence
from graphsvc.store.base import Store

DAY = 86_400
HUB_COLUMNS = ["identifier", "kind", "value", "role", "degree", "fraud", "fraud_share", "verdict"]


@dataclass
class Linkage:
    """The weighted applicant graph of a projection and the identifiers left out."""

    graph: sparse.csr_matrix  # applicants x applicants, symmetric weights
    own_weight: np.ndarray  # per identifier: weight of the link it gives two holders (0: none)
    contact_weight: np.ndarray  # per identifier: weight as a shared contact number (0: none)
    hubs: pd.DataFrame  # HUB_COLUMNS

    def strong(self, threshold: float) -> sparse.csr_matrix:
        """The graph without links weaker than ``threshold``."""
        strong = self.graph.copy()
        strong.data[strong.data < threshold] = 0
        strong.eliminate_zeros()
        return strong


def rarity(holders: np.ndarray, reference: int) -> np.ndarray:
    """1 up to ``reference`` holders, then ``sqrt(reference / holders)``."""
    return np.sqrt(np.minimum(1.0, reference / np.maximum(holders, 1)))


def burst(projection: Projection, identifiers: np.ndarray, window: float, store: Store) -> np.ndarray:
    """Per contact number: 1 when all its listings fall within ``window`` seconds,
    ``window / spread`` when they spread wider (undated listings count as spread).

    An intermediary files its clients' applications in a burst; friends who
    happen to list the same number do so over months or years.
    """
    refs = projection.arrays.identifier_ref[identifiers]
    times = store.contact_times(refs, projection.as_of)
    grouped = times.groupby("ref")["first_seen"]
    spans = (grouped.max() - grouped.min()).where(grouped.count() == grouped.size(), np.inf)
    spread = spans.reindex(refs).fillna(np.inf).to_numpy(float)
    return np.minimum(1.0, window / np.maximum(spread, window))


def _co_holding(incidence_: sparse.csr_matrix, weight: np.ndarray) -> sparse.csr_matrix:
    """Sum over identifiers of ``weight`` for every pair of applicants holding it."""
    used = np.flatnonzero(weight > 0)
    part = incidence_[:, used] @ sparse.diags(np.sqrt(weight[used]).astype(np.float32))
    pairs = (part @ part.T).tocsr()
    pairs.setdiag(0)
    pairs.eliminate_zeros()
    return pairs


def _listing(projection: Projection, phone_owners: np.ndarray, policy: Policy) -> sparse.csr_matrix:
    """Contact-listing links between applicants, reinforced by common contacts."""
    owned = np.flatnonzero(phone_owners)
    lists = (projection.contact[:, owned] @ projection.own[:, owned].T).tocsr()
    lists.setdiag(0)
    lists.eliminate_zeros()
    lists.data[:] = 1.0
    both = (lists + lists.T).tocsr()  # 1: one direction, 2: reciprocal
    adjacency = both.copy()
    adjacency.data[:] = 1.0
    common = (adjacency @ adjacency).multiply(adjacency).tocsr()
    common.data = np.minimum(common.data, 3.0)
    return (both * policy.contact_link + common * policy.contact_common).tocsr()


def _related(projection: Projection, policy: Policy) -> sparse.csr_matrix:
    """Applicant-applicant relations (transfers, referrals): each type's weight once
    per pair, whichever the direction and however many times it happened."""
    arrays = projection.arrays
    n = len(arrays.applicants)
    total = sparse.csr_matrix((n, n), dtype=np.float32)
    if arrays.relation_src is None or not len(arrays.relation_src):
        return total
    for kind, weight in sorted(policy.relation_weights.items()):
        picked = (arrays.relation_type == kind) & (arrays.relation_src != arrays.relation_dst)
        if weight <= 0 or not picked.any():
            continue
        src, dst = arrays.relation_src[picked], arrays.relation_dst[picked]
        pairs = incidence(np.concatenate([src, dst]), np.concatenate([dst, src]), (n, n))
        total = total + pairs * weight
    return total.tocsr()


def link(projection: Projection, policy: Policy, store: Store) -> Linkage:
    """Build the weighted applicant graph and the hubs table of ``projection``."""
    holders = projection.holders()
    listers = projection.listers()
    kinds = projection.arrays.kinds
    code = projection.arrays.identifier_kind
    weight_by_kind = np.array([policy.rule(k).weight for k in kinds] or [0.0])
    cap_by_kind = np.array([policy.rule(k).hub for k in kinds] or [0])
    fraud_holders = projection.own.T @ projection.fraud.astype(np.float32)
    fraud_listers = projection.contact.T @ projection.fraud.astype(np.float32)

    own_hub = holders > cap_by_kind[code]
    own_weight = np.where((holders >= 2) & ~own_hub,
                          weight_by_kind[code] * rarity(holders, policy.rarity_reference), 0.0)

    rule = policy.shared_contact
    candidates = np.flatnonzero((listers >= 2) & (holders == 0))
    service = np.zeros(len(holders), dtype=bool)
    if len(candidates):
        values = projection.values(candidates, store)
        service[values["identifier"].to_numpy()] = [normalise.is_service_number(v) for v in values["value"]]
    contact_hub = (listers > rule.hub) & (holders == 0) & ~service
    contact_weight = np.zeros(len(holders))
    shared = candidates[~contact_hub[candidates] & ~service[candidates]]
    contact_weight[shared] = (rule.weight * rarity(listers[shared], policy.rarity_reference)
                              * burst(projection, shared, policy.velocity_window_days * DAY, store))

    phone_owners = projection.kind_mask("phone") & (holders >= 1) & ~own_hub
    graph = (_co_holding(projection.own, own_weight)
             + _co_holding(projection.contact, contact_weight)
             + _listing(projection, phone_owners, policy)
             + _related(projection, policy)).tocsr()
    graph.sum_duplicates()

    parts = []
    for mask, role, degree, fraud, verdict in (
        (own_hub, "own", holders, fraud_holders, np.array([policy.rule(k).hub_verdict for k in kinds] or [""],
                                                          dtype=object)[code]),
        (contact_hub, "contact", listers, fraud_listers, np.full(len(holders), rule.hub_verdict, dtype=object)),
        (service & (listers > rule.hub), "contact", listers, fraud_listers,
         np.full(len(holders), "service number", dtype=object)),
    ):
        picked = np.flatnonzero(mask)
        parts.append(pd.DataFrame({"identifier": picked, "role": role, "degree": degree[picked].astype(np.int64),
                                   "fraud": fraud[picked].astype(np.int64), "verdict": verdict[picked]}))
    hubs = pd.concat(parts, ignore_index=True)
    hubs["fraud_share"] = (hubs["fraud"] / hubs["degree"]).round(4)
    values = projection.values(hubs["identifier"].to_numpy(), store).set_index("identifier")
    hubs["kind"] = values.loc[hubs["identifier"], "kind"].to_numpy(object) if len(hubs) else []
    hubs["value"] = values.loc[hubs["identifier"], "value"].to_numpy(object) if len(hubs) else []
    hubs = hubs.sort_values(["degree", "kind", "value"], ascending=[False, True, True], ignore_index=True)
    return Linkage(graph=graph, own_weight=own_weight, contact_weight=contact_weight, hubs=hubs[HUB_COLUMNS])
