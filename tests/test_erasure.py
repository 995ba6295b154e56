"""Erasure that sticks: after `subject forget` nothing of the person is in the store
files, the write-ahead log, an API answer or a later load."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import TABLE_FILES, TEST_KEY, application, build_store, contact
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

KEYS = {digest("a-key"): {"name": "ana", "role": "admin"}, digest("u-key"): {"name": "uw", "role": "underwriter"}}


def _held(store, applicant_id: str) -> dict:
    """The person's phones and identity tokens, the names others list them under, and
    whether anyone else holds one of their own identifiers as their own."""
    links = store.applicant_links([applicant_id])
    own = links[links["role"] == "own"]
    around = store.identifier_links(list(zip(own["kind"], own["value"])))
    others = around[around["applicant_id"] != applicant_id]
    phones = own.loc[own["kind"] == "phone", "value"].tolist()
    listing = others[(others["role"] == "contact") & others["value"].isin(phones)]
    return {"phones": phones, "tokens": own.loc[own["kind"] == "id_number", "value"].tolist(),
            "names": sorted({n for n in listing["name"] if isinstance(n, str)}),
            "listed_by": sorted(set(listing["applicant_id"])),
            "shared_own": bool(((others["role"] == "own") & others["kind"].isin(["phone", "id_number"])).any())}


def _files_hold(path, values: list[str]) -> list[str]:
    """Those of ``values`` found, as bytes, in a store file (database, log, shared memory)."""
    data = b"".join((path.parent / n).read_bytes() for n in (path.name, f"{path.name}-wal", f"{path.name}-shm")
                    if (path.parent / n).exists())
    return [v for v in values if v.encode() in data]


def _digits(values: pd.Series) -> pd.Series:
    return values.astype(str).str.replace(r"\D", "", regex=True)


@pytest.fixture
def generated(scenario_dir, tmp_path):
    """The small generated scenario loaded and scored, and its files as CSV (other
    bytes than the Parquet files loaded, so a reload reads every row again)."""
    path = tmp_path / "graph.db"
    with open_store(str(path)) as store:
        load(store, canonical_sources({t: scenario_dir / f"{t}.parquet" for t in TABLE_FILES}))
    with graphsvc.open(path) as service:
        service.rescore(seed=1)
    csv = {}
    for table in TABLE_FILES:
        csv[table] = tmp_path / f"{table}.csv"
        pd.read_parquet(scenario_dir / f"{table}.parquet").to_csv(csv[table], index=False)
    return path, csv


def test_a_forgotten_person_is_nowhere_in_the_files_the_api_or_a_reload(generated, tmp_path):
    path, csv = generated
    contacts = pd.read_csv(csv["contacts"])
    with graphsvc.open(path) as service:
        members = service.store.run_table(service.run_id(None), "ring_members")["applicant_id"].tolist()
        scores = service.store.run_table(service.run_id(None), "scores")
        # a ring member others list (by a name nobody else is listed under), holding its own
        # phones and identity alone: everything it left can be looked for byte by byte
        listed = _digits(contacts["contact_phone"]).str[-8:]
        for person in members:
            held = _held(service.store, person)
            mine = listed.isin([p[-8:] for p in held["phones"]])
            unique = all(((contacts["contact_name"] == n) & ~mine).sum() == 0 for n in held["names"])
            if held["listed_by"] and held["names"] and held["tokens"] and not held["shared_own"] and unique:
                break
        else:
            pytest.fail("no ring member fit the test")
        named_in_reasons = scores[scores["applicant_id"] != person]["reasons"].fillna("").str.contains(person).sum()
        values = held["phones"] + held["tokens"] + held["names"]
        assert _files_hold(path, values) == values
        done = service.forget(person, "erasure request 42", caller="test")
    assert done["removed"]["applicants"] == 1 and done["removed"]["scores"] == 1
    assert done["removed"]["links"] >= len(held["listed_by"]) + 1
    assert done["removed"]["reasons rewritten"] >= named_in_reasons > 0
    assert _files_hold(path, values) == []

    settings = Settings(hmac_key=TEST_KEY, api_keys=KEYS)
    with TestClient(create_app(path, settings=settings)) as client:
        admin = {"X-API-Key": "a-key"}
        assert client.get(f"/v1/applicants/{person}", headers=admin).status_code == 404
        answers = [client.get(f"/v1/identifiers/phone/{held['phones'][0]}/applicants", headers=admin).text,
                   client.get("/v1/rings?limit=100", headers=admin).text]
        for other in held["listed_by"][:3] + members[:3]:
            if other != person:
                answers += [client.get(f"/v1/applicants/{other}", headers=admin).text,
                            client.get(f"/v1/applicants/{other}/explain", headers=admin).text,
                            client.get(f"/v1/applicants/{other}/network?hops=2", headers=admin).text]
        looked_up = json.loads(answers[0])  # it echoes the number asked for, and holds nobody
        assert (looked_up["degree"], looked_up["applicants"]) == (0, [])
        for text in answers[1:]:
            assert person not in text and not [v for v in values if v in text]
        refused = client.post("/v1/applications/score", headers={"X-API-Key": "u-key"}, json={
            "application_id": "NEW-1", "applicant_id": person, "applied_at": "2026-01-01"})
        assert refused.status_code == 422 and "forgotten" in refused.text

    runner = CliRunner(env={"COLUMNS": "250", "GRAPHSVC_HMAC_KEY": TEST_KEY})
    fellow = next(m for m in members if m != person)
    exports = tmp_path / "exports"
    exports.mkdir()
    outputs = [runner.invoke(app, args).output for args in (
        ["rings", "--db", str(path), "--format", "csv"],
        ["scores", "--db", str(path), "--out", str(exports / "scores.csv")],
        ["explain", fellow, "--db", str(path), "--format", "json"],
        ["picture", "--db", str(path), "--applicant", fellow, "--out", str(exports / "fellow.html")],
        ["report", "--db", str(path), "--out", str(exports / "report.html"), "--top", "10"],
        ["info", "--db", str(path), "--top", "50"])]
    outputs += [f.read_text(encoding="utf-8") for f in exports.iterdir()]
    assert len(outputs) == 9
    for text in outputs:  # no later export holds the person or anything of theirs
        assert person not in text and not [v for v in values if v in text]

    with open_store(str(path)) as store:  # the same rows again, from files of other bytes
        report = load(store, canonical_sources(csv))
        rejected = report.rejects[report.rejects["reason"] == "forgotten"]
        assert set(rejected["column"]) <= {"applicant_id", "contact_phone"}
        assert len(rejected[rejected["column"] == "contact_phone"]) >= len(held["listed_by"])
        assert not len(store.applicants([person]))
    with graphsvc.open(path) as service:
        service.rescore(seed=1)
    assert _files_hold(path, values) == []


def _hand_store(tmp_path):
    """A001 (phone ...001, device dev-shared with A002) lists ...009; A003 lists A001's
    phone under 王小明; an outcome of A004 names A001's phone; a contact of the
    not-yet-applied A005 lists it too (pending); one run scored them all."""
    apps = [application(1, device="dev-shared"), application(2, device="dev-shared"), application(3),
            application(4)]
    contacts = [contact(1, "13900000009"), {**contact(3, "13800000001"), "contact_name": "王小明"},
                {**contact(5, "13800000001"), "contact_name": "王小明"}]
    outcomes = [{"applicant_id": "A004", "outcome": "default", "observed_at": "2024-03-01",
                 "phone": "13800000001"}]
    path = build_store(tmp_path, apps, contacts, outcomes)
    with graphsvc.open(path) as service:
        service.rescore(seed=1)
    return path, {"applications": tmp_path / "applications.csv", "contacts": tmp_path / "contacts.csv",
                  "outcomes": tmp_path / "outcomes.csv"}


def test_forget_removes_own_and_orphan_identifiers_keeps_shared_ones_and_screens_later_input(tmp_path):
    path, files = _hand_store(tmp_path)
    with graphsvc.open(path) as service:
        assert service.store.pending().set_index("table")["rows"].to_dict() == {"contacts": 1}
        dry = service.forget("A001", "erasure request 7", caller="test", dry_run=True)
        assert dry["identifiers_removed"] == {"id_number": 1, "ip": 1, "phone": 2, "subnet": 1}
        done = service.forget("A001", "erasure request 7", caller="test")
        assert done["removed"] == {"links": 7, "holders": 7, "outcome phones": 1, "identifiers": 5,
                                   "applications": 1, "outcomes": 0, "relations": 0, "pending": 1, "scores": 1,
                                   "ring memberships": 0, "reviews": 0, "applicants": 1, "hubs": 0,
                                   "reasons rewritten": 0}
        assert done["tombstones"] == 5  # the applicant, its phone, identity, IP and subnet
        store = service.store
        assert store.applicant_links(["A002"])["value"].tolist().count("dev-shared") == 1
        assert store.identifier_links([("phone", "+8613800000001"), ("phone", "+8613900000009")]).empty
        assert store.applicant_links(["A003"]).query("role == 'contact'").empty
        assert store.applicant_outcomes("A004") == [("default", 1709251200, None)]
        log = store.access_log(subject="A001")
        assert (log["route"].iloc[0], log["purpose"].iloc[0]) == ("graphsvc subject forget", "erasure: erasure request 7")
        with pytest.raises(graphsvc.errors.NotFoundError):
            service.forget("A001", "again", caller="test")

    moved = tmp_path / "again"  # the same rows from other files: every row is read again
    moved.mkdir()
    copies = {t: shutil.copy(f, moved / f"{t}-2.csv") for t, f in files.items()}
    for copy in copies.values():
        frame = pd.read_csv(copy, dtype=str)
        frame.iloc[::-1, ::-1].to_csv(copy, index=False)  # rows and columns in another order
    with open_store(str(path)) as store:
        report = load(store, canonical_sources(copies))
        forgotten = report.rejects[report.rejects["reason"] == "forgotten"]
        assert sorted(zip(forgotten["table"], forgotten["column"])) == [
            ("applications", "applicant_id"), ("contacts", "applicant_id"), ("contacts", "contact_phone"),
            ("contacts", "contact_phone"), ("outcomes", "phone")]
        assert store.identifier_links([("phone", "+8613800000001")]).empty
        assert store.applicant_outcomes("A004") == [("default", 1709251200, None)]


def test_score_on_write_refuses_a_forgotten_applicant_and_leaves_out_forgotten_values(tmp_path):
    path, _ = _hand_store(tmp_path)
    with graphsvc.open(path) as service:
        service.forget("A001", "erasure request 8", caller="test")
    with TestClient(create_app(path, settings=Settings(hmac_key=TEST_KEY, api_keys=KEYS))) as client:
        underwriter = {"X-API-Key": "u-key"}
        refused = client.post("/v1/applications/score", headers=underwriter, json={
            "application_id": "P1-new", "applicant_id": "A001", "applied_at": "2025-01-01"})
        assert refused.status_code == 422
        assert refused.json()["errors"] == [{"loc": ["body", "applicant_id"], "type": "forgotten",
                                             "msg": "the person was erased (graphsvc subject forget); "
                                                    "the row is skipped"}]
        answer = client.post("/v1/applications/score", headers=underwriter, json={
            "application_id": "P9", "applicant_id": "A009", "applied_at": "2025-01-01", "phone": "13800000001",
            "contacts": [{"contact_phone": "13800000001"}, {"contact_phone": "13900000099"}]}).json()
        assert [(i["field"], i["reason"]) for i in answer["ignored"]] == [
            ("phone", "forgotten"), ("contacts.contact_phone", "forgotten")]
    with open_store(str(path)) as store:
        assert store.identifier_links([("phone", "+8613800000001")]).empty
        assert store.applicant_links(["A009"])["value"].tolist() == ["+8613900000099"]


def test_the_cli_forgets_with_a_reason_and_says_what_went(tmp_path, monkeypatch):
    path, _ = _hand_store(tmp_path)
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    runner = CliRunner(env={"COLUMNS": "250"})
    dry = runner.invoke(app, ["subject", "forget", "A001", "--reason", "request 9", "--dry-run", "--db", str(path)])
    assert dry.exit_code == 0 and "would forget A001" in dry.output
    short = runner.invoke(app, ["subject", "forget", "A001", "--reason", "x", "--db", str(path)])
    assert short.exit_code == 2 and "the reason must say why" in short.output
    done = runner.invoke(app, ["subject", "forget", "A001", "--reason", "request 9", "--db", str(path)])
    said = " ".join(done.output.split())
    assert done.exit_code == 0 and said.startswith("forgot A001 (now forgotten-") and said.endswith(
        "identifiers 1 id_number, 1 ip, 2 phone, 1 subnet; 5 tombstones")
    again = runner.invoke(app, ["subject", "forget", "A001", "--reason", "request 9", "--db", str(path)])
    assert again.exit_code == 2 and "no applicant 'A001'" in again.output and "Traceback" not in again.output
