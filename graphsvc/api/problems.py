"""Every error as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from graphsvc.errors import (
    ConfigurationError,
    ConflictError,
    GraphsvcError,
    InputError,
    InvalidApplicationError,
    NotFoundError,
    StoreError,
)

LOG = logging.getLogger("graphsvc.api")

MEDIA_TYPE = "application/problem+json"


def problem(status: int, detail: str, instance: str, *, headers: dict | None = None, **extra) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {"type": f"/problems/{phrase.lower().replace(' ', '-')}", "title": phrase, "status": status,
            "detail": detail, "instance": instance, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


#: the body of every error response, as the OpenAPI document describes it
PROBLEM_SCHEMA = {
    "title": "Problem", "type": "object", "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "array", "description": "where a request or application breaks the schema or contract",
                   "items": {"type": "object", "required": ["loc", "msg", "type"],
                             "properties": {"loc": {"type": "array", "items": {"type": "string"}},
                                            "msg": {"type": "string"}, "type": {"type": "string"}}}},
    },
}


def document(app: FastAPI) -> None:
    """Make the OpenAPI document say what error responses are: every 4xx and 5xx is
    ``application/problem+json`` with :data:`PROBLEM_SCHEMA` (FastAPI documents its
    422 as plain JSON of another shape)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, response in operation.get("responses", {}).items():
                    if code[0] in "45":
                        response["content"] = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        components["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


#: what FastAPI says of a body it cannot decode
UNPARSEABLE = "There was an error parsing the body"


def _refusal(request: Request) -> JSONResponse | None:
    """The refusal (401, 403, 429, audited) of a caller not allowed on the route, or None.
    The body is parsed before the key is checked: a bad body is answered only to a
    caller allowed to send it."""
    from graphsvc.api import deps
    from graphsvc.api.security import ROLE_MATRIX

    route = request.scope.get("route")
    if route is None or getattr(route, "name", None) not in ROLE_MATRIX:
        return None
    try:
        deps.admit(request, request.app.state.graphsvc, request.headers.get("X-API-Key"), route.name)
    except StarletteHTTPException as refused:
        return problem(refused.status_code, str(refused.detail), request.url.path,
                       headers=getattr(refused, "headers", None))
    return None


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNPARSEABLE:  # bytes that are no text: the schema's business
            refused = _refusal(request)
            return refused or problem(422, "the request does not match the schema", request.url.path, errors=[
                {"loc": ["body"], "msg": "the body is not JSON text in UTF-8", "type": "json_invalid"}])
        return problem(exc.status_code, str(exc.detail), request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        refused = _refusal(request)
        if refused is not None:
            return refused
        errors = [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return problem(422, "the request does not match the schema", request.url.path, errors=errors)

    @app.exception_handler(InvalidApplicationError)
    async def invalid_application(request: Request, exc: InvalidApplicationError) -> JSONResponse:
        errors = [{"loc": ["body", *p["field"].split(".")], "msg": p["detail"], "type": p["reason"]}
                  for p in exc.problems]
        return problem(422, "the application breaks the data contract", request.url.path, errors=errors)

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return problem(409, str(exc), request.url.path)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, str(exc), request.url.path)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return problem(400, str(exc), request.url.path)

    @app.exception_handler(ConfigurationError)
    async def misconfigured(request: Request, exc: ConfigurationError) -> JSONResponse:
        return problem(503, str(exc), request.url.path)

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError) -> JSONResponse:
        # the detail names files and the database's own words: for the operator, not the caller
        LOG.error("%s %s: %s", request.method, request.url.path, exc)
        return problem(500, "the store of record failed", request.url.path)

    @app.exception_handler(GraphsvcError)
    async def failed(request: Request, exc: GraphsvcError) -> JSONResponse:
        return problem(500, str(exc), request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem(500, "internal error", request.url.path)
