"""Rings of the served run: a page at a time by descending risk, and one ring with its members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from graphsvc.analytics.rings import TYPOLOGY_NAMES
from graphsvc.api import masking
from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import MemberOut, RingDetail, RingNetworkOut, RingOut, RingPage
from graphsvc.api.security import Caller

router = APIRouter(prefix="/v1/rings", tags=["rings"])
ERRORS = {400: {"description": "bad cursor"}, 401: {"description": "no or unknown API key"},
          403: {"description": "role not allowed"}, 404: {"description": "no run or no such ring"},
          429: {"description": "rate limit exceeded"}}


@router.get("", response_model=RingPage, name="list_rings", responses=ERRORS)
async def list_rings(
    app_state: State, caller: Annotated[Caller, Depends(allowed("list_rings"))],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    min_risk: Annotated[float, Query(ge=0, le=1)] = 0.0,
    min_size: Annotated[int, Query(ge=1)] = 1,
    typology: Annotated[str | None, Query(pattern=f"^({'|'.join(TYPOLOGY_NAMES)})$",
                                          description="only rings showing this typology")] = None,
) -> RingPage:
    """Rings sorted by risk (then ring id), filtered by risk, size and typology; pages follow ``next_cursor``."""
    page = app_state.service.ring_page(limit=limit, cursor=cursor, min_risk=min_risk, min_size=min_size,
                                       typology=typology)
    return RingPage(run_id=page["run_id"], items=[RingOut(**r) for r in page["rings"]],
                    next_cursor=page["next_cursor"])


@router.get("/{ring_id}", response_model=RingDetail, name="get_ring", responses=ERRORS)
async def get_ring(ring_id: str, request: Request, app_state: State,
                   caller: Annotated[Caller, Depends(allowed("get_ring"))]) -> RingDetail:
    """One ring of the served run: features and members with their scores."""
    ring = app_state.service.ring(ring_id)
    members = ring.pop("members")
    audit(request, app_state, caller, members["applicant_id"].tolist())
    return RingDetail(**ring, members=[MemberOut(applicant_id=m.applicant_id,
                                                 score=None if m.score != m.score else int(m.score),
                                                 band=m.band if isinstance(m.band, str) else None)
                                       for m in members.itertuples(index=False)])


@router.get("/{ring_id}/network", response_model=RingNetworkOut, name="get_ring_network", responses=ERRORS)
async def get_ring_network(ring_id: str, request: Request, app_state: State,
                           caller: Annotated[Caller, Depends(allowed("get_ring_network"))]) -> RingNetworkOut:
    """One ring of the served run as Cytoscape.js elements: members and the identifiers
    at least two of them hold or list (hubs marked with their holder counts, not expanded)."""
    service = app_state.service
    run_id = service.run_id()
    graph = service.ring_graph(ring_id, run_id=run_id)
    elements, subjects = masking.elements(graph, caller.role, app_state.handle_salt)
    audit(request, app_state, caller, subjects)
    return RingNetworkOut(ring_id=ring_id, run_id=run_id, consent_version=service.consent.version, elements=elements)
