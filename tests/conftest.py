"""Shared fixtures: settings with a test key, stores, a small generated scenario."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.scenarios import TABLE_FILES, Scenario, generate
from graphsvc.settings import Settings, get_settings, use_settings
from graphsvc.store import open_store
from graphsvc.store.base import GraphArrays

TEST_KEY = "test-key-0123456789-abcdefghijklmnop"
REPO = Path(__file__).resolve().parent.parent
P2P_DIR = Path(os.environ.get("GRAPHSVC_P2P_DIR", REPO.parent / "shared" / "data" / "p2p"))

# Neo4j: `make test` starts a throw-away server with GDS (tools/neo4j) and sets the URI
NEO4J_URI = os.environ.get("GRAPHSVC_NEO4J_URI")
NO_NEO4J = ("no Neo4j server: `make test` starts one when Java 17 and Maven are installed (tools/neo4j), "
            "or set GRAPHSVC_NEO4J_URI (and _USER, _PASSWORD, _DATABASE) to a throw-away Neo4j 5.26+ with "
            "Graph Data Science")
live_neo4j = pytest.mark.skipif(not NEO4J_URI, reason=NO_NEO4J)
BACKENDS = ["embedded", pytest.param("neo4j", marks=live_neo4j)]


def on_neo4j(settings: Settings) -> Settings:
    """``settings`` pointed at the live Neo4j of the environment."""
    return Settings(**{**settings.model_dump(), "backend": "neo4j", "neo4j_uri": NEO4J_URI,
                       "neo4j_user": os.environ.get("GRAPHSVC_NEO4J_USER", "neo4j"),
                       "neo4j_password": os.environ.get("GRAPHSVC_NEO4J_PASSWORD", ""),
                       "neo4j_database": os.environ.get("GRAPHSVC_NEO4J_DATABASE", "neo4j")})


def empty_neo4j(settings: Settings) -> None:
    """Delete everything in the live test database (and any GDS graph left projected)."""
    import neo4j

    auth = (settings.neo4j_user, settings.neo4j_password.get_secret_value() if settings.neo4j_password else "")
    with neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=auth, notifications_min_severity="OFF") as driver:
        with driver.session(database=settings.neo4j_database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
            session.run("CALL gds.graph.list() YIELD graphName CALL gds.graph.drop(graphName, false) YIELD graphName "
                        "AS dropped RETURN count(*)").consume()


def loaded_neo4j(settings: Settings, sources, *, rescore_seed: int | None = None) -> Settings:
    """The live Neo4j emptied, then ``sources`` loaded (and re-scored with ``rescore_seed``); its settings."""
    import graphsvc

    live = on_neo4j(settings)
    empty_neo4j(live)
    previous = get_settings()
    use_settings(live)
    try:
        with open_store("unused", settings=live) as store:
            load(store, sources)
        if rescore_seed is not None:
            with graphsvc.open(settings=live) as service:
                service.rescore(seed=rescore_seed)
    finally:
        use_settings(previous)
    return live


@pytest.fixture(autouse=True)
def settings() -> Settings:
    """Every test runs with a known key and default region, never the caller's env."""
    current = use_settings(Settings(hmac_key=TEST_KEY, default_region="CN", timezone="UTC", batch_rows=500_000))
    yield current
    use_settings(None)


@pytest.fixture
def store(tmp_path: Path):
    with open_store(str(tmp_path / "graph.db")) as s:
        yield s


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scenario")
    generate(Scenario(3_000, seed=11, ring_share=0.04), out)  # eight rings of four typologies
    return out


def scenario_sources(directory: Path):
    return canonical_sources({t: directory / f"{t}.parquet" for t in TABLE_FILES})


@pytest.fixture(scope="session")
def scenario_db(scenario_dir: Path, tmp_path_factory) -> Path:
    """The small scenario loaded once (read-only use)."""
    path = tmp_path_factory.mktemp("scenario_db") / "graph.db"
    use_settings(Settings(hmac_key=TEST_KEY))
    with open_store(str(path)) as s:
        load(s, scenario_sources(scenario_dir))
    use_settings(None)
    return path


def mapped_store(directory: Path, mapping: str, data_dir) -> tuple:
    """A store in ``directory`` loaded through a shipped mapping (``loaders/NAME.toml``)
    from ``data_dir``, and the load's report; the caller closes the store."""
    from graphsvc.ingest.sources import read_mapping

    use_settings(Settings(hmac_key=TEST_KEY))
    store = open_store(str(directory / "graph.db"))
    try:
        report = load(store, read_mapping(REPO / "loaders" / mapping, data_dir))
    finally:
        use_settings(None)
    return store, report


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def build_store(directory: Path, applications: list[dict], contacts: list[dict] = (),
                outcomes: list[dict] = ()) -> Path:
    """A store loaded from hand-written rows (contract columns) through the real loader."""
    files = {"applications": write_csv(directory / "applications.csv", list(applications))}
    if contacts:
        files["contacts"] = write_csv(directory / "contacts.csv", list(contacts))
    if outcomes:
        files["outcomes"] = write_csv(directory / "outcomes.csv", list(outcomes))
    path = directory / "graph.db"
    with open_store(str(path)) as s:
        report = load(s, canonical_sources(files))
    assert report.summary()["rejected"].sum() == 0
    return path


def application(n: int, day: int = 1, *, device: str | None = None, ip: str | None = None,
                phone: str | None = None, id_number: str | None = None) -> dict:
    """Application P{n} of applicant A{n:03d} with its own phone, device and IP (in a
    subnet of its own) unless given."""
    return {"application_id": f"P{n}", "applicant_id": f"A{n:03d}",
            "applied_at": on_day(day),
            "phone": phone or f"138{n:08d}", "device_id": device or f"dev-{n}",
            "ip": ip or f"10.{n // 256 % 256}.{n % 256}.{n // 65536 + 1}",  # a /24 of its own
            "id_number": id_number or f"ID{n:08d}"}


def contact(n: int, phone: str, day: int = 1, relation: str = "friend") -> dict:
    return {"applicant_id": f"A{n:03d}", "contact_phone": phone, "relation": relation, "contact_name": "张三",
            "source": "emergency", "recorded_at": on_day(day)}


def on_day(day: int) -> str:
    """ISO date of day ``day`` counted from 2024-01-01 (day 1)."""
    return (pd.Timestamp("2024-01-01") + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d")


@pytest.fixture(scope="session")
def population(tmp_path_factory) -> Path:
    """20,000 generated applicants, 2% in rings of which 30% carry fraud, loaded once
    (read-only use): the folder holds the scenario files and ``graph.db``."""
    out = tmp_path_factory.mktemp("population")
    generate(Scenario(20_000, seed=3, ring_fraud_rate=0.3), out)
    use_settings(Settings(hmac_key=TEST_KEY))
    with open_store(str(out / "graph.db")) as s:
        load(s, scenario_sources(out))
    use_settings(None)
    return out


@pytest.fixture(scope="session")
def scored_db(scenario_db, tmp_path_factory) -> Path:
    """The small scenario with one re-score run (seed 1); copy it before writing."""
    import shutil

    import graphsvc

    path = tmp_path_factory.mktemp("scored") / "graph.db"
    shutil.copy(scenario_db, path)
    use_settings(Settings(hmac_key=TEST_KEY))
    with graphsvc.open(path) as service:
        service.rescore(seed=1)
    use_settings(None)
    return path


RANDOM_T0 = 1_704_067_200.0  # random_graph's day 0
RANDOM_KINDS = ("device", "id_number", "ip", "phone", "subnet")


def random_graph(seed: int, n: int = 40, m: int = 30) -> GraphArrays:
    """A small graph with everything the features read: repeated links of both roles
    at several times (some undated), dated and undated outcomes, relations of two types
    both ways, counted degrees above the cap, and a business service line listed by many."""
    rng = np.random.default_rng(seed)
    links = int(rng.integers(30, 160))
    kind = rng.integers(0, len(RANDOM_KINDS), m).astype(np.int8)
    applicant = rng.integers(0, n, links).astype(np.int32)
    identifier = rng.integers(0, m, links).astype(np.int32)
    contact = (kind[identifier] == RANDOM_KINDS.index("phone")) & (rng.random(links) < 0.5)
    seen = RANDOM_T0 + rng.integers(0, 60, links) * 86_400 + rng.choice([0, 3600], links)  # windows end on links
    seen[rng.random(links) < 0.1] = np.nan
    values = np.array([f"v{j}" for j in range(m)], dtype=object)
    service = np.flatnonzero(kind == RANDOM_KINDS.index("phone"))[:1]
    if len(service):  # listed by several, held by nobody: a 400 line
        values[service[0]] = "4008001234"
        extra = np.arange(min(n, 6), dtype=np.int32)
        applicant = np.concatenate([applicant, extra])
        identifier = np.concatenate([identifier, np.full(len(extra), service[0], dtype=np.int32)])
        contact = np.concatenate([contact, np.ones(len(extra), dtype=bool)])
        seen = np.concatenate([seen, RANDOM_T0 + extra * 86_400])
        keep = ~((identifier == service[0]) & ~contact)
        applicant, identifier, contact, seen = applicant[keep], identifier[keep], contact[keep], seen[keep]
    outcomes = int(rng.integers(0, 10))
    relations = int(rng.integers(0, 15))
    degree = np.where(rng.random(m) < 0.1, rng.integers(1, 120, m), 0).astype(np.int64)
    return GraphArrays(
        applicants=np.array([f"A{i:03d}" for i in range(n)], dtype=object), kinds=RANDOM_KINDS, identifier_kind=kind,
        identifier_ref=np.arange(m, dtype=np.int64), link_applicant=applicant, link_identifier=identifier,
        link_contact=contact, link_first_seen=seen, link_source=np.zeros(len(applicant), dtype=np.int8),
        applicant_consents=np.full(n, None, dtype=object),
        outcome_applicant=rng.integers(0, n, outcomes).astype(np.int32),
        outcome=rng.choice(np.array(["fraud", "default"], dtype=object), outcomes),
        outcome_at=np.where(rng.random(outcomes) < 0.2, np.nan, RANDOM_T0 + rng.integers(0, 60, outcomes) * 86_400),
        application_applicant=np.arange(n, dtype=np.int32),
        application_at=(RANDOM_T0 + rng.integers(0, 60, n) * 86_400).astype(np.int64),
        relation_src=rng.integers(0, n, relations).astype(np.int32),
        relation_dst=rng.integers(0, n, relations).astype(np.int32),
        relation_type=rng.choice(np.array(["transfer", "referral"], dtype=object), relations),
        relation_at=np.where(rng.random(relations) < 0.3, np.nan, RANDOM_T0 + rng.integers(0, 60, relations) * 86_400),
        identifier_value=values, identifier_degree=degree)
