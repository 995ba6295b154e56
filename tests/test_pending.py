"""Facts that arrive before their applicant: kept pending, attached when it comes,
so the order of files and batches never changes what the store holds."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BACKENDS, TEST_KEY, empty_neo4j, on_neo4j, write_csv

from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.settings import Settings, use_settings
from graphsvc.store import open_store
from graphsvc.store.base import LINK_COLUMNS

FACTS = ("identifiers", "contacts", "outcomes", "relations")


def snapshot(store, application_ids: list[str]) -> dict:
    """What a store holds, by natural keys only (so two backends, or two load orders
    with other internal ids, compare equal when they hold the same)."""
    ids = sorted(store.graph_arrays().applicants.tolist())
    links = store.applicant_links(ids)[LINK_COLUMNS]
    outcomes, applications = store.timelines(ids)
    return {
        "counts": store.counts(),
        "pending": store.pending()[["table", "rows"]].values.tolist(),
        "applicants": ids,
        "links": sorted(map(tuple, links.astype(object).where(links.notna(), None).values.tolist()), key=repr),
        "outcomes": sorted(outcomes, key=repr),
        "applications": sorted(applications, key=repr),
        "contents": [store.application(a) for a in sorted(application_ids)],
        "relations": sorted(map(tuple, store.applicant_relations(ids).values.tolist()), key=repr),
    }


@pytest.fixture(scope="module")
def tables(scenario_dir: Path, tmp_path_factory) -> dict[str, Path]:
    """The small scenario plus identifier sightings and relations, some of them naming
    applicants that never apply (those stay pending whatever the order)."""
    out = tmp_path_factory.mktemp("tables")
    apps = pd.read_parquet(scenario_dir / "applications.parquet")
    people = apps["applicant_id"].drop_duplicates().to_numpy()
    rng = np.random.default_rng(3)
    holders = rng.choice(people, 400)
    sightings = pd.DataFrame({"applicant_id": holders, "kind": "card",
                              "value": [f"card-{n}" for n in rng.integers(0, 250, len(holders))],
                              "observed_at": "2024-05-01"})
    pairs = rng.choice(people, (300, 2))
    relations = pd.DataFrame({"src_applicant_id": pairs[:, 0], "dst_applicant_id": pairs[:, 1], "type": "transfer",
                              "at": "2024-04-01", "amount": rng.integers(1, 5000, len(pairs)).astype(str)})
    strangers = pd.DataFrame({"src_applicant_id": ["NOBODY-1", people[0]], "dst_applicant_id": [people[1], "NOBODY-2"],
                              "type": "referral", "at": "2024-04-02", "amount": ""})
    files = {t: scenario_dir / f"{t}.parquet" for t in ("applications", "contacts", "outcomes")}
    files["identifiers"] = out / "identifiers.parquet"
    sightings.to_parquet(files["identifiers"], index=False)
    files["relations"] = out / "relations.parquet"
    pd.concat([relations, strangers], ignore_index=True).to_parquet(files["relations"], index=False)
    return files


def _load_in_order(store, tables: dict[str, Path], order: list[str]) -> list:
    """Each table in its own load, in ``order``; the load reports."""
    return [load(store, canonical_sources({t: tables[t]})) for t in order]


def _application_ids(tables) -> list[str]:
    return pd.read_parquet(tables["applications"])["application_id"].tolist()


@pytest.fixture(scope="module")
def usual(tables, tmp_path_factory) -> dict:
    """The store loaded the usual way: every table in one load, applications first."""
    use_settings(Settings(hmac_key=TEST_KEY))
    with open_store(str(tmp_path_factory.mktemp("usual") / "graph.db")) as store:
        report = load(store, canonical_sources(tables))
        assert not (report.rejects["reason"] == "unknown_applicant").any()
        found = snapshot(store, _application_ids(tables))
    use_settings(None)
    return found


def test_the_usual_load_keeps_only_facts_whose_applicant_never_came(usual):
    assert usual["pending"] == [["relations", 2]]  # the two relations naming NOBODY-1 and NOBODY-2
    assert usual["counts"]["nodes"]["card"] > 100 and sum(usual["counts"]["relations"].values()) == 300


@pytest.mark.parametrize("order", list(itertools.permutations(("applications", "contacts", "outcomes"))))
def test_every_order_of_files_gives_the_same_store(order, tables, usual, tmp_path):
    with open_store(str(tmp_path / "graph.db")) as store:
        reports = _load_in_order(store, tables, ["relations", "identifiers", *order])
        assert snapshot(store, _application_ids(tables)) == usual
    files = [f for r in reports for f in r.files]
    assert all(f.rejected == 0 for f in files if f.table != "contacts")  # contacts hold a few junk phones
    for f in files:  # every row is accounted for
        assert f.read == f.loaded + f.duplicates + f.rejected + f.filtered + f.pending + f.already_loaded
    attached = sum(f.attached for f in files)
    waited = sum(f.pending for f in files) - 2
    assert attached == waited  # everything that waited was attached, but the two strangers' relations


def test_shuffled_batches_give_the_same_store(tables, usual, tmp_path, settings):
    """Every table cut into pieces, the pieces loaded in a random order, each in its own load."""
    rng = np.random.default_rng(8)
    pieces = []
    for table, path in tables.items():
        frame = pd.read_parquet(path)
        for n, part in enumerate(np.array_split(np.arange(len(frame)), 5)):
            piece = tmp_path / f"{table}-{n}.parquet"
            frame.iloc[part].to_parquet(piece, index=False)
            pieces.append((table, piece))
    rng.shuffle(pieces)
    small = settings.model_copy(update={"batch_rows": 400})  # several batches per piece too
    with open_store(str(tmp_path / "graph.db")) as store:
        for table, piece in pieces:
            load(store, canonical_sources({table: piece}), settings=small)
        assert snapshot(store, _application_ids(tables)) == usual


@pytest.mark.parametrize("backend", BACKENDS)
def test_contacts_then_outcomes_then_applications_on_each_backend(backend, tables, usual, tmp_path, settings,
                                                                   monkeypatch):
    """The issue's order on both stores: the same store as the usual order (on Neo4j
    too, compared with the embedded store's); the embedded store attaches in pieces."""
    from graphsvc.store.embedded.writer import Writer

    monkeypatch.setattr(Writer, "ATTACH_ROWS", 1_000)  # 12,547 contacts wait: thirteen pieces
    live = on_neo4j(settings) if backend == "neo4j" else settings
    if backend == "neo4j":
        empty_neo4j(live)
    use_settings(live)
    with open_store(str(tmp_path / "graph.db"), settings=live) as store:
        reports = _load_in_order(store, tables, ["contacts", "outcomes", "relations", "identifiers", "applications"])
        info = store.pending()
        assert snapshot(store, _application_ids(tables)) == usual
    contacts = reports[0].files[0]
    assert contacts.loaded == 0 and contacts.pending > 10_000
    assert reports[-1].files[0].attached == sum(r.files[0].pending for r in reports[:-1]) - 2
    assert info["table"].tolist() == ["relations"] and info["rows"].tolist() == [2]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_api_attaches_what_waited_for_its_applicant(backend, tmp_path, settings):
    """A contacts feed that lands before the application: scored on write with its contacts."""
    from fastapi.testclient import TestClient

    from graphsvc.api import create_app
    from graphsvc.api.security import digest

    live = on_neo4j(settings) if backend == "neo4j" else settings
    if backend == "neo4j":
        empty_neo4j(live)
    db = tmp_path / "graph.db"
    with open_store(str(db), settings=live) as store:
        load(store, canonical_sources({"contacts": write_csv(tmp_path / "contacts.csv", [
            {"applicant_id": "NEW1", "contact_phone": "13800000009", "relation": "friend", "source": "emergency",
             "recorded_at": "2024-01-01"}])}))
        assert store.pending()["rows"].tolist() == [1]
    keyed = Settings(**{**live.model_dump(), "api_keys": {digest("uw"): {"name": "uw-1", "role": "underwriter"}}})
    with TestClient(create_app(db, keyed)) as client:
        answer = client.post("/v1/applications/score", headers={"X-API-Key": "uw"}, json={
            "application_id": "APP-NEW1", "applicant_id": "NEW1", "applied_at": "2024-01-02T00:00:00Z",
            "phone": "13800000001"})
        assert answer.status_code == 200, answer.text
    with open_store(str(db), readonly=True, settings=live) as store:
        assert store.pending().empty
        links = store.applicant_links(["NEW1"])
        assert sorted(zip(links["role"], links["value"])) == [("contact", "+8613800000009"), ("own", "+8613800000001")]
