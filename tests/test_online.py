"""Score-on-write's one-application path writes exactly what the loader writes."""


import json

import pandas as pd
import pytest
from conftest import write_csv

from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.online.intake import prepare_application, store_application
from graphsvc.settings import get_settings
from graphsvc.store import open_store
from graphsvc.store.embedded import sql

APPLICATIONS = [
    {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-03-01T10:00:00+08:00",
     "phone": "138 0013 8000", "device_id": " dev-1 ", "ip": "::ffff:10.0.0.1", "id_number": "1101 0119 9001 011234"},
    {"application_id": "P2", "applicant_id": "A2", "applied_at": "2024-03-02", "phone": "13800138001",
     "device_id": "dev-1"},
    {"application_id": "P3", "applicant_id": "A1", "applied_at": "2024-05-02T08:00", "phone": "13800138002"},
    # invalid values, kept as typed: raw_phone 138001380, raw_ip 300.1.2.3, raw_id_number (a token)
    {"application_id": "P4", "applicant_id": "A4", "applied_at": "2024-05-03", "phone": "138-0013-80",
     "ip": "300.1.2.3", "id_number": "1101011990\u200b01011234"},
]
CONTACTS = {
    "P1": [{"contact_phone": "13800138001", "relation": "friend", "contact_name": "王一", "source": "emergency"},
           {"contact_phone": "139 1234 5678", "relation": "parent", "recorded_at": "2024-02-01"},
           {"contact_phone": "13912345678", "relation": "parent", "contact_name": "李二",
            "recorded_at": "2024-02-03"}],
    "P2": [{"contact_phone": "13912345678", "relation": "other", "source": "address_book"}],
    "P3": [{"contact_phone": "13800138001", "relation": "friend", "contact_name": "王一", "source": "emergency"},
           {"contact_phone": "13800138000", "relation": "other"}],  # A1's own phone, listed as a contact
    "P4": [],
}
TABLES = {
    "applicants": "SELECT key, properties FROM applicants ORDER BY key",
    "applications": "SELECT a.key, p.key, p.hash, p.applied_at, p.digest FROM applications p "
                    "JOIN applicants a ON a.id = p.applicant ORDER BY p.key",
    "identifiers": "SELECT kind, value, hash FROM identifiers ORDER BY kind, value",
    "links": "SELECT a.key, i.kind, i.value, l.role, l.relation, l.first_seen, l.last_seen, l.count, l.name, "
             "l.source FROM links l JOIN applicants a ON a.id = l.applicant JOIN identifiers i "
             "ON i.id = l.identifier ORDER BY 1, 2, 3, 4, 5",
    "holders": "SELECT i.kind, i.value, a.key FROM holders h JOIN applicants a ON a.id = h.applicant "
               "JOIN identifiers i ON i.id = h.identifier ORDER BY 1, 2, 3",
    "contact_records": "SELECT hash FROM contact_records ORDER BY hash",
}


def _dump(path) -> dict:
    con = sql.connect(path)
    try:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    finally:
        con.close()


def test_one_application_path_equals_the_loader(tmp_path):
    settings = get_settings()
    via_api = tmp_path / "api.db"
    with open_store(str(via_api)) as store:
        for application in APPLICATIONS:
            contacts = CONTACTS[application["application_id"]]
            assert store_application(store, prepare_application(application, contacts, settings)) is True
            assert store_application(store, prepare_application(application, contacts, settings)) is False
    rows = [{**c, "applicant_id": a["applicant_id"], "recorded_at": c.get("recorded_at", a["applied_at"])}
            for a in APPLICATIONS for c in CONTACTS[a["application_id"]]]
    via_loader = tmp_path / "loader.db"
    with open_store(str(via_loader)) as store:
        load(store, canonical_sources({
            "applications": write_csv(tmp_path / "applications.csv", APPLICATIONS),
            "contacts": write_csv(tmp_path / "contacts.csv", rows)}))
    api, loader = _dump(via_api), _dump(via_loader)
    assert api == loader
    assert len(api["links"]) == 15 and len(api["contact_records"]) == 6  # A1's IP gave a subnet link
    raw = [(kind, value) for applicant, kind, value, *_ in api["links"] if applicant == "A4"]
    assert [k for k, _ in raw] == ["raw_id_number", "raw_ip", "raw_phone"]
    assert raw[1:] == [("raw_ip", "300.1.2.3"), ("raw_phone", "138001380")] and len(raw[0][1]) == 64
    # every (identifier, applicant) pair of the links, once: A1 holds its own phone in two roles
    assert api["holders"] == sorted({(kind, value, applicant) for applicant, kind, value, *_ in api["links"]})
    assert len(api["holders"]) == 14


def test_digest_equals_the_loader_digest(tmp_path):
    from graphsvc.ingest.validate import Context, prepare

    settings = get_settings()
    ctx = Context(identity_key=settings.identity_key(), region="CN", timezone="UTC")
    rows, _ = prepare("applications", pd.DataFrame([{**a, "row": 1} for a in APPLICATIONS]), ctx)
    lean = [prepare_application(a, [], settings).application["digest"] for a in APPLICATIONS]
    assert rows["digest"].tolist() == lean


def _parity_store(tmp_path, settings):
    """Six applicants on one device in four days, two on a home IP months apart, the rest alone."""
    from conftest import application, build_store, contact

    apps = [application(n, day=100 + (n - 1) // 2, device="farm-7") for n in range(1, 7)]
    apps += [application(7, day=10, ip="10.9.9.9"), application(8, day=90, ip="10.9.9.9")]
    apps += [application(n, day=n) for n in range(9, 40)]
    contacts = [contact(n, "13700000000", day=100 + (n - 1) // 2) for n in (1, 2, 3, 4)]
    return build_store(tmp_path, apps, contacts)


def test_an_application_scores_on_write_as_in_the_next_batch_run(tmp_path, settings):
    """One rulebook: the same data, the same score, the same reasons (EMERGING_RING
    on write is RING_MEMBER in the batch) within 1 point."""
    import json

    from conftest import application, on_day

    from graphsvc.analytics.rescore import rescore
    from graphsvc.ingest.normalise import parse_as_of
    from graphsvc.online.scoring import score_neighbourhood

    path = _parity_store(tmp_path, settings)
    cases = [(application(50, day=103, device="farm-7"), [{"contact_phone": "13700000000"}]),  # joins the farm
             (application(51, day=120, ip="10.9.9.9"), []),  # a third on the home IP
             (application(52, day=120), [])]  # nobody near
    seen = []
    with open_store(str(path)) as store:
        rescore(store, as_of=parse_as_of(on_day(99)), promote=True)  # served; the runs below are held
        for body, listed in cases:
            prepared = prepare_application(body, listed, get_settings())
            store_application(store, prepared)
            online = score_neighbourhood(store, prepared)
            run = rescore(store, as_of=prepared.applied_at)
            batch = store.run_table(run["run_id"], "scores", where={"applicant_id": [body["applicant_id"]]}).iloc[0]
            batch_reasons = json.loads(batch["reasons"]) if isinstance(batch["reasons"], str) else []
            rename = {"EMERGING_RING": "RING_MEMBER"}
            assert abs(online["score"] - int(batch["score"])) <= 1, (body["applicant_id"], online, batch_reasons)
            assert [rename.get(r["code"], r["code"]) for r in online["reasons"]] == [r["code"] for r in batch_reasons]
            assert online["band"] == batch["band"]
            seen.append([r["code"] for r in batch_reasons])
    assert seen[0][0] == "RING_MEMBER" and "DEVICE_VELOCITY" in seen[0]  # the farm, seen alike
    assert seen[2] == []


def _farm_application(store):
    """The seventh applicant on device farm-7 (the parity store's six), stored."""
    from conftest import application

    prepared = prepare_application(application(60, day=104, device="farm-7"), [{"contact_phone": "13700000000"}],
                                   get_settings())
    store_application(store, prepared)
    return prepared


def test_a_forming_ring_is_flagged_on_write(tmp_path, settings):
    from graphsvc.online.scoring import score_neighbourhood

    path = _parity_store(tmp_path, settings)
    with open_store(str(path)) as store:
        prepared = _farm_application(store)
        answer = score_neighbourhood(store, prepared)
    codes = [r["code"] for r in answer["reasons"]]
    assert answer["band"] == "high" and codes[0] == "EMERGING_RING"
    group = next(r for r in answer["reasons"] if r["code"] == "EMERGING_RING")["evidence"]
    assert group["members"] == ["A001", "A002", "A003", "A004", "A005", "A006", "A060"]
    assert group["features"]["devices_per_member"] == pytest.approx(1 / 7, abs=1e-4)
    assert {"DEVICE_VELOCITY", "CONTACT_VELOCITY", "GROUP_VELOCITY"} <= set(codes)
    device = next(r for r in answer["reasons"] if r["code"] == "DEVICE_VELOCITY")["evidence"]
    assert (device["kind"], device["value"], device["others"]) == ("device", "farm-7", 6)


def test_a_spent_budget_stops_the_walk_and_says_so(tmp_path, settings):
    """Past its time budget the group is not grown further: the answer is built from what
    was fetched (the farm's holders, one hop) and marked truncated."""
    import time

    from graphsvc.online.scoring import score_neighbourhood

    path = _parity_store(tmp_path, settings)
    with open_store(str(path)) as store:
        prepared = _farm_application(store)
        whole = score_neighbourhood(store, prepared)
        cut = score_neighbourhood(store, prepared, deadline=time.monotonic() - 1)
    assert whole["neighbourhood"]["truncated"] is False and whole["group"]["truncated"] is False
    assert cut["neighbourhood"]["truncated"] is True and cut["group"]["truncated"] is True
    assert cut["group"]["members"] == ["A001", "A002", "A003", "A004", "A005", "A006", "A060"]
    assert cut["neighbourhood"]["applicants"] <= whole["neighbourhood"]["applicants"]


def test_the_same_invalid_phone_typed_by_a_few_links_them_and_is_a_reason(tmp_path, settings):
    """Four applicants months apart type one junk phone (written three ways): kept as
    raw_phone 138001380, they are linked under its rule and each carries
    SHARED_INVALID_VALUE in the batch run; a fifth typing it scores the same reason on
    write. A placeholder typed by more than the hub cap links nobody."""
    from conftest import application, build_store

    from graphsvc.analytics.rescore import analyse
    from graphsvc.online.scoring import score_neighbourhood

    typed = ["138-0013-80", "138 0013 80", "13800138 0", "138001380"]
    apps = [application(n, day=30 * n, phone=typed[n - 1]) for n in range(1, 5)]
    apps += [application(n, day=n, phone="0000") for n in range(10, 22)]  # a placeholder: 12 holders
    apps += [application(n, day=n) for n in range(30, 60)]
    path = build_store(tmp_path, apps)
    with open_store(str(path)) as store:
        result = analyse(store, seed=1)
        scores = result.scores.set_index("applicant_id")["reasons"].map(lambda r: json.loads(r) if isinstance(r, str) else [])
        for n in range(1, 5):
            reasons = {r["code"]: r["evidence"] for r in scores[f"A{n:03d}"]}
            assert reasons["SHARED_INVALID_VALUE"] == {"kind": "raw_phone", "value": "138001380", "holders": 4}
        assert all("SHARED_INVALID_VALUE" not in {r["code"] for r in scores[f"A{n:03d}"]}
                   for n in list(range(10, 22)) + [30])
        hubs = result.hubs.set_index(["kind", "value"])
        assert hubs.loc[("raw_phone", "0000"), "verdict"] == "common invalid phone"
        prepared = prepare_application(application(90, day=200, phone="1380-0138-0"), [], get_settings())
        assert prepared.ignored[0]["field"] == "phone" and prepared.application["id:raw_phone"] == "138001380"
        store_application(store, prepared)
        answer = score_neighbourhood(store, prepared)
    junk = next(r for r in answer["reasons"] if r["code"] == "SHARED_INVALID_VALUE")["evidence"]
    assert junk == {"kind": "raw_phone", "value": "138001380", "holders": 5}
