"""Shared dependencies of the routers: the app state, the caller and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from graphsvc.api.security import ROLE_MATRIX, Caller, RateLimiter, Role, digest
from graphsvc.errors import ConfigurationError
from graphsvc.service import Service
from graphsvc.settings import Settings

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (see `graphsvc apikey`).")


@dataclass
class AppState:
    service: Service
    settings: Settings
    limiter: RateLimiter
    #: keys the handles of masked nodes in network answers (``masking.node_handle``, :func:`handle_salt`)
    handle_salt: bytes
    #: re-score jobs' records, shared by the workers serving the store (``routes/jobs.py``)
    jobs_dir: Path
    jobs: dict = field(default_factory=dict)  # job id -> process, of the jobs this process started


def handle_salt(settings: Settings) -> bytes:
    """What masked nodes' handles are keyed with: derived from the identity key, so that
    every process serving the store (and the next one) gives a node the same handle; a
    random salt of this process when no key is configured."""
    try:
        key = settings.identity_key()
    except ConfigurationError:
        return secrets.token_bytes(16)
    return hmac.new(key, b"graphsvc network node handles", hashlib.sha256).digest()


async def state(request: Request) -> AppState:  # async: no thread hop
    return request.app.state.graphsvc


State = Annotated[AppState, Depends(state)]


def allowed(route: str):
    """Dependency: the authenticated caller, if its role may use ``route`` and it is within its rate."""

    async def check(request: Request, app_state: State, key: str | None = Security(api_key_header)) -> Caller:
        return admit(request, app_state, key, route)

    return check


def admit(request: Request, app_state: AppState, key: str | None, route: str) -> Caller:
    """The caller of ``route``, or the refusal (401, 403, 429, recorded in the audit trail)
    raised as an HTTPException. Also run before a malformed body is answered, so that
    a caller without a valid key learns nothing about the schema."""
    roles = ROLE_MATRIX[route]
    if not key:
        raise _refused(request, app_state, "(no key)", "", 401, "an X-API-Key header is required",
                       {"WWW-Authenticate": "ApiKey"})
    entry = app_state.settings.api_keys.get(digest(key))
    if entry is None:
        raise _refused(request, app_state, "(unknown key)", "", 401, "unknown API key",
                       {"WWW-Authenticate": "ApiKey"})
    caller = Caller(entry.name, Role(entry.role))
    if caller.role not in roles:
        raise _refused(request, app_state, caller.name, str(caller.role), 403,
                       f"role {caller.role} may not use {route}; allowed: {', '.join(sorted(roles))}")
    wait = app_state.limiter.allow(caller.name)
    if wait:
        raise _refused(request, app_state, caller.name, str(caller.role), 429, "rate limit exceeded",
                       {"Retry-After": str(max(1, round(wait)))})
    request.state.caller = caller
    return caller


def _refused(request: Request, app_state: AppState, who: str, role: str, status: int, reason: str,
             headers: dict | None = None) -> HTTPException:
    """Record a refused call in the audit trail (who asked, if known; no personal data:
    no subjects) and return the exception that answers it."""
    app_state.service.record_access(who, role, _route(request), request.method, status, [],
                                    purpose=purpose(request), reason=reason)
    return HTTPException(status, reason, headers=headers)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return route.path if route else request.url.path


def purpose(request: Request) -> str | None:
    """The caller's ``X-Purpose`` header as text: HTTP carries header bytes, which
    Starlette decodes as Latin-1; a purpose written in UTF-8 (催收) is read back as such."""
    value = request.headers.get("X-Purpose")
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def audit(request: Request, app_state: AppState, caller: Caller, subjects: list[str], status: int = 200,
          revealed: list[str] = ()) -> None:
    """Append one audit row for a response carrying personal data about ``subjects``
    (``revealed``: keyed digests of the phone numbers it showed in full)."""
    app_state.service.record_access(caller.name, str(caller.role), _route(request), request.method, status, subjects,
                                    purpose=purpose(request), revealed=revealed)
