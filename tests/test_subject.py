"""Subject access: everything held about one person, by CLI and API, audited."""

from __future__ import annotations

import json

from conftest import TEST_KEY, application, build_store, contact, write_csv
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import graphsvc
from graphsvc.api import create_app
from graphsvc.api.security import digest
from graphsvc.cli import app
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.settings import Settings
from graphsvc.store import open_store


def _store(tmp_path):
    """A001 applied twice, declared a spouse, is listed by A002 and A003, defaulted,
    sent A002 money; two runs scored it."""
    apps = [application(1, day=1), application(2, day=3), application(3, day=4),
            {**application(1, day=40), "application_id": "P1b"}]
    contacts = [contact(1, "13900000009", day=1, relation="spouse"), contact(2, "13800000001", day=3),
                contact(3, "13800000001", day=4)]
    outcomes = [{"applicant_id": "A001", "outcome": "default", "observed_at": "2024-03-01"}]
    path = build_store(tmp_path, apps, contacts, outcomes)
    with open_store(str(path)) as store:
        load(store, canonical_sources({"relations": write_csv(tmp_path / "rel.csv", [
            {"src_applicant_id": "A001", "dst_applicant_id": "A002", "type": "transfer", "at": "2024-02-01"}])}))
    with graphsvc.open(path) as service:
        service.rescore(seed=1)
        service.rescore(seed=2)
    return path


def test_the_export_holds_everything_about_the_person_and_nothing_of_others(tmp_path):
    path = _store(tmp_path)
    with graphsvc.open(path) as service:
        found = service.subject_access("A001")
    assert [a["applied_at"] for a in found["applications"]] == ["2024-01-01T00:00:00Z", "2024-02-09T00:00:00Z"]
    held = {i["kind"]: i for i in found["identifiers"]}
    assert sorted(held) == ["device", "id_number", "ip", "phone", "subnet"]
    assert held["id_number"]["value"] is None and held["id_number"]["held"] is True  # the token never leaves
    assert (held["phone"]["value"], held["phone"]["times"]) == ("+8613800000001", 2)
    assert found["contacts_declared"] == [{"phone": "+8613900000009", "relation": "spouse", "name": "张三",
                                          "source": "emergency", "recorded": "2024-01-01T00:00:00Z"}]
    assert found["listed_as_a_contact_by"] == 2  # A002 and A003, not named
    assert "A003" not in json.dumps(found)
    assert found["outcomes"] == [{"outcome": "default", "observed_at": "2024-03-01T00:00:00Z"}]
    assert found["relations"] == [{"type": "transfer", "with": "A002", "direction": "from",
                                   "at": "2024-02-01T00:00:00Z"}]
    assert len(found["scores"]) == 2 and {s["band"] for s in found["scores"]} <= {"low", "review", "high"}
    assert found["access"] == []


def test_cli_and_api_export_and_audit_it(tmp_path, monkeypatch):
    path = _store(tmp_path)
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    runner = CliRunner(env={"COLUMNS": "200"})
    out = tmp_path / "A001.json"
    done = runner.invoke(app, ["subject", "export", "A001", "--db", str(path), "--out", str(out),
                               "--purpose", "subject access request 42"])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["applicant_id"] == "A001" and out.stat().st_mode & 0o777 == 0o600
    page = tmp_path / "A001.html"
    assert runner.invoke(app, ["subject", "export", "A001", "--db", str(path), "--out", str(page),
                               "--purpose", "request 42"]).exit_code == 0
    assert "What we hold about A001" in page.read_text() and "(held; not shown)" in page.read_text()
    missing = runner.invoke(app, ["subject", "export", "NOBODY", "--db", str(path), "--out", str(out),
                                  "--purpose", "request 43"])
    assert missing.exit_code == 2 and "no applicant 'NOBODY'" in missing.output
    settings = Settings(hmac_key=TEST_KEY, api_keys={digest("a"): {"name": "dpo", "role": "admin"},
                                                     digest("i"): {"name": "inv", "role": "investigator"}})
    with TestClient(create_app(path, settings)) as client:
        assert client.get("/v1/subjects/A001", headers={"X-API-Key": "a"}).status_code == 422  # no purpose
        assert client.get("/v1/subjects/A001", headers={"X-API-Key": "i", "X-Purpose": "curious"}).status_code == 403
        answer = client.get("/v1/subjects/A001", headers={"X-API-Key": "a", "X-Purpose": "request 42"})
        assert answer.status_code == 200 and answer.json()["listed_as_a_contact_by"] == 2
        # the CLI's two exports are in the person's own access record
        assert [(a["caller"].startswith("cli:"), a["purpose"]) for a in answer.json()["access"]] == [
            (True, "request 42"), (True, "subject access request 42")]
        html = client.get("/v1/subjects/A001?format=html", headers={"X-API-Key": "a", "X-Purpose": "request 42"})
        assert html.headers["content-type"].startswith("text/html") and "Who accessed your data" in html.text
        assert client.get("/v1/subjects/NOBODY", headers={"X-API-Key": "a", "X-Purpose": "x42"}).status_code == 404
        log = client.app.state.graphsvc.service.store.access_log(limit=2)
    assert log[["caller", "route", "subjects"]].values.tolist() == [
        ["dpo", "/v1/subjects/{applicant_id}", ["A001"]], ["dpo", "/v1/subjects/{applicant_id}", ["A001"]]]


def test_a_generated_applicant_s_export_lists_every_fact_written_for_them_and_nobody_else(scenario_db, scenario_dir,
                                                                                            tmp_path):
    import re
    import shutil

    import pandas as pd

    from graphsvc.ingest import normalise

    path = tmp_path / "graph.db"
    shutil.copy(scenario_db, path)
    apps = pd.read_parquet(scenario_dir / "applications.parquet")
    contacts = pd.read_parquet(scenario_dir / "contacts.parquet")
    outcomes = pd.read_parquet(scenario_dir / "outcomes.parquet")
    busy = apps["applicant_id"].value_counts()
    person = next(a for a in busy.index if busy[a] >= 2 and a in set(contacts["applicant_id"])
                  and a in set(outcomes["applicant_id"]))
    mine = apps[apps["applicant_id"] == person]
    with graphsvc.open(path) as service:
        found = service.subject_access(person)
    assert sorted(a["applied_at"] for a in found["applications"]) == sorted(
        normalise.format_timestamp(t) for t in normalise.timestamps(mine["applied_at"]))
    held = {(i["kind"], i["value"]) for i in found["identifiers"]}
    for kind, column in (("phone", "phone"), ("device", "device_id"), ("ip", "ip")):
        written = set(normalise.identifiers(kind, mine[column].dropna(), region="CN", identity_key=lambda: b""))
        assert written <= {v for k, v in held if k == kind}, kind
    assert ("id_number", None) in held
    declared = normalise.phones(contacts.loc[contacts["applicant_id"] == person, "contact_phone"]).dropna()
    assert {c["phone"] for c in found["contacts_declared"]} == set(declared)
    assert sorted(o["outcome"] for o in found["outcomes"]) == sorted(
        outcomes.loc[outcomes["applicant_id"] == person, "outcome"])
    stated = mine.sort_values("applied_at")["consents"].iloc[-1]  # the newest application's
    assert found["consents"] == ([] if stated == "none" else [stated])
    assert found["review_requests"] == []
    text = json.dumps(found, ensure_ascii=False)
    assert set(re.findall(r"A\d{8}", text)) == {person}  # nobody else's id
    others = set(normalise.phones(apps.loc[apps["applicant_id"] != person, "phone"]).dropna())
    others -= {v for _, v in held} | set(declared)  # their own numbers and the ones they listed themselves
    assert len(others) > 1_000 and not [p for p in others if p in text]  # nobody else's phone
