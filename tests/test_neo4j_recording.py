"""The recording driver cannot drift from a real server: a fixed script of store
operations runs on the live Neo4j through a tap, and its recording (every statement,
its parameters and the rows the server answered) is committed in
``tests/data/neo4j_recording.json``. Without a server, the same script replays
against that recording: the store must emit exactly the recorded statements and
arrive at the recorded results. On a server, the live recording must equal the
committed one; refresh it with ``GRAPHSVC_RECORD_NEO4J=1 make test`` after a
deliberate change of the Cypher library."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from conftest import application, contact, empty_neo4j, live_neo4j, on_day, on_neo4j, write_csv
from neo4j_fake import Recorder, Tap, replayer

from graphsvc.analytics.rescore import rescore
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import canonical_sources
from graphsvc.online.intake import prepare_application, store_application
from graphsvc.online.scoring import score_neighbourhood
from graphsvc.service import Service
from graphsvc.store.neo4j import Neo4jStore

RECORDING = Path(__file__).parent / "data" / "neo4j_recording.json"
#: values that differ from run to run: clock readings, random names, temporary paths
VOLATILE = {"loaded_at", "created_at", "run_id", "graph", "graphName", "timings", "at", "file", "seq"}


def canonical(value: object, key: str | None = None) -> object:
    """``value`` with its volatile parts replaced and floats rounded, as JSON would carry it."""
    if (key in VOLATILE or (key == "id" and isinstance(value, int))) and value is not None:
        return "<volatile>"  # an int "id" is an audit entry's clock-based sequence number
    if isinstance(value, dict):
        return {str(k): canonical(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 9)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _plain(value: object) -> object:
    """numpy scalars as the JSON the recording keeps."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot record {type(value).__name__}")


def unordered(value: object) -> object:
    """``value`` with every list sorted: Neo4j returns rows without ORDER BY in any order."""
    if isinstance(value, dict):
        return {k: unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((unordered(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def script(store, directory: Path) -> dict:
    """Every kind of store operation once, on a small graph: what the recording covers."""
    apps = [application(n, day=n, device="farm-1" if n <= 6 else None) for n in range(1, 11)]
    contacts = [contact(7, "13800000008", day=7), contact(8, "13800000007", day=8)]
    outcomes = [{"applicant_id": "A001", "outcome": "fraud", "observed_at": on_day(20)},
                {"applicant_id": "A008", "outcome": "lost_contact", "observed_at": on_day(30)}]
    files = {"applications": write_csv(directory / "applications.csv", apps),
             "contacts": write_csv(directory / "contacts.csv", contacts),
             "outcomes": write_csv(directory / "outcomes.csv", outcomes)}
    report = load(store, canonical_sources(files))
    again = load(store, canonical_sources(files))
    run = rescore(store, seed=3)
    service = Service(store)
    prepared = prepare_application(
        {"application_id": "NEW1", "applicant_id": "NEWA1", "applied_at": on_day(40), "phone": "13912340000",
         "device_id": "farm-1", "ip": "10.9.8.7"}, [{"contact_phone": "13800000008", "relation": "friend"}],
        service.settings)
    stored = store_application(store, prepared)
    scored = score_neighbourhood(store, prepared)
    store.record_access({"at": "2026-12-01T00:00:00+00:00", "caller": "ana", "role": "collector",
                         "route": "/v1/skiptrace", "method": "POST", "status": 200, "subjects": ["A008"],
                         "purpose": "collections"})
    return canonical({
        "loaded": report.summary()["loaded"].tolist(), "reloaded": again.summary()["loaded"].tolist(),
        "counts": store.counts(),
        "rings": sorted(store.run_table(run["run_id"], "ring_members").groupby("ring_id").size().tolist()),
        "stored": stored, "score": scored["score"], "band": scored["band"],
        "codes": sorted(r["code"] for r in scored["reasons"]),
        "explain": {k: v for k, v in service.explain("A003").items() if k != "run_id"},
        "skiptrace": service.skiptrace("A008")["phone"].tolist(),
        "network": sorted(service.ego_network("A001", hops=2).nodes),
        "audit": store.access_log(limit=5)[["caller", "subjects", "purpose"]].to_dict("records"),
    })


@live_neo4j
def test_the_live_server_answers_as_recorded(tmp_path, settings):
    import neo4j
    from graphdatascience import GraphDataScience

    live = on_neo4j(settings)
    empty_neo4j(live)
    password = live.neo4j_password.get_secret_value() if live.neo4j_password else ""
    driver = neo4j.GraphDatabase.driver(live.neo4j_uri, auth=(live.neo4j_user, password),
                                        notifications_min_severity="OFF")
    tap = Tap(driver, GraphDataScience(driver, database=live.neo4j_database).run_cypher)
    store = Neo4jStore(tap, live.neo4j_database)
    store._gds = tap  # GDS calls through the tap too
    try:
        results = script(store, tmp_path)
    finally:
        store.close()
    recording = {"results": results, "statements": json.loads(json.dumps(tap.calls, default=_plain))}
    if os.environ.get("GRAPHSVC_RECORD_NEO4J"):
        RECORDING.write_text(json.dumps(recording, indent=1, ensure_ascii=False) + "\n")  # column order kept
    committed = json.loads(RECORDING.read_text())
    names = [c["name"] for c in recording["statements"]]
    assert names == [c["name"] for c in committed["statements"]], "the store emits other statements: re-record"
    for n, (now, then) in enumerate(zip(recording["statements"], committed["statements"])):
        assert unordered(canonical(now)) == unordered(canonical(then)), (
            f"statement {n} ({now['name']}) differs from the recording: re-record")
    assert recording["results"] == committed["results"]


def test_the_store_replays_the_live_recording(tmp_path):
    committed = json.loads(RECORDING.read_text())
    recorder = Recorder(replayer(committed["statements"], canonical))
    store = Neo4jStore(recorder, "neo4j")
    store._gds = recorder
    results = script(store, tmp_path)
    assert len(recorder.calls) == len(committed["statements"])  # nothing left unplayed
    assert results == committed["results"]
    assert results["rings"] == [6] and results["band"] == "high" and "RING_MEMBER" in results["codes"]
