"""Health, readiness and Prometheus metrics (no key needed, no personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from graphsvc.api.deps import State
from graphsvc.api.models import Health
from graphsvc.errors import GraphsvcError

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"description": "the store cannot be read"}})
async def readyz(app_state: State) -> Health | Response:
    """The store answers and holds a current schema."""
    try:
        app_state.service.store.runs()
    except (GraphsvcError, OSError) as exc:
        from graphsvc.api.problems import problem

        return problem(503, f"store not ready: {exc}", "/readyz")
    return Health(status="ready")


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route, in Prometheus' text format."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
