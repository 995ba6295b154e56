"""``graphsvc serve --workers 2`` for real: two worker processes on one store.

Concurrent posts reach both workers (each request on a new connection, so the kernel
hands them to either): the same application posted at once is stored once, other
content under the same id is refused with 409 whichever worker wrote first, the
metrics of either worker count every request, and a re-score job started through
one worker is followed through the other.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from conftest import TEST_KEY

from graphsvc.api.security import digest
from graphsvc.api.serving import wait_until_ready
from graphsvc.store.embedded import EmbeddedStore

UNDERWRITER, ADMIN = "serving-underwriter", "serving-admin"


@pytest.fixture(scope="module")
def served(scored_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serving")
    db = folder / "graph.db"
    shutil.copy(scored_db, db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keys = {digest(UNDERWRITER): {"name": "uw", "role": "underwriter"},
            digest(ADMIN): {"name": "ops", "role": "admin"}}
    env = {**os.environ, "GRAPHSVC_HMAC_KEY": TEST_KEY, "GRAPHSVC_API_KEYS": json.dumps(keys),
           "GRAPHSVC_API_RATE_PER_SECOND": "10000", "GRAPHSVC_API_RATE_BURST": "10000", "TMPDIR": str(folder)}
    log = folder / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "graphsvc.cli", "serve", "--db", str(db), "--port",
                                   str(port), "--workers", "2"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_ready(base, 60):
            pytest.fail(f"the server did not come up: {log.read_text()}")
        time.sleep(3)  # the second worker finishes starting
        yield base, db, folder
    finally:
        server.terminate()
        server.wait(timeout=30)


def _application(n: int, phone: str) -> dict:
    return {"application_id": f"SRV-{n}", "applicant_id": f"SRV-A-{n}", "applied_at": "2024-07-01T10:00:00Z",
            "phone": phone, "device_id": f"srv-dev-{n}",
            "contacts": [{"contact_phone": "13900139000", "relation": "friend"}]}


def _post(base: str, body: dict) -> tuple[int, dict]:
    # a new connection per request: the kernel gives each to whichever worker accepts first
    response = httpx.post(f"{base}/v1/applications/score", json=body, headers={"X-API-Key": UNDERWRITER},
                          timeout=60)
    return response.status_code, response.json()


def _workers_that_answered(folder: Path) -> int:
    """Workers whose request counters exist: each writes its own file in the shared folder."""
    return len({p.name for p in folder.glob("graphsvc-serve-*/metrics/counter_*.db")})


def test_concurrent_identical_and_conflicting_posts_are_stored_once(served):
    base, db, folder = served
    identical = [_application(1, "13800138001")] * 8
    rivals = [dict(_application(n, "13800138002"), phone=f"1380013{n:04d}") for n in range(2, 10)]
    conflicting = [dict(r, application_id="SRV-2") for r in rivals]  # one id, eight contents
    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(lambda b: _post(base, b), identical))
        clash = list(pool.map(lambda b: _post(base, b), conflicting))
    assert [status for status, _ in same] == [200] * 8
    assert sorted(body["stored"] for _, body in same) == [False] * 7 + [True]
    assert sorted(status for status, _ in clash) == [200] + [409] * 7
    winner = next(body for status, body in clash if status == 200)
    assert winner["stored"] is True
    assert all(body["detail"] == "application 'SRV-2' is already stored with other content"
               for status, body in clash if status == 409)
    with EmbeddedStore(db, readonly=True) as store:
        assert store.application("SRV-1")["applicant_id"] == "SRV-A-1"
        assert store.application("SRV-2")["applicant_id"] == winner["applicant_id"]
        count = store._con.execute("SELECT count(*) FROM applications WHERE key IN ('SRV-1', 'SRV-2')").fetchone()
    assert count == (2,)
    assert _workers_that_answered(folder) == 2


def test_metrics_add_up_across_workers(served):
    base, _, folder = served

    def scored() -> float:
        text = httpx.get(f"{base}/metrics", timeout=10).text
        return sum(float(v) for v in re.findall(
            r'graphsvc_requests_total\{[^}]*route="/v1/applications/score"[^}]*\} ([0-9.e+]+)', text))

    before = scored()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda n: _post(base, _application(100 + n, f"1370013{n:04d}"))[0], range(24)))
    assert statuses == [200] * 24
    assert [scored() for _ in range(6)] == [before + 24] * 6  # whichever worker answers /metrics


def test_a_job_started_through_one_worker_is_followed_through_any(served):
    base, _, _ = served
    headers = {"X-API-Key": ADMIN}
    job = httpx.post(f"{base}/v1/jobs/rescore", json={"seed": 4}, headers=headers, timeout=30).json()
    assert job["status"] == "running"
    seen = []
    for _ in range(600):
        view = httpx.get(f"{base}/v1/jobs/{job['job_id']}", headers=headers, timeout=30)
        seen.append(view.status_code)
        if view.status_code != 200 or view.json()["status"] != "running":
            break
        time.sleep(0.2)
    assert set(seen) == {200}
    assert view.json()["status"] == "succeeded" and view.json()["run_id"].startswith("run-")
    missing = httpx.get(f"{base}/v1/jobs/job-000000000000", headers=headers, timeout=30)
    assert missing.status_code == 404 and missing.json()["detail"] == "no job 'job-000000000000'"
