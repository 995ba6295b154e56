"""Automated decisions: every score answer says it is one, in plain Chinese and English,
and a person's request for human review is filed, listed and closed, audited."""

from __future__ import annotations

import re

from conftest import TEST_KEY, application, build_store, contact
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from graphsvc.analytics.scoring import ReasonCode
from graphsvc.api import create_app
from graphsvc.api.security import digest
from graphsvc.cli import app
from graphsvc.people.decision import PLAIN, STATEMENT
from graphsvc.settings import Settings
from graphsvc.store import open_store

KEYS = {digest("u-key"): {"name": "uw-system", "role": "underwriter"},
        digest("i-key"): {"name": "ivy", "role": "investigator"},
        digest("c-key"): {"name": "cole", "role": "collector"}}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_reason_code_has_plain_words_in_both_languages_naming_nobody():
    assert set(PLAIN) == set(ReasonCode)
    for code, (en, zh) in PLAIN.items():
        assert en.endswith(".") and not CJK.search(en), code
        assert zh.endswith("。") and CJK.search(zh), code
        assert not re.search(r"\d", en + zh), code  # no number, id or value of anyone
    assert set(STATEMENT) == {"en", "zh"}


def _store(tmp_path):
    """Six applicants on one device within a week: the seventh scores with reasons."""
    apps = [application(n, day=n, device="farm-1") for n in range(1, 7)]
    return build_store(tmp_path, apps, [contact(1, "13900000001")])


def test_the_answer_is_marked_automated_and_a_review_goes_from_request_to_close(tmp_path):
    path = _store(tmp_path)
    with TestClient(create_app(path, settings=Settings(hmac_key=TEST_KEY, api_keys=KEYS))) as client:
        uw, iv, co = ({"X-API-Key": k} for k in ("u-key", "i-key", "c-key"))
        answer = client.post("/v1/applications/score", headers=uw,
                             json={**application(7, day=7, device="farm-1")}).json()
        decision = answer["decision"]
        assert decision["automated"] is True and decision["statement"] == STATEMENT
        assert [r["code"] for r in decision["reasons"]] == [r["code"] for r in answer["reasons"]] != []
        assert all(r["en"] == PLAIN[ReasonCode(r["code"])][0] for r in decision["reasons"])
        assert decision["review"] == "/v1/applicants/A007/review-requests"

        filed = client.post(decision["review"], headers=uw, json={"application_id": "P7",
                                                                  "reason": "I applied once, from my phone"})
        assert filed.status_code == 201
        review = filed.json()
        assert (review["status"], review["requested_by"], review["application_id"]) == ("open", "uw-system", "P7")
        assert client.post("/v1/applicants/A999/review-requests", headers=uw, json={}).status_code == 404
        assert client.get("/v1/review-requests", headers=co).status_code == 403
        listed = client.get("/v1/review-requests", headers=iv).json()["reviews"]
        assert [r["review_id"] for r in listed] == [review["review_id"]]
        close = f"/v1/review-requests/{review['review_id']}/close"
        assert client.post(close, headers=iv, json={"outcome": "reversed", "note": "x"}).status_code == 422
        # three characters, two once Python strips the group separator: refused as the body, not as a 400
        blank = client.post(close, headers=iv, json={"outcome": "upheld", "note": "\u00afT\u001d"})
        assert blank.status_code == 422
        assert "the note must say what the review found (3 characters or more)" in blank.text
        closed = client.post(close, headers=iv, json={"outcome": "changed", "note": "a family tablet, not a farm"})
        assert closed.status_code == 200
        assert {k: closed.json()[k] for k in ("status", "outcome", "closed_by", "note")} == {
            "status": "closed", "outcome": "changed", "closed_by": "ivy", "note": "a family tablet, not a farm"}
        assert client.post(close, headers=iv, json={"outcome": "upheld", "note": "again"}).status_code == 404
        assert client.get("/v1/review-requests", headers=iv).json()["reviews"] == []
        assert [r["review_id"] for r in client.get("/v1/review-requests?status=closed", headers=iv).json()[
            "reviews"]] == [review["review_id"]]
    with open_store(str(path)) as store:
        routes = store.access_log(subject="A007")["route"].tolist()
    # newest first; the empty open listing after the close names nobody
    assert routes == ["/v1/review-requests", "/v1/review-requests/{review_id}/close", "/v1/review-requests",
                      "/v1/applicants/{applicant_id}/review-requests", "/v1/applications/score"]


def test_the_cli_files_lists_and_closes_reviews(tmp_path, monkeypatch):
    path = _store(tmp_path)
    monkeypatch.setenv("GRAPHSVC_HMAC_KEY", TEST_KEY)
    runner = CliRunner(env={"COLUMNS": "250"})
    filed = runner.invoke(app, ["review", "request", "A001", "--reason", "please check", "--db", str(path)])
    assert filed.exit_code == 0, filed.output
    review_id = re.search(r"review (rv-[0-9a-f]{12}) opened for A001", filed.output).group(1)
    listed = runner.invoke(app, ["review", "list", "--db", str(path)])
    assert listed.exit_code == 0 and review_id in listed.output
    bad = runner.invoke(app, ["review", "close", review_id, "--outcome", "maybe", "--note", "hmm", "--db", str(path)])
    assert bad.exit_code == 2 and "outcome must be one of: upheld, changed" in bad.output
    done = runner.invoke(app, ["review", "close", review_id, "--outcome", "upheld", "--note", "the device is shared",
                               "--db", str(path)])
    assert done.exit_code == 0 and f"review {review_id} closed: upheld" in done.output
    assert "no open review requests" in runner.invoke(app, ["review", "list", "--db", str(path)]).output
