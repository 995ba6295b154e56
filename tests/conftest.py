"""Shared fixtures: settings with a test key, stores, a small generated scenario."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from graphsvc.loader import load
from graphsvc.scenarios import TABLE_FILES, Scenario, generate
from graphsvc.settings import Settings, use_settings
from graphsvc.sources import canonical_sources
from graphsvc.store import open_store

TEST_KEY = "test-key-0123456789-abcdefghijklmnop"
REPO = Path(__file__).resolve().parent.parent
P2P_DIR = Path(os.environ.get("GRAPHSVC_P2P_DIR", REPO.parent / "shared" / "data" / "p2p"))


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
    generate(Scenario(3_000, seed=11), out)
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


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
