"""Score-on-write's one-application path writes exactly what the loader writes."""


import pandas as pd

from graphsvc.loader import load
from graphsvc.online import prepare_application, store_application
from graphsvc.settings import get_settings
from graphsvc.sources import canonical_sources
from graphsvc.store import open_store
from graphsvc.store.embedded import sql

from conftest import write_csv

APPLICATIONS = [
    {"application_id": "P1", "applicant_id": "A1", "applied_at": "2024-03-01T10:00:00+08:00",
     "phone": "138 0013 8000", "device_id": " dev-1 ", "ip": "::ffff:10.0.0.1", "id_number": "1101 0119 9001 011234"},
    {"application_id": "P2", "applicant_id": "A2", "applied_at": "2024-03-02", "phone": "13800138001",
     "device_id": "dev-1"},
    {"application_id": "P3", "applicant_id": "A1", "applied_at": "2024-05-02T08:00", "phone": "13800138002"},
]
CONTACTS = {
    "P1": [{"contact_phone": "13800138001", "relation": "friend", "contact_name": "王一", "source": "emergency"},
           {"contact_phone": "139 1234 5678", "relation": "parent", "recorded_at": "2024-02-01"},
           {"contact_phone": "13912345678", "relation": "parent", "contact_name": "李二",
            "recorded_at": "2024-02-03"}],
    "P2": [{"contact_phone": "13912345678", "relation": "other", "source": "address_book"}],
    "P3": [{"contact_phone": "13800138001", "relation": "friend", "contact_name": "王一", "source": "emergency"},
           {"contact_phone": "13800138000", "relation": "other"}],  # A1's own phone, listed as a contact
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
    assert len(api["links"]) == 12 and len(api["contact_records"]) == 6  # A1's IP gave a subnet link
    # every (identifier, applicant) pair of the links, once: A1 holds its own phone in two roles
    assert api["holders"] == sorted({(kind, value, applicant) for applicant, kind, value, *_ in api["links"]})
    assert len(api["holders"]) == 11


def test_digest_equals_the_loader_digest(tmp_path):
    from graphsvc.validate import Context, prepare

    settings = get_settings()
    ctx = Context(identity_key=settings.identity_key(), region="CN", timezone="UTC")
    rows, _ = prepare("applications", pd.DataFrame([{**a, "row": 1} for a in APPLICATIONS]), ctx)
    lean = [prepare_application(a, [], settings).application["digest"] for a in APPLICATIONS]
    assert rows["digest"].tolist() == lean
