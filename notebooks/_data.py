"""The small generated store every notebook works on (made once, reused)."""

from __future__ import annotations

import os
from pathlib import Path

import graphsvc
from graphsvc.ingest.loader import load
from graphsvc.scenarios import TABLE_FILES, Scenario, generate
from graphsvc.settings import Settings, ensure_demo_key, use_settings
from graphsvc.ingest.sources import canonical_sources

WORKDIR = Path(os.environ.get("GRAPHSVC_NOTEBOOK_DIR", "notebook-data"))


def store(applicants: int = 5_000, seed: int = 7) -> Path:
    """Generate, load and re-score a sample once; return the store's path."""
    settings = use_settings(Settings(hmac_key_file=ensure_demo_key(WORKDIR / "hmac.key")))
    db = WORKDIR / "graph.db"
    if not db.exists():
        data = WORKDIR / "sample"
        generate(Scenario(applicants, seed), data)
        with graphsvc.open(db, settings=settings) as service:
            load(service.store, canonical_sources({t: data / f"{t}.parquet" for t in TABLE_FILES}), settings=settings)
            service.rescore(seed=seed)
    return db
