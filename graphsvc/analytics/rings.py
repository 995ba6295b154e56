"""Rings: connected components over strong links, split by Leiden when large.

1. Components of the graph of links at least ``policy.strong_link`` strong.
2. A component larger than ``policy.refine_above`` is split with Leiden under
   the constant Potts model (``leidenalg.CPMVertexPartition``, resolution
   ``policy.resolution``): a community survives only where its members' mean
   link weight beats the resolution, so a chain of loosely linked groups falls
   apart while a clique of cross-listed identities stays whole. Leiden runs
   ``policy.leiden_iterations`` passes (2), not until nothing moves: on a giant
   component of random sharing the unbounded run took 131 s where two passes
   take a few, and the passes after the second hardly change a partition.
3. Groups of at least ``policy.min_ring_size`` applicants are rings.

Leiden runs with a fixed seed on a graph whose vertices are in applicant order,
so a run is deterministic. Ring ids carry over from the previous run when the
member sets overlap by at least ``policy.ring_match`` (Jaccard), greedily from
the largest overlap; other rings get the next free number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from graphsvc.analytics.policy import Policy

DAY = 86_400


def groups(graph: sparse.csr_matrix, policy: Policy, seed: int) -> np.ndarray:
    """Raw group of each applicant: its component, or its Leiden community inside
    a component larger than ``policy.refine_above``."""
    import igraph as ig
    import leidenalg

    n = graph.shape[0]
    count, component = csgraph.connected_components(graph, directed=False)
    sizes = np.bincount(component, minlength=count)
    label = component.astype(np.int64)
    next_label = count
    upper = sparse.triu(graph, k=1).tocoo()
    for big in np.flatnonzero(sizes > policy.refine_above):
        members = np.flatnonzero(component == big)
        local = np.full(n, -1, dtype=np.int64)
        local[members] = np.arange(len(members))
        inside = (local[upper.row] >= 0) & (local[upper.col] >= 0)
        sub = ig.Graph(n=len(members), edges=np.column_stack([local[upper.row[inside]], local[upper.col[inside]]]))
        partition = leidenalg.find_partition(
            sub, leidenalg.CPMVertexPartition, weights=upper.data[inside].astype(float),
            resolution_parameter=policy.resolution, seed=seed, n_iterations=policy.leiden_iterations)
        label[members] = next_label + np.asarray(partition.membership, dtype=np.int64)
        next_label += len(partition)
    return label


def communities(graph: sparse.csr_matrix, policy: Policy, seed: int, algorithms=None) -> np.ndarray:
    """Group label of each applicant (-1: in no group of ``min_ring_size`` or more).

    ``algorithms`` finds the groups (:func:`groups` in process when None; GDS on
    Neo4j, see :meth:`Store.algorithms <graphsvc.store.base.Store.algorithms>`).
    Labels are numbered by each group's smallest applicant position.
    """
    n = graph.shape[0]
    label = algorithms.groups(graph, policy, seed) if algorithms is not None else groups(graph, policy, seed)
    _, label, sizes = np.unique(label, return_inverse=True, return_counts=True)
    keep = sizes >= policy.min_ring_size
    first = np.full(len(sizes), n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    order = np.argsort(np.where(keep, first, n + np.arange(len(sizes))), kind="stable")
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[order] = np.arange(len(sizes))
    return np.where(keep[label], rank[label], -1)


def prune(label: np.ndarray, linked, policy: Policy, rounds: int = 3) -> np.ndarray:
    """Groups without their loose ends: a member whose one strong link into its group
    is nothing but a shared identifier (no contact listing, no relation) is let go,
    a few rounds over.

    Such a member hangs on by one thread: the victim whose identity number a theft
    crew used, a relative on the home IP of someone in a farm. A cross-listed
    identity (its link carries contact evidence) and anyone with two links stay.
    """
    strong = linked.strong(policy.strong_link).tocoo()
    own = linked.own_graph
    if own is None or not strong.nnz:
        return label
    only_shared = np.asarray(own[strong.row, strong.col]).ravel() >= strong.data - 1e-6
    label = label.copy()
    for _ in range(rounds):
        inside = (label[strong.row] >= 0) & (label[strong.row] == label[strong.col])
        degree = np.bincount(strong.row[inside], minlength=len(label))
        loose = np.zeros(len(label), dtype=bool)
        ends = inside & (degree[strong.row] == 1) & only_shared
        loose[strong.row[ends]] = True
        if not loose.any():
            break
        label[loose] = -1
    return label


def relabel(label: np.ndarray, keep: np.ndarray | None = None, min_size: int = 1) -> np.ndarray:
    """Labels renumbered 0..k-1 in their current order, dropping groups not in
    ``keep`` (bool per current label) or smaller than ``min_size``."""
    count = int(label.max()) + 1 if len(label) and label.max() >= 0 else 0
    sizes = np.bincount(label[label >= 0], minlength=count)
    wanted = sizes >= min_size
    if keep is not None:
        wanted &= keep
    new = np.cumsum(wanted) - 1
    return np.where((label >= 0) & wanted[np.maximum(label, 0)], new[np.maximum(label, 0)], -1) if count else label


def members(label: np.ndarray) -> list[np.ndarray]:
    """Applicant positions of each group, in label order."""
    inside = np.flatnonzero(label >= 0)
    order = inside[np.argsort(label[inside], kind="stable")]
    bounds = np.searchsorted(label[order], np.arange(int(label.max()) + 2 if len(inside) else 1))
    return [order[bounds[r]:bounds[r + 1]] for r in range(len(bounds) - 1)]


def stable_ids(groups: list[np.ndarray], previous: dict[str, set[str]], applicants: np.ndarray,
               threshold: float) -> list[str]:
    """Ring ids for ``groups`` (applicant positions), reusing ``previous`` ids by overlap."""
    member_sets = [set(applicants[g].tolist()) for g in groups]
    candidates = []
    owner: dict[str, str] = {a: ring for ring, members in previous.items() for a in members}
    for index, members in enumerate(member_sets):
        overlaps: dict[str, int] = {}
        for applicant in members:
            ring = owner.get(applicant)
            if ring is not None:
                overlaps[ring] = overlaps.get(ring, 0) + 1
        for ring, shared in overlaps.items():
            jaccard = shared / (len(members) + len(previous[ring]) - shared)
            if jaccard >= threshold:
                candidates.append((-jaccard, ring, index))
    ids: list[str | None] = [None] * len(groups)
    taken: set[str] = set()
    for _, ring, index in sorted(candidates):
        if ids[index] is None and ring not in taken:
            ids[index] = ring
            taken.add(ring)
    used = [int(r[1:]) for r in previous if r[1:].isdigit()]
    number = max(used, default=0)
    for index, ring in enumerate(ids):
        if ring is None:
            number += 1
            ids[index] = f"R{number:06d}"
    return [str(r) for r in ids]


def features(label: np.ndarray, projection, linkage, policy: Policy) -> pd.DataFrame:
    """Per ring label: size, fraud, default, fan-out, cross-listing, agent phones, the
    largest share on one subnet, velocity (the largest share applying within one window).

    ``devices_per_member`` counts distinct devices over the members that used one:
    NaN (no evidence either way) when none did, as in a source without devices.
    """
    member = np.flatnonzero(label >= 0)
    ring = label[member].astype(np.int64)
    count = int(ring.max()) + 1 if len(ring) else 0
    size = np.bincount(ring, minlength=count)
    fraud = np.bincount(ring, weights=projection.fraud[member], minlength=count)
    default = np.bincount(ring, weights=projection.default[member], minlength=count)

    def per_ring_identifiers(incidence, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (ring, identifier) pairs and how many members of the ring hold each."""
        rows = incidence[member][:, wanted].tocoo()
        pairs, held = np.unique((ring[rows.row] << 32) | rows.col.astype(np.int64), return_counts=True)
        return pairs >> 32, held

    devices = np.flatnonzero(projection.kind_mask("device"))
    device_ring, _ = per_ring_identifiers(projection.own, devices)
    distinct_devices = np.bincount(device_ring, minlength=count)
    with_device = np.bincount(ring, weights=(projection.own[member][:, devices].getnnz(axis=1) > 0),
                              minlength=count)
    shared_ring, shared_members = per_ring_identifiers(projection.own, np.arange(projection.own.shape[1]))
    shared_identifiers = np.bincount(shared_ring[shared_members >= 2], minlength=count)
    unowned = np.flatnonzero(projection.holders() == 0)
    agent_ring, agent_members = per_ring_identifiers(projection.contact, unowned)
    subnets = projection.kind_mask("subnet")
    subnet_ring, subnet_members = per_ring_identifiers(projection.own, np.flatnonzero(subnets))
    on_one_subnet = np.zeros(count)
    np.maximum.at(on_one_subnet, subnet_ring, subnet_members)
    agent_phones = np.bincount(agent_ring[agent_members >= 3], minlength=count)
    agent_listers = np.bincount(agent_ring[agent_members >= 3], weights=agent_members[agent_members >= 3],
                                minlength=count)

    # links and listings among members only: over everyone, a phone held by thousands
    # and listed by thousands is a product of millions
    graph = linkage.graph[member][:, member].tocoo()
    inside = ring[graph.row] == ring[graph.col]
    cross_listed = _cross_listed(ring, projection.contact[member].tocoo(), projection.own[member].tocoo(), count)
    links_inside = np.bincount(ring[graph.row[inside]], minlength=count) / 2

    # velocity: the largest share of a ring's members first applying within one window
    applied = projection.first_applied[member]
    dated = ~np.isnan(applied)
    key = (ring[dated] << 36) + (applied[dated].astype(np.int64) + (1 << 34))
    order = np.argsort(key, kind="stable")
    key = key[order]
    within = np.searchsorted(key, key + policy.velocity_window_days * DAY, side="right") - np.arange(len(key))
    most = np.zeros(count)
    np.maximum.at(most, ring[dated][order], within)
    pairs = np.maximum(size * (size - 1), 1)
    return pd.DataFrame({
        "size": size, "fraud": fraud.astype(np.int64), "default": default.astype(np.int64),
        "fraud_share": (fraud / np.maximum(size, 1)).round(4),
        "default_share": (default / np.maximum(size, 1)).round(4),
        "devices_per_member": np.where(with_device > 0, distinct_devices / np.maximum(with_device, 1),
                                       np.nan).round(4),
        "shared_identifiers": shared_identifiers,
        "link_density": (2 * links_inside / pairs).round(4),
        "cross_listing": (cross_listed / pairs).round(4),
        "agent_phones": agent_phones,
        "agent_share": (agent_listers / np.maximum(size, 1)).clip(0, 1).round(4),
        "subnet_share": (np.where(subnets.any(), on_one_subnet / np.maximum(size, 1), np.nan)
                         .round(4)),
        "velocity": (most / np.maximum(size, 1)).round(4),
    })


def _cross_listed(ring: np.ndarray, listed, held, count: int) -> np.ndarray:
    """Per ring: ordered member pairs (A, B) where A lists a phone B holds, joined on
    (ring, phone) so that only pairs inside one ring are ever formed."""
    def keyed(entries):
        key = (ring[entries.row] << 32) | entries.col.astype(np.int64)
        order = np.argsort(key, kind="stable")
        return key[order], entries.row[order]

    list_key, lister = keyed(listed)
    hold_key, holder = keyed(held)
    start = np.searchsorted(hold_key, list_key, side="left")
    many = np.searchsorted(hold_key, list_key, side="right") - start
    offset = np.arange(int(many.sum())) - np.repeat(np.cumsum(many) - many, many)  # 0.. within each run
    a = np.repeat(lister, many).astype(np.int64)
    b = holder[np.repeat(start, many) + offset].astype(np.int64)
    pairs = np.unique((a[a != b] << 32) | b[a != b])
    return np.bincount(ring[pairs >> 32], minlength=count)


def risk(features_: pd.DataFrame) -> np.ndarray:
    """Ring risk in [0, 1]: a logistic blend of the ring's features.

    Confirmed fraud weighs most; without any label, a burst of applications on
    few devices, cross-listed contacts or an agent's phone still raises it. A
    feature the ring has no evidence for (no member used a device) is neutral.
    """
    f = {name: features_[name].to_numpy(float) for name in features_.columns}
    few_devices = np.nan_to_num(1 - np.clip(f["devices_per_member"], 0, 1), nan=0.0)
    z = (-4.0 + 8.0 * f["fraud_share"] + 2.0 * f["default_share"] + 3.5 * f["velocity"]
         + 1.5 * few_devices + 2.0 * np.clip(f["cross_listing"], 0, 0.5)
         + 1.5 * f["agent_share"] + 0.5 * np.clip(np.log(np.maximum(f["size"], 1) / 5), 0, 2))
    return np.round(1 / (1 + np.exp(-z)), 4)


#: what a ring looks like, named from its features: a ring shows every pattern whose
#: test its features pass; investigators filter rings by these names
TYPOLOGIES = {
    "device_farm": lambda f: (f.get("devices_per_member") is not None
                              and f["devices_per_member"] <= 0.5),  # at most one device per two members
    "agent": lambda f: (f.get("agent_phones") or 0) >= 1 and (f.get("agent_share") or 0) >= 0.5,
    "cross_listing": lambda f: (f.get("cross_listing") or 0) >= 0.1,
    "one_subnet": lambda f: (f.get("subnet_share") or 0) >= 0.8,
    "burst": lambda f: (f.get("velocity") or 0) >= 0.8,
}

#: every name :func:`typologies` gives
TYPOLOGY_NAMES = (*TYPOLOGIES, "shared_identifiers")


def typologies(features_: dict) -> list[str]:
    """The :data:`TYPOLOGIES` a ring's features show (``features`` as a run stores
    them, missing evidence as None), or ``["shared_identifiers"]`` when none does.

    >>> typologies({"devices_per_member": 0.25, "velocity": 0.9, "cross_listing": 0.0})
    ['device_farm', 'burst']
    >>> typologies({"devices_per_member": None, "cross_listing": 0.0})
    ['shared_identifiers']
    """
    found = [name for name, shows in TYPOLOGIES.items() if shows(features_)]
    return found or ["shared_identifiers"]
