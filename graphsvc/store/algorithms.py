"""Whole-graph algorithms in this process, every store's default; the Neo4j store's
twin runs them on Graph Data Science (:mod:`graphsvc.store.neo4j.algorithms`).

In: the linkage graph (a symmetric scipy sparse matrix over applicant positions),
the policy and a seed; fraud flagged for PageRank. Out: a group label, or a score, per
applicant position, so that either implementation's results line up with the arrays.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from graphsvc.analytics.policy import Policy


class LocalAlgorithms:
    """Components and Leiden (:func:`graphsvc.analytics.rings.groups`: scipy and leidenalg), and
    personalised PageRank (:func:`graphsvc.analytics.propagation.personalised_pagerank`: scipy)."""

    def groups(self, graph: sparse.csr_matrix, policy: Policy, seed: int) -> np.ndarray:
        from graphsvc.analytics.rings import groups

        return groups(graph, policy, seed)

    def pagerank(self, graph: sparse.csr_matrix, flagged: np.ndarray, restart: float) -> np.ndarray:
        from graphsvc.analytics.propagation import personalised_pagerank

        return personalised_pagerank(graph, flagged, restart)
