"""Rings: components over strong links, Leiden refinement, stable ids, features."""

import networkx as nx
import numpy as np
import pytest
from conftest import application, build_store, contact
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from graphsvc.analytics.linkage import link
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.analytics.rings import communities, features, members, relabel, risk, stable_ids
from graphsvc.store import open_store


def _graph(n: int, edges: list[tuple[int, int, float]]) -> sparse.csr_matrix:
    rows, cols, data = zip(*edges)
    g = sparse.coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    return (g + g.T).tocsr()


def test_small_components_are_rings_as_networkx_finds_them(scenario_db):
    policy = Policy(refine_above=10_000)
    with open_store(str(scenario_db), readonly=True) as store:
        projection = Projection.from_store(store)
        strong = link(projection, policy, store).strong(policy.strong_link)
    label = communities(strong, policy, seed=1)
    oracle = nx.from_scipy_sparse_array(strong)
    expected = sorted(sorted(c) for c in nx.connected_components(oracle) if len(c) >= policy.min_ring_size)
    assert sorted(group.tolist() for group in members(label)) == expected
    assert len(expected) >= 3


def test_large_component_is_split_into_its_dense_parts():
    """Two 8-cliques joined by one strong link: one component, two rings."""
    edges = [(a, b, 1.0) for part in (range(8), range(8, 16)) for a in part for b in part if a < b]
    edges.append((7, 8, 0.6))
    graph = _graph(16, edges)
    policy = Policy(refine_above=10, resolution=0.3)
    label = communities(graph, policy, seed=3)
    assert [g.tolist() for g in members(label)] == [list(range(8)), list(range(8, 16))]
    assert np.array_equal(label, communities(graph, policy, seed=3))


def test_groups_below_min_size_are_not_rings():
    graph = _graph(9, [(0, 1, 1.0), (1, 2, 1.0), (3, 4, 1.0), (4, 5, 1.0), (5, 6, 1.0), (6, 7, 1.0)])
    label = communities(graph, Policy(min_ring_size=5), seed=1)
    assert label.tolist() == [-1, -1, -1, 0, 0, 0, 0, 0, -1]


def test_relabel_keeps_order_and_drops():
    label = np.array([2, 0, 2, 1, -1, 0])
    assert relabel(label, keep=np.array([True, False, True])).tolist() == [1, 0, 1, -1, -1, 0]
    assert relabel(label, min_size=2).tolist() == [1, 0, 1, -1, -1, 0]


def test_ring_ids_carry_over_by_overlap():
    applicants = np.array([f"A{i}" for i in range(20)], dtype=object)
    previous = {"R000001": {"A0", "A1", "A2", "A3", "A4"}, "R000007": {"A10", "A11", "A12"}}
    groups = [np.array([0, 1, 2, 3, 5]),  # 4 of 5 kept, one new: Jaccard 4/6
              np.array([10, 15, 16, 17, 18]),  # 1 of 3 kept: Jaccard 1/7, a new ring
              np.array([6, 7, 8, 9])]
    assert stable_ids(groups, previous, applicants, 0.5) == ["R000001", "R000008", "R000009"]
    assert stable_ids(groups, {}, applicants, 0.5) == ["R000001", "R000002", "R000003"]


def test_ring_features_of_a_device_farm_burst(tmp_path):
    """Ten applicants on two devices within five days, three listing one agent phone:
    two 5-cliques (20 links) bridged by the agent phone (3 more) of 45 pairs."""
    apps = [application(n, day=1 + n % 5, device=f"farm-{n % 2}") for n in range(1, 11)]
    contacts = [contact(n, "13912345678", day=1 + n % 5) for n in (1, 2, 3)]
    contacts += [contact(4, "13800000005")]
    outcomes = [{"applicant_id": "A001", "outcome": "fraud", "observed_at": "2024-03-01"},
                {"applicant_id": "A002", "outcome": "default", "observed_at": "2024-03-01"}]
    path = build_store(tmp_path, apps, contacts, outcomes)
    policy = Policy()
    with open_store(str(path), readonly=True) as store:
        projection = Projection.from_store(store)
        linked = link(projection, policy, store)
    label = communities(linked.strong(policy.strong_link), policy, seed=1)
    assert label.tolist() == [0] * 10
    row = features(label, projection, linked, policy).iloc[0].to_dict()
    assert row == pytest.approx({
        "size": 10, "fraud": 1, "default": 1, "fraud_share": 0.1, "default_share": 0.1,
        "devices_per_member": 0.2, "shared_identifiers": 2, "link_density": round(23 / 45, 4),
        "cross_listing": round(1 / 90, 4), "agent_phones": 1, "agent_share": 0.3,
        "subnet_share": 0.1, "velocity": 1.0})  # each on a /24 of its own
    assert 0.5 < risk(features(label, projection, linked, policy))[0] < 1


@given(st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                   st.sampled_from([0.2, 0.6, 1.0])), max_size=80))))
@settings(max_examples=60, deadline=None)
def test_rings_are_disjoint_connected_and_large_enough(case):
    """Invariants on random graphs: every ring has at least min_ring_size members,
    rings do not overlap, and each ring is connected by strong links."""
    n, edges = case
    edges = [(a, b, w) for a, b, w in edges if a != b]
    if not edges:
        return
    graph = _graph(n, edges)
    graph.data[graph.data < 0.5] = 0
    graph.eliminate_zeros()
    policy = Policy(min_ring_size=3, refine_above=6)
    label = communities(graph, policy, seed=2)
    oracle = nx.from_scipy_sparse_array(graph)
    groups = members(label)
    assert sorted(np.concatenate(groups).tolist() if groups else []) == np.flatnonzero(label >= 0).tolist()
    for group in groups:
        assert len(group) >= 3
        assert nx.is_connected(oracle.subgraph(group.tolist()))


@given(st.integers(0, 10_000))
def test_cross_listing_pairs_match_the_listing_product(seed):
    """Ordered pairs inside one ring where one lists a phone the other holds, joined
    per (ring, phone), equal the same-ring entries of the full contact x own product."""
    from graphsvc.analytics.rings import _cross_listed

    rng = np.random.default_rng(seed)
    ring = rng.integers(0, 4, 30).astype(np.int64)
    listed, held = (sparse.random(30, 25, density, random_state=rng, format="csr") for density in (0.1, 0.06))
    listed.data[:], held.data[:] = 1, 1
    product = (listed @ held.T).tocoo()
    inside = (ring[product.row] == ring[product.col]) & (product.row != product.col)
    assert _cross_listed(ring, listed.tocoo(), held.tocoo(), 4).tolist() == np.bincount(
        ring[product.row[inside]], minlength=4).tolist()


def test_typologies_are_named_from_the_features():
    from graphsvc.analytics.rings import typologies

    assert typologies({"agent_phones": 2, "agent_share": 0.5, "cross_listing": 0.1, "subnet_share": 0.8}) == [
        "agent", "cross_listing", "one_subnet"]
    assert typologies({"agent_phones": 1, "agent_share": 0.49, "devices_per_member": 0.51, "velocity": 0.79}) == [
        "shared_identifiers"]
