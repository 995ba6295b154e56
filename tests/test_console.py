"""The investigators' console in a real browser: Debian's Chromium, driven headless by
Playwright (its core only; no browser download), against the API served by uvicorn
over the small scenario re-scored once. Screenshots of every step are kept in
``test-artefacts/console/``."""

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import TEST_KEY

import graphsvc
from graphsvc.api.security import Role, digest
from graphsvc.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: .ci/run installs Debian's package")
ARTEFACTS = Path(__file__).resolve().parents[1] / "test-artefacts" / "console"
KEYS = {role: f"console-key-{role.value}" for role in Role}
#: Chromium on a closed network: no background connections, no first-run work
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
MASKED = re.compile(r"^\d{3}\*+\d{4}$")


@pytest.fixture(scope="module")
def served(scored_db, tmp_path_factory):
    """``graphsvc serve``'s app over a copy of the scored scenario, on a free port."""
    import uvicorn

    from graphsvc.api import create_app

    db = tmp_path_factory.mktemp("console") / "graph.db"
    shutil.copy(scored_db, db)
    settings = Settings(hmac_key=TEST_KEY, api_keys={digest(k): {"name": f"{r.value}-1", "role": r.value}
                                                     for r, k in KEYS.items()})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db, settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with graphsvc.open(db, readonly=True, settings=settings) as service:
        yield {"url": f"http://127.0.0.1:{port}", "service": service, "db": db}
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, served, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    problems = []
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: problems.append(str(e)))
    opened.goto(served["url"] + "/ui")
    opened.wait_for_selector("body[data-started=yes]")
    yield opened
    context.close()
    # a refused call is answered (the page shows it), so the only errors allowed are its HTTP 403s
    assert [p for p in problems if "403" not in p] == [], problems


def sign_in(page, role: Role) -> None:
    page.fill("#key", KEYS[role])
    page.click("#signin-form button")
    page.wait_for_selector("#app:not([hidden])")


def go(page, address: str) -> None:
    page.evaluate("a => { location.hash = a; }", address)
    page.wait_for_function("a => document.body.dataset.rendered === a", arg=address)


def snap(page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"))


def cells(page, table: str, column: int) -> list[str]:
    return page.eval_on_selector_all(f"#{table} tbody tr", f"rows => rows.map(r => r.cells[{column}].textContent)")


def graph_ids(page) -> set[str]:
    return set(page.evaluate("() => window.graphsvcConsole.graph.cy.nodes().map(n => n.id())"))


def tap(page, node_id: str) -> None:
    """Click a node where the browser drew it."""
    box = page.locator("#graph").bounding_box()
    at = page.evaluate("id => window.graphsvcConsole.graph.cy.getElementById(id).renderedPosition()", node_id)
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])


@pytest.fixture(scope="module")
def ring(served):
    service = served["service"]
    top = service.rings(top=1)["ring_id"].iloc[0]
    return top, sorted(service.ring_members(top)["applicant_id"])


def test_investigator_search_applicant_expand_ring_path_explain(page, served, ring):
    service = served["service"]
    ring_id, members = ring
    first, second = members[0], members[-1]
    sign_in(page, Role.INVESTIGATOR)
    assert page.text_content("#who") == "investigator-1 (investigator)"

    # search: an applicant id
    page.select_option("#search-kind", "applicant")
    page.fill("#search-value", first)
    page.click("#search button")
    page.wait_for_function("a => document.body.dataset.rendered === a", arg=f"#/applicant/{first}")
    page.wait_for_function("() => Number(document.body.dataset.expanded) >= 1")
    scored = service.scores().set_index("applicant_id").loc[first]
    assert page.text_content("#score").startswith(f"score {int(scored['score'])}, band {scored['band']}")
    assert f"ring {ring_id}" in page.text_content("#score")
    info = service.identifiers_of(first)
    kinds = cells(page, "identifiers", 0)
    values = cells(page, "identifiers", 1)
    assert sorted(kinds) == sorted(info["kind"])
    phones = [v for k, v in zip(kinds, values) if k == "phone"]
    assert phones and all(MASKED.match(v) for v in phones), phones  # masked for an investigator
    outcomes, applied = service.store.timelines([first])
    assert len(cells(page, "timeline", 1)) == len(outcomes) + len(applied)
    assert cells(page, "timeline", 1).count("applied") == len(applied)
    snap(page, "1-applicant")

    # the graph: the ego network (2 hops), drawn; ids of masked phones are opaque handles
    network = service.ego_network(first, hops=2, max_nodes=200)
    assert page.text_content("#graph-status").startswith(f"{network.number_of_nodes()} nodes; +{network.number_of_nodes()} from {first}")
    drawn = graph_ids(page)
    assert len(drawn) == network.number_of_nodes()
    assert {n for n in network if n.startswith("applicant:")} <= drawn
    assert not any(i.startswith("phone:+") for i in drawn)

    # expand a neighbour that was not expanded yet, by clicking it: nothing drawn moves
    others = sorted(n for n in drawn if n.startswith("applicant:") and n != f"applicant:{first}")
    target = others[0]
    before = page.evaluate("() => Object.fromEntries(window.graphsvcConsole.graph.cy.nodes().map(n => [n.id(), n.position()]))")
    tap(page, target)
    assert page.text_content("#selection").startswith(f"applicant {target.split(':', 1)[1]}")
    page.click("#expand")
    page.wait_for_function("() => Number(document.body.dataset.expanded) >= 2")
    after = page.evaluate("() => Object.fromEntries(window.graphsvcConsole.graph.cy.nodes().map(n => [n.id(), n.position()]))")
    assert {k: after[k] for k in before} == before
    expected = set(network) | set(service.ego_network(target.split(":", 1)[1], hops=2, max_nodes=200))
    assert len(after) == len(expected)
    new = len(after) - len(before)
    assert new > 0 and page.text_content("#graph-status").startswith(f"{len(after)} nodes; +{new} from {target.split(':', 1)[1]}")
    snap(page, "2-expanded")

    # hide, pin, undo
    page.evaluate("id => window.graphsvcConsole.graph.hide(id)", target)
    assert target not in graph_ids(page)
    page.click("#undo")
    assert target in graph_ids(page)
    page.click("#undo")  # the expansion: exactly what it added goes
    assert graph_ids(page) == set(before)

    # rings: filtered, one opened in the graph with its features
    go(page, "#/rings")
    listed = cells(page, "rings", 0)
    assert listed[0] == ring_id
    assert len(listed) == len(service.rings())
    page.fill("input[name=min_size]", str(len(members)))
    page.click("#ring-filters button")
    page.wait_for_function("() => (document.body.dataset.rendered || '').startsWith('#/rings?')")
    rings = service.rings()
    assert sorted(cells(page, "rings", 0)) == sorted(rings.loc[rings["size"] >= len(members), "ring_id"])
    go(page, f"#/ring/{ring_id}")
    assert sorted(cells(page, "members", 0)) == members
    assert {f"applicant:{m}" for m in members} <= graph_ids(page)
    assert len(graph_ids(page)) == service.ring_graph(ring_id).number_of_nodes()
    assert "velocity" in cells(page, "ring-features", 0)
    snap(page, "3-ring")

    # a path between two members, with what links each step
    go(page, f"#/path/{first}/{second}")
    found = service.paths(first, second, max_hops=4)
    steps = page.eval_on_selector_all("#path-steps li", "items => items.map(i => i.textContent)")
    assert len(steps) == found["hops"]
    assert steps[0].startswith(f"{first} → {found['steps'][0]['to']}: ")
    # the drawing marks the path's applicants and, per step, only what links the two
    people = [f"applicant:{first}", *(f"applicant:{s['to']}" for s in found["steps"])]
    marked = page.evaluate("""() => { const cy = window.graphsvcConsole.graph.cy;
        return { nodes: cy.nodes('.on-path').map(n => n.id()),
                 edges: cy.edges('.on-path').map(e => [e.source().id(), e.target().id()]),
                 next: Object.fromEntries(cy.nodes().map(n => [n.id(), n.neighborhood('node').map(m => m.id())])) }; }""")
    steps_of = list(zip(people, people[1:]))
    assert set(people) <= set(marked["nodes"])
    for a, b in steps_of:  # every step has at least one marked link between its two
        assert any(set(edge) & {a, b} and (set(edge) - {a, b}) & set(marked["next"][a]) & set(marked["next"][b])
                   for edge in marked["edges"]), (a, b)
    for edge in marked["edges"]:  # and nothing else is marked
        assert any(set(edge) <= {a, b} | (set(marked["next"][a]) & set(marked["next"][b])) for a, b in steps_of), edge
    snap(page, "4-path")

    # explain
    go(page, f"#/applicant/{first}")
    page.click("#explain")
    page.wait_for_selector("#explanation")
    explained = service.explain(first)
    assert cells(page, "explanation", 0) == [r["code"] for r in explained["reasons"]]
    snap(page, "5-explain")

    # nothing personal in browser storage
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0


def test_search_by_phone_typed_as_people_write_it(page, served):
    service = served["service"]
    links = service.store.applicant_links([f"A{n:08d}" for n in range(50)])
    phone = links[(links["kind"] == "phone") & (links["role"] == "own")].iloc[0]
    national = phone["value"][3:]  # +86 and eleven digits, written with spaces
    typed = f"{national[:3]} {national[3:7]} {national[7:]}"
    sign_in(page, Role.INVESTIGATOR)
    page.select_option("#search-kind", "phone")
    page.fill("#search-value", typed)
    page.click("#search button")
    page.wait_for_function("() => (document.body.dataset.rendered || '').startsWith('#/identifier/')")
    holders = service.links_to([("phone", phone["value"])])
    assert sorted(set(cells(page, "holders", 0))) == sorted(set(holders["applicant_id"]))
    assert phone["value"] not in page.content()  # the heading shows it masked


def test_admin_sees_phones_whole(page, served, ring):
    _, members = ring
    sign_in(page, Role.ADMIN)
    go(page, f"#/applicant/{members[0]}")
    kinds, values = cells(page, "identifiers", 0), cells(page, "identifiers", 1)
    phones = [v for k, v in zip(kinds, values) if k == "phone"]
    assert phones and all(re.match(r"^\+\d{8,15}$", v) for v in phones), phones
    page.wait_for_function("() => Number(document.body.dataset.expanded) >= 1")
    assert any(i.startswith("phone:+") for i in graph_ids(page))
    snap(page, "6-admin")


def test_collector_traces_with_a_purpose_and_cannot_open_the_graph(page, served):
    service = served["service"]
    borrower = service.lost_contact()[0]
    sign_in(page, Role.COLLECTOR)
    assert page.is_hidden("#graph-panel") and page.is_hidden("#nav-rings") and page.is_hidden("#nav-path")
    go(page, f"#/applicant/{borrower}")
    assert page.locator("#open-graph").count() == 0 and page.locator("#explain").count() == 0
    go(page, "#/rings")  # typed by hand: the API refuses, the page says why
    assert page.text_content("#message").startswith("not for your role (collector): role collector may not use list_rings")
    go(page, f"#/skiptrace/{borrower}")
    page.click("#skiptrace-form button")  # no purpose: the form does not send
    assert page.locator("#candidates").count() == 0
    page.fill("input[name=purpose]", "collections: overdue loan")
    page.click("#skiptrace-form button")
    page.wait_for_selector("#candidates")
    expected = service.skiptrace(borrower, limit=10)
    assert cells(page, "candidates", 1) == ["own" if c == "own" else "third party" for c in expected["channel"]]
    rules = cells(page, "candidates", 6)
    assert {r for r, c in zip(rules, expected["channel"]) if c != "own"} <= {"ask only for a way to reach the borrower"}
    trail = service.store.access_log(limit=5, subject=borrower)
    assert "collections: overdue loan" in set(trail["purpose"])
    snap(page, "7-collector-skiptrace")


def test_api_answers_are_never_cached(served):
    import json
    import urllib.error
    import urllib.request

    asked = urllib.request.Request(served["url"] + "/v1/me", headers={"X-API-Key": KEYS[Role.INVESTIGATOR]})
    with urllib.request.urlopen(asked) as answer:
        assert json.load(answer) == {
            "name": "investigator-1", "role": "investigator",
            "routes": ["close_review", "explain_applicant", "get_applicant", "get_network", "get_paths", "get_ring",
                       "get_ring_network", "identifier_applicants", "list_reviews", "list_rings", "request_review",
                       "whoami"]}
        assert answer.headers["Cache-Control"] == "no-store"
    with urllib.request.urlopen(served["url"] + "/ui/") as page:
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(served["url"] + "/ui/secrets.txt")
    refused.value.close()
    assert refused.value.code == 404


def test_a_hub_is_drawn_with_its_holders_counted_and_never_expanded(page, served):
    service = served["service"]
    hub = service.hubs().query("kind == 'ip'").iloc[0]
    holder = service.links_to([("ip", hub["value"])])["applicant_id"].iloc[0]
    sign_in(page, Role.INVESTIGATOR)
    go(page, f"#/applicant/{holder}")
    page.wait_for_function("() => Number(document.body.dataset.expanded) >= 1")
    node = f"ip:{hub['value']}"
    data = page.evaluate("id => window.graphsvcConsole.graph.cy.getElementById(id).data()", node)
    degree = int(service.store.identifier_degrees([("ip", hub["value"])])["degree"].iloc[0])
    assert data["hub"] is True and data["caption"] == f"{hub['value']} (hub: {degree} holders)"
    # its holders are not drawn: only the applicant whose network it is
    holders = page.evaluate("id => window.graphsvcConsole.graph.cy.getElementById(id).neighborhood('node').map(n => n.id())", node)
    assert holders == [f"applicant:{holder}"]
    tap(page, node)
    assert "a hub with" in page.text_content("#selection")
    assert page.is_disabled("#expand")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_what_the_role_matrix_gives_it(page, served, ring, role):
    from graphsvc.api.security import ROLE_MATRIX

    _, members = ring
    sign_in(page, role)
    go(page, f"#/applicant/{members[0]}")
    may = {route for route, roles in ROLE_MATRIX.items() if role in roles}
    shown = {
        "get_network": page.is_visible("#graph-panel") and page.locator("#open-graph").count() == 1,
        "list_rings": page.is_visible("#nav-rings"),
        "get_paths": page.is_visible("#nav-path"),
        "explain_applicant": page.locator("#explain").count() == 1,
        "skiptrace": page.locator("#open-skiptrace").count() == 1,
    }
    assert shown == {route: route in may for route in shown}
    assert page.text_content("#score").startswith("score ")  # every role reads the applicant


def test_the_drawing_exports_as_png(page, served, ring):
    _, members = ring
    sign_in(page, Role.INVESTIGATOR)
    go(page, f"#/applicant/{members[0]}")
    page.wait_for_function("() => Number(document.body.dataset.expanded) >= 1")
    with page.expect_download() as started:
        page.click("#png")
    download = started.value
    assert download.suggested_filename == "graphsvc-network.png"
    data = Path(download.path()).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_search_by_identity_number_typed_raw(page, served, scenario_dir):
    import pandas as pd

    row = pd.read_parquet(scenario_dir / "applications.parquet").iloc[0]
    sign_in(page, Role.INVESTIGATOR)
    page.select_option("#search-kind", "id_number")
    page.fill("#search-value", f" {row['id_number'][:6]} {row['id_number'][6:14]} {row['id_number'][14:]} ")
    page.click("#search button")
    page.wait_for_function("() => (document.body.dataset.rendered || '').startsWith('#/identifier/')")
    assert page.text_content("h2") == "id_number (identity number, withheld)"
    assert row["applicant_id"] in cells(page, "holders", 0)
    assert row["id_number"] not in page.content()


def test_a_visible_identifier_expands_to_its_holders(page, served, ring):
    service = served["service"]
    _, members = ring
    links = service.links_of([members[0]])
    device = links[links["kind"] == "device"]["value"].iloc[0]
    holders = set(service.links_to([("device", device)])["applicant_id"])
    assert len(holders) >= 2
    sign_in(page, Role.INVESTIGATOR)
    go(page, f"#/applicant/{members[0]}")
    page.wait_for_function("() => Number(document.body.dataset.expanded) >= 1")
    # start again from the applicant and its own identifiers only (one hop)
    page.evaluate("""async id => { const s = window.graphsvcConsole; s.graph.clear();
        s.graph.merge((await s.api.get(`/v1/applicants/${id}/network`, { hops: 1 })).elements, `applicant:${id}`); }""",
                  members[0])
    assert _drawn_applicants(page) == {members[0]}
    tap(page, f"device:{device}")
    assert page.text_content("#selection") == f"device {device}"
    page.click("#expand")
    page.wait_for_function("n => window.graphsvcConsole.graph.cy.nodes('[kind = \"applicant\"]').length >= n",
                           arg=len(holders))
    assert holders <= _drawn_applicants(page)


def _drawn_applicants(page) -> set[str]:
    return {i.split(":", 1)[1] for i in graph_ids(page) if i.startswith("applicant:")}
