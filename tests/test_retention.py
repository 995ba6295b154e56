"""Retention: applicants past their period are forgotten as an erasure forgets them."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TEST_KEY, application, build_store, write_csv
from typer.testing import CliRunner

import graphsvc
from graphsvc.cli import app
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.people.retention import RetentionRules, apply, due
from graphsvc.store import open_store

AS_OF = int(pd.Timestamp("2024-06-01", tz="UTC").timestamp())


def _store(tmp_path):
    """A001 applied in 2015; A002 in 2015, fraud in 2016; A003 in 2023; A004 in 2012,
    default in 2013; A005 in 2016, repaid in 2021."""
    apps = [{**application(n), "applied_at": at} for n, at in
            ((1, "2015-01-01"), (2, "2015-02-01"), (3, "2023-01-01"), (4, "2012-01-01"), (5, "2016-01-01"))]
    outcomes = [{"applicant_id": "A002", "outcome": "fraud", "observed_at": "2016-01-01"},
                {"applicant_id": "A004", "outcome": "default", "observed_at": "2013-01-01"},
                {"applicant_id": "A005", "outcome": "repaid", "observed_at": "2021-01-01"}]
    return build_store(tmp_path, apps, outcomes=outcomes), apps, outcomes


def test_due_follows_the_longest_period_of_the_applicants_outcomes(tmp_path):
    path, _, _ = _store(tmp_path)
    with open_store(str(path)) as store:
        found = due(store, RetentionRules(), AS_OF)
        assert found.to_dict("records") == [
            {"applicant_id": "A004", "newest": "2013-01-01T00:00:00Z", "outcomes": "default", "years": 7.0,
             "expired": "2020-01-01T18:00:00Z"},
            {"applicant_id": "A001", "newest": "2015-01-01T00:00:00Z", "outcomes": None, "years": 5.0,
             "expired": "2020-01-01T06:00:00Z"}]
        shorter = RetentionRules(years=20, outcome_years={"repaid": 3, "fraud": 10})
        assert due(store, shorter, AS_OF)["applicant_id"].tolist() == ["A005"]
    with pytest.raises(ValueError, match="unknown outcomes \\['declined'\\]"):
        RetentionRules(outcome_years={"declined": 2})


def test_apply_forgets_them_for_good_and_reports_it(tmp_path):
    path, apps, outcomes = _store(tmp_path)
    with graphsvc.open(path) as service:
        report = apply(service.store, RetentionRules(), AS_OF, TEST_KEY.encode(), caller="test")
        assert report["years"].tolist() == [7.0, 5.0]
        assert report["applicants"].tolist() == [1, 1] and report["identifiers"].tolist() == [5, 5]
        assert all(label.startswith("forgotten-") for label in report["label"])
        kept = service.store.applicants(["A001", "A002", "A003", "A004", "A005"])["applicant_id"]
        assert sorted(kept) == ["A002", "A003", "A005"]
        purposes = service.store.access_log(subject="A004")["purpose"].tolist()
        assert purposes == [f"erasure: retention: 7 years after 2013-01-01T00:00:00Z ({RetentionRules().version})"]
        assert due(service.store, RetentionRules(), AS_OF).empty
    with open_store(str(path)) as store:  # the same rows again, from other files
        again = {"applications": write_csv(tmp_path / "apps-again.csv", apps[::-1]),
                 "outcomes": write_csv(tmp_path / "outcomes-again.csv", outcomes[::-1])}
        loaded = load(store, canonical_sources(again))
        forgotten = loaded.rejects[loaded.rejects["reason"] == "forgotten"]
        assert sorted(zip(forgotten["table"], forgotten["row"])) == [("applications", 2), ("applications", 5),
                                                                     ("outcomes", 2)]


def test_the_cli_lists_then_applies_with_a_report(tmp_path, monkeypatch):
    path, _, _ = _store(tmp_path)
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    runner = CliRunner(env={"COLUMNS": "250"})
    listed = runner.invoke(app, ["retention", "apply", "--dry-run", "--as-of", "2024-06-01", "--db", str(path)])
    assert listed.exit_code == 0 and "2 applicants past their retention period, 0 contact links" in listed.output
    assert "A004" in listed.output and "A001" in listed.output
    rules = write_csv(tmp_path / "unused.csv", [{"x": 1}]).with_suffix(".json")
    rules.write_text('{"years": 5, "outcome_years": {"fraud": 1}}')
    report = tmp_path / "purged.csv"
    done = runner.invoke(app, ["retention", "apply", "--as-of", "2024-06-01", "--rules", str(rules),
                               "--report", str(report), "--db", str(path)])
    assert done.exit_code == 0, done.output
    assert "3 applicants forgotten, 0 contact links removed" in done.output  # A002's fraud kept a year only, A004's default five
    assert len(pd.read_csv(report)) == 3
    rules.write_text('{"years": -1}')
    bad = runner.invoke(app, ["retention", "apply", "--rules", str(rules), "--db", str(path)])
    assert bad.exit_code == 2 and "retention rules" in bad.output and "Traceback" not in bad.output


def test_score_on_write_leaves_out_a_listing_purged_past_retention(tmp_path):
    from fastapi.testclient import TestClient

    from graphsvc.api import create_app
    from graphsvc.api.security import digest
    from graphsvc.people.retention import apply_contacts
    from graphsvc.settings import Settings

    contacts = [{"applicant_id": "A001", "contact_phone": "13900000001", "source": "address_book",
                 "recorded_at": "2019-01-01"}]
    path = build_store(tmp_path, [application(1)], contacts)
    with open_store(str(path)) as store:
        assert apply_contacts(store, RetentionRules(), AS_OF, TEST_KEY.encode(), caller="test")["links"] == 1
    settings = Settings(hmac_key=TEST_KEY, api_keys={digest("u-key"): {"name": "uw", "role": "underwriter"}})
    with TestClient(create_app(path, settings=settings)) as client:
        answer = client.post("/v1/applications/score", headers={"X-API-Key": "u-key"}, json={
            "application_id": "P1-2024", "applicant_id": "A001", "applied_at": "2024-06-01",
            "contacts": [{"contact_phone": "13900000001", "source": "address_book"},
                         {"contact_phone": "13900000002", "source": "emergency"}]}).json()
    assert [(i["field"], i["reason"]) for i in answer["ignored"]] == [("contacts.contact_phone", "forgotten")]
    with open_store(str(path)) as store:
        assert store.applicant_links(["A001"]).query("role == 'contact'")["value"].tolist() == ["+8613900000002"]
