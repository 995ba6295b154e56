"""The HTTP API: risk scoring for underwriting, exploration for investigators.

:func:`create_app` builds the FastAPI application over one store; ``graphsvc
serve`` runs it with uvicorn. Every route is under ``/v1`` (health and metrics
aside), needs an API key whose role the route admits, answers errors as RFC 9457
problem details, and writes an audit row for every response carrying personal
data.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry, Counter, Histogram

from graphsvc.api import problems
from graphsvc.api.deps import AppState
from graphsvc.api.routes import applicants, applications, identifiers, jobs, rings, system
from graphsvc.api.security import RateLimiter
from graphsvc.service import Service
from graphsvc.settings import Settings, get_settings
from graphsvc.store import open_store

__all__ = ["create_app"]


def create_app(db: str | Path, settings: Settings | None = None) -> FastAPI:
    """The API over the store at ``db`` (which must exist)."""
    settings = settings or get_settings()
    if not Path(db).exists():
        raise FileNotFoundError(f"no store at {db}")
    app = FastAPI(title="graphsvc", version="1", summary="Graph-based fraud-ring and relationship analysis",
                  docs_url="/docs", openapi_url="/openapi.json",
                  generate_unique_id_function=lambda route: route.name)  # operation ids = route names
    app.state.graphsvc = AppState(service=Service(open_store(str(db)), settings), settings=settings,
                                  limiter=RateLimiter(settings.api_rate_per_second, settings.api_rate_burst))
    registry = CollectorRegistry()
    app.state.registry = registry
    requests = Counter("graphsvc_requests", "HTTP requests", ["route", "method", "status"], registry=registry)
    latency = Histogram("graphsvc_request_seconds", "HTTP request latency", ["route"], registry=registry,
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
    problems.install(app)
    for module in (applications, applicants, identifiers, rings, jobs, system):
        app.include_router(module.router)

    @app.middleware("http")
    async def limit_and_measure(request: Request, call_next):
        started = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.api_max_body_bytes):
            response = problems.problem(413, f"the body is larger than {settings.api_max_body_bytes} bytes",
                                        request.url.path)
        elif length is None and request.method in ("POST", "PUT", "PATCH") and \
                len(await request.body()) > settings.api_max_body_bytes:
            response = problems.problem(413, f"the body is larger than {settings.api_max_body_bytes} bytes",
                                        request.url.path)
        else:
            response = await call_next(request)
        route = request.scope.get("route")
        path = route.path if route is not None else "unmatched"
        requests.labels(path, request.method, str(response.status_code)).inc()
        latency.labels(path).observe(time.perf_counter() - started)
        return response

    return app
