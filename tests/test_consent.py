"""Consent rules: address-book contacts feed linkage only with consent, never skip-trace."""

import numpy as np
import pandas as pd
import pytest
from conftest import TABLE_FILES, TEST_KEY, application, build_store, contact, write_csv
from fastapi.testclient import TestClient

from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.api import create_app
from graphsvc.api.security import digest
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.people.consent import ConsentRules
from graphsvc.people.skiptrace import lost_contact_borrowers, skiptrace
from graphsvc.settings import Settings
from graphsvc.store import open_store

PERMISSIVE = Policy.overrides({"consent": {"sources": {"address_book": {"linkage": "allowed",
                                                                         "collections": "allowed"}}}})


def _listed(store, consent: ConsentRules | None = None) -> set[tuple[str, str]]:
    """(lister, phone) of every contact link the projection keeps."""
    projection = Projection.from_store(store, consent=consent)
    rows, columns = projection.contact.nonzero()
    values = projection.values(columns, store).set_index("identifier")["value"]
    return {(projection.applicants[r], values[c]) for r, c in zip(rows, columns)}


@pytest.fixture
def address_books(tmp_path):
    """A001 lists 13900000001 from its address book and states consent; A002 lists
    13900000002 from its address book and never states any; A003 granted consent on
    day 1 and withdrew it on day 5 (the withdrawal loaded first); A004 lists
    13900000004 as an emergency contact and refused the address book."""
    apps = [{**application(1), "consents": "address_book"}, application(2),
            {**application(3, day=5), "application_id": "P3b", "consents": "none"},
            {**application(3, day=1), "consents": "ADDRESS_BOOK; "},
            {**application(4), "consents": "none"}]
    contacts = [{**contact(1, "13900000001"), "source": "address_book"},
                {**contact(2, "13900000002"), "source": "address_book"},
                {**contact(3, "13900000003"), "source": "address_book"},
                contact(4, "13900000004")]
    return build_store(tmp_path, apps, contacts)


def test_address_book_contacts_link_only_with_the_applicants_newest_consent(address_books):
    with open_store(str(address_books)) as store:
        assert _listed(store) == {("A001", "+8613900000001"), ("A004", "+8613900000004")}
        assert _listed(store, PERMISSIVE.consent) == {("A001", "+8613900000001"), ("A002", "+8613900000002"),
                                                      ("A003", "+8613900000003"), ("A004", "+8613900000004")}
        never = ConsentRules.model_validate({"sources": {"address_book": {"linkage": "never",
                                                                          "collections": "never"}}})
        assert _listed(store, never) == {("A004", "+8613900000004")}
        links = store.applicant_links(["A001", "A002", "A003", "A004"]).set_index("applicant_id")["consents"]
        assert {a: c if isinstance(c, str) else None for a, c in links.items()} == {"A001": "address_book", "A002": None, "A003": "", "A004": ""}


def test_consents_are_stated_in_any_case_and_an_unknown_scope_is_quarantined(tmp_path):
    files = {"applications": write_csv(tmp_path / "applications.csv", [
        {**application(1), "consents": "address_book,marketing"},
        {**application(2), "consents": "None"}])}
    with open_store(str(tmp_path / "graph.db")) as store:
        report = load(store, canonical_sources(files))
        rejects = report.rejects
        assert rejects[["row", "column", "reason"]].values.tolist() == [[1, "consents", "unknown_value"]]
        assert report.summary().set_index("table").loc["applications", "loaded"] == 2
        arrays = store.graph_arrays()
        assert dict(zip(arrays.applicants, arrays.applicant_consents)) == {"A001": None, "A002": ""}


def test_score_on_write_follows_the_consent_the_application_states(tmp_path, settings):
    """Ten applicants list one number from their address books; the eleventh to list
    it is scored with the co-listers only where their consents allow."""
    apps = [{**application(n, day=n), "consents": "address_book" if n % 2 else "none"} for n in range(1, 11)]
    contacts = [{**contact(n, "13700000000", day=n), "source": "address_book"} for n in range(1, 11)]
    path = build_store(tmp_path, apps, contacts)
    app = create_app(path, settings=Settings(hmac_key=TEST_KEY, api_keys={
        digest("u-key"): {"name": "uw", "role": "underwriter"}}))
    body = {**application(11, day=12), "consents": "address_book",
            "contacts": [{"contact_phone": "13700000000", "source": "address_book"}]}
    with TestClient(app) as client:
        answer = client.post("/v1/applications/score?dry_run=true", json=body,
                             headers={"X-API-Key": "u-key"}).json()
        refused = client.post("/v1/applications/score?dry_run=true", json={**body, "consents": "contacts"},
                              headers={"X-API-Key": "u-key"}).json()
    assert answer["versions"]["consent_version"] == ConsentRules().version
    reasons = {r["code"]: r["evidence"] for r in answer["reasons"]}
    assert reasons["CONTACT_VELOCITY"]["others"] == 5  # the five who consented
    assert reasons["EMERGING_RING"]["members"] == ["A001", "A003", "A005", "A007", "A009", "A011"]
    assert refused["ignored"] == [{"field": "consents", "reason": "unknown_value",
                                   "detail": "consents must name scopes among: address_book (or none)"}]
    # without a valid consent its own address-book contact is not used: nothing links it
    assert refused["reasons"] == [] and refused["score"] == 0


def test_skiptrace_never_proposes_an_address_book_number_on_a_generated_store(scenario_dir, tmp_path, settings):
    """Half the generated contacts (drawn at random) are address-book contacts; with
    the default rules every skip-trace equals that on a store without them."""
    tables = {t: pd.read_parquet(scenario_dir / f"{t}.parquet") for t in TABLE_FILES}
    contacts = tables["contacts"]
    half = np.random.default_rng(5).permutation(len(contacts)) < len(contacts) // 2
    contacts = contacts.assign(source=np.where(half, "address_book", "emergency"))
    assert abs(half.mean() - 0.5) < 0.001

    def stored(name: str, rows: pd.DataFrame):
        folder = tmp_path / name
        folder.mkdir()
        files = {t: folder / f"{t}.parquet" for t in tables}
        for t, frame in {**tables, "contacts": rows}.items():
            frame.to_parquet(files[t])
        store = open_store(str(folder / "graph.db"))
        load(store, canonical_sources(files))
        return store

    with stored("all", contacts) as everything, stored("declared", contacts[~half]) as declared:
        borrowers = lost_contact_borrowers(everything)
        assert len(borrowers) >= 30
        changed = 0
        for borrower in borrowers:
            ours = skiptrace(everything, borrower)
            assert ours.equals(skiptrace(declared, borrower)), borrower
            changed += not ours.equals(skiptrace(everything, borrower, PERMISSIVE))
        assert changed >= len(borrowers) // 3  # the address books would have changed many


def test_consent_rules_name_only_known_sources_and_have_a_version():
    with pytest.raises(ValueError, match="unknown contact sources \\['phonebook'\\]"):
        ConsentRules.model_validate({"sources": {"phonebook": {"linkage": "allowed", "collections": "never"}}})
    assert ConsentRules().version.startswith("consent-") and ConsentRules().version != PERMISSIVE.consent.version
    assert Policy().consent == ConsentRules()
