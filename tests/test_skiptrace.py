"""Skip-tracing: each evidence kind on a hand-built graph, compliance, evaluation."""

import pandas as pd
import pytest
from conftest import TEST_KEY, application, build_store, contact, on_day
from fastapi.testclient import TestClient

from graphsvc.api import create_app, masking
from graphsvc.api.security import digest
from graphsvc.errors import NotFoundError
from graphsvc.people.skiptrace import evaluate, lost_contact_borrowers, skiptrace
from graphsvc.settings import Settings
from graphsvc.store import open_store

LOST = {"applicant_id": "A001", "outcome": "lost_contact", "observed_at": on_day(100)}


@pytest.fixture
def graph(tmp_path):
    """Borrower A001 (phone ...001, device dev-1, IP 10.0.0.1) lost on day 100.

    A002 applies on day 120 from dev-1 with phone ...002 (the new number);
    A003 applies on day 130 under A001's identity with phone ...003;
    A004 (family, same home IP) lists A001's phone as 王小明 and on day 140 lists
    ...005 under the same name; A001 listed its spouse's phone ...006.
    """
    apps = [application(1, day=1, device="dev-1", ip="10.0.0.1", id_number="ID-A001"),
            application(2, day=120, device="dev-1", ip="10.9.9.9"),
            application(3, day=130, id_number="ID-A001"),
            application(4, day=2, ip="10.0.0.1")]
    contacts = [{**contact(4, "13800000001", day=2, relation="sibling"), "contact_name": "王小明"},
                {**contact(4, "13900000005", day=140, relation="sibling"), "contact_name": "王小明"},
                contact(1, "13900000006", day=1, relation="spouse")]
    path = build_store(tmp_path, apps, contacts, [LOST])
    with open_store(str(path)) as store:
        yield store


def test_each_evidence_kind_is_found_and_ranked(graph):
    found = skiptrace(graph, "A001").set_index("phone")
    assert found.loc["+8613800000002", ["channel", "evidence"]].tolist() == ["own", "same_device"]
    assert found.loc["+8613800000003", ["channel", "evidence"]].tolist() == ["own", "same_identity"]
    # an identity number's HMAC token never leaves the service, not even in the evidence
    assert found.loc["+8613800000003", "via"] == "A003 (the borrower's identity number)"
    assert not found["via"].fillna("").str.contains(r"[0-9a-f]{16}").any()
    assert found.loc["+8613900000005", ["channel", "evidence"]].tolist() == ["own", "named_by_contact"]
    assert found.loc["+8613900000006", ["channel", "evidence", "relation"]].tolist() == [
        "third_party", "declared_contact", "spouse"]
    assert found.loc["+8613800000004", ["channel", "evidence"]].tolist() == ["third_party", "reverse_contact"]
    assert found.loc["+8613800000001", "evidence"] == "own_phone"  # the number that stopped answering
    ranks = found["rank"]
    # the calibrated confidences order them: identity 0.97, named 0.95, device 0.93, then third parties
    assert found.index[:3].tolist() == ["+8613800000003", "+8613900000005", "+8613800000002"]
    assert ranks["+8613800000002"] < ranks["+8613900000006"] < ranks["+8613800000001"]


def test_third_parties_are_only_to_ask_for_the_borrower(graph):
    found = skiptrace(graph, "A001")
    usage = dict(zip(found["channel"], found["usage"]))
    assert usage == {"own": "contact_borrower", "third_party": "ask_for_borrower_only"}
    assert not found["via"].fillna("").str.contains("王").any()  # no names in the evidence


def test_restored_contact_becomes_the_confirmed_channel_and_dead_numbers_drop(tmp_path):
    apps = [application(1, day=1, device="dev-1"), application(2, day=120, device="dev-1")]
    outcomes = [LOST, {"applicant_id": "A001", "outcome": "contact_restored", "observed_at": on_day(150),
                       "phone": "13700000009"},
                {"applicant_id": "A001", "outcome": "lost_contact", "observed_at": on_day(100),
                 "phone": "13800000002"}]
    with open_store(str(build_store(tmp_path, apps, (), outcomes))) as store:
        found = skiptrace(store, "A001")
        assert found.iloc[0][["phone", "evidence", "confidence"]].tolist() == ["+8613700000009", "confirmed", 0.99]
        assert "+8613800000002" not in set(found["phone"])  # recorded dead
        assert lost_contact_borrowers(store) == []  # restored since


def test_unknown_borrower(graph):
    with pytest.raises(NotFoundError):
        skiptrace(graph, "nobody")


def test_api_needs_a_purpose_and_audits_it(graph):
    keys = {digest("c"): {"name": "collector-1", "role": "collector"}, digest("u"): {"name": "u", "role": "underwriter"},
            digest("a"): {"name": "admin-1", "role": "admin"}}
    settings = Settings(hmac_key=TEST_KEY, api_keys=keys)
    key = settings.identity_key()
    with TestClient(create_app(graph.path, settings)) as client:
        assert client.post("/v1/skiptrace", json={"applicant_id": "A001"}, headers={"X-API-Key": "c"}).status_code == 422
        assert client.post("/v1/skiptrace", json={"applicant_id": "A001"},
                           headers={"X-API-Key": "u", "X-Purpose": "collections"}).status_code == 403
        response = client.post("/v1/skiptrace", json={"applicant_id": "A001"},
                               headers={"X-API-Key": "c", "X-Purpose": "collections case 17"})
        assert response.status_code == 200
        found = {c["evidence"]: c for c in response.json()["candidates"]}
        # the borrower's own channels in full, to a collector collecting; third parties masked
        assert [(c["phone"], c["shown"], c["reveal"]) for c in response.json()["candidates"][:2]] == [
            ("+8613800000003", "full", None), ("+8613900000005", "full", None)]
        spouse = found["declared_contact"]
        assert (spouse["phone"], spouse["shown"], spouse["usage"]) == ("139****0006", "masked", "ask_for_borrower_only")
        assert spouse["reveal"].startswith("rv-") and "0006" not in spouse["reveal"]
        store = client.app.state.graphsvc.service.store
        log = store.access_log(limit=1).iloc[0]
        assert log["purpose"] == "collections case 17" and "A001" in log["subjects"]
        own = sorted(masking.number_digest(c["phone"], key) for c in found.values() if c["channel"] == "own")
        assert log["revealed"] == own and len(own) == 4  # which numbers were shown, by keyed digest only
        # another purpose: nothing in full
        other = client.post("/v1/skiptrace", json={"applicant_id": "A001"},
                            headers={"X-API-Key": "c", "X-Purpose": "customer survey"}).json()["candidates"]
        assert {c["shown"] for c in other} == {"masked"} and store.access_log(limit=1).iloc[0]["revealed"] == []
        # a reveal: the number, audited with its digest and purpose
        shown = client.post("/v1/skiptrace/reveal", json={"applicant_id": "A001", "reveal": spouse["reveal"]},
                            headers={"X-API-Key": "c", "X-Purpose": "collections case 17"})
        assert shown.status_code == 200, shown.text
        assert shown.json() == {"applicant_id": "A001", "phone": "+8613900000006", "channel": "third_party",
                                "relation": "spouse", "usage": "ask_for_borrower_only"}
        log = store.access_log(limit=1).iloc[0]
        assert (log["route"], log["subjects"], log["revealed"]) == (
            "/v1/skiptrace/reveal", ["A001"], [masking.number_digest("+8613900000006", key)])
        assert client.post("/v1/skiptrace/reveal", json={"applicant_id": "A001", "reveal": "rv-nope"},
                           headers={"X-API-Key": "c", "X-Purpose": "collections"}).status_code == 404
        assert client.post("/v1/skiptrace/reveal", json={"applicant_id": "A002", "reveal": spouse["reveal"]},
                           headers={"X-API-Key": "c", "X-Purpose": "collections"}).status_code == 404  # not A002's
        assert client.post("/v1/skiptrace/reveal", json={"applicant_id": "A001", "reveal": spouse["reveal"]},
                           headers={"X-API-Key": "u", "X-Purpose": "collections"}).status_code == 403
        admin = client.post("/v1/skiptrace", json={"applicant_id": "A001"},
                            headers={"X-API-Key": "a", "X-Purpose": "audit"}).json()["candidates"]
        assert {c["shown"] for c in admin} == {"full"}


def test_evaluation_on_a_generated_population(population):
    truth = pd.read_parquet(population / "truth_lost_contact.parquet")
    with open_store(str(population / "graph.db"), readonly=True) as store:
        figures = evaluate(store, truth).set_index("route")
    assert figures.loc["unreachable", "coverage"] == 0
    assert figures.loc["same_identity", "hit_at_3"] >= 0.9
    assert figures.loc["reachable", "hit_at_3"] >= 0.8
    assert figures.loc["reachable", "borrowers"] == int((truth["route"] != "unreachable").sum())
