"""Personalised PageRank and nearest-seed paths against networkx."""

import networkx as nx
import numpy as np
import pytest

from graphsvc.analytics.linkage import link
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.analytics.propagation import nearest_flagged_paths, path_to_flagged, personalised_pagerank
from graphsvc.store import open_store


@pytest.fixture(scope="module")
def scenario_graph(scenario_db):
    with open_store(str(scenario_db), readonly=True) as store:
        projection = Projection.from_store(store)
        return link(projection, Policy(), store).graph, projection.fraud


def test_pagerank_matches_networkx(scenario_graph):
    graph, fraud = scenario_graph
    ours = personalised_pagerank(graph, fraud, restart=0.3, tol=1e-12)
    oracle_graph = nx.from_scipy_sparse_array(graph)
    seeds = np.flatnonzero(fraud)
    want = nx.pagerank(oracle_graph, alpha=0.7, personalization={int(s): 1.0 for s in seeds}, tol=1e-12,
                       max_iter=500, weight="weight")
    assert max(abs(ours[i] - want[i]) for i in want) < 1e-7
    assert ours.sum() == pytest.approx(1.0)
    assert fraud.sum() > 5


def test_no_seeds_no_mass(scenario_graph):
    graph, fraud = scenario_graph
    assert personalised_pagerank(graph, np.zeros_like(fraud), 0.3).sum() == 0


def test_nearest_flagged_paths_are_shortest(scenario_graph):
    graph, fraud = scenario_graph
    predecessors = nearest_flagged_paths(graph, fraud)
    oracle = nx.from_scipy_sparse_array(graph)
    lengths = nx.multi_source_dijkstra_path_length(oracle, set(np.flatnonzero(fraud).tolist()), weight=None)
    checked = 0
    for node in range(graph.shape[0]):
        path = path_to_flagged(predecessors, node, limit=50)
        if fraud[node]:
            assert path == []
        elif node in lengths:
            assert len(path) - 1 == lengths[node] and fraud[path[-1]]
            assert all(graph[a, b] > 0 for a, b in zip(path, path[1:]))
            checked += 1
        else:
            assert path == []
    assert checked > 20
