"""Weighted linkage and the hub policy, on hand-built graphs and against networkx."""

import itertools

import networkx as nx
import numpy as np
import pytest
from conftest import application, build_store, contact

from graphsvc.analytics import linkage
from graphsvc.analytics.linkage import link, rarity
from graphsvc.analytics.policy import KindRule, Policy
from graphsvc.analytics.projection import Projection
from graphsvc.store import open_store


def _weight(linkage, projection, a: str, b: str) -> float:
    position = {k: i for i, k in enumerate(projection.applicants)}
    return float(linkage.graph[position[a], position[b]])


@pytest.fixture
def hand_built(tmp_path):
    """Six kinds of sharing, each between applicants of its own number range.

    1-2 share a device; 3-5 list one agent phone within three days; 6-7 list one
    phone two years apart; 8-9 list the same 400 service line; 10 lists 11's own
    phone and 11 lists 10's; 20-70 (51 applicants) share one device, a hub.
    """
    apps = [application(n) for n in range(1, 20)]
    apps[1] = application(2, device="dev-1")
    apps += [application(n, day=n - 19, device="farm") for n in range(20, 71)]
    contacts = [contact(n, "13912345678", day=n) for n in (3, 4, 5)]
    contacts += [contact(6, "13987654321", day=1), contact(7, "13987654321", day=720)]
    contacts += [contact(8, "4001234567"), contact(9, "4001234567")]
    contacts += [contact(10, "13800000011"), contact(11, "13800000010")]
    path = build_store(tmp_path, apps, contacts)
    with open_store(str(path), readonly=True) as store:
        projection = Projection.from_store(store)
        yield projection, link(projection, Policy(), store)


def test_each_kind_of_sharing_gets_its_documented_weight(hand_built):
    projection, linked = hand_built
    w = lambda a, b: _weight(linked, projection, f"A{a:03d}", f"A{b:03d}")  # noqa: E731
    assert w(1, 2) == pytest.approx(1.0)  # a device held by two
    assert w(3, 4) == pytest.approx(1.0) and w(3, 5) == pytest.approx(1.0)  # agent phone in a burst
    assert w(6, 7) == pytest.approx(14 / (719))  # same phone listed 719 days apart: window / spread
    assert w(8, 9) == 0  # a service line links nobody
    assert w(10, 11) == pytest.approx(2 * 0.3 * 1.5)  # listing each other's phone, applied within a week
    assert w(20, 21) == 0  # through a hub device
    assert w(1, 3) == 0


def test_hubs_are_reported_with_degree_and_verdict(hand_built):
    _, linked = hand_built
    hubs = linked.hubs
    assert hubs[["kind", "value", "role", "degree", "fraud", "verdict"]].to_dict("records") == [
        {"kind": "device", "value": "farm", "role": "own", "degree": 51, "fraud": 0, "verdict": "device farm"}]


def test_graph_is_symmetric_without_self_links(hand_built):
    _, linked = hand_built
    graph = linked.graph
    assert abs(graph - graph.T).max() == 0
    assert graph.diagonal().sum() == 0


def test_rarity_weighting():
    assert rarity(np.array([2, 10, 40, 1000]), 10).tolist() == pytest.approx([1.0, 1.0, 0.5, 0.1])


def test_shared_identifier_weights_match_networkx(scenario_db):
    """Own-identifier linkage equals a networkx projection of the bipartite graph
    with the same weights (contact evidence switched off): kinds add up, an IP and
    its subnet count by the stronger, a subnet's weight scales with its burst (a
    subnet taken up at once links over its hub cap, without rarity discount), an
    identity number shared alone keeps its ``alone`` share."""
    policy = Policy(contact_link=0, contact_common=0, shared_contact=KindRule(weight=0, hub=40))
    with open_store(str(scenario_db), readonly=True) as store:
        projection = Projection.from_store(store)
        linked = link(projection, policy, store)
    arrays = projection.arrays
    bipartite = nx.Graph()
    for a, i, listed, seen in zip(arrays.link_applicant, arrays.link_identifier, arrays.link_contact,
                                   arrays.link_first_seen):
        if not listed:
            bipartite.add_edge(f"a{a}", f"i{i}", seen=seen)
    summed, grouped, lonely = nx.Graph(), {}, {}
    window = policy.velocity_window_days * 86_400
    for node in (n for n in bipartite if n.startswith("i")):
        holders = sorted(bipartite[node])
        kind = projection.kind_of(np.array([int(node[1:])]))[0]
        rule = policy.rule(kind)
        seen = [bipartite.edges[node, h]["seen"] for h in holders]
        concentration = min(1.0, window / max(max(seen) - min(seen), window))
        taken_up_at_once = rule.burst_hub is not None and len(holders) <= rule.burst_hub and concentration >= 0.5
        if len(holders) < 2 or (len(holders) > rule.hub and not taken_up_at_once):
            continue
        weight = rule.weight * min(1.0, (policy.rarity_reference / len(holders))) ** 0.5
        if rule.burst:  # taken up at once: no rarity discount
            weight = (rule.weight if concentration >= 0.5 else weight) * concentration
        for a, b in itertools.combinations(holders, 2):
            if rule.alone < 1:
                lonely.setdefault((a, b), []).append((weight, rule.alone))
            elif rule.group is None:
                summed.add_edge(a, b, weight=summed.get_edge_data(a, b, {"weight": 0.0})["weight"] + weight)
            else:
                group = grouped.setdefault(rule.group, {})
                group.setdefault((a, b), {}).setdefault(kind, 0.0)
                group[(a, b)][kind] += weight
    oracle = summed
    for group in grouped.values():
        for (a, b), by_kind in group.items():
            previous = oracle.get_edge_data(a, b, {"weight": 0.0})["weight"]
            oracle.add_edge(a, b, weight=previous + max(by_kind.values()))
    for (a, b), parts in lonely.items():  # an identity number alone keeps its `alone` share
        previous = oracle.get_edge_data(a, b, {"weight": 0.0})["weight"]
        oracle.add_edge(a, b, weight=previous + sum(w if previous > 0 else w * alone for w, alone in parts))
    ours = linked.graph.tocoo()
    got = {(f"a{r}", f"a{c}"): v for r, c, v in zip(ours.row, ours.col, ours.data) if r < c}
    want = {tuple(sorted((a, b), key=lambda x: int(x[1:]))): d["weight"] for a, b, d in oracle.edges(data=True)}
    assert got.keys() == want.keys()
    assert max(abs(got[k] - want[k]) for k in want) < 1e-5
    assert len(want) > 500


def test_relations_link_once_per_pair_and_type(tmp_path):
    from conftest import write_csv

    from graphsvc.ingest.loader import load
    from graphsvc.ingest.sources import canonical_sources

    apps = write_csv(tmp_path / "apps.csv", [application(n) for n in (1, 2, 3)])
    relations = write_csv(tmp_path / "relations.csv", [
        {"src_applicant_id": "A001", "dst_applicant_id": "A002", "type": "transfer", "at": "2024-01-02", "amount": 5},
        {"src_applicant_id": "A002", "dst_applicant_id": "A001", "type": "transfer", "at": "2024-01-03", "amount": 7},
        {"src_applicant_id": "A001", "dst_applicant_id": "A002", "type": "referral", "at": "2024-01-04"},
        {"src_applicant_id": "A002", "dst_applicant_id": "A003", "type": "gift", "at": "2024-01-05"},
    ])
    with open_store(str(tmp_path / "graph.db")) as store:
        load(store, canonical_sources({"applications": apps, "relations": relations}))
        projection = Projection.from_store(store)
        linked = link(projection, Policy(), store)
        as_of = link(Projection.from_store(store, as_of=1704240000), Policy(), store)  # 2024-01-03 00:00
    assert _weight(linked, projection, "A001", "A002") == pytest.approx(0.6)  # transfer + referral
    assert _weight(linked, projection, "A002", "A003") == pytest.approx(0.2)  # a type the policy does not name
    assert _weight(as_of, projection, "A001", "A002") == pytest.approx(0.3)  # only the first transfer known


@pytest.mark.parametrize("seed", range(25))
def test_a_small_projection_links_the_same_as_dense_arrays_and_as_sparse_matrices(monkeypatch, seed):
    """Up to ``DENSE_UP_TO`` applicants the linkage multiplies dense arrays: the same
    links and weights (to float32 rounding) as the sparse products of the batch."""
    from conftest import random_graph

    graph = random_graph(seed)
    projection = Projection.build(graph)
    policy = Policy(feature_cap=4)
    dense = linkage.link(projection, policy, None)
    with monkeypatch.context() as m:
        m.setattr(linkage, "DENSE_UP_TO", 0)
        batch = linkage.link(Projection.build(graph), policy, None)
    for mine, theirs in ((dense.graph, batch.graph), (dense.own_graph, batch.own_graph)):
        assert mine.shape == theirs.shape and mine.dtype == theirs.dtype == np.float32
        assert (mine != 0).toarray().tolist() == (theirs != 0).toarray().tolist()
        assert np.allclose(mine.toarray(), theirs.toarray(), rtol=1e-6, atol=0)
    assert dense.graph.nnz > 0
    assert (dense.strong(policy.strong_link) != 0).toarray().tolist() == \
        (batch.strong(policy.strong_link) != 0).toarray().tolist()


@pytest.mark.parametrize("seed", range(5))
def test_a_small_incidence_matrix_is_the_one_built_through_coordinates(monkeypatch, seed):
    from graphsvc.analytics import projection as projection_module

    rng = np.random.default_rng(seed)
    size = [0, 1, 40, 300, 2000][seed]
    rows, columns = rng.integers(0, 30, size).astype(np.int32), rng.integers(0, 50, size).astype(np.int32)
    small = projection_module.incidence(rows, columns, (30, 50))
    monkeypatch.setattr(projection_module, "SMALL", -1)
    large = projection_module.incidence(rows, columns, (30, 50))
    assert small.shape == large.shape == (30, 50) and small.dtype == large.dtype == np.float32
    assert small.has_sorted_indices and small.nnz == large.nnz == len(set(zip(rows.tolist(), columns.tolist())))
    assert small.toarray().tolist() == large.toarray().tolist()
    assert np.array_equal(small.indptr, large.indptr) and np.array_equal(small.indices, large.indices)
