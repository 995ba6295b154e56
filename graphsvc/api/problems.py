"""Every error as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from graphsvc.errors import ConfigurationError, GraphsvcError, NotFoundError
from graphsvc.online import ConflictError, InvalidApplicationError

MEDIA_TYPE = "application/problem+json"


def problem(status: int, detail: str, instance: str, *, headers: dict | None = None, **extra) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body = {"type": f"/problems/{phrase.lower().replace(' ', '-')}", "title": phrase, "status": status,
            "detail": detail, "instance": instance, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        from graphsvc.api import deps
        from graphsvc.api.security import ROLE_MATRIX

        route = request.scope.get("route")
        if route is not None and getattr(route, "name", None) in ROLE_MATRIX:
            try:  # the body is parsed before the key is checked: check it first
                deps.admit(request, request.app.state.graphsvc, request.headers.get("X-API-Key"), route.name)
            except StarletteHTTPException as refused:
                return problem(refused.status_code, str(refused.detail), request.url.path,
                               headers=getattr(refused, "headers", None))
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

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return problem(400, str(exc), request.url.path)

    @app.exception_handler(ConfigurationError)
    async def misconfigured(request: Request, exc: ConfigurationError) -> JSONResponse:
        return problem(503, str(exc), request.url.path)

    @app.exception_handler(GraphsvcError)
    async def failed(request: Request, exc: GraphsvcError) -> JSONResponse:
        return problem(500, str(exc), request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return problem(500, "internal error", request.url.path)
