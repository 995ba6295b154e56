"""The embedded store's schema: a store of an earlier version is upgraded in place."""

import shutil
from contextlib import closing

import pytest

from graphsvc.errors import StoreError
from graphsvc.store import open_store
from graphsvc.store.embedded import sql


def _as_version_1(path) -> None:
    """What schema version 1 left: no holders, an index on links(identifier)."""
    with closing(sql.connect(path)) as con:
        con.execute("DROP TABLE holders")
        con.execute("CREATE INDEX links_by_identifier ON links (identifier)")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def _pairs(path, sql_text: str) -> list[tuple]:
    with closing(sql.connect(path, readonly=True)) as con:
        return con.execute(sql_text).fetchall()


def test_a_version_1_store_gets_holders_from_its_links(scenario_db, tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(scenario_db, old)
    _as_version_1(old)
    with pytest.raises(StoreError, match="schema version 1 is not 5 \\(open it once writable to upgrade it\\)"):
        open_store(str(old), readonly=True)
    with open_store(str(old)) as store:
        shared = store.shared_identifiers("device")
    holders = _pairs(old, "SELECT identifier, applicant FROM holders ORDER BY 1, 2")
    assert holders == _pairs(old, "SELECT DISTINCT identifier, applicant FROM links ORDER BY 1, 2")
    assert holders == _pairs(scenario_db, "SELECT identifier, applicant FROM holders ORDER BY 1, 2")
    assert _pairs(old, "SELECT name FROM sqlite_master WHERE name = 'links_by_identifier'") == []
    assert _pairs(old, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]
    with open_store(str(scenario_db), readonly=True) as store:
        assert shared.equals(store.shared_identifiers("device")) and len(shared) > 10


def test_a_version_2_store_gets_the_audit_reason_column(scenario_db, tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(scenario_db, old)
    with closing(sql.connect(old)) as con:  # what version 2 left: an audit trail without reasons
        con.execute("DROP TABLE audit")
        con.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT NOT NULL, caller TEXT NOT NULL, "
                    "role TEXT NOT NULL, route TEXT NOT NULL, method TEXT NOT NULL, status INTEGER NOT NULL, "
                    "subjects TEXT NOT NULL, purpose TEXT)")
        con.execute("INSERT INTO audit VALUES (1, 'then', 'ana', 'admin', '/v1/rings', 'GET', 200, '[]', NULL)")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 2 is not 5 \\(open it once writable to upgrade it\\)"):
        open_store(str(old), readonly=True)
    with open_store(str(old)) as store:
        store.record_access({"at": "now", "caller": "(no key)", "role": "", "route": "/v1/rings", "method": "GET",
                             "status": 401, "subjects": [], "reason": "an X-API-Key header is required"})
        log = store.access_log()
    assert log["reason"].tolist() == ["an X-API-Key header is required", None]
    assert _pairs(old, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]


def test_a_version_3_store_gets_the_pending_table(scenario_db, tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(scenario_db, old)
    with closing(sql.connect(old)) as con:  # what version 3 left: no pending facts
        con.execute("DROP TABLE pending")
        con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 3 is not 5 \\(open it once writable to upgrade it\\)"):
        open_store(str(old), readonly=True)
    with open_store(str(old)) as store:
        assert store.pending().empty
    assert _pairs(old, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]
    assert _pairs(old, "SELECT count(*) FROM pending") == [(0,)]


def test_a_version_4_store_gets_the_consents_columns_tombstones_and_reviews(scenario_db, tmp_path):
    old = tmp_path / "old.db"
    shutil.copy(scenario_db, old)
    with closing(sql.connect(old)) as con:  # what version 4 left: no consents, tombstones or reviews
        for column in ("consents", "consents_at"):
            con.execute(f"ALTER TABLE applicants DROP COLUMN {column}")
        con.execute("DROP TABLE tombstones")
        con.execute("DROP TABLE reviews")
        con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 4 is not 5 \\(open it once writable to upgrade it\\)"):
        open_store(str(old), readonly=True)
    with open_store(str(old)) as store:
        assert store.tombstones() == frozenset() and store.reviews().empty
        assert store.graph_arrays().applicant_consents.tolist().count(None) == len(store.graph_arrays().applicants)
    assert _pairs(old, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]


def test_sqlite_errors_end_at_the_store_as_store_errors(tmp_path):
    path = tmp_path / "g.db"
    store = open_store(str(path))
    store._con.execute("DROP TABLE holders")  # what a damaged or foreign file may lack
    with pytest.raises(StoreError, match=rf"^{path}: identifier_degrees failed: no such table: holders$") as failed:
        store.identifier_degrees([("phone", "+8613800138000")])
    assert isinstance(failed.value.__cause__, sql.Error)
    store.close()
