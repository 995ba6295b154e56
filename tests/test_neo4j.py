"""The Neo4j backend without a server: the exact Cypher and parameters each
operation emits (a recording driver), transaction boundaries, and the GDS calls."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import application, contact, write_csv
from neo4j_fake import Recorder
from scipy import sparse

from graphsvc.analytics.policy import Policy
from graphsvc.errors import ConfigurationError, KeyCollisionError, StoreError
from graphsvc.ingest import keys
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.settings import Settings, use_settings
from graphsvc.store import open_store
from graphsvc.store.neo4j import SCHEMA, Neo4jStore, queries
from graphsvc.store.neo4j.algorithms import GdsAlgorithms

DAY1 = 1704067200  # 2024-01-01T00:00:00Z


def ref(kind: str, value: str) -> int:
    return int(keys.identifier_ids(kind, np.array([value], dtype=object))[0])


class Graph:
    """Just enough state for the responder: applicants, applications, identifiers and facts."""

    def __init__(self) -> None:
        self.applicants: dict[str, object] = {}
        self.applications: dict[str, tuple[str, int, int]] = {}
        self.identifiers: dict[int, tuple[str, str]] = {}
        self.facts: set[int] = set()
        self.pending: dict[int, dict] = {}

    def __call__(self, name: str, p: dict) -> list[dict]:
        if name == "store/known_applicants":
            return [{"id": i, "properties": self.applicants[i]} for i in p["ids"] if i in self.applicants]
        if name == "store/application_digests":
            return [{"key": k, "applicant_id": self.applications[k][0], "applied_at": self.applications[k][1],
                     "digest": self.applications[k][2]} for k in p["keys"] if k in self.applications]
        if name == "store/create_applications":
            for row in p["rows"]:
                self.applicants.setdefault(row["applicant_id"], None)
                self.applications[row["key"]] = (row["applicant_id"], row["applied_at"], row["digest"])
        if name == "store/merge_identifiers":
            out = []
            for row in p["rows"]:
                kind, value = self.identifiers.setdefault(row["ref"], (row["kind"], row["value"]))
                out.append({"ref": row["ref"], "kind": kind, "value": value})
            return out
        if name in ("store/known_facts", "store/known_outcomes", "store/known_relations"):
            return [{"hash": h} for h in p["hashes"] if h in self.facts]
        if name == "store/create_facts":
            self.facts.update(row["hash"] for row in p["rows"])
        if name == "store/keep_pending":
            new = [row for row in p["rows"] if row["hash"] not in self.pending]
            self.pending.update((row["hash"], row) for row in new)
            return [{"kept": len(new)}]
        if name == "store/any_pending":
            return [{"n": len(self.pending)}]
        if name == "store/take_pending":
            taken = [h for h, row in self.pending.items() if row["waiting"] in p["ids"]]
            return [{k: row[k] for k in ("table", "since", "body")} for row in map(self.pending.pop, taken)]
        if name == "store/loaded_batches":
            return []
        return []


@pytest.fixture
def graph() -> Graph:
    return Graph()


@pytest.fixture
def recorder(graph: Graph) -> Recorder:
    return Recorder(graph)


@pytest.fixture
def neo(recorder: Recorder) -> Neo4jStore:
    store = Neo4jStore(recorder, "fraud")
    recorder.calls.clear()
    recorder.transactions.clear()
    return store


def test_opening_creates_every_constraint_and_index_once_in_one_transaction():
    recorder = Recorder()
    Neo4jStore(recorder, "fraud")
    assert recorder.transactions == ["write"]
    assert recorder.names() == list(SCHEMA)
    assert {q.name for q in queries.library() if q.name.startswith("schema/")} == set(SCHEMA)
    assert all(parameters == {} for _, parameters, _ in recorder.calls)
    assert len(SCHEMA) == 17


def test_read_only_store_writes_nothing():
    recorder = Recorder()
    store = Neo4jStore(recorder, readonly=True)
    assert recorder.calls == []
    with pytest.raises(StoreError, match="read-only"):
        store.record_access({"at": "x", "caller": "c", "role": "admin", "route": "/", "method": "GET",
                             "status": 200, "subjects": []})


def test_driver_errors_become_store_errors_naming_the_query():
    from neo4j.exceptions import ClientError, ServiceUnavailable

    def refuse(name, parameters):
        raise {"store/counts": ClientError("Invalid input 'X'"), "results/runs": ServiceUnavailable("gone")}[name]

    store = Neo4jStore(Recorder(refuse), readonly=True)
    with pytest.raises(StoreError) as failed:
        store.counts()
    assert str(failed.value) == "Neo4j read failed (query store/counts): Invalid input 'X'"
    assert isinstance(failed.value.__cause__, ClientError)
    with pytest.raises(StoreError, match=r"^Neo4j read failed \(query results/runs\): gone$"):
        store.runs()


def test_a_load_through_the_loader_emits_these_statements(tmp_path, neo, recorder, graph):
    apps = [application(1, device="shared"), application(2, device="shared")]
    files = {"applications": write_csv(tmp_path / "applications.csv", apps),
             "contacts": write_csv(tmp_path / "contacts.csv", [contact(1, "13800000002"), contact(1, "13800000002"),
                                                                 contact(9, "13800000003")])}
    report = load(neo, canonical_sources(files))
    summary = report.summary().set_index("table")
    assert summary.loc["applications", "loaded"] == 2
    assert summary.loc["contacts", ["loaded", "duplicates", "rejected", "pending"]].tolist() == [1, 1, 0, 1]
    assert report.files[1].by_reason == {}
    # one write transaction per batch, each ending with its manifest entry
    writes = [i for i, kind in enumerate(recorder.transactions) if kind == "write"]
    assert len(writes) == 2
    per_tx = {i: [n for n, _, t in recorder.calls if t == i] for i in writes}
    assert per_tx[writes[0]] == ["store/application_digests", "store/create_applications",
                                 "store/merge_identifiers", "store/merge_links", "store/any_pending",
                                 "store/record_batch"]
    assert per_tx[writes[1]] == ["store/known_applicants", "store/keep_pending", "store/known_facts",
                                 "store/create_facts", "store/merge_identifiers", "store/merge_links",
                                 "store/record_batch"]
    kept = recorder.named("store/keep_pending")[0]["rows"]
    assert [(r["table"], r["waiting"], json.loads(r["body"])) for r in kept] == [
        ("contacts", "A009", {"row": 3, "applicant_id": "A009", "contact_phone": "+8613800000003",
                              "relation": "friend", "source": "emergency", "contact_name": "张三",
                              "recorded_at": DAY1})]
    created = recorder.named("store/create_applications")[0]["rows"]
    assert [(r["key"], r["applicant_id"], r["applied_at"]) for r in created] == [("P1", "A001", DAY1),
                                                                                ("P2", "A002", DAY1)]
    identifiers = recorder.named("store/merge_identifiers")[0]["rows"]
    assert {(r["kind"], r["label"]) for r in identifiers} == {
        ("phone", "Phone"), ("device", "Device"), ("ip", "IP"), ("id_number", "IdNumber"), ("subnet", "Subnet")}
    assert len(identifiers) == 9  # the shared device once, each IP with its subnet
    assert {"ref": ref("device", "shared"), "kind": "device", "value": "shared", "label": "Device"} in identifiers
    links = recorder.named("store/merge_links")[0]["rows"]
    assert len(links) == 10
    assert {"applicant_id": "A001", "ref": ref("device", "shared"), "role": "own", "relation": "",
            "first_seen": DAY1, "last_seen": DAY1, "count": 1, "name": None, "source": None} in links
    assert all(type(r["first_seen"]) is int and type(r["count"]) is int for r in links)
    contact_links = recorder.named("store/merge_links")[1]["rows"]
    assert contact_links == [{"applicant_id": "A001", "ref": ref("phone", "+8613800000002"), "role": "contact",
                              "relation": "friend", "first_seen": DAY1, "last_seen": DAY1, "count": 1,
                              "name": "张三", "source": "emergency"}]
    batch = recorder.named("store/record_batch")[1]["batch"]
    assert {k: batch[k] for k in ("table", "start_row", "end_row", "rows_read", "loaded", "duplicates",
                                  "rejected")} == {"table": "contacts", "start_row": 1, "end_row": 3,
                                                   "rows_read": 3, "loaded": 1, "duplicates": 1, "rejected": 0}
    # the applicant arrives: its waiting contact is taken and applied in the same transaction
    recorder.calls.clear()
    later = load(neo, canonical_sources({"applications": write_csv(tmp_path / "later.csv", [application(9)])}))
    assert later.files[0].attached == 1 and graph.pending == {}
    assert [n for n, _, _ in recorder.calls][:8] == [
        "store/loaded_batches", "store/tombstones", "store/application_digests", "store/create_applications",
        "store/merge_identifiers", "store/merge_links", "store/any_pending", "store/take_pending"]
    assert recorder.named("store/take_pending")[0]["ids"] == ["A009"]
    assert recorder.named("store/merge_links")[-1]["rows"][0]["ref"] == ref("phone", "+8613800000003")


def test_reapplying_stored_rows_writes_no_facts(tmp_path, neo, recorder):
    files = {"applications": write_csv(tmp_path / "applications.csv", [application(1)])}
    load(neo, canonical_sources(files))
    recorder.calls.clear()
    changed = dict(application(1), ip="10.9.9.9")
    again = {"applications": write_csv(tmp_path / "again.csv", [application(1), changed])}
    report = load(neo, canonical_sources(again))
    summary = report.summary().iloc[0]
    assert (summary["loaded"], summary["duplicates"], summary["rejected"]) == (0, 1, 1)
    assert "store/create_applications" not in recorder.names()
    assert "store/merge_links" not in recorder.names()
    assert recorder.named("store/record_rejects")[0]["rows"][0]["detail"] == (
        "application_id appears earlier in this file with different content")


def test_an_identifier_hash_collision_aborts_the_batch(tmp_path, neo, graph):
    graph.identifiers[ref("device", "d1")] = ("device", "something else")
    files = {"applications": write_csv(tmp_path / "applications.csv", [application(1, device="d1")])}
    with pytest.raises(KeyCollisionError):
        load(neo, canonical_sources(files))


def test_write_application_reads_first_and_reports_duplicates_and_conflicts(neo, recorder, graph):
    graph.applications["P1"] = ("A001", DAY1, 42)
    assert neo.write_application({"application_id": "P1", "applicant_id": "A001", "applied_at": DAY1,
                                  "digest": 42}, [], "api-1") == "duplicate"
    assert neo.write_application({"application_id": "P1", "applicant_id": "A001", "applied_at": DAY1,
                                  "digest": 7}, [], "api-2") == "conflict"
    assert recorder.names() == ["store/application_digests"] * 2
    result = neo.write_application(
        {"application_id": "P2", "applicant_id": "A002", "applied_at": DAY1, "digest": 9, "id:phone": "+8613800000002"},
        [{"contact_phone": "+8613800000001", "relation": "friend", "source": "emergency", "contact_name": None,
          "recorded_at": DAY1}], "api-3")
    assert result == "stored"
    assert recorder.transactions[-1] == "write"
    last = [n for n, _, t in recorder.calls if t == len(recorder.transactions) - 1]
    assert last == ["store/application_digests", "store/application_digests", "store/create_applications",
                    "store/merge_identifiers", "store/merge_links", "store/any_pending", "store/record_batch",
                    "store/known_applicants",
                    "store/known_facts", "store/create_facts", "store/merge_identifiers", "store/merge_links",
                    "store/record_batch"]
    assert [b["batch"]["source"] for b in recorder.named("store/record_batch")] == ["api", "api"]


def test_look_ups_send_refs_and_caps(recorder):
    store = Neo4jStore(recorder, readonly=True)
    store.identifier_degrees([("phone", "+8613800000001"), ("device", "d1")], cap=50)
    store.neighbourhood(["A001"], [("device", "d1")], cap=50)
    store.identifier_links([("device", "d1")])
    assert recorder.calls[0][:2] == ("store/identifier_degrees", {
        "refs": [ref("device", "d1"), ref("phone", "+8613800000001")], "limit": 51})
    assert recorder.calls[1][:2] == ("store/neighbourhood", {
        "applicant_ids": ["A001"], "refs": [ref("device", "d1")], "limit": 51})
    assert recorder.calls[2][:2] == ("store/identifier_links", {"refs": [ref("device", "d1")]})
    assert list(store.applicant_relations(["A001"]).columns) == ["src_applicant_id", "dst_applicant_id", "type",
                                                                  "at", "amount"]
    assert recorder.calls[3][:2] == ("store/applicant_relations", {"ids": ["A001"]})
    assert recorder.transactions == ["read"] * 4


def test_graph_arrays_map_records_to_positions():
    answers = {
        "store/all_applicants": [{"ids": ["A1", "A2", "A3"], "consents": ["-", "address_book", "-"]}],
        "store/all_identifiers": [{"refs": [5, 9], "kinds": ["phone", "device"]}],
        "store/all_links": [{"applicant_id": "A3", "refs": [9], "contact": [False], "first_seen": [DAY1],
                             "source": [0]},
                            {"applicant_id": "A1", "refs": [9, 5], "contact": [False, True],
                             "first_seen": [DAY1, -(2**62)], "source": [0, 2]},  # undated, from an address book
                            {"applicant_id": "A9", "refs": [5], "contact": [False],  # loaded after the node list
                             "first_seen": [DAY1], "source": [0]}],
        "store/all_outcomes": [{"applicant_id": "A2", "outcome": "fraud", "observed_at": None}],
        "store/all_applications": [{"applicant_id": "A1", "applied_at": [DAY1, DAY1 + 60]}],
        "store/all_relations": [{"src": "A1", "dst": "A3", "type": "transfer"}],
    }
    recorder = Recorder(lambda name, p: answers[name])
    arrays = Neo4jStore(recorder, readonly=True).graph_arrays(as_of=DAY1)
    assert recorder.transactions == ["read"]  # one transaction, one view
    assert {p.get("as_of", "-") for n, p, _ in recorder.calls} == {DAY1, "-"}
    assert recorder.named("store/all_links") == [{"as_of": DAY1, "undated": -(2**62),
                                                  "source_codes": {"emergency": 1, "address_book": 2}}]
    assert arrays.kinds == ("device", "phone")
    assert arrays.identifier_kind.tolist() == [1, 0]
    assert list(zip(arrays.link_applicant, arrays.link_identifier, arrays.link_contact)) == [
        (0, 0, True), (0, 1, False), (2, 1, False)]
    assert np.isnan(arrays.link_first_seen[0]) and arrays.link_first_seen[1:].tolist() == [DAY1, DAY1]
    assert arrays.link_source.tolist() == [2, 0, 0]
    assert arrays.applicant_consents.tolist() == [None, "address_book", None]
    assert (arrays.application_applicant.tolist(), arrays.application_at.tolist()) == ([0, 0], [DAY1, DAY1 + 60])
    assert arrays.outcome_applicant.tolist() == [1] and np.isnan(arrays.outcome_at[0])
    assert (arrays.relation_src.tolist(), arrays.relation_dst.tolist()) == ([0], [2])


def test_save_run_is_one_transaction_ending_with_the_timings(neo, recorder):
    run = {"run_id": "r1", "created_at": "2026-01-01T00:00:00+00:00", "as_of": None, "seed": 7,
           "params": {"a": 1}, "timings": {"read": 1.0}, "counts": {"rings": 1}}
    tables = {
        "scores": pd.DataFrame({"applicant_id": ["A1", "A2"], "score": [900, 10], "band": ["high", "low"],
                                "ring_id": ["R1", None], "reasons": ['[{"code": "RING"}]', None]}),
        "rings": pd.DataFrame({"ring_id": ["R1"], "size": [5], "risk": [0.9], "fraud": [2], "default": [0],
                               "features": [{"velocity": 3}]}),
        "ring_members": pd.DataFrame({"ring_id": ["R1"], "applicant_id": ["A1"]}),
        "hubs": pd.DataFrame({"kind": ["ip"], "value": ["10.0.0.1"], "role": ["own"], "degree": [900],
                              "fraud": [3], "fraud_share": [0.0033], "verdict": ["carrier NAT or proxy"]}),
    }
    neo.save_run(run, tables)
    assert recorder.transactions == ["write"]
    assert recorder.names() == ["results/create_run", "results/write_scores", "results/write_rings",
                                "results/write_members", "results/write_hubs", "results/finish_run"]
    assert recorder.calls[0][1]["run"]["params"] == '{"a": 1}'
    assert recorder.calls[1][1] == {"run_id": "r1", "rows": [
        {"applicant_id": "A1", "score": 900, "band": "high", "ring_id": "R1", "reasons": '[{"code": "RING"}]'},
        {"applicant_id": "A2", "score": 10, "band": "low", "ring_id": None, "reasons": None}]}
    assert recorder.calls[2][1]["rows"][0]["features"] == '{"velocity": 3}'
    assert recorder.calls[4][1]["rows"] == [{"ref": ref("ip", "10.0.0.1"), "role": "own", "degree": 900, "fraud": 3,
                                             "fraud_share": 0.0033, "verdict": "carrier NAT or proxy"}]
    timings = json.loads(recorder.calls[5][1]["timings"])
    assert set(timings) == {"read", "write"} and run["timings"]["write"] == timings["write"]


def test_run_tables_filter_in_the_database_where_they_can():
    answers = {"results/run_exists": [{"run_id": "r1"}],
               "results/scores": [{"applicant_id": "A1", "score": 900, "band": "high", "ring_id": "R1",
                                   "reasons": None}]}
    recorder = Recorder(lambda name, p: answers.get(name, []))
    store = Neo4jStore(recorder, readonly=True)
    out = store.run_table("r1", "scores", where={"applicant_id": ["A1"], "band": ["low"]})
    assert recorder.calls[1][:2] == ("results/scores", {"run_id": "r1", "applicant_ids": ["A1"], "ring_ids": None})
    assert out.empty  # band is filtered here
    assert store.run_table("r1", "scores", where={"applicant_id": ["A1"]})["score"].tolist() == [900]


def test_gds_groups_project_split_large_components_and_always_drop():
    # a triangle (0,1,2), a pair (3,4) and an isolated applicant 5
    graph = sparse.csr_matrix((np.ones(8), ([0, 1, 1, 2, 0, 2, 3, 4], [1, 0, 2, 1, 2, 0, 4, 3])), shape=(6, 6))
    answers = {"gds/wcc": [{"nodeId": i, "componentId": c} for i, c in enumerate([7, 7, 7, 3, 3, 11])],
               "gds/leiden": [{"nodeId": i, "communityId": c} for i, c in enumerate([0, 0, 1, 2, 2, 3])]}
    recorder = Recorder(lambda name, p: answers.get(name, []))
    algorithms = GdsAlgorithms(recorder.run_cypher)
    label = algorithms.groups(graph, Policy(refine_above=2), seed=5)
    names = recorder.names()
    assert names == ["gds/project", "gds/wcc", "gds/leiden", "gds/drop"]
    projected = recorder.calls[0][1]
    assert projected["edges"] == [{"source": 0, "target": 1, "weight": 1.0}, {"source": 0, "target": 2, "weight": 1.0},
                                  {"source": 1, "target": 2, "weight": 1.0}, {"source": 3, "target": 4, "weight": 1.0},
                                  {"source": 5, "target": None, "weight": 0.0}]
    assert recorder.calls[2][1] == {"graph": projected["graph"], "gamma": 1.0, "seed": 5}
    assert recorder.calls[3][1] == {"graph": projected["graph"]}
    # the triangle (larger than 2) is split by Leiden; the pair and the single stay components
    assert label[0] == label[1] != label[2] and label[3] == label[4] and len(set(label.tolist())) == 4
    recorder.calls.clear()
    algorithms.groups(graph, Policy(refine_above=60), seed=5)
    assert recorder.names() == ["gds/project", "gds/wcc", "gds/drop"]  # nothing large: no Leiden

    def failing(name, p):
        if name == "gds/wcc":
            raise RuntimeError("server gone")
        return []
    broken = Recorder(failing)
    with pytest.raises(RuntimeError):
        GdsAlgorithms(broken.run_cypher).groups(graph, Policy(), seed=1)
    assert broken.names()[-1] == "gds/drop"


def test_gds_pagerank_sends_the_seeds_and_normalises():
    graph = sparse.csr_matrix((np.ones(4), ([0, 1, 1, 2], [1, 0, 2, 1])), shape=(3, 3))
    answers = {"gds/pagerank": [{"nodeId": 0, "score": 0.5}, {"nodeId": 1, "score": 0.3}, {"nodeId": 2, "score": 0.2}]}
    recorder = Recorder(lambda name, p: answers.get(name, []))
    mass = GdsAlgorithms(recorder.run_cypher).pagerank(graph, np.array([True, False, False]), restart=0.15)
    assert recorder.calls[1][1]["sources"] == [0]
    assert recorder.calls[1][1]["damping"] == pytest.approx(0.85)
    assert mass.tolist() == pytest.approx([0.5, 0.3, 0.2])
    recorder.calls.clear()
    assert GdsAlgorithms(recorder.run_cypher).pagerank(graph, np.zeros(3, bool), 0.15).tolist() == [0, 0, 0]
    assert recorder.calls == []


def test_the_neo4j_backend_needs_a_uri(monkeypatch):
    monkeypatch.delenv("GRAPHSVC_NEO4J_URI", raising=False)  # make test sets it for the live tests
    with pytest.raises(ConfigurationError, match="GRAPHSVC_NEO4J_URI"):
        open_store("ignored.db", settings=Settings(backend="neo4j"))


def test_backend_selection_on_the_command_line(monkeypatch):
    from typer.testing import CliRunner

    from graphsvc.cli import app

    monkeypatch.setenv("GRAPHSVC_BACKEND", "embedded")
    monkeypatch.delenv("GRAPHSVC_NEO4J_URI", raising=False)
    runner = CliRunner(env={"COLUMNS": "250"})
    result = runner.invoke(app, ["--backend", "neo4j", "rings"])
    assert result.exit_code == 2 and "GRAPHSVC_NEO4J_URI" in result.output
    result = runner.invoke(app, ["--backend", "oracle", "rings"])
    assert result.exit_code == 2 and "embedded or neo4j" in result.output
    monkeypatch.setenv("GRAPHSVC_BACKEND", "embedded")
    use_settings(None)  # the flag changed the process's settings; back to the environment
    listing = runner.invoke(app, ["query"])
    assert listing.exit_code == 0
    assert all(name in listing.output for name in ("investigate/contact_cycles", "investigate/shared_device_rings",
                                                   "investigate/evidence_path_to_fraud"))
    refused = runner.invoke(app, ["query", "investigate/contact_cycles", "-p", "limit=5"])
    assert refused.exit_code == 2 and "neo4j backend only" in refused.output


def test_named_queries_from_the_python_api(recorder, tmp_path):
    from graphsvc.service import Service

    recorder.responder = lambda name, p: [{"length": 2, "applicants": ["A1", "A2"]}]
    service = Service(Neo4jStore(recorder, readonly=True))
    rows = service.query("investigate/contact_cycles", limit=10)
    assert rows.to_dict("records") == [{"length": 2, "applicants": ["A1", "A2"]}]
    assert recorder.calls[-1][:2] == ("investigate/contact_cycles", {"limit": 10})
    with pytest.raises(ValueError, match="needs parameters"):
        service.query("investigate/ego_network", applicant_id="A1")
    embedded = Service(open_store(str(tmp_path / "g.db")))
    with pytest.raises(ConfigurationError, match="neo4j backend only"):
        embedded.query("investigate/contact_cycles", limit=1)
    embedded.close()


def test_the_api_serves_from_neo4j(monkeypatch):
    """With GRAPHSVC_BACKEND=neo4j the API opens Neo4j (no store file) and reads through
    the library's queries; nothing embedded-only (checkpoints) is started."""
    from fastapi.testclient import TestClient

    from graphsvc.api import create_app
    from graphsvc.api.security import Role, digest

    answers = {"results/served_run": [{"logged": 1, "run_id": "r1", "created_at": "2026-11-22T00:00:00+00:00",
                                       "as_of": None, "seed": 7, "params": "{}", "timings": "{}", "counts": "{}"}],
               "results/run_exists": [{"run_id": "r1"}],
               "results/rings": [{"ring_id": "R000001", "size": 6, "risk": 0.9, "fraud": 2, "default": 0,
                                  "features": '{"velocity": 1.0}'}]}
    recorder = Recorder(lambda name, p: answers.get(name, []))
    monkeypatch.setattr(Neo4jStore, "connect", classmethod(lambda cls, settings, readonly=False: cls(recorder)))
    settings = Settings(backend="neo4j", neo4j_uri="neo4j://nowhere:7687", hmac_key="k" * 40,
                        api_keys={digest("secret-key-1"): {"name": "ops", "role": Role.ADMIN.value}})
    with TestClient(create_app("no-such-file.db", settings)) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.app.state.checkpointer is None
        rings = client.get("/v1/rings", headers={"X-API-Key": "secret-key-1"})
    assert rings.status_code == 200, rings.text
    assert [(r["ring_id"], r["size"], r["fraud"]) for r in rings.json()["items"]] == [("R000001", 6, 2)]
    assert ("results/rings", {"run_id": "r1", "ring_ids": None}) in [c[:2] for c in recorder.calls]
    assert recorder.closed  # the app closes the driver when it stops


def test_a_load_batch_never_exceeds_what_one_neo4j_transaction_holds(tmp_path, neo, recorder, monkeypatch):
    monkeypatch.setattr(Neo4jStore, "max_batch_rows", 4)  # far above GRAPHSVC_BATCH_ROWS would be 50,000
    files = {"applications": write_csv(tmp_path / "applications.csv", [application(n) for n in range(1, 15)])}
    report = load(neo, canonical_sources(files))
    assert report.summary()["loaded"].tolist() == [14]
    created = [len(p["rows"]) for p in recorder.named("store/create_applications")]
    batches = [p["batch"] for p in recorder.named("store/record_batch")]
    assert sum(created) == 14 and max(created) <= 4 and len(created) == len(batches) > 3
    assert [b["start_row"] for b in batches] == sorted(b["start_row"] for b in batches)
    assert recorder.transactions.count("write") == len(batches)  # a transaction per batch
