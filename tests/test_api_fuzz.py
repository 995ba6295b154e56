"""Property-based API tests from the OpenAPI document (schemathesis, bounded examples):
no 5xx and every response conforms to the documented schema."""

import os
import shutil

import pytest
import schemathesis
from conftest import TEST_KEY
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from graphsvc.api import create_app
from graphsvc.api.security import digest
from graphsvc.settings import Settings

ADMIN = "fuzz-admin-key"


@pytest.fixture(scope="module")
def app(scored_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "graph.db"
    shutil.copy(scored_db, path)
    return create_app(path, Settings(hmac_key=TEST_KEY, api_keys={digest(ADMIN): {"name": "fuzz", "role": "admin"}},
                                     api_rate_per_second=10_000, api_rate_burst=100_000))


CHECKS = [checks.not_a_server_error, checks.response_schema_conformance, checks.status_code_conformance,
          checks.content_type_conformance]


def _fuzz(app, operation_ids: set[str] | None, examples: int, *, skip: set[str] = frozenset()) -> list[str]:
    """Run ``examples`` generated cases of each operation (those named, or all but
    ``skip``), valid ones and ones that break the schema, with every check; returns
    the operations tested."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        name = operation.definition.raw.get("operationId")
        if name in skip or (operation_ids is not None and name not in operation_ids):
            continue

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
               | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers={"X-API-Key": ADMIN}, checks=CHECKS)

        check()
        tested.append(name)
    return tested


def test_api_never_fails_and_keeps_its_schema(app):
    tested = _fuzz(app, None, int(os.environ.get("GRAPHSVC_FUZZ_EXAMPLES", "25")), skip={"start_rescore"})  # a job per example: below, fewer
    assert len(tested) == 20


def test_rescore_jobs_never_fail_and_keep_their_schema(scored_db, tmp_path):
    """Generated job requests against a throwaway store: every started job ends, run
    written (promoted or held) or refused with a message, none with a traceback."""
    import time

    path = tmp_path / "graph.db"
    shutil.copy(scored_db, path)
    throwaway = create_app(path, Settings(hmac_key=TEST_KEY, api_keys={digest(ADMIN): {"name": "fuzz",
                                                                                       "role": "admin"}},
                                          api_rate_per_second=10_000, api_rate_burst=100_000))
    assert _fuzz(throwaway, {"start_rescore"}, 6) == ["start_rescore"]
    from fastapi.testclient import TestClient

    with TestClient(throwaway) as client:
        jobs = list(throwaway.state.graphsvc.jobs)
        for _ in range(480):
            views = [client.get(f"/v1/jobs/{j}", headers={"X-API-Key": ADMIN}).json() for j in jobs]
            if all(v["status"] != "running" for v in views):
                break
            time.sleep(0.25)
    assert jobs and all(v["status"] == "succeeded" and v["decision"] in ("promote", "hold") for v in views), views
