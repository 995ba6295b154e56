"""``POST /v1/skiptrace``: ranked ways to reach a borrower, for collectors, with a purpose;
``POST /v1/skiptrace/reveal``: one masked number in full, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request

from graphsvc.api import masking
from graphsvc.api.deps import AppState, State, allowed, audit, purpose
from graphsvc.api.models import Candidate, RevealIn, RevealOut, SkiptraceIn, SkiptraceOut
from graphsvc.api.security import Caller, Role
from graphsvc.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["skiptrace"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "unknown applicant"}, 422: {"description": "no purpose given"},
          429: {"description": "rate limit exceeded"}}
Purpose = Annotated[str, Header(alias="X-Purpose", min_length=3, max_length=200,
                                description="why the borrower is traced (audited)")]


def _candidates(found) -> list[dict]:
    """A skip-trace frame's rows as plain dicts, missing values (NaN) as None."""
    return [{k: (None if v != v else v) for k, v in row.items()} for row in found.to_dict("records")]


def _collections(request: Request, app_state: AppState) -> bool:
    """Whether the caller's purpose is one that shows the borrower's own numbers in full."""
    said = (purpose(request) or "").strip().lower()
    first = said.replace(":", " ").split(" ", 1)[0] if said else ""
    return first in {p.lower() for p in app_state.settings.api_reveal_purposes}


@router.post("/skiptrace", response_model=SkiptraceOut, name="skiptrace", responses=ERRORS)
async def skiptrace(body: SkiptraceIn, request: Request, app_state: State,
                    caller: Annotated[Caller, Depends(allowed("skiptrace"))], purpose_: Purpose) -> SkiptraceOut:
    """Ranked contact points for a borrower: own channels to contact them, third
    parties only to ask for a way to reach them. The borrower's own numbers are shown
    in full to a collector whose purpose is a collections purpose
    (``GRAPHSVC_API_REVEAL_PURPOSES``); third parties' numbers, and own numbers under
    any other purpose, are masked, each with a ``reveal`` handle for
    ``POST /v1/skiptrace/reveal``. Admins see every number. Every call is audited
    with its purpose and the keyed digest of each number shown in full."""
    found = app_state.service.skiptrace(body.applicant_id, limit=body.limit)
    key = app_state.settings.identity_key()
    own_in_full = caller.role is Role.ADMIN or _collections(request, app_state)
    candidates, shown = [], []
    for row in _candidates(found):
        full = caller.role is Role.ADMIN or (row["channel"] == "own" and own_in_full)
        if full:
            shown.append(masking.number_digest(row["phone"], key))
        candidates.append(Candidate(**{
            **row, "phone": row["phone"] if full else masking.mask_phone(row["phone"]),
            "shown": "full" if full else "masked",
            "reveal": None if full else masking.reveal_handle(body.applicant_id, row["phone"], key)}))
    via = [v.split(" ")[0] for v in found["via"] if isinstance(v, str)]
    audit(request, app_state, caller, [body.applicant_id, *via], revealed=shown)
    return SkiptraceOut(applicant_id=body.applicant_id, purpose=purpose_,
                        consent_version=app_state.service.consent.version, candidates=candidates)


@router.post("/skiptrace/reveal", response_model=RevealOut, name="reveal_number",
             responses={**ERRORS, 404: {"description": "no candidate of the borrower has this handle"}})
async def reveal(body: RevealIn, request: Request, app_state: State,
                 caller: Annotated[Caller, Depends(allowed("reveal_number"))], purpose_: Purpose) -> RevealOut:
    """One masked skip-trace number in full, by the ``reveal`` handle the skip-trace
    gave (it must still be among the borrower's candidates). Audited with the purpose
    and the number's keyed digest."""
    key = app_state.settings.identity_key()
    found = app_state.service.skiptrace(body.applicant_id, limit=1_000)
    for row in _candidates(found):
        if masking.reveal_handle(body.applicant_id, row["phone"], key) == body.reveal:
            audit(request, app_state, caller, [body.applicant_id], revealed=[masking.number_digest(row["phone"], key)])
            return RevealOut(**{k: row[k] for k in ("phone", "channel", "relation", "usage")},
                             applicant_id=body.applicant_id)
    raise NotFoundError(f"no skip-trace candidate of {body.applicant_id!r} has this reveal handle")
