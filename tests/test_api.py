"""The HTTP API: roles on every route, masking, audit, idempotency, limits, problems."""

import json
import re
import shutil
import time

import pytest
from conftest import BACKENDS, TEST_KEY, loaded_neo4j, scenario_sources
from fastapi.testclient import TestClient

from graphsvc.api import create_app
from graphsvc.api.security import ROLE_MATRIX, Role, digest
from graphsvc.settings import Settings
from graphsvc.store.embedded import EmbeddedStore

KEYS = {role: f"key-{role.value}" for role in Role}


def _settings(**changes) -> Settings:
    return Settings(hmac_key=TEST_KEY, api_keys={digest(k): {"name": f"{r.value}-1", "role": r.value}
                                                 for r, k in KEYS.items()}, **changes)


@pytest.fixture
def api_db(scored_db):
    return scored_db


@pytest.fixture(params=BACKENDS)
def client(request, api_db, scenario_dir, tmp_path):
    """The API over the small scenario re-scored once (seed 1): a copy of the embedded
    store, or the live Neo4j loaded and re-scored the same way (GDS)."""
    if request.param == "embedded":
        path = tmp_path / "graph.db"
        shutil.copy(api_db, path)
        settings = _settings()
    else:
        path, settings = "unused", loaded_neo4j(_settings(), scenario_sources(scenario_dir), rescore_seed=1)
    with TestClient(create_app(path, settings)) as c:
        yield c


def _as(role: Role, **headers) -> dict:
    return {"X-API-Key": KEYS[role], **headers}


@pytest.fixture
def sample(client):
    """A ring member, one of its rings, and a phone it holds (from the store)."""
    store = client.app.state.graphsvc.service.store
    ring = client.app.state.graphsvc.service.rings(top=1).iloc[0]
    member = client.app.state.graphsvc.service.ring_members(ring["ring_id"])["applicant_id"].iloc[0]
    links = store.applicant_links([member])
    phone = links.loc[(links["kind"] == "phone") & (links["role"] == "own"), "value"].iloc[0]
    return {"applicant": member, "ring": ring["ring_id"], "phone": phone, "other": "A00000002"}


def _application(n: int, **changes) -> dict:
    return {"application_id": f"NEW{n}", "applicant_id": f"NEWA{n}", "applied_at": "2025-12-01T09:00:00Z",
            "phone": "13912340000", "device_id": f"new-device-{n}", "ip": "10.9.8.7",
            "id_number": "110101199001011234",
            "contacts": [{"contact_phone": "13800000001", "relation": "friend", "contact_name": "王小明",
                          "source": "emergency"}], **changes}


def _requests(sample: dict) -> dict[str, tuple[str, str, dict | None]]:
    a = sample["applicant"]
    return {
        "score_application": ("POST", "/v1/applications/score?dry_run=true", _application(1)),
        "get_applicant": ("GET", f"/v1/applicants/{a}", None),
        "get_network": ("GET", f"/v1/applicants/{a}/network?hops=2", None),
        "identifier_applicants": ("GET", f"/v1/identifiers/phone/{sample['phone']}/applicants", None),
        "get_paths": ("GET", f"/v1/paths?from={a}&to={sample['other']}&max_hops=2", None),
        "explain_applicant": ("GET", f"/v1/applicants/{a}/explain", None),
        "list_rings": ("GET", "/v1/rings?limit=5", None),
        "get_ring": ("GET", f"/v1/rings/{sample['ring']}", None),
        "get_ring_network": ("GET", f"/v1/rings/{sample['ring']}/network", None),
        "whoami": ("GET", "/v1/me", None),
        "start_rescore": ("POST", "/v1/jobs/rescore", {"seed": 1}),
        "get_job": ("GET", "/v1/jobs/job-unknown", None),
        "skiptrace": ("POST", "/v1/skiptrace", {"applicant_id": a}),
        "reveal_number": ("POST", "/v1/skiptrace/reveal", {"applicant_id": a, "reveal": "rv-none"}),
        "subject_access": ("GET", f"/v1/subjects/{a}", None),
        "request_review": ("POST", f"/v1/applicants/{a}/review-requests", {"reason": "please look again"}),
        "list_reviews": ("GET", "/v1/review-requests", None),
        "close_review": ("POST", "/v1/review-requests/rv-none/close", {"outcome": "upheld", "note": "checked"}),
    }


def test_the_role_matrix_covers_every_route(client, sample):
    paths = client.get("/openapi.json").json()["paths"]
    named = {op["operationId"] for path, ops in paths.items() if path.startswith("/v1") for op in ops.values()}
    assert named == set(ROLE_MATRIX) == set(_requests(sample))


def test_the_role_matrix_is_the_readme_s_table(api_db, tmp_path):
    """The roles each route admits are those the README's route table promises."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    promised = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`") or "/v1/" not in cells[0]:
            continue
        roles = set(Role) if cells[1] == "all" else {Role(r.strip()) for r in cells[1].split(",")}
        for method, path in re.findall(r"`(GET|POST) (/v1/[^`\[?]*)", cells[0]):
            promised[(method.lower(), re.sub(r"\{[^}]*\}", "{}", path))] = roles
    path = tmp_path / "graph.db"
    shutil.copy(api_db, path)
    with TestClient(create_app(path, _settings())) as c:
        paths = c.get("/openapi.json").json()["paths"]
    served = {(method, re.sub(r"\{[^}]*\}", "{}", p)): op["operationId"]
              for p, ops in paths.items() if p.startswith("/v1/") for method, op in ops.items()}
    assert set(promised) == set(served)
    assert {served[k]: roles for k, roles in promised.items()} == {k: set(v) for k, v in ROLE_MATRIX.items()}


@pytest.mark.parametrize("role", list(Role))
def test_every_route_under_every_role(client, sample, role, monkeypatch):
    from graphsvc.service import jobs

    real = jobs.multiprocessing.get_context
    monkeypatch.setattr(jobs.multiprocessing, "get_context", lambda method: _no_process_context(real(method)))
    for route, (method, url, body) in _requests(sample).items():
        response = client.request(method, url, json=body, headers=_as(role, **{"X-Purpose": "collections"}))
        if role in ROLE_MATRIX[route]:
            expected = {"start_rescore": 202, "get_job": 404, "reveal_number": 404, "request_review": 201,
                        "close_review": 404}.get(route, 200)
            assert response.status_code == expected, (route, role, response.text)
        else:
            assert response.status_code == 403, (route, role)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"].startswith(f"role {role.value} may not use {route}")


class _NoProcess:
    def __init__(self, *args, **kwargs):
        pass

    def start(self):
        pass

    def is_alive(self):
        return True


def _no_process_context(context):
    """A multiprocessing context whose processes never start (the role test needs no job)."""

    class Context:
        Pipe = context.Pipe
        Process = _NoProcess

    return Context()


def test_keys_are_required(client, sample):
    url = f"/v1/applicants/{sample['applicant']}"
    missing = client.get(url)
    unknown = client.get(url, headers={"X-API-Key": "nope"})
    assert (missing.status_code, unknown.status_code) == (401, 401)
    assert missing.json() == {"type": "/problems/unauthorized", "title": "Unauthorized", "status": 401,
                              "detail": "an X-API-Key header is required", "instance": url}
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_phones_and_names_are_masked_by_role(client, sample):
    url = f"/v1/applicants/{sample['applicant']}"
    national = sample["phone"][3:]
    for role, shown in ((Role.UNDERWRITER, national[:3] + "****" + national[-4:]), (Role.ADMIN, sample["phone"])):
        body = client.get(url, headers=_as(role)).json()
        phones = [i["value"] for i in body["identifiers"] if i["kind"] == "phone" and i["role"] == "own"]
        assert shown in phones
        assert all(i["value"] is None for i in body["identifiers"] if i["kind"] == "id_number")
    client.post("/v1/applications/score", json=_application(13), headers=_as(Role.UNDERWRITER))
    names = {role: [i["name"] for i in client.get("/v1/applicants/NEWA13", headers=_as(role)).json()["identifiers"]
                    if i["role"] == "contact"] for role in (Role.UNDERWRITER, Role.ADMIN)}
    assert names == {Role.UNDERWRITER: ["王**"], Role.ADMIN: ["王小明"]}
    network = client.get(f"{url}/network", headers=_as(Role.INVESTIGATOR)).json()
    text = json.dumps(network)
    assert sample["phone"] not in text and national not in text
    ids = [n["data"]["id"] for n in network["elements"]["nodes"] if n["data"]["kind"] == "id_number"]
    assert ids and all(re.fullmatch(r"id_number:~[0-9a-f]{16}", i) for i in ids)
    # masked nodes keep their handle from one answer to the next, so a console can merge expansions
    again = client.get(f"{url}/network", headers=_as(Role.INVESTIGATOR)).json()
    assert [n["data"]["id"] for n in again["elements"]["nodes"]] == [n["data"]["id"] for n in network["elements"]["nodes"]]
    phones = {n["data"]["id"] for n in network["elements"]["nodes"] if n["data"]["kind"] == "phone"}
    assert phones and all(re.fullmatch(r"phone:~[0-9a-f]{16}", i) for i in phones)


def test_personal_data_responses_are_audited(client, sample):
    store = client.app.state.graphsvc.service.store
    before = len(store.access_log(limit=1000))
    client.get(f"/v1/applicants/{sample['applicant']}", headers=_as(Role.COLLECTOR, **{"X-Purpose": "collections"}))
    client.get("/v1/rings?limit=2", headers=_as(Role.ADMIN))  # no personal data: not audited
    client.get(f"/v1/applicants/{sample['applicant']}", headers=_as(Role.UNDERWRITER))  # no purpose given
    log = store.access_log(limit=1000)
    assert len(log) == before + 2
    newest, previous = log.iloc[0], log.iloc[1]
    assert (previous["caller"], previous["role"], previous["route"], previous["method"], previous["status"],
            previous["subjects"], previous["purpose"]) == (
        "collector-1", "collector", "/v1/applicants/{applicant_id}", "GET", 200, [sample["applicant"]], "collections")
    assert newest["purpose"] is None
    if isinstance(store, EmbeddedStore):  # Neo4j has no triggers: docs/neo4j.md, audit trail
        with pytest.raises(Exception, match="append-only"):
            store._con.execute("DELETE FROM audit")


def test_refused_calls_are_audited_without_personal_data(client, sample):
    store = client.app.state.graphsvc.service.store
    before = len(store.access_log(limit=1000))
    url = f"/v1/applicants/{sample['applicant']}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "nope", "X-Purpose": "probing"}).status_code == 401
    assert client.get("/v1/rings", headers=_as(Role.COLLECTOR)).status_code == 403
    assert client.get(url, headers={**_as(Role.UNDERWRITER), "X-Purpose": "催收".encode()}).status_code == 200
    log = store.access_log(limit=1000)
    assert len(log) == before + 4
    rows = log.head(4).iloc[::-1]
    assert [(r.caller, r.role, r.route, r.status, r.subjects, r.purpose, r.reason) for r in rows.itertuples()] == [
        ("(no key)", "", "/v1/applicants/{applicant_id}", 401, [], None, "an X-API-Key header is required"),
        ("(unknown key)", "", "/v1/applicants/{applicant_id}", 401, [], "probing", "unknown API key"),
        ("collector-1", "collector", "/v1/rings", 403, [], None,
         "role collector may not use list_rings; allowed: admin, investigator"),
        ("underwriter-1", "underwriter", "/v1/applicants/{applicant_id}", 200, [sample["applicant"]], "催收", None)]


def test_score_on_write_is_idempotent_and_conflicts_are_409(client):
    first = client.post("/v1/applications/score", json=_application(7), headers=_as(Role.UNDERWRITER))
    again = client.post("/v1/applications/score", json=_application(7), headers=_as(Role.UNDERWRITER))
    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["stored"], again.json()["stored"]) == (True, False)
    assert first.json()["score"] == again.json()["score"]
    assert first.json()["versions"]["run_id"].startswith("run-")
    unnamed = client.post("/v1/applications/score", headers=_as(Role.UNDERWRITER),
                          json=_application(70, contacts=[{"contact_phone": "13800000002"}]))
    assert unnamed.status_code == 200 and unnamed.json()["stored"] is True
    changed = client.post("/v1/applications/score", json=_application(7, ip="10.0.0.9"),
                          headers=_as(Role.UNDERWRITER))
    assert changed.status_code == 409
    assert changed.json()["detail"] == "application 'NEW7' is already stored with other content"
    other_contacts = _application(7, contacts=[{"contact_phone": "13800000009", "relation": "friend"}])
    for url in ("/v1/applications/score", "/v1/applications/score?dry_run=true"):
        response = client.post(url, json=other_contacts, headers=_as(Role.UNDERWRITER))
        assert response.status_code == 409 and response.json()["detail"] == changed.json()["detail"], url
    dry = client.post("/v1/applications/score?dry_run=true", json=_application(7, ip="10.0.0.9"),
                      headers=_as(Role.UNDERWRITER))
    assert dry.status_code == 409  # a dry run says what a real one would
    fewer = client.post("/v1/applications/score", json=_application(7, contacts=[]), headers=_as(Role.UNDERWRITER))
    assert (fewer.status_code, fewer.json()["stored"]) == (200, False)  # contacts it was stored with: none new
    store = client.app.state.graphsvc.service.store
    assert store.application("NEW7")["applicant_id"] == "NEWA7"
    assert store.applicant_links(["NEWA7"])["role"].value_counts().to_dict() == {"own": 5, "contact": 1}  # with the subnet


def test_dry_run_stores_nothing(client):
    response = client.post("/v1/applications/score?dry_run=true", json=_application(8),
                           headers=_as(Role.UNDERWRITER))
    assert response.status_code == 200 and response.json()["stored"] is False
    assert client.app.state.graphsvc.service.store.application("NEW8") is None


def test_an_application_sharing_a_ring_device_scores_high(client, sample):
    store = client.app.state.graphsvc.service.store
    links = store.applicant_links([sample["applicant"]])
    device = links.loc[links["kind"] == "device", "value"].iloc[0]
    body = client.post("/v1/applications/score", json=_application(9, device_id=device),
                       headers=_as(Role.UNDERWRITER)).json()
    codes = [r["code"] for r in body["reasons"]]
    assert body["band"] == "high" and "RING_MEMBER" in codes
    assert body["ring"]["ring_id"] == sample["ring"] and body["ring"]["member"] is False
    clean = client.post("/v1/applications/score", json=_application(10, contacts=[]),
                        headers=_as(Role.UNDERWRITER)).json()
    assert clean["score"] < body["score"]


def test_only_input_errors_are_400s(api_db, tmp_path, monkeypatch):
    """A caller's unusable value (InputError) is a 400 with its message; a ValueError
    from anywhere else is a bug, a 500 that shows nothing of it; a failed store, a 500
    that names no file."""
    from graphsvc.errors import InputError, StoreError
    from graphsvc.service import Service

    path = tmp_path / "graph.db"
    shutil.copy(api_db, path)
    with TestClient(create_app(path, _settings()), raise_server_exceptions=False) as client:
        url = "/v1/applicants/A00000002/network"
        for raised, expected in ((InputError("hops must be >= 0"), (400, "hops must be >= 0")),
                                 (ValueError("operands could not be broadcast"), (500, "internal error")),
                                 (StoreError(f"{path}: neighbourhood failed: disk I/O error"),
                                  (500, "the store of record failed"))):
            def fail(*args, raised=raised, **kwargs):
                raise raised

            monkeypatch.setattr(Service, "ego_network", fail)
            answer = client.get(url, headers=_as(Role.INVESTIGATOR))
            assert (answer.status_code, answer.json()["detail"]) == expected, raised
            assert answer.headers["content-type"] == "application/problem+json"


def test_invalid_key_fields_are_422_problems(client):
    bad = client.post("/v1/applications/score", json=_application(11, applied_at="soon", phone="12"),
                      headers=_as(Role.UNDERWRITER))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert [(e["loc"], e["type"]) for e in bad.json()["errors"]] == [(["body", "applied_at"], "invalid_timestamp")]
    for when in ("0001-01-01", "9999-12-31T00:00:00Z", "2243-05-01T10:00:00+08:00", "1690-01-01"):
        far = client.post("/v1/applications/score", json=_application(13, applied_at=when),
                          headers=_as(Role.UNDERWRITER))  # outside 1900-2100: the store's time domain
        assert far.status_code == 422 and far.json()["errors"][0]["type"] == "invalid_timestamp", when
    for hidden in ("A\x00B", "A\nB", "A\u200bB", "A\u202eB"):  # NUL, newline, zero-width, bidi override
        sneaky = client.post("/v1/applications/score?dry_run=true", json=_application(12, applicant_id=hidden),
                             headers=_as(Role.UNDERWRITER))
        assert sneaky.status_code == 422, hidden
        assert [(e["loc"], e["type"]) for e in sneaky.json()["errors"]] == [(["body", "applicant_id"],
                                                                             "invalid_identifier")]
    blank = client.post("/v1/applications/score", json=_application(12, applicant_id=" "),
                        headers=_as(Role.UNDERWRITER))
    assert blank.status_code == 422
    assert [(e["loc"], e["type"]) for e in blank.json()["errors"]] == [(["body", "applicant_id"], "missing_value")]
    schema = client.post("/v1/applications/score", json={"application_id": "x"}, headers=_as(Role.UNDERWRITER))
    assert schema.status_code == 422 and {tuple(e["loc"]) for e in schema.json()["errors"]} == {
        ("body", "applicant_id"), ("body", "applied_at")}


def test_invalid_optional_values_are_ignored_and_the_rest_is_scored(client):
    body = _application(13, phone="12", ip="300.1.1.1", device_id="dev\x01bad",
                        contacts=[{"contact_phone": "12345", "relation": "friend"},
                                  {"contact_phone": "13800000002", "relation": "cousin", "source": "letter",
                                   "recorded_at": "later"},
                                  {"relation": "parent"}])
    body["identifiers"] = {"email": "a@example.com", "ip": "10.0.0.1", "Bad-Kind": "x"}
    answer = client.post("/v1/applications/score", json=body, headers=_as(Role.UNDERWRITER))
    assert answer.status_code == 200
    assert [(i["field"], i["reason"]) for i in answer.json()["ignored"]] == [
        ("phone", "invalid_phone"), ("device_id", "invalid_identifier"), ("ip", "invalid_ip"),
        ("identifiers.Bad-Kind", "unknown_kind"), ("identifiers.ip", "unknown_kind"),
        ("contacts[0].contact_phone", "invalid_phone"), ("contacts[1].recorded_at", "invalid_timestamp"),
        ("contacts[1].relation", "unknown_value"), ("contacts[1].source", "unknown_value"),
        ("contacts[2].contact_phone", "missing_value")]
    assert answer.json()["stored"] is True
    store = client.app.state.graphsvc.service.store
    links = store.applicant_links(["NEWA13"]).sort_values(["kind", "role"])
    assert [(k, r, rel) for k, r, rel in zip(links["kind"], links["role"], links["relation"])] == [
        ("email", "own", ""), ("id_number", "own", ""), ("phone", "contact", "other"), ("raw_ip", "own", ""),
        ("raw_phone", "own", "")]  # the invalid phone and IP kept as typed, as the loader keeps them
    again = client.post("/v1/applications/score", json=body, headers=_as(Role.UNDERWRITER))
    assert again.status_code == 200 and again.json()["stored"] is False  # the same content, ignored parts too


def test_body_size_and_rate_limits(api_db, tmp_path):
    path = tmp_path / "graph.db"
    shutil.copy(api_db, path)
    with TestClient(create_app(path, _settings(api_max_body_bytes=2048, api_rate_burst=3,
                                               api_rate_per_second=0.5))) as c:
        big = _application(12, contacts=[{"contact_phone": f"1380000{i:04d}"} for i in range(100)])
        response = c.post("/v1/applications/score", json=big, headers=_as(Role.UNDERWRITER))
        assert response.status_code == 413 and response.json()["status"] == 413
        streamed = c.post("/v1/applications/score", content=(b" " * 1000 for _ in range(3)),  # chunked, no length
                          headers={**_as(Role.UNDERWRITER), "Content-Type": "application/json"})
        assert streamed.status_code == 413 and streamed.json()["detail"] == "the body is larger than 2048 bytes"
        small = c.post("/v1/applications/score", content=(part for part in (b'{"application_id": ', b'"x"}')),
                       headers={**_as(Role.UNDERWRITER), "Content-Type": "application/json"})
        assert small.status_code == 422  # a short streamed body reaches the route whole
        assert {tuple(e["loc"]) for e in small.json()["errors"]} == {("body", "applicant_id"), ("body", "applied_at")}
        statuses = [c.get("/v1/rings", headers=_as(Role.ADMIN)).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = c.get("/v1/rings", headers=_as(Role.ADMIN))
        assert int(limited.headers["Retry-After"]) >= 1
        newest = c.app.state.graphsvc.service.store.access_log(limit=1).iloc[0]
        assert (newest["caller"], newest["status"], newest["reason"]) == ("admin-1", 429, "rate limit exceeded")
        assert c.get("/v1/rings", headers=_as(Role.INVESTIGATOR)).status_code == 200  # per key


def test_a_malformed_body_is_answered_only_to_a_caller_allowed_to_send_it(client):
    """The key is checked before the body: no key or an unknown one is 401, a role that
    may not use the route 403 (both audited); only then does the schema speak (422)."""
    broken = {"content": b'{"application_id": ', "headers": {"Content-Type": "application/json"}}
    url = "/v1/applications/score"
    nobody = client.post(url, **broken)
    assert (nobody.status_code, nobody.json()["detail"]) == (401, "an X-API-Key header is required")
    assert nobody.headers["WWW-Authenticate"] == "ApiKey"
    stranger = client.post(url, content=broken["content"], headers={**broken["headers"], "X-API-Key": "nope"})
    assert (stranger.status_code, stranger.json()["detail"]) == (401, "unknown API key")
    other = client.post(url, content=broken["content"], headers={**broken["headers"], **_as(Role.INVESTIGATOR)})
    assert other.status_code == 403 and "errors" not in other.json()
    allowed = client.post(url, content=broken["content"], headers={**broken["headers"], **_as(Role.UNDERWRITER)})
    assert allowed.status_code == 422 and allowed.json()["errors"][0]["type"] == "json_invalid"
    undecodable = client.post(url, content=b"\xff", headers={**broken["headers"], **_as(Role.UNDERWRITER)})
    assert undecodable.status_code == 422 and undecodable.json()["errors"] == [
        {"loc": ["body"], "msg": "the body is not JSON text in UTF-8", "type": "json_invalid"}]
    assert client.post(url, content=b"\xff", headers=broken["headers"]).status_code == 401
    log = client.app.state.graphsvc.service.store.access_log(limit=4)
    assert log[["caller", "status"]].values.tolist() == [
        ["(no key)", 401], ["investigator-1", 403], ["(unknown key)", 401], ["(no key)", 401]]


def test_a_hub_cannot_make_a_request_expensive(api_db, tmp_path, client):
    store = client.app.state.graphsvc.service.store
    nat = store.shared_identifiers("ip").iloc[0]
    assert nat["degree"] > 200  # a carrier NAT address
    holder = store.identifier_links([("ip", nat["value"])])["applicant_id"].min()  # the same on both backends
    network = client.get(f"/v1/applicants/{holder}/network?hops=3&max_nodes=10000",
                         headers=_as(Role.INVESTIGATOR)).json()
    hub = next(n["data"] for n in network["elements"]["nodes"] if n["data"]["id"] == f"ip:{nat['value']}")
    assert hub["hub"] is True and hub["degree"] == nat["degree"]
    assert len(network["elements"]["nodes"]) < nat["degree"]
    path = tmp_path / "small.db"
    shutil.copy(api_db, path)
    with TestClient(create_app(path, _settings(api_max_nodes=10))) as c:
        small = c.get(f"/v1/applicants/{holder}/network?hops=3", headers=_as(Role.INVESTIGATOR)).json()
        assert small["truncated"] is True and len(small["elements"]["nodes"]) <= 10


def test_rings_pages_follow_the_cursor(client):
    everything = client.get("/v1/rings?limit=500", headers=_as(Role.INVESTIGATOR)).json()
    seen, cursor = [], None
    while True:
        url = "/v1/rings?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=_as(Role.INVESTIGATOR)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything["items"] and len(seen) >= 2
    risks = [r["risk"] for r in seen]
    assert risks == sorted(risks, reverse=True)
    assert client.get("/v1/rings?cursor=bm9wZQ", headers=_as(Role.INVESTIGATOR)).status_code == 400
    import base64

    run = client.app.state.graphsvc.service.run_id()
    for crafted in ([run, 0.5, 7], [run, "high", "R1"], [run, None, "R1"], [[run], 0.5, "R1"], {"run": run}, [run]):
        cursor = base64.urlsafe_b64encode(json.dumps(crafted).encode()).decode()
        answer = client.get(f"/v1/rings?cursor={cursor}", headers=_as(Role.INVESTIGATOR))
        assert (answer.status_code, answer.json()["detail"]) == (400, "cursor is not one this API issued"), crafted
    nan = base64.urlsafe_b64encode(f'["{run}", NaN, "R1"]'.encode()).decode()
    assert client.get(f"/v1/rings?cursor={nan}", headers=_as(Role.INVESTIGATOR)).status_code == 400
    high = client.get("/v1/rings?min_risk=0.99&min_size=10", headers=_as(Role.INVESTIGATOR)).json()["items"]
    assert all(r["risk"] >= 0.99 and r["size"] >= 10 for r in high)


def test_paths_between_applicants(client, sample):
    store = client.app.state.graphsvc.service.store
    members = client.app.state.graphsvc.service.ring_members(sample["ring"])["applicant_id"].tolist()
    body = client.get(f"/v1/paths?from={members[0]}&to={members[1]}&max_hops=4",
                      headers=_as(Role.INVESTIGATOR)).json()
    assert body["found"] is True and body["steps"][0]["from"] == members[0] and body["steps"][-1]["to"] == members[1]
    assert all(step["links"] for step in body["steps"])
    assert store is not None
    missing = client.get(f"/v1/paths?from={members[0]}&to=nobody", headers=_as(Role.INVESTIGATOR))
    assert missing.status_code == 404


def _finished(client, body: dict) -> dict:
    started = client.post("/v1/jobs/rescore", json=body, headers=_as(Role.ADMIN))
    assert started.status_code == 202 and started.json()["status"] == "running"
    job_id = started.json()["job_id"]
    for _ in range(240):
        job = client.get(f"/v1/jobs/{job_id}", headers=_as(Role.ADMIN)).json()
        if job["status"] != "running":
            break
        time.sleep(0.25)
    assert job["status"] == "succeeded", job
    return job


def test_rescore_job_runs_in_its_own_process(client):
    job = _finished(client, {"seed": 2})
    assert job["decision"] == "promote" and job["reason"].startswith("covers the store: 3000 applicants scored")
    assert client.app.state.graphsvc.service.run_id() == job["run_id"]


def test_a_rescore_as_of_the_past_changes_nothing_served_unless_promoted(client):
    before = client.get("/v1/rings?limit=50", headers=_as(Role.INVESTIGATOR)).json()
    served = client.app.state.graphsvc.service.run_id()
    held = _finished(client, {"as_of": "1900-01-01"})
    assert held["decision"] == "hold" and held["reason"].startswith("scored as of 1900-01-01T23:59:59Z")
    assert client.get("/v1/rings?limit=50", headers=_as(Role.INVESTIGATOR)).json() == before
    assert client.app.state.graphsvc.service.run_id() == served
    forced = _finished(client, {"as_of": "1900-01-01", "promote": True})
    assert forced["decision"] == "promote" and client.app.state.graphsvc.service.run_id() == forced["run_id"]
    assert client.get("/v1/rings?limit=50", headers=_as(Role.INVESTIGATOR)).json()["items"] == []


def test_openapi_document_matches_the_committed_snapshot(client):
    from pathlib import Path

    snapshot = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
    document = client.get("/openapi.json").json()
    assert document == json.loads(snapshot.read_text()), (
        "the API changed: review it, then refresh docs/openapi.json with `python -m graphsvc.api.openapi`")
    assert all(p.startswith("/v1/") or p in ("/healthz", "/readyz", "/metrics") for p in document["paths"])


def test_rings_filter_by_typology_and_a_ring_s_network(client, sample):
    from graphsvc.analytics.rings import TYPOLOGY_NAMES, typologies

    service = client.app.state.graphsvc.service
    rings = service.store.run_table(service.run_id(), "rings")
    named = {r.ring_id: typologies(json.loads(r.features)) for r in rings.itertuples(index=False)}
    assert len({t for ts in named.values() for t in ts}) >= 2  # the scenario's rings are not all alike
    for typology in TYPOLOGY_NAMES:
        items = client.get(f"/v1/rings?limit=500&typology={typology}", headers=_as(Role.INVESTIGATOR)).json()["items"]
        assert sorted(r["ring_id"] for r in items) == sorted(k for k, ts in named.items() if typology in ts)
        assert all(r["typologies"] == named[r["ring_id"]] for r in items)
    refused = client.get("/v1/rings?typology=pyramid", headers=_as(Role.INVESTIGATOR))
    assert refused.status_code == 422
    body = client.get(f"/v1/rings/{sample['ring']}/network", headers=_as(Role.INVESTIGATOR)).json()
    graph = service.ring_graph(sample["ring"])
    assert len(body["elements"]["nodes"]) == graph.number_of_nodes()
    assert len(body["elements"]["edges"]) == graph.number_of_edges()
    members = set(service.ring_members(sample["ring"])["applicant_id"])
    assert {n["data"]["label"] for n in body["elements"]["nodes"] if n["data"]["kind"] == "applicant"} == members
    assert client.get("/v1/rings/R999999/network", headers=_as(Role.INVESTIGATOR)).status_code == 404


def test_masked_nodes_keep_their_handles_across_processes(api_db, tmp_path):
    """Two servers over one store (workers, or the next start) give a masked node one
    handle: it is keyed by the identity key, not by the process."""
    path = tmp_path / "graph.db"
    shutil.copy(api_db, path)
    answers = []
    for _ in range(2):
        with TestClient(create_app(path, _settings())) as c:
            service = c.app.state.graphsvc.service
            member = service.ring_members(service.rings(top=1)["ring_id"].iloc[0])["applicant_id"].iloc[0]
            body = c.get(f"/v1/applicants/{member}/network", headers=_as(Role.INVESTIGATOR)).json()
            answers.append(sorted(n["data"]["id"] for n in body["elements"]["nodes"] if ":~" in n["data"]["id"]))
    assert answers[0] and answers[0] == answers[1]
