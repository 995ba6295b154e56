"""Guilt by association: personalised PageRank from confirmed outcomes.

Risk flows from seed applicants (confirmed fraud; separately, defaults) along
the weighted linkage graph, restarting at the flagged with probability
``restart``. Hubs are already absent from the graph and rare identifiers weigh
more, so mass does not leak through a carrier NAT or a hotline (hub damping).
Dangling applicants return their mass to the flagged, as networkx's ``pagerank``
does with a personalization vector, which the tests use as the oracle.

Complexity: ``O(iterations × links)`` with sparse matrix-vector products.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


def personalised_pagerank(graph: sparse.csr_matrix, flagged: np.ndarray, restart: float,
                          tol: float = 1e-9, max_iterations: int = 200) -> np.ndarray:
    """Stationary distribution of a walk that restarts uniformly at ``flagged``.

    Returns zeros when there are no flagged.
    """
    n = graph.shape[0]
    if not flagged.any():
        return np.zeros(n)
    out_weight = np.asarray(graph.sum(axis=1)).ravel()
    dangling = out_weight == 0
    inverse = np.where(dangling, 0.0, 1.0 / np.where(dangling, 1.0, out_weight))
    step = (sparse.diags(inverse) @ graph).T.tocsr()
    start = flagged.astype(float) / flagged.sum()
    x = start.copy()
    for _ in range(max_iterations):
        nxt = (1 - restart) * (step @ x + x[dangling].sum() * start) + restart * start
        if np.abs(nxt - x).sum() < tol:
            return nxt
        x = nxt
    return x


def nearest_flagged_paths(graph: sparse.csr_matrix, flagged: np.ndarray) -> np.ndarray:
    """Predecessor of each applicant on a shortest path (in hops) to any seed.

    -1 for flagged and for applicants that reach none. Multi-source breadth-first
    search through one virtual node linked to every seed.
    """
    n = graph.shape[0]
    if not flagged.any():
        return np.full(n, -1, dtype=np.int64)
    hub = sparse.csr_matrix((np.ones(int(flagged.sum())), (np.full(int(flagged.sum()), n), np.flatnonzero(flagged))),
                            shape=(n + 1, n + 1))
    extended = sparse.bmat([[graph, None], [None, sparse.csr_matrix((1, 1))]]).tocsr() + hub + hub.T
    _, predecessors = csgraph.breadth_first_order(extended, n, directed=False, return_predecessors=True)
    predecessors = predecessors[:n].astype(np.int64)
    predecessors[(predecessors == n) | (predecessors < 0)] = -1
    return predecessors


def path_to_flagged(predecessors: np.ndarray, start: int, limit: int = 6) -> list[int]:
    """Applicant positions from ``start`` to its nearest seed (``[]`` when none within ``limit``)."""
    path = [start]
    while predecessors[path[-1]] >= 0 and len(path) <= limit:
        path.append(int(predecessors[path[-1]]))
    return path if len(path) > 1 and len(path) <= limit + 1 else []
