"""``POST /v1/applications/score``: store an application and score it in one call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from graphsvc.api import masking
from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import ApplicationIn, ScoreOut
from graphsvc.api.security import Caller

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
    application = body.model_dump(exclude={"contacts"}, exclude_none=True)
    contacts = [c.model_dump(exclude_none=True) for c in body.contacts]
    result = app_state.service.score_application(application, contacts, dry_run=dry_run)
    subjects = [result["applicant_id"], *(p for r in result["reasons"] for p in r["evidence"].get("path", []))]
    audit(request, app_state, caller, subjects)
    return ScoreOut(application_id=body.application_id, dry_run=dry_run,
                    **{**result, "reasons": masking.evidence(result["reasons"], caller.role)})
