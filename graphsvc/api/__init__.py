"""The HTTP API: risk scoring for underwriting, exploration for investigators.

:func:`create_app` builds the FastAPI application over one store; ``graphsvc
serve`` runs it with uvicorn. Every route is under ``/v1`` (health and metrics
aside), needs an API key whose role the route admits, answers errors as RFC 9457
problem details, and writes an audit row for every response carrying personal
data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess

from graphsvc import console
from graphsvc.api import problems, serving
from graphsvc.api.deps import AppState, handle_salt
from graphsvc.api.routes import applicants, applications, identifiers, jobs, reviews, rings, skiptrace, subjects, system
from graphsvc.api.security import RateLimiter
from graphsvc.service import open as open_service
from graphsvc.settings import Settings, get_settings

__all__ = ["create_app"]


def create_app(db: str | Path, settings: Settings | None = None, *, jobs_dir: Path | None = None) -> FastAPI:
    """The API over the store at ``db`` (which must exist). ``jobs_dir``: the folder of re-score
    jobs' records, shared by the workers serving the store (default: one of this app's own)."""
    settings = settings or get_settings()
    serving.check(db, settings)
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # score-on-write may split a group with Leiden: import it now, not on an underwriter's request
        import igraph  # noqa: F401
        import leidenalg  # noqa: F401
        yield
        if own_jobs:
            shutil.rmtree(jobs_dir, ignore_errors=True)
        if app.state.checkpointer is not None:
            app.state.checkpointer.stop()
        app.state.graphsvc.service.close()

    app = FastAPI(title="graphsvc", lifespan=lifespan, version="1",
                  summary="Graph-based fraud-ring and relationship analysis",
                  docs_url="/docs", openapi_url="/openapi.json",
                  generate_unique_id_function=lambda route: route.name)  # operation ids = route names
    service = open_service(db, settings=settings)
    own_jobs = jobs_dir is None
    jobs_dir = Path(tempfile.mkdtemp(prefix="graphsvc-jobs-")) if own_jobs else Path(jobs_dir)
    app.state.graphsvc = AppState(service=service, settings=settings,
                                  limiter=RateLimiter(settings.api_rate_per_second, settings.api_rate_burst),
                                  handle_salt=handle_salt(settings), jobs_dir=jobs_dir)
    # the embedded file's write-ahead log is checkpointed off the request path; Neo4j needs nothing
    app.state.checkpointer = service.background_checkpoints()
    registry = CollectorRegistry()  # what this process counts
    shown = registry  # what /metrics shows: with several workers, all of theirs added up
    if os.environ.get(serving.METRICS):
        shown = CollectorRegistry()
        multiprocess.MultiProcessCollector(shown)
    app.state.registry = shown
    requests = Counter("graphsvc_requests", "HTTP requests", ["route", "method", "status"], registry=registry)
    latency = Histogram("graphsvc_request_seconds", "HTTP request latency", ["route"], registry=registry,
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
    problems.install(app)
    problems.document(app)
    for module in (applications, applicants, identifiers, rings, skiptrace, subjects, reviews, jobs, system):
        app.include_router(module.router)
    app.include_router(console.router)

    app.add_middleware(Guard, max_body=settings.api_max_body_bytes, requests=requests, latency=latency)
    return app



class Guard:
    """ASGI middleware: refuse bodies over the limit (413) and count every request.

    Bodies announced too large are refused before they are read; a body sent
    without a length is read as it arrives and refused once it passes the limit.
    """

    def __init__(self, app, *, max_body: int, requests: Counter, latency: Histogram) -> None:
        self.app, self.max_body, self.requests, self.latency = app, max_body, requests, latency

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                if scope["path"].startswith("/v1/"):  # personal data: never kept by a browser or proxy
                    message = {**message, "headers": [*message.get("headers", []), (b"cache-control", b"no-store")]}
            await send(message)

        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        try:
            if length is not None:  # announced: refused before a byte is read
                if not length.isdigit() or int(length) > self.max_body:
                    raise _TooLarge
                await self.app(scope, receive, sending)
            else:  # streamed without a length (chunked): read up to the limit, then hand it on
                await self.app(scope, await self._buffered(receive), sending)
        except _TooLarge:
            response = problems.problem(413, f"the body is larger than {self.max_body} bytes", scope["path"])
            await response(scope, receive, sending)
        route = scope.get("route")
        path = route.path if route is not None else "unmatched"
        self.requests.labels(path, scope["method"], str(status["code"])).inc()
        self.latency.labels(path).observe(time.perf_counter() - started)

    async def _buffered(self, receive):
        """The whole body of a request sent without a length, read here so that one over
        the limit is refused with 413 (raised from inside the app's own body reading, it
        would surface as a 400), then replayed to the app as one message."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: the app sees the disconnect
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                raise _TooLarge
            if not message.get("more_body", False):
                message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return message
            return await receive()

        return replay


class _TooLarge(Exception):
    pass
