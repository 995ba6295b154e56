"""``GET /v1/subjects/{applicant_id}``: everything held about one person (subject access), for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse

from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.security import Caller
from graphsvc.people.subject import to_html

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "unknown applicant"}, 422: {"description": "no purpose given"},
          429: {"description": "rate limit exceeded"}}


@router.get("/{applicant_id}", name="subject_access", responses={
    **ERRORS, 200: {"description": "the export as JSON, or as a readable page with format=html",
                    "content": {"application/json": {"schema": {"type": "object"}},
                                "text/html": {"schema": {"type": "string"}}}}})
async def subject_access(
    applicant_id: str, request: Request, app_state: State,
    caller: Annotated[Caller, Depends(allowed("subject_access"))],
    purpose_: Annotated[str, Header(alias="X-Purpose", min_length=3, max_length=200,
                                    description="why (audited), e.g. a subject access request's reference")],
    format: Annotated[str, Query(pattern="^(json|html)$")] = "json",  # noqa: A002 - the query parameter's name
) -> Any:
    """Everything held about the person: applications, identifiers (identity numbers
    only as held), contacts they declared, how many list them (not who), outcomes,
    relations, every run's score and reasons, and every audit row of access to their
    data. The answer itself is audited."""
    found = app_state.service.subject_access(applicant_id)
    audit(request, app_state, caller, [applicant_id])
    return HTMLResponse(to_html(found)) if format == "html" else found
