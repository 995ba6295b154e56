"""Pictures of rings and neighbourhoods: PNG, offline HTML, GraphML and GEXF."""

import re

import networkx as nx
import pytest

import graphsvc
from graphsvc.present.pictures import save


@pytest.fixture(scope="module")
def ring(scored_db):
    with graphsvc.open(scored_db, readonly=True) as service:
        ring_id = service.rings(top=1)["ring_id"].iloc[0]
        members = set(service.ring_members(ring_id)["applicant_id"])
        return service.ring_graph(ring_id), members


def test_a_ring_graph_is_its_members_and_what_they_share(ring):
    graph, members = ring
    applicants = {d["value"] for _, d in graph.nodes(data=True) if d["kind"] == "applicant"}
    assert applicants == members
    for node, data in graph.nodes(data=True):
        if data["kind"] != "applicant":
            assert graph.degree(node) >= 2  # every identifier drawn links two members or more
    assert nx.is_bipartite(graph)


def test_png_is_a_real_picture(ring, tmp_path):
    import matplotlib.image

    graph, _ = ring
    pixels = matplotlib.image.imread(save(graph, tmp_path / "ring.png"))
    assert pixels.shape[:2] == (800, 1000)
    assert pixels[..., :3].std() > 0.05  # not blank
    red = (pixels[..., 0] > 0.8) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert red.any() == any("fraud" in d.get("outcomes", []) for _, d in graph.nodes(data=True))


def test_html_is_offline_and_holds_every_node(ring, tmp_path):
    graph, members = ring
    page = save(graph, tmp_path / "ring.html", title="a ring").read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)  # nothing fetched from the network
    assert page.count("<circle") == graph.number_of_nodes() and page.count("<line") == graph.number_of_edges()
    assert all(member in page for member in members)
    assert not any(d["kind"] == "id_number" and d["value"] in page for _, d in graph.nodes(data=True))


@pytest.mark.parametrize("suffix,read", [(".graphml", nx.read_graphml), (".gexf", nx.read_gexf)])
def test_exports_round_trip(ring, tmp_path, suffix, read):
    graph, _ = ring
    back = read(save(graph, tmp_path / f"ring{suffix}"))
    assert back.number_of_nodes() == graph.number_of_nodes()
    assert back.number_of_edges() == graph.number_of_edges()
    kinds = sorted(d["kind"] for _, d in back.nodes(data=True))
    assert kinds == sorted(d["kind"] for _, d in graph.nodes(data=True))


def test_unknown_format(ring, tmp_path):
    with pytest.raises(ValueError, match="one of .png, .html, .graphml, .gexf"):
        save(ring[0], tmp_path / "ring.svg")


def test_ego_network_picture(scored_db, tmp_path):
    with graphsvc.open(scored_db, readonly=True) as service:
        applicant = service.rings(top=1)["ring_id"].iloc[0]
        member = service.ring_members(applicant)["applicant_id"].iloc[0]
        graph = service.ego_network(member, hops=2)
    page = save(graph, tmp_path / "ego.html").read_text()
    assert member in page and page.count("<circle") == graph.number_of_nodes()
