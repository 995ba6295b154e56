"""``GET /v1/identifiers/{kind}/{value}/applicants``: who holds or lists an identifier."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from graphsvc.api import masking
from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import HolderOut, IdentifierOut
from graphsvc.api.security import Caller
from graphsvc.ingest import normalise

router = APIRouter(prefix="/v1/identifiers", tags=["identifiers"])
ERRORS = {400: {"description": "the value is not valid for its kind"}, 401: {"description": "no or unknown API key"},
          403: {"description": "role not allowed"}, 429: {"description": "rate limit exceeded"}}


@router.get("/{kind}/{value}/applicants", response_model=IdentifierOut, name="identifier_applicants",
            responses=ERRORS)
async def identifier_applicants(
    kind: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,31}$")],
    value: Annotated[str, Path(min_length=1, max_length=128)],
    request: Request, app_state: State, caller: Annotated[Caller, Depends(allowed("identifier_applicants"))],
) -> IdentifierOut:
    """Applicants linked to an identifier written as people write it (``138 0013 8000``),
    unless it is a hub (more holders than its kind's cap), whose holders are not listed."""
    found = app_state.service.identifier(kind, value)
    holders = [HolderOut(applicant_id=r.applicant_id, role=r.role, relation=r.relation or None,
                         first_seen=normalise.format_timestamp(r.first_seen),
                         last_seen=normalise.format_timestamp(r.last_seen), count=int(r.count))
               for r in found["holders"].itertuples(index=False)]
    audit(request, app_state, caller, [h.applicant_id for h in holders])
    return IdentifierOut(kind=kind, value=masking.identifier(kind, found["value"], caller.role),
                         degree=found["degree"], hub=found["hub"], applicants=holders)
