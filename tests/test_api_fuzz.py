"""Property-based API tests from the OpenAPI document (schemathesis, bounded examples):
no 5xx and every response conforms to the documented schema."""

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from graphsvc.api import create_app
from graphsvc.api.security import digest
from graphsvc.settings import Settings

from conftest import TEST_KEY

ADMIN = "fuzz-admin-key"


@pytest.fixture(scope="module")
def app(scored_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "graph.db"
    shutil.copy(scored_db, path)
    return create_app(path, Settings(hmac_key=TEST_KEY, api_keys={digest(ADMIN): {"name": "fuzz", "role": "admin"}},
                                     api_rate_per_second=10_000, api_rate_burst=100_000))


def test_api_never_fails_and_keeps_its_schema(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") == "start_rescore":
            continue  # a job starts a re-score process per example: covered by test_api instead

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers={"X-API-Key": ADMIN},
                                   checks=[checks.not_a_server_error, checks.response_schema_conformance,
                                           checks.status_code_conformance, checks.content_type_conformance])

        check()
        tested.append(operation.label)
    assert len(tested) == 13
