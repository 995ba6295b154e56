"""The backend contract: one suite, run on the embedded store always and on Neo4j
(with Graph Data Science) when ``GRAPHSVC_NEO4J_URI`` points at a server."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import BACKENDS, application, contact, empty_neo4j, on_day, on_neo4j, write_csv

from graphsvc.analytics.projection import Projection
from graphsvc.analytics.rescore import rescore
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.settings import use_settings
from graphsvc.store import open_store


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, settings):
    """A fresh, empty store of each backend."""
    if request.param == "embedded":
        store = open_store(str(tmp_path / "graph.db"))
    else:
        live = on_neo4j(settings)
        empty_neo4j(live)  # a test database, emptied first
        use_settings(live)
        store = open_store("unused", settings=live)
    yield store
    store.close()


def _files(tmp_path):
    """Six applicants on one device (two confirmed fraud), six on their own, a contact web."""
    apps = [application(n, day=n, device="farm-1" if n <= 6 else None) for n in range(1, 13)]
    contacts = [contact(7, "13800000008", day=7), contact(7, "13800000008", day=9), contact(8, "13800000007", day=8),
                contact(1, "13900000001", day=1, relation="other")]
    outcomes = [{"applicant_id": "A001", "outcome": "fraud", "observed_at": on_day(20)},
                {"applicant_id": "A002", "outcome": "fraud", "observed_at": on_day(21)},
                {"applicant_id": "A008", "outcome": "default", "observed_at": on_day(30)}]
    relations = [{"src_applicant_id": "A001", "dst_applicant_id": "A007", "type": "transfer", "at": on_day(3),
                  "amount": "120.5"},
                 {"src_applicant_id": "A001", "dst_applicant_id": "A007", "type": "transfer", "at": on_day(4),
                  "amount": "80"},
                 {"src_applicant_id": "A009", "dst_applicant_id": "A001", "type": "referral", "at": "", "amount": ""}]
    return {"applications": write_csv(tmp_path / "applications.csv", apps),
            "contacts": write_csv(tmp_path / "contacts.csv", contacts),
            "outcomes": write_csv(tmp_path / "outcomes.csv", outcomes),
            "relations": write_csv(tmp_path / "relations.csv", relations)}


EXPECTED_COUNTS = {
    "nodes": {"applicant": 12, "device": 7, "id_number": 12, "ip": 12, "phone": 13, "subnet": 12},
    "links": {"device:own": 12, "id_number:own": 12, "ip:own": 12, "phone:contact": 3, "phone:own": 12,
              "subnet:own": 12},
    "facts": {"applications": 12, "contacts": 4, "sightings": 0},
    "outcomes": {"default": 1, "fraud": 2},
    "relations": {"referral": 1, "transfer": 2},
}


def test_load_counts_and_reload_is_a_no_op(backend, tmp_path):
    files = _files(tmp_path)
    first = load(backend, canonical_sources(files)).summary().set_index("table")
    assert first["loaded"].to_dict() == {"applications": 12, "contacts": 4, "outcomes": 3, "relations": 3}
    assert backend.counts() == EXPECTED_COUNTS
    again = load(backend, canonical_sources(files)).summary().set_index("table")
    assert again["already_loaded"].to_dict() == {"applications": 12, "contacts": 4, "outcomes": 3, "relations": 3}
    assert backend.counts() == EXPECTED_COUNTS


def test_links_degrees_and_neighbourhood(backend, tmp_path):
    load(backend, canonical_sources(_files(tmp_path)))
    links = backend.applicant_links(["A007"]).sort_values(["kind", "role"]).reset_index(drop=True)
    contact_link = links[links["role"] == "contact"].iloc[0]
    assert (contact_link["value"], contact_link["relation"], contact_link["count"]) == ("+8613800000008", "friend", 2)
    assert (contact_link["first_seen"], contact_link["last_seen"]) == (1704585600, 1704758400)  # days 7 and 9
    degrees = backend.identifier_degrees([("device", "farm-1"), ("device", "dev-9"), ("device", "nowhere")], cap=3)
    assert dict(zip(degrees["value"], degrees["degree"])) == {"farm-1": 4, "dev-9": 1}
    rows = backend.neighbourhood(["A009"], [("device", "farm-1")], cap=10)
    farm = [r for r in rows if r[1] == "farm-1"]
    assert [r[3] for r in farm] == [f"A00{n}" for n in range(1, 7)]
    assert {r[1] for r in rows} == {"farm-1", "dev-9", "+8613800000009", "10.0.9.1", "10.0.9.0/24",
                                    *(r[1] for r in rows if r[0] == "id_number")}
    capped = [r for r in backend.neighbourhood(["A009"], [("device", "farm-1")], cap=3) if r[1] == "farm-1"]
    assert capped == [("device", "farm-1", 4, None, None, None, None, None, None)]
    hub = sorted((r for r in backend.neighbourhood(["A001"], [], cap=3) if r[1] == "farm-1"), key=lambda r: r[3] or "")
    assert [r[:5] for r in hub] == [("device", "farm-1", 4, None, None), ("device", "farm-1", 4, "A001", "own")]
    both = backend.neighbourhood(["A009", "A010"], [], cap=3)
    assert {r[1] for r in both} >= {"dev-9", "dev-10", "10.0.10.0/24"} and "farm-1" not in {r[1] for r in both}
    outcomes, applications = backend.timelines(["A001", "A008", "A009", "nobody"])
    assert outcomes == [("A001", "fraud", 1705708800), ("A008", "default", 1706572800)]  # days 20 and 30
    assert applications == [("A001", 1704067200), ("A008", 1704672000), ("A009", 1704758400)]
    assert [o[0] for o in backend.applicant_outcomes("A002")] == ["fraud"]
    relations = backend.applicant_relations(["A001"])
    assert relations[["src_applicant_id", "dst_applicant_id", "type"]].values.tolist() == [
        ["A001", "A007", "transfer"], ["A001", "A007", "transfer"], ["A009", "A001", "referral"]]
    assert relations["at"].tolist()[:2] == [1704240000, 1704326400] and pd.isna(relations["at"].tolist()[2])
    assert backend.applicant_relations(["A010"]).empty
    from graphsvc.analytics.explain import link_between

    assert link_between(backend, "A007", "A001") == [
        "2 transfers from A001 to A007 between 2024-01-03T00:00:00Z and 2024-01-04T00:00:00Z"]
    assert link_between(backend, "A001", "A009") == ["referral from A009 to A001"]


def test_write_application_is_idempotent(backend, tmp_path):
    load(backend, canonical_sources(_files(tmp_path)))
    app = {"application_id": "P99", "applicant_id": "A099", "applied_at": 1706745600, "digest": 12345,
           "id:phone": "+8613800000099", "id:device": "farm-1"}
    assert backend.write_application(app, [], "api-1") == "stored"
    assert backend.write_application(app, [], "api-1") == "duplicate"
    assert backend.write_application({**app, "digest": 1}, [], "api-1") == "conflict"
    listed = [{"contact_phone": "+8613800000002", "relation": "friend", "source": "emergency",
               "contact_name": None, "recorded_at": app["applied_at"]}]
    assert backend.write_application(app, listed, "api-1", dry=True) == "conflict"  # not stored with it
    assert backend.write_application(app, listed, "api-1") == "conflict"
    other = {**app, "application_id": "P98", "applicant_id": "A098"}
    assert backend.write_application(other, listed, "api-2", dry=True) == "stored"
    assert backend.application("P98") is None  # a dry run writes nothing
    assert backend.write_application(other, listed, "api-2") == "stored"
    assert backend.write_application(other, listed, "api-2") == "duplicate"
    assert backend.write_application(other, [], "api-2") == "duplicate"  # no contact it was not stored with
    assert backend.application("P99") == {"applicant_id": "A099", "applied_at": 1706745600, "digest": 12345}
    assert backend.identifier_degrees([("device", "farm-1")])["degree"].tolist() == [8]  # six, A099 and A098


def test_rescore_finds_the_ring_and_round_trips_the_run(backend, tmp_path):
    load(backend, canonical_sources(_files(tmp_path)))
    run = rescore(backend, seed=3)
    members = backend.run_table(run["run_id"], "ring_members")
    assert sorted(members["applicant_id"]) == [f"A00{n}" for n in range(1, 7)]
    ring = members["ring_id"].iloc[0]
    assert backend.served_run()["run_id"] == run["run_id"] and run["decision"] == "promote"
    scores = backend.latest_scores(run["run_id"], ["A003", "A010"])
    assert scores["A003"][2] == ring and scores["A010"][2] is None
    assert scores["A003"][0] > scores["A010"][0]
    rings = backend.run_table(run["run_id"], "rings", where={"ring_id": [ring]})
    assert rings["size"].tolist() == [6] and rings["fraud"].tolist() == [2]
    again = rescore(backend, seed=3)
    assert backend.run_table(again["run_id"], "ring_members")["ring_id"].unique().tolist() == [ring]  # stable id
    assert backend.runs()["run_id"].tolist()[:2] == [again["run_id"], run["run_id"]]


def test_only_a_run_that_covers_the_store_is_served_unless_promoted(backend, tmp_path):
    """A run as of the past is held: what is served does not change until it is promoted;
    a rollback serves the run before, and there is nothing before the first."""
    from graphsvc.analytics import serving
    from graphsvc.errors import NotFoundError

    load(backend, canonical_sources(_files(tmp_path)))
    assert backend.served_run() is None and backend.promotions().empty
    first = rescore(backend, seed=3)
    past = rescore(backend, seed=3, as_of=1_704_153_599)  # 2024-01-01T23:59:59Z: one applicant known
    assert past["decision"] == "hold" and past["reason"].startswith("scored as of 2024-01-01T23:59:59Z")
    assert "10 applicants in the store are not scored; scores 2 applicants where the served run" in past["reason"]
    assert backend.served_run()["run_id"] == first["run_id"]
    log = backend.promotions()
    assert log[["run_id", "action"]].values.tolist() == [[past["run_id"], "hold"], [first["run_id"], "promote"]]
    assert log["replaces"].tolist() == [None, None]
    serving.promote(backend, past["run_id"], "a look at January")
    assert backend.served_run()["run_id"] == past["run_id"]
    entry = serving.rollback(backend)
    assert (entry["run_id"], entry["replaces"]) == (first["run_id"], past["run_id"])
    assert backend.served_run()["run_id"] == first["run_id"]
    with pytest.raises(NotFoundError, match="no run served before"):
        serving.rollback(backend)
    forced = rescore(backend, seed=3, as_of=1_704_153_599, promote=True)
    assert forced["decision"] == "promote" and forced["reason"].startswith("promoted on request although it scored")
    assert backend.served_run()["run_id"] == forced["run_id"]
    with pytest.raises(NotFoundError, match="no run 'run-nope'"):
        serving.promote(backend, "run-nope")


def test_audit_trail(backend):
    entry = {"at": "2026-11-22T10:00:00+00:00", "caller": "ana", "role": "collector", "route": "/v1/skiptrace",
             "method": "POST", "status": 200, "subjects": ["A001", "A002"], "purpose": "collections"}
    backend.record_access(entry)
    backend.record_access({**entry, "subjects": ["A003"], "purpose": None})
    log = backend.access_log(limit=10)
    assert log["subjects"].tolist() == [["A003"], ["A001", "A002"]]
    assert log["purpose"].tolist() == [None, "collections"]
    assert backend.access_log(subject="A002")["purpose"].tolist() == ["collections"]


def test_both_backends_hand_the_analytics_contact_sources_and_consents(backend, tmp_path):
    """Address-book contacts link only with consent (graphsvc.people.consent), on either backend."""
    apps = [{**application(1), "consents": "address_book"}, application(2)]
    contacts = [{**contact(1, "13900000001"), "source": "address_book"},
                {**contact(2, "13900000001"), "source": "address_book"}, contact(2, "13900000009"),
                {**contact(1, "13900000007"), "source": None}]
    files = {"applications": write_csv(tmp_path / "applications.csv", apps),
             "contacts": write_csv(tmp_path / "contacts.csv", contacts)}
    load(backend, canonical_sources(files))
    projection = Projection.from_store(backend)
    rows, columns = projection.contact.nonzero()
    values = projection.values(columns, backend).set_index("identifier")["value"]
    kept = {(projection.applicants[r], values[c]) for r, c in zip(rows, columns)}
    assert kept == {("A001", "+8613900000001"), ("A001", "+8613900000007"), ("A002", "+8613900000009")}
    arrays = backend.graph_arrays()
    by_applicant = dict(zip(arrays.applicants, arrays.applicant_consents))
    assert by_applicant == {"A001": "address_book", "A002": None}
    sources = sorted(zip(arrays.applicants[arrays.link_applicant[arrays.link_contact]],
                         arrays.link_source[arrays.link_contact].tolist()))
    assert sources == [("A001", 0), ("A001", 2), ("A002", 1), ("A002", 2)]
    rows = backend.neighbourhood(["A002"], [], cap=10)
    listed = sorted((r[3], r[7], r[8]) for r in rows if r[1] == "+8613900000001")
    assert listed == [("A001", "address_book", "address_book"), ("A002", "address_book", None)]


def test_both_backends_forget_a_person_in_one_transaction_and_keep_them_forgotten(backend, tmp_path, settings):
    """A001 shares dev-shared with A002 and is listed by A003; after the erasure only
    what others hold remains, and a reload of the same rows brings nothing back."""
    from graphsvc.people import erasure
    from graphsvc.store.base import access_entry

    apps = [application(1, device="dev-shared"), application(2, device="dev-shared"), application(3)]
    contacts = [contact(1, "13900000009"), {**contact(3, "13800000001"), "contact_name": "王小明"}]
    files = {"applications": write_csv(tmp_path / "applications.csv", apps),
             "contacts": write_csv(tmp_path / "contacts.csv", contacts)}
    load(backend, canonical_sources(files))
    run = rescore(backend, seed=1)
    key = settings.identity_key()
    plan = erasure.plan(backend, "A001", "erasure request 3", key)
    assert sorted(k for k, _ in plan.identifiers) == ["id_number", "ip", "phone", "phone", "subnet"]
    (done,) = backend.forget([plan], [access_entry("test", "admin", "graphsvc subject forget", "CLI", 200, ["A001"],
                                                   purpose="erasure: erasure request 3")])
    assert done["applications"] == 1 and done["identifiers"] == 5 and done["scores"] == 1
    assert backend.applicants(["A001"]).empty
    assert backend.identifier_links([("phone", "+8613800000001"), ("phone", "+8613900000009")]).empty
    assert backend.identifier_links([("device", "dev-shared")])["applicant_id"].tolist() == ["A002"]
    assert backend.applicant_links(["A003"])["role"].tolist() == ["own"] * 5
    assert "A001" not in backend.run_table(run["run_id"], "scores")["applicant_id"].tolist()
    assert backend.tombstoned([d for d, _ in plan.tombstones] + ["0" * 32]) == {d for d, _ in plan.tombstones}
    assert backend.tombstones() == {d for d, _ in plan.tombstones}
    assert backend.access_log(subject="A001")["purpose"].tolist() == ["erasure: erasure request 3"]
    again = {t: write_csv(tmp_path / f"{t}-again.csv", list(reversed(rows)))
             for t, rows in (("applications", apps), ("contacts", contacts))}
    report = load(backend, canonical_sources(again))
    forgotten = report.rejects[report.rejects["reason"] == "forgotten"]
    assert sorted(zip(forgotten["table"], forgotten["column"])) == [
        ("applications", "applicant_id"), ("contacts", "applicant_id"), ("contacts", "contact_phone")]
    assert backend.applicants(["A001"]).empty and backend.identifier_links([("phone", "+8613800000001")]).empty


def test_both_backends_keep_review_requests_until_closed(backend, tmp_path):
    from graphsvc.people import decision

    load(backend, canonical_sources({"applications": write_csv(tmp_path / "a.csv", [application(1)])}))
    first = decision.request(backend, "A001", by="uw", reason="please look", application_id="P1")
    second = decision.request(backend, "A001", by="uw")
    assert set(backend.reviews(status="open")["review_id"]) == {first["review_id"], second["review_id"]}
    closed = decision.close(backend, first["review_id"], by="ivy", outcome="upheld", note="checked the device")
    assert {k: closed[k] for k in ("status", "outcome", "closed_by", "reason")} == {
        "status": "closed", "outcome": "upheld", "closed_by": "ivy", "reason": "please look"}
    assert not backend.close_review(first["review_id"], {"closed_at": "x", "closed_by": "y", "outcome": "changed",
                                                         "note": "again"})
    assert backend.reviews(status="open")["review_id"].tolist() == [second["review_id"]]
    assert backend.reviews(applicant_id="A002").empty


def test_both_backends_purge_contacts_past_retention_and_keep_them_out(backend, tmp_path, settings):
    """A001 listed 13900000001 from its address book in 2019 and 13900000002 as an
    emergency contact; A002 lists 13900000001 too, in 2024. Past three years, only A001's
    address-book listing goes; the number stays (A002 lists it)."""
    import pandas as pd

    from graphsvc.people.retention import RetentionRules, apply_contacts, due_contacts

    contacts = [{**contact(1, "13900000001", day=1), "source": "address_book", "recorded_at": "2019-01-01"},
                {**contact(1, "13900000002", day=1), "recorded_at": "2019-01-01"},
                {**contact(2, "13900000001", day=1), "source": "address_book", "recorded_at": "2024-01-01"},
                {**contact(3, "13900000003", day=1), "source": "address_book", "recorded_at": "2018-01-01"}]
    files = {"applications": write_csv(tmp_path / "a.csv", [application(1), application(2), application(3)]),
             "contacts": write_csv(tmp_path / "c.csv", contacts)}
    load(backend, canonical_sources(files))
    as_of = int(pd.Timestamp("2024-06-01", tz="UTC").timestamp())
    rules = RetentionRules()
    assert due_contacts(backend, rules, as_of)[["applicant_id", "value"]].values.tolist() == [
        ["A003", "+8613900000003"], ["A001", "+8613900000001"]]
    done = apply_contacts(backend, rules, as_of, settings.identity_key(), caller="test")
    assert done["links"] == 2 and done["identifiers"] == 1  # 13900000003: nobody else lists it
    links = backend.identifier_links([("phone", "+8613900000001"), ("phone", "+8613900000003")])
    assert links["applicant_id"].tolist() == ["A002"]
    assert backend.applicant_links(["A001"]).query("role == 'contact'")["value"].tolist() == ["+8613900000002"]
    again = load(backend, canonical_sources({"contacts": write_csv(tmp_path / "c2.csv", contacts[::-1])}))
    forgotten = again.rejects[again.rejects["reason"] == "forgotten"]
    assert sorted(forgotten["row"]) == [1, 4]  # A003's and A001's old address-book rows
    assert due_contacts(backend, rules, as_of).empty
