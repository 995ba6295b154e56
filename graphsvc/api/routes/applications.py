"""``POST /v1/applications/score``: store an application and score it in one call."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from graphsvc.api import masking
from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import ApplicationIn, ScoreOut
from graphsvc.api.security import Caller
from graphsvc.online import (
    check_application,
    prepare_application,
    score_neighbourhood,
    screen_forgotten,
    store_application,
)

router = APIRouter(prefix="/v1/applications", tags=["applications"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          409: {"description": "application_id already stored with other content"},
          413: {"description": "body too large"}, 422: {"description": "invalid application"},
          429: {"description": "rate limit exceeded"}}


@router.post("/score", response_model=ScoreOut, name="score_application", responses=ERRORS)
async def score_application(
    body: ApplicationIn, request: Request, app_state: State,
    caller: Annotated[Caller, Depends(allowed("score_application"))],
    dry_run: Annotated[bool, Query(description="score without storing")] = False,
) -> ScoreOut:
    """Store one application with its contacts and score it from its bounded
    neighbourhood and the served re-score run. Idempotent on ``application_id``:
    the same content again is scored but not stored twice; other content (contacts
    included) is a 409, also for a dry run.
    Invalid optional values (an identifier, a contact without a valid phone) are
    left out and listed in ``ignored``; only a missing or invalid key field is a 422."""
    store = app_state.service.store
    application = body.model_dump(exclude={"contacts"}, exclude_none=True)
    contacts = [c.model_dump(exclude_none=True) for c in body.contacts]
    prepared = prepare_application(application, contacts, app_state.settings)
    screen_forgotten(store, prepared, app_state.settings.identity_key())
    if dry_run:
        check_application(store, prepared)
    stored = False if dry_run else store_application(store, prepared)
    deadline = time.monotonic() + app_state.settings.score_budget_ms / 1000
    result = score_neighbourhood(store, prepared, deadline=deadline)
    subjects = [result["applicant_id"], *(p for r in result["reasons"] for p in r["evidence"].get("path", []))]
    audit(request, app_state, caller, subjects)
    return ScoreOut(application_id=body.application_id, stored=stored, dry_run=dry_run, ignored=prepared.ignored,
                    **{**result, "reasons": masking.evidence(result["reasons"], caller.role)})
