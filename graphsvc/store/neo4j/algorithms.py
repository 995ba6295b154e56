"""Whole-graph algorithms on Neo4j Graph Data Science.

The linkage graph is computed by :mod:`graphsvc.analytics.linkage` from the store (the one
implementation of the weights and the hub policy), then projected into GDS with
a Cypher aggregation (``queries/gds/project``), where WCC, Leiden and
personalised PageRank run. Node ids of the projection are applicant positions,
so results come back aligned with the embedded engine's arrays.

Where results differ from the embedded engine, and what we do about it:

- **Communities.** GDS Leiden optimises modularity (``policy.gds_gamma``); the
  embedded engine uses the constant Potts model (``policy.resolution``), which
  GDS does not offer. Large components can therefore split differently. Both
  run only inside components larger than ``policy.refine_above``, so small rings
  (most of them) are identical: they are plain connected components.
- **Determinism.** GDS Louvain and Leiden are not deterministic when run
  concurrently; every call here passes ``concurrency: 1`` and Leiden a
  ``randomSeed``, so a run with the same data and seed gives the same groups.
  Ring ids are carried across runs by membership overlap in any case.
- **PageRank.** GDS's damping is ``1 - policy.restart``; its scores are
  normalised here to sum to one like the embedded engine's. GDS stops on a
  per-node tolerance, so scores agree to about 1e-6, not bit for bit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from graphsvc.analytics.policy import Policy
from graphsvc.store.neo4j import queries

RunCypher = Callable[..., pd.DataFrame]  # GraphDataScience.run_cypher(query, params)


class GdsAlgorithms:
    """Groups and PageRank on GDS, through a ``run_cypher`` callable."""

    def __init__(self, run_cypher: RunCypher) -> None:
        self._run_cypher = run_cypher

    def _run(self, name: str, **parameters: Any) -> pd.DataFrame:
        return self._run_cypher(queries.get(name).text, parameters)

    def _projected(self, graph: sparse.csr_matrix) -> str:
        """Project ``graph`` (applicant positions, undirected weights) and return its name."""
        name = f"graphsvc-{secrets.token_hex(6)}"
        upper = sparse.triu(graph, k=1).tocoo()
        isolated = np.flatnonzero(np.diff(graph.indptr) == 0)
        edges = [{"source": int(s), "target": int(t), "weight": float(w)}
                 for s, t, w in zip(upper.row.tolist(), upper.col.tolist(), upper.data.tolist())]
        edges += [{"source": int(s), "target": None, "weight": 0.0} for s in isolated.tolist()]
        self._run("gds/project", graph=name, edges=edges)
        return name

    def groups(self, graph: sparse.csr_matrix, policy: Policy, seed: int) -> np.ndarray:
        n = graph.shape[0]
        name = self._projected(graph)
        try:
            wcc = self._run("gds/wcc", graph=name)
            label = np.full(n, -1, dtype=np.int64)
            label[wcc["nodeId"].to_numpy(np.int64)] = wcc["componentId"].to_numpy(np.int64)
            _, label = np.unique(label, return_inverse=True)
            sizes = np.bincount(label)
            big = sizes > policy.refine_above
            if big.any():
                leiden = self._run("gds/leiden", graph=name, gamma=policy.gds_gamma, seed=int(seed))
                community = np.full(n, -1, dtype=np.int64)
                community[leiden["nodeId"].to_numpy(np.int64)] = leiden["communityId"].to_numpy(np.int64)
                inside = big[label]
                _, split = np.unique(community[inside], return_inverse=True)
                label[inside] = len(sizes) + split
        finally:
            self._run("gds/drop", graph=name)
        return label

    def pagerank(self, graph: sparse.csr_matrix, flagged: np.ndarray, restart: float) -> np.ndarray:
        n = graph.shape[0]
        if not flagged.any():
            return np.zeros(n)
        name = self._projected(graph)
        try:
            ranks = self._run("gds/pagerank", graph=name, sources=np.flatnonzero(flagged).tolist(),
                              damping=1.0 - restart, iterations=200, tolerance=1e-9)
        finally:
            self._run("gds/drop", graph=name)
        mass = np.zeros(n)
        mass[ranks["nodeId"].to_numpy(np.int64)] = ranks["score"].to_numpy(float)
        total = mass.sum()
        return mass / total if total > 0 else mass
