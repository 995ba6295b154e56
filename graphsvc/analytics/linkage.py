"""Weighted applicant-applicant linkage through shared identifiers, and the hubs.

Three kinds of evidence link two applicants (weights from :class:`~graphsvc.analytics.policy.Policy`):

* **shared own identifier** (device, phone, identity, IP, subnet, card ...): the
  kind's weight times a rarity factor, 1 up to ``rarity_reference`` holders and
  ``sqrt(reference / holders)`` above, so a value shared by 3 says more than one
  shared by 30; for kinds whose rule says ``burst`` (subnets), also times how
  close in time its holders came (:func:`burst`); kinds of one ``group`` (an IP
  and its subnet) count once, by the strongest; a kind whose rule says ``alone``
  (identity numbers: 0.3) keeps only that share where the pair shares nothing else;
* **shared contact number** that is nobody's own phone (an agent's phone listed
  by a whole ring): the ``shared_contact`` rule, same rarity; business service
  lines (400/800 numbers) never link anyone;
* **contact listing**: A lists B's own phone (``contact_link`` per direction),
  reinforced by each contact both list (``contact_common``, up to 3), which sets
  a clique of cross-listed identities apart from a chain of friends;
* **relations** between applicants (money transfers, referrals, relatives ...):
  each type's ``relation_weights`` entry (``relation_default`` for a type the
  policy does not name), once per pair.

Identifiers with more holders than the kind's ``hub`` cap link nobody: they are
reported in the hubs table with a verdict instead. Evidence adds up, and the
graph is symmetric with an empty diagonal.

Complexity: sparse products over non-hub identifiers, so at most ``hub²`` pairs
per identifier; ``O(links + pairs)`` memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection, incidence
from graphsvc.store.base import Store

DAY = 86_400
HUB_COLUMNS = ["identifier", "kind", "value", "role", "degree", "fraud", "fraud_share", "verdict"]


@dataclass
class Linkage:
    """The weighted applicant graph of a projection and the identifiers left out."""

    graph: sparse.csr_matrix  # applicants x applicants, symmetric weights
    own_weight: np.ndarray  # per identifier: weight of the link it gives two holders (0: none)
    contact_weight: np.ndarray  # per identifier: weight as a shared contact number (0: none)
    own_hubs: np.ndarray  # identifier positions held by more applicants than their kind's cap
    build_hubs: Callable[[], pd.DataFrame] = field(repr=False)
    own_graph: sparse.csr_matrix | None = field(default=None, repr=False)  # the shared-own-identifier part

    @cached_property
    def hubs(self) -> pd.DataFrame:
        """The hubs with their verdicts (:data:`HUB_COLUMNS` and the identifier position),
        most held first; built when first asked for."""
        return self.build_hubs()

    def strong(self, threshold: float) -> sparse.csr_matrix:
        """The graph without links weaker than ``threshold`` (kept once made)."""
        cached = self.__dict__.setdefault("_strong", {})
        if threshold not in cached:
            strong = self.graph.copy()
            strong.data[strong.data < threshold] = 0
            strong.eliminate_zeros()
            cached[threshold] = strong
        return cached[threshold]


def rarity(holders: np.ndarray, reference: int) -> np.ndarray:
    """1 up to ``reference`` holders, then ``sqrt(reference / holders)``."""
    return np.sqrt(np.minimum(1.0, reference / np.maximum(holders, 1)))


def burst(projection: Projection, identifiers: np.ndarray, window: float, contact: bool = True) -> np.ndarray:
    """Per identifier: 1 when all its links of the role (listings as a contact, or
    holdings) fall within ``window`` seconds, ``window / spread`` when they spread
    wider (undated links count as spread).

    An intermediary files its clients' applications in a burst, from one subnet;
    friends who happen to list the same number, or neighbours on one ISP's
    subnet, do so over months or years.
    """
    if not len(identifiers):
        return np.zeros(0)
    arrays = projection.arrays
    m = len(arrays.identifier_kind)
    wanted = np.zeros(m, dtype=bool)
    wanted[identifiers] = True
    listing = (arrays.link_contact == contact) & wanted[arrays.link_identifier]
    which, seen = arrays.link_identifier[listing], arrays.link_first_seen[listing]
    first, last = np.full(m, np.inf), np.full(m, -np.inf)
    np.minimum.at(first, which, np.where(np.isnan(seen), -np.inf, seen))
    np.maximum.at(last, which, np.where(np.isnan(seen), np.inf, seen))
    spread = np.where(first <= last, last - first, np.inf)[identifiers]  # no listing: spread
    return np.minimum(1.0, window / np.maximum(np.nan_to_num(spread, nan=np.inf), window))


def _unlinked(n: int) -> sparse.csr_matrix:
    """``n`` applicants with no link between any two."""
    return sparse.csr_matrix((n, n), dtype=np.float32)


# A neighbourhood of a few applicants (score-on-write) links faster as dense arrays than as
# sparse matrices, whose every construction costs tens of microseconds; the helpers below
# take either and compute the same weights.
DENSE_UP_TO = 256  # applicants


def _off_diagonal(pairs):
    """``pairs`` without its diagonal (an applicant is not linked to itself)."""
    if sparse.issparse(pairs):
        pairs = pairs.tocsr()
        pairs.setdiag(0)
        pairs.eliminate_zeros()
        return pairs
    np.fill_diagonal(pairs, 0)
    return pairs


def _ones(pairs):
    """1 wherever ``pairs`` has a link."""
    if sparse.issparse(pairs):
        pairs = pairs.astype(np.float32)
        pairs.data[:] = 1.0
        return pairs
    return (pairs != 0).astype(np.float32)


def _empty(pairs) -> bool:
    return not (pairs.nnz if sparse.issparse(pairs) else pairs.any())


def _maximum(a, b):
    return a.maximum(b) if sparse.issparse(a) else np.maximum(a, b)


def _times(a, b):
    """Elementwise product."""
    return a.multiply(b).tocsr() if sparse.issparse(a) else a * b


def _co_holding(incidence_, weight: np.ndarray):
    """Sum over identifiers of ``weight`` for every pair of applicants holding it."""
    used = np.flatnonzero(weight > 0)
    if sparse.issparse(incidence_):
        if not len(used):
            return _unlinked(incidence_.shape[0])
        part = incidence_[:, used] @ sparse.diags(np.sqrt(weight[used]).astype(np.float32))
        return _off_diagonal(part @ part.T)
    part = incidence_[:, used] * np.sqrt(weight[used]).astype(np.float32)
    return _off_diagonal(part @ part.T)


def _shared_own(projection: Projection, own, own_weight: np.ndarray, policy: Policy):
    """Links through shared own identifiers (``own``: the projection's own incidence,
    sparse or dense): kinds add up, except that kinds of one group (an IP and its
    subnet) count once, by the strongest of them."""
    kinds = projection.arrays.kinds
    code = projection.arrays.identifier_kind
    # only the kinds some shared identifier links by (few in a neighbourhood, on write)
    linking = np.flatnonzero(np.bincount(code[own_weight > 0], minlength=len(kinds))).tolist()
    groups: dict[str | None, list[int]] = {}
    lonely = [k for k in linking if policy.rule(kinds[k]).alone < 1]
    for k in linking:
        if k not in lonely:
            groups.setdefault(policy.rule(kinds[k]).group, []).append(k)
    total = _co_holding(own, np.where(np.isin(code, groups.pop(None, [])), own_weight, 0.0))
    for members in groups.values():
        strongest = None
        for k in members:
            part = _co_holding(own, np.where(code == k, own_weight, 0.0))
            strongest = part if strongest is None else _maximum(strongest, part)
        total = total + strongest
    for k in lonely:  # full weight only beside another shared identifier
        part = _co_holding(own, np.where(code == k, own_weight, 0.0))
        if _empty(part):
            continue
        backed = _times(part, total > 0)
        total = total + backed + (part - backed) * policy.rule(kinds[k]).alone
    return total.tocsr() if sparse.issparse(total) else total


def _listing(projection: Projection, own, contact, phone_owners: np.ndarray, policy: Policy):
    """Contact-listing links between applicants, reinforced by common contacts; a
    listing between two who first applied within ``velocity_window_days`` of each
    other counts ``contact_burst`` times (identities made together list each other).
    ``own`` and ``contact``: the projection's incidences, sparse or dense."""
    owned = np.flatnonzero(phone_owners)
    listed = contact[:, owned]
    if _empty(listed):  # nobody lists anyone's phone
        return _unlinked(own.shape[0]) if sparse.issparse(own) else np.zeros((own.shape[0],) * 2, np.float32)
    lists = _ones(_off_diagonal(listed @ own[:, owned].T))
    if policy.contact_burst != 1:
        first, window = projection.first_applied, policy.velocity_window_days * DAY
        if sparse.issparse(lists):
            coo = lists.tocoo()
            near = np.abs(first[coo.row] - first[coo.col]) <= window
            lists = sparse.csr_matrix((np.where(near, policy.contact_burst, 1.0).astype(np.float32),
                                       (coo.row, coo.col)), shape=lists.shape)
        else:
            near = np.abs(first[:, None] - first[None, :]) <= window
            lists = lists * np.where(near, policy.contact_burst, 1.0).astype(np.float32)
    both = lists + lists.T  # per direction 1, or contact_burst within a window
    if sparse.issparse(both):
        both = both.tocsr()
    adjacency = _ones(both)
    common = _times(adjacency @ adjacency, adjacency)
    if sparse.issparse(common):
        common.data = np.minimum(common.data, 3.0)
    else:
        common = np.minimum(common, 3.0)
    total = both * policy.contact_link + common * policy.contact_common
    return total.tocsr() if sparse.issparse(total) else total


def _related(projection: Projection, policy: Policy) -> sparse.csr_matrix:
    """Applicant-applicant relations (transfers, referrals): each type's weight once
    per pair, whichever the direction and however many times it happened."""
    arrays = projection.arrays
    n = len(arrays.applicants)
    total = _unlinked(n)
    if arrays.relation_src is None or not len(arrays.relation_src):
        return total
    for kind in sorted(set(arrays.relation_type.tolist())):
        weight = policy.relation_weight(kind)
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

    window = policy.velocity_window_days * DAY
    own_hub = holders > cap_by_kind[code]
    for k, kind in enumerate(kinds):  # a kind's hubs taken up in a burst link after all
        rule_ = policy.rule(kind)
        if rule_.burst_hub is not None:
            maybe = np.flatnonzero((code == k) & own_hub & (holders <= rule_.burst_hub))
            own_hub[maybe[burst(projection, maybe, window, contact=False) >= 0.5]] = False
    own_weight = np.where((holders >= 2) & ~own_hub,
                          weight_by_kind[code] * rarity(holders, policy.rarity_reference), 0.0)
    for k, kind in enumerate(kinds):
        rule_ = policy.rule(kind)
        if rule_.burst:
            timed = np.flatnonzero((code == k) & (own_weight > 0))
            concentration = burst(projection, timed, window, contact=False)
            # taken up at once: no rarity discount (over the cap too); spread out: the usual one
            own_weight[timed] = np.where(concentration >= 0.5, rule_.weight, own_weight[timed]) * concentration

    rule = policy.shared_contact
    candidates = np.flatnonzero((listers >= 2) & (holders == 0))
    service = projection.service_numbers(store)
    contact_hub = (listers > rule.hub) & (holders == 0) & ~service
    if rule.burst_hub is not None:  # an agent's phone, listed by many at once
        maybe = np.flatnonzero(contact_hub & (listers <= rule.burst_hub))
        contact_hub[maybe[burst(projection, maybe, window) >= 0.5]] = False
    contact_weight = np.zeros(len(holders))
    shared = candidates[~contact_hub[candidates] & ~service[candidates]]
    concentration = burst(projection, shared, window)
    # listed by many at once (an agent's clients): no rarity discount; over months: the usual one
    contact_weight[shared] = rule.weight * np.where(concentration >= 0.5, 1.0, rarity(
        listers[shared], policy.rarity_reference)) * concentration

    phone_owners = projection.kind_mask("phone") & (holders >= 1) & ~own_hub
    n = len(projection.applicants)
    if n <= 1:  # one applicant alone (a new one, on write, whom nobody shares with) links nobody
        graph = own_graph = _unlinked(n)
    else:
        own, contact = projection.own, projection.contact
        if n <= DENSE_UP_TO:
            own, contact = own.toarray(), contact.toarray()
        own_graph = _shared_own(projection, own, own_weight, policy)
        graph = own_graph + _co_holding(contact, contact_weight) + _listing(projection, own, contact, phone_owners,
                                                                            policy)
        related = _related(projection, policy)
        if related.nnz:
            graph = graph + (related if sparse.issparse(graph) else related.toarray())
        graph, own_graph = sparse.csr_matrix(graph), sparse.csr_matrix(own_graph)
        graph.sum_duplicates()

    service_hub = service & (listers > rule.hub)

    def hubs() -> pd.DataFrame:
        fraud_holders = projection.own.T @ projection.fraud.astype(np.float32)
        fraud_listers = projection.contact.T @ projection.fraud.astype(np.float32)
        verdicts = np.array([policy.rule(k).hub_verdict for k in kinds] or [""], dtype=object)[code]
        parts = [(np.flatnonzero(mask), role, degree, fraud, verdict) for mask, role, degree, fraud, verdict in (
            (own_hub, "own", holders, fraud_holders, verdicts),
            (contact_hub, "contact", listers, fraud_listers, rule.hub_verdict),
            (service_hub, "contact", listers, fraud_listers, "service number"))]
        identifier = np.concatenate([p[0] for p in parts]).astype(np.int64)
        degree = np.concatenate([p[2][p[0]] for p in parts]).astype(np.int64)
        fraud = np.concatenate([p[3][p[0]] for p in parts]).astype(np.int64)
        role = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])
        verdict = np.concatenate([p[4][p[0]] if isinstance(p[4], np.ndarray) else np.full(len(p[0]), p[4],
                                                                                          dtype=object)
                                  for p in parts])
        named = projection.values(identifier, store).set_index("identifier")
        kind = named["kind"].reindex(identifier).to_numpy(object)
        value = named["value"].reindex(identifier).to_numpy(object)
        order = np.lexsort((value.astype(str), kind.astype(str), -degree))
        share = np.round(fraud / np.maximum(degree, 1), 4)
        return pd.DataFrame({"identifier": identifier[order], "kind": kind[order], "value": value[order],
                             "role": role[order], "degree": degree[order], "fraud": fraud[order],
                             "fraud_share": share[order], "verdict": verdict[order]})

    return Linkage(graph=graph, own_weight=own_weight, contact_weight=contact_weight,
                   own_hubs=np.flatnonzero(own_hub), build_hubs=hubs, own_graph=own_graph)
