"""Exploring the graph around applicants: neighbourhoods, evidence paths between two
applicants, what links two of them, and a ring with the identifiers its members share.

In: the store's links (as :class:`~graphsvc.service.lookups.Lookups` reads them, under the
consent rules). Out: networkx graphs (nodes named by :func:`node_id`, hubs marked and not
expanded, ``truncated`` when a bound was met) and plain dicts. Every walk is bounded in
nodes, in holders per identifier and by a deadline.
"""

from __future__ import annotations

import itertools
import time

import networkx as nx
import pandas as pd

from graphsvc.errors import InputError
from graphsvc.ingest import normalise


def node_id(kind: str, value: str) -> str:
    """Graph node name of an applicant (kind ``applicant``) or identifier.

    Examples
    --------
    >>> node_id("phone", "+8613800138000")
    'phone:+8613800138000'
    """
    return f"{kind}:{value}"


class Exploring:
    """The graph walks of :class:`~graphsvc.service.Service`."""

    def ego_network(self, applicant_id: str, hops: int = 2, max_degree: int = 200,
                    max_nodes: int = 5_000, deadline: float | None = None) -> nx.Graph:
        """The neighbourhood of an applicant as a bipartite networkx graph.

        ``hops`` counts edges from the applicant, as :func:`networkx.ego_graph`'s
        radius does: 1 gives its identifiers, 2 adds the applicants sharing them.
        Identifiers held by more than ``max_degree`` applicants (carrier NAT,
        service numbers) are kept as nodes marked ``hub=True`` but not expanded.
        Growth stops once ``max_nodes`` is reached or the ``deadline``
        (``time.monotonic()`` value) passes (the graph is marked ``truncated``).

        Complexity: one store round trip per hop; the work is bounded by
        ``max_degree`` per identifier and ``max_nodes`` overall.

        Examples
        --------
        >>> graph = svc.ego_network("A00001353", hops=2)
        >>> graph.number_of_nodes(), graph.number_of_edges(), graph.graph["truncated"]
        (34, 59, False)
        """
        if hops < 0:
            raise InputError("hops must be >= 0")
        self._require(applicant_id)
        graph = nx.Graph(center=node_id("applicant", applicant_id), truncated=False)
        graph.add_node(node_id("applicant", applicant_id), kind="applicant", value=applicant_id)
        frontier_applicants, frontier_identifiers = [applicant_id], []
        for hop in range(hops):
            if len(graph) >= max_nodes or (deadline is not None and time.monotonic() > deadline):
                graph.graph["truncated"] = True
                break
            if hop % 2 == 0:
                links = self.links_of(frontier_applicants)
                new = self._add_links(graph, links, max_nodes)
                frontier_identifiers = sorted({(k, v) for k, v in new if k != "applicant"})
                degrees = self.store.identifier_degrees(frontier_identifiers)
                for kind, value, degree in degrees.itertuples(index=False):
                    node = graph.nodes[node_id(kind, value)]
                    node["degree"] = int(degree)
                    node["hub"] = bool(degree > max_degree)
            else:
                expandable = [(k, v) for k, v in frontier_identifiers
                              if not graph.nodes[node_id(k, v)].get("hub")]
                links = self.links_to(expandable, max_degree=max_degree)
                new = self._add_links(graph, links, max_nodes)
                frontier_applicants = sorted(v for k, v in new if k == "applicant")
        self._annotate_applicants(graph)
        return graph

    def _add_links(self, graph: nx.Graph, links: pd.DataFrame, max_nodes: int) -> list[tuple[str, str]]:
        new: list[tuple[str, str]] = []
        for row in links.sort_values(["applicant_id", "kind", "value"]).itertuples(index=False):
            a = node_id("applicant", row.applicant_id)
            i = node_id(row.kind, row.value)
            for node, kind, value in ((a, "applicant", row.applicant_id), (i, row.kind, row.value)):
                if node not in graph:
                    if len(graph) >= max_nodes:
                        graph.graph["truncated"] = True
                        return new
                    graph.add_node(node, kind=kind, value=value)
                    new.append((kind, value))
            roles = graph.edges[a, i]["roles"] if graph.has_edge(a, i) else []
            label = row.role if not row.relation else f"{row.role}:{row.relation}"
            graph.add_edge(a, i, roles=sorted(set(roles) | {label}), count=int(row.count),
                           first_seen=normalise.format_timestamp(row.first_seen),
                           last_seen=normalise.format_timestamp(row.last_seen))
        return new

    def _annotate_applicants(self, graph: nx.Graph) -> None:
        ids = [d["value"] for _, d in graph.nodes(data=True) if d["kind"] == "applicant"]
        info = self.store.applicants(ids)
        for row in info.itertuples(index=False):
            node = graph.nodes[node_id("applicant", row.applicant_id)]
            node["outcomes"] = sorted(row.outcomes.split(",")) if isinstance(row.outcomes, str) else []
            node["applications"] = int(row.applications)

    def paths(self, source: str, target: str, max_hops: int = 3, max_degree: int = 200,
              max_nodes: int = 2_000, deadline: float | None = None) -> dict:
        """A shortest evidence path between two applicants, in applicant hops.

        Breadth-first from ``source`` through shared identifiers (own or listed
        phones) and contact listings, never through hubs (more than
        ``max_degree`` holders), visiting at most ``max_nodes`` applicants before
        ``deadline``. Returns ``found``, ``hops``, ``steps`` (each with the links
        between its two applicants) and ``truncated``.

        Raises
        ------
        NotFoundError
            When either applicant is unknown.

        Examples
        --------
        >>> found = svc.paths("A00001353", "A00001685")
        >>> found["found"], found["hops"], found["steps"][0]["links"]
        (True, 1, [{'kind': 'phone', 'value': '+8613630832146', 'how': 'co-listed'},
                   {'kind': 'subnet', 'value': '53.79.93.0/24', 'how': 'shared'}])
        """
        self._require(source)
        self._require(target)
        parents: dict[str, str | None] = {source: None}
        frontier, truncated = [source], False
        for _ in range(max_hops):
            if target in parents or not frontier:
                break
            if len(parents) >= max_nodes or (deadline is not None and time.monotonic() > deadline):
                truncated = True
                break
            links = self.links_of(frontier)
            identifiers = sorted(set(zip(links["kind"], links["value"])))
            reached = self.links_to(identifiers, max_degree=max_degree)
            holders = links.groupby(["kind", "value"])["applicant_id"].apply(list).to_dict()
            nxt = []
            for row in reached.sort_values(["applicant_id", "kind", "value"]).itertuples(index=False):
                if row.applicant_id in parents:
                    continue
                parents[row.applicant_id] = sorted(holders[(row.kind, row.value)])[0]
                nxt.append(row.applicant_id)
                if len(parents) >= max_nodes:
                    truncated = True
                    break
            frontier = nxt
        if target not in parents:
            return {"from": source, "to": target, "found": False, "hops": None, "steps": [], "truncated": truncated}
        chain = [target]
        while parents[chain[-1]] is not None:
            chain.append(parents[chain[-1]])
        chain.reverse()
        steps = [{"from": a, "to": b, "links": self.links_between(a, b)} for a, b in itertools.pairwise(chain)]
        return {"from": source, "to": target, "found": True, "hops": len(chain) - 1, "steps": steps,
                "truncated": truncated}

    def links_between(self, first: str, second: str) -> list[dict]:
        """What links two applicants: identifiers both hold (``shared``), a phone of
        one the other lists (``listed``), a number both list (``co-listed``).

        Examples
        --------
        >>> svc.links_between("A00001353", "A00001685")
        [{'kind': 'phone', 'value': '+8613630832146', 'how': 'co-listed'},
         {'kind': 'subnet', 'value': '53.79.93.0/24', 'how': 'shared'}]
        """
        links = self.links_of([first, second])
        mine = links[links["applicant_id"] == first]
        theirs = links[links["applicant_id"] == second]
        out = []
        for (kind, value), a in mine.groupby(["kind", "value"]):
            b = theirs[(theirs["kind"] == kind) & (theirs["value"] == value)]
            if not len(b):
                continue
            roles = {*a["role"], *b["role"]}
            how = ("shared" if "own" in set(a["role"]) and "own" in set(b["role"])
                   else "co-listed" if roles == {"contact"} else "listed")
            out.append({"kind": kind, "value": value, "how": how})
        return out

    def ring_graph(self, ring_id: str, run_id: str | None = None, max_degree: int = 200) -> nx.Graph:
        """A ring as a networkx graph: its members and the identifiers at least two
        of them hold or list (hubs marked, as in :meth:`ego_network`).

        Examples
        --------
        >>> graph = svc.ring_graph("R000013")
        >>> graph.number_of_nodes(), graph.number_of_edges()
        (32, 60)
        """
        members = self.ring_members(ring_id, run_id=run_id)["applicant_id"].tolist()
        links = self.links_of(members)
        holders = links.groupby(["kind", "value"])["applicant_id"].nunique()
        shared = set(holders[holders >= 2].index)
        graph = nx.Graph(title=f"ring {ring_id}", ring_id=ring_id, truncated=False)
        for member in members:
            graph.add_node(node_id("applicant", member), kind="applicant", value=member)
        keep = [(k, v) in shared for k, v in zip(links["kind"], links["value"])]
        self._add_links(graph, links[keep], max_nodes=len(members) + len(shared))
        for kind, value, degree in self.store.identifier_degrees(sorted(shared), cap=max_degree).itertuples(
                index=False):
            node = graph.nodes[node_id(kind, value)]
            node["degree"], node["hub"] = int(degree), bool(degree > max_degree)
        self._annotate_applicants(graph)
        return graph
