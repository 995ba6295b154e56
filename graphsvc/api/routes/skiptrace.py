"""``POST /v1/skiptrace``: ranked ways to reach a borrower, for collectors, with a purpose."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import Candidate, SkiptraceIn, SkiptraceOut
from graphsvc.api.security import Caller
from graphsvc.skiptrace import skiptrace as trace

router = APIRouter(prefix="/v1", tags=["skiptrace"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "unknown applicant"}, 422: {"description": "no purpose given"},
          429: {"description": "rate limit exceeded"}}


@router.post("/skiptrace", response_model=SkiptraceOut, name="skiptrace", responses=ERRORS)
async def skiptrace(
    body: SkiptraceIn, request: Request, app_state: State, caller: Annotated[Caller, Depends(allowed("skiptrace"))],
    purpose: Annotated[str, Header(alias="X-Purpose", min_length=3, max_length=200,
                                   description="why the borrower is traced (audited)")],
) -> SkiptraceOut:
    """Ranked contact points for a borrower: own channels to contact them, third
    parties only to ask for a way to reach them. Numbers are shown in full for the
    borrower asked about; every call is audited with its purpose."""
    found = trace(app_state.service.store, body.applicant_id, limit=body.limit)
    via = [v.split(" ")[0] for v in found["via"] if isinstance(v, str)]
    audit(request, app_state, caller, [body.applicant_id, *via])
    candidates = [Candidate(**{k: (None if v != v else v) for k, v in row.items()})
                  for row in found.to_dict("records")]
    return SkiptraceOut(applicant_id=body.applicant_id, purpose=purpose, candidates=candidates)
