"""No identity number leaves the service: every API response (every route, every role)
and every CLI export of a scored store is scanned for the stored identity tokens, the
clear identity numbers of the input, and anything shaped like either."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from conftest import TEST_KEY
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from graphsvc.api import create_app
from graphsvc.api.security import Role, digest
from graphsvc.cli import app
from graphsvc.ingest.contract import TOKENISED
from graphsvc.settings import Settings

HEX64 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
CLEAR_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")  # a PRC resident identity number
KEYS = {role: f"key-{role.value}" for role in Role}


@pytest.fixture(scope="module")
def exposed(scored_db, scenario_dir, tmp_path_factory):
    """The scored scenario, with what must never appear: the stored tokens and the
    clear numbers the input carried."""
    path = tmp_path_factory.mktemp("exposure") / "graph.db"
    shutil.copy(scored_db, path)
    from graphsvc.store import open_store

    with open_store(str(path), readonly=True) as store:
        arrays = store.graph_arrays()
        kinds = [arrays.kinds[k] for k in arrays.identifier_kind]
        refs = arrays.identifier_ref[[k in TOKENISED for k in kinds]]
        tokens = set(store.identifier_values(refs)["value"])
        holders = store.shared_identifiers("id_number")
        shared = store.identifier_links([("id_number", v) for v in holders["value"].head(10)])
    clear = pd.read_parquet(scenario_dir / "applications.parquet")["id_number"].dropna()
    clear = {str(v).replace(" ", "").upper() for v in clear}
    assert len(tokens) > 1_000 and len(clear) > 1_000 and len(shared) >= 10
    found = {"tokens": tokens, "clear": clear}
    token, number = sorted(tokens)[0], sorted(clear)[0]
    assert _leaks(f"via A1 (id_number {token})", found) == [token]  # the scanner sees what it looks for
    assert _leaks(f"id={number.lower()}&x", found) == [number]
    return {"path": path, "tokens": tokens, "clear": clear,
            "people": sorted(set(shared["applicant_id"]))[:12]}


def _leaks(text: str, exposed: dict) -> list[str]:
    """Anything shaped like a token (64 hex digits: every stored token is one) or a
    clear identity number, and any of the input's clear numbers however embedded."""
    found = set(HEX64.findall(text)) | {m.upper() for m in CLEAR_ID.findall(text)}
    digits = set(re.findall(r"\d{17}[\dXx]", text))
    return sorted(found | {d for d in digits if d.upper() in exposed["clear"]})


def test_no_api_response_carries_an_identity_token_or_number(exposed):
    settings = Settings(hmac_key=TEST_KEY, api_keys={digest(k): {"name": f"{r.value}-1", "role": r.value}
                                                     for r, k in KEYS.items()})
    scanned = 0
    with TestClient(create_app(exposed["path"], settings)) as client:
        service = client.app.state.graphsvc.service
        rings = service.rings(top=5)["ring_id"].tolist()
        members = [service.ring_members(r)["applicant_id"].iloc[0] for r in rings]
        people = exposed["people"] + members
        for role in Role:
            headers = {"X-API-Key": KEYS[role], "X-Purpose": "collections"}
            calls = [("GET", "/v1/rings?limit=50", None)] + [("GET", f"/v1/rings/{r}", None) for r in rings]
            for a in people:
                calls += [("GET", f"/v1/applicants/{a}", None), ("GET", f"/v1/applicants/{a}/network?hops=2", None),
                          ("GET", f"/v1/applicants/{a}/explain", None), ("POST", "/v1/skiptrace", {"applicant_id": a}),
                          ("GET", f"/v1/paths?from={a}&to={people[0]}&max_hops=4", None)]
            calls.append(("POST", "/v1/applications/score?dry_run=true", {
                "application_id": "SCAN-1", "applicant_id": people[0], "applied_at": "2026-01-05T10:00:00Z",
                "id_number": sorted(exposed["clear"])[0]}))  # someone else's identity, typed in clear
            for method, url, body in calls:
                response = client.request(method, url, json=body, headers=headers)
                assert response.status_code in (200, 403, 404), (url, role, response.text)
                text = response.text + " ".join(response.headers.values())
                assert not _leaks(text, exposed), (url, role, _leaks(text, exposed)[:3])
                scanned += 1
    assert scanned > 200


def test_no_cli_output_or_export_carries_an_identity_token_or_number(exposed, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    runner = CliRunner(env={"COLUMNS": "250"})
    db = str(exposed["path"])
    person = exposed["people"][0]
    rings = runner.invoke(app, ["rings", "--db", db, "--format", "json"])
    ring = json.loads(rings.output)[0]["ring_id"]
    outputs = {"rings": rings.output}
    commands = {
        "info": ["info", "--db", db, "--top", "20"],
        "runs": ["runs", "--db", db, "--format", "json"],
        "rings-csv": ["rings", "--db", db, "--format", "csv"],
        "explain": ["explain", person, "--db", db],
        "explain-json": ["explain", person, "--db", db, "--format", "json"],
        "skiptrace": ["skiptrace", person, "--db", db, "--format", "json"],
        "skiptrace-all": ["skiptrace", "--all-lost-contact", "--db", db, "--out", str(tmp_path / "lost.csv")],
        "scores": ["scores", "--db", db, "--out", str(tmp_path / "scores.csv")],
        "picture-html": ["picture", "--db", db, "--applicant", person, "--out", str(tmp_path / "p.html")],
        "picture-graphml": ["picture", "--db", db, "--ring", ring, "--out", str(tmp_path / "r.graphml")],
        "report": ["report", "--db", db, "--out", str(tmp_path / "report.html"), "--top", "3"],
    }
    for name, args in commands.items():
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (name, result.output)
        outputs[name] = result.output
    for written in tmp_path.iterdir():
        outputs[written.name] = written.read_text(encoding="utf-8", errors="replace")
    assert {"lost.csv", "scores.csv", "p.html", "r.graphml", "report.html"} <= set(outputs)
    for name, text in outputs.items():
        assert not _leaks(text, exposed), (name, _leaks(text, exposed)[:3])


def test_reasons_about_an_identity_number_name_its_kind_not_its_token(tmp_path, settings):
    """Seven applicants on one identity number (a hub), one of them confirmed fraud, two
    sharing another with the fraud: the run's stored reasons, the scores export and the
    explanation say "id_number", never the token."""
    from conftest import application, build_store

    import graphsvc
    from graphsvc.analytics.explain import as_text

    apps = [application(n, day=n, id_number="110101199001011234") for n in range(1, 8)]
    apps += [application(n, day=n, id_number="110101199202022345") for n in (8, 9)]
    outcomes = [{"applicant_id": "A008", "outcome": "fraud", "observed_at": "2024-02-01"}]
    path = build_store(tmp_path, apps, (), outcomes)
    with graphsvc.open(path) as service:
        service.rescore()
        scores = service.scores()
        reasons = {a: {r["code"]: r["evidence"] for r in json.loads(text)}
                   for a, text in zip(scores["applicant_id"], scores["reasons"]) if isinstance(text, str)}
        explained = as_text(service.explain("A001")) + as_text(service.explain("A009"))
    assert reasons["A001"]["HUB_IDENTIFIER"] == {"kind": "id_number", "value": None, "holders": 7}
    assert reasons["A009"]["SHARES_WITH_FRAUD"]["shared"] == [{"kind": "id_number", "value": None}]
    assert "id_number is held by 7 applicants" in explained and not HEX64.search(explained)
    assert not HEX64.search(scores.to_csv(index=False))
