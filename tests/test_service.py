"""The Python API: look-ups by raw values and ego networks checked against networkx."""

import networkx as nx
import pytest
from conftest import write_csv

import graphsvc
from graphsvc.errors import NotFoundError
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.service import node_id


@pytest.fixture
def small(tmp_path):
    """A hand-built graph: A1-A2 share a device, A2-A3 share an IP, A4 lists A1's phone."""
    apps = write_csv(tmp_path / "applications.csv", [
        {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-01-01", "phone": "13800000001",
         "device_id": "d1", "ip": "10.0.0.1"},
        {"application_id": "P2", "applicant_id": "A2", "applied_at": "2024-01-02", "phone": "13800000002",
         "device_id": "d1", "ip": "10.0.0.2"},
        {"application_id": "P3", "applicant_id": "A3", "applied_at": "2024-01-03", "phone": "13800000003",
         "device_id": "d3", "ip": "10.0.0.2"},
        {"application_id": "P4", "applicant_id": "A4", "applied_at": "2024-01-04", "phone": "13800000004",
         "device_id": "d4", "ip": "10.0.0.4"},
        {"application_id": "P5", "applicant_id": "A1", "applied_at": "2024-02-01", "phone": "13800000001",
         "device_id": "d1", "ip": "10.0.0.1"},
    ])
    contacts = write_csv(tmp_path / "contacts.csv", [
        {"applicant_id": "A4", "contact_phone": "138 0000 0001", "relation": "friend", "contact_name": "王一",
         "source": "emergency", "recorded_at": "2024-01-04"},
    ])
    outcomes = write_csv(tmp_path / "outcomes.csv", [
        {"applicant_id": "A3", "outcome": "fraud", "observed_at": "2024-05-01"}])
    service = graphsvc.open(tmp_path / "graph.db")
    load(service.store, canonical_sources({"applications": apps, "contacts": contacts, "outcomes": outcomes}))
    yield service
    service.close()


def test_applicants_for_accepts_raw_values(small):
    holders = small.applicants_for("phone", "+86 138-0000-0001")
    assert sorted(zip(holders["applicant_id"], holders["role"], holders["count"])) == [
        ("A1", "own", 2), ("A4", "contact", 1)]
    own = holders[holders["role"] == "own"].iloc[0]
    assert (own["first_seen"], own["last_seen"]) == ("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z")
    assert sorted(small.applicants_for("device", " d1 ")["applicant_id"]) == ["A1", "A2"]
    with pytest.raises(ValueError, match="not a valid phone"):
        small.applicants_for("phone", "12345")


def test_identifiers_of(small):
    ids = small.identifiers_of("A4").sort_values(["kind", "role"])
    assert ids[["kind", "value", "role", "relation"]].values.tolist() == [
        ["device", "d4", "own", ""], ["ip", "10.0.0.4", "own", ""],
        ["phone", "+8613800000001", "contact", "friend"], ["phone", "+8613800000004", "own", ""],
        ["subnet", "10.0.0.0/24", "own", ""]]
    with pytest.raises(NotFoundError, match="no applicant 'A9'"):
        small.identifiers_of("A9")


def _full_graph(service) -> nx.Graph:
    links = service.store.applicant_links(["A1", "A2", "A3", "A4"])
    graph = nx.Graph()
    graph.add_edges_from((node_id("applicant", a), node_id(k, v)) for a, k, v in
                         links[["applicant_id", "kind", "value"]].itertuples(index=False))
    return graph


@pytest.mark.parametrize("hops", [0, 1, 2, 3, 4, 5])
def test_ego_network_equals_networkx_ego_graph(small, hops):
    ours = small.ego_network("A1", hops=hops)
    oracle = nx.ego_graph(_full_graph(small), node_id("applicant", "A1"), radius=hops)
    assert set(ours.nodes) == set(oracle.nodes)
    assert {frozenset(e) for e in ours.edges} == {frozenset(e) for e in oracle.edges}


def test_ego_network_attributes(small):
    graph = small.ego_network("A4", hops=6)  # A4 - phone - A1 - d1 - A2 - ip - A3
    assert graph.nodes["applicant:A3"]["outcomes"] == ["fraud"]
    assert graph.nodes["applicant:A1"]["applications"] == 2
    edge = graph.edges["applicant:A4", "phone:+8613800000001"]
    assert edge["roles"] == ["contact:friend"] and edge["count"] == 1


def test_hubs_are_marked_and_not_expanded(small):
    graph = small.ego_network("A1", hops=3, max_degree=1)
    assert graph.nodes["device:d1"]["hub"] is True and graph.nodes["device:d1"]["degree"] == 2
    assert "applicant:A2" not in graph  # only reachable through the hub
    assert graph.nodes["phone:+8613800000001"]["hub"] is True  # A1 and A4 hold it


def test_ego_network_respects_max_nodes(small):
    graph = small.ego_network("A1", hops=5, max_nodes=4)
    assert len(graph) == 4 and graph.graph["truncated"] is True


def test_ego_network_oracle_on_generated_data(scenario_db):
    with graphsvc.open(scenario_db, readonly=True) as service:
        apps = service.store._frame("SELECT key FROM applicants ORDER BY id LIMIT 3")["key"]
        # every link the consent rules let investigators see (no address book without consent)
        everything = service.consent.links(service.store._frame(service.store._LINKS_SELECT), "linkage")
        full = nx.Graph()
        full.add_edges_from((node_id("applicant", a), node_id(k, v)) for a, k, v in
                            everything[["applicant_id", "kind", "value"]].itertuples(index=False))
        for applicant in apps:
            ours = service.ego_network(applicant, hops=2, max_degree=10**9, max_nodes=10**9)
            oracle = nx.ego_graph(full, node_id("applicant", applicant), radius=2)
            assert set(ours.nodes) == set(oracle.nodes)
            assert ours.number_of_edges() == oracle.number_of_edges()


def test_counts(small):
    counts = small.counts()
    assert counts["nodes"] == {"applicant": 4, "device": 3, "ip": 3, "phone": 4, "subnet": 1}
    assert counts["facts"] == {"applications": 5, "contacts": 1, "sightings": 0}
