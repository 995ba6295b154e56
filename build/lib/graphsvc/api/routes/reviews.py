"""Human review of automated decisions (PIPL art. 24): a person asks, an investigator
closes with an outcome. ``POST /v1/applicants/{id}/review-requests``,
``GET /v1/review-requests``, ``POST /v1/review-requests/{id}/close``; all audited."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import ReviewClose, ReviewIn, ReviewList, ReviewOut
from graphsvc.api.security import Caller

router = APIRouter(prefix="/v1", tags=["reviews"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "unknown applicant or review"}, 422: {"description": "invalid request"},
          429: {"description": "rate limit exceeded"}}


@router.post("/applicants/{applicant_id}/review-requests", response_model=ReviewOut, status_code=201,
             name="request_review", responses=ERRORS)
async def request_review(applicant_id: str, body: ReviewIn, request: Request, app_state: State,
                         caller: Annotated[Caller, Depends(allowed("request_review"))]) -> ReviewOut:
    """Record the person's request that a human review the automated decision on them
    (filed by the channel that took it: the underwriting system, an investigator)."""
    found = app_state.service.request_review(applicant_id, by=caller.name, reason=body.reason,
                                             application_id=body.application_id)
    audit(request, app_state, caller, [applicant_id])
    return ReviewOut(**found)


@router.get("/review-requests", response_model=ReviewList, name="list_reviews", responses=ERRORS)
async def list_reviews(request: Request, app_state: State, caller: Annotated[Caller, Depends(allowed("list_reviews"))],
                       status: Annotated[Literal["open", "closed"] | None, Query()] = "open") -> ReviewList:
    """Review requests, newest first (open ones unless ``status`` says otherwise)."""
    found = app_state.service.reviews(status=status)
    audit(request, app_state, caller, found["applicant_id"].tolist())
    return ReviewList(reviews=[ReviewOut(**r) for r in found.to_dict("records")])


@router.post("/review-requests/{review_id}/close", response_model=ReviewOut, name="close_review", responses=ERRORS)
async def close_review(review_id: str, body: ReviewClose, request: Request, app_state: State,
                       caller: Annotated[Caller, Depends(allowed("close_review"))]) -> ReviewOut:
    """Close an open review: ``upheld`` (the decision stands) or ``changed``, with what
    the reviewer found."""
    found = app_state.service.close_review(review_id, by=caller.name, outcome=body.outcome, note=body.note)
    audit(request, app_state, caller, [found["applicant_id"]])
    return ReviewOut(**found)
