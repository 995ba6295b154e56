"""Health, readiness and Prometheus metrics (no key needed, no personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from graphsvc.api.deps import State, allowed
from graphsvc.api.models import CallerOut, Health
from graphsvc.api.security import ROLE_MATRIX, Caller
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
        app_state.service.ready()
    except (GraphsvcError, OSError) as exc:
        from graphsvc.api.problems import problem

        return problem(503, f"store not ready: {exc}", "/readyz")
    return Health(status="ready")


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route, in Prometheus' text format."""
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/me", response_model=CallerOut, name="whoami",
            responses={401: {"description": "no or unknown API key"}, 429: {"description": "rate limit exceeded"}})
async def whoami(caller: Annotated[Caller, Depends(allowed("whoami"))]) -> CallerOut:
    """Who the API key belongs to, its role and what that role may use (the console shows only those views)."""
    return CallerOut(name=caller.name, role=str(caller.role),
                     routes=sorted(r for r, roles in ROLE_MATRIX.items() if caller.role in roles))
