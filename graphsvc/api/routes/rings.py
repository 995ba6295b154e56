"""Rings of the served run: a page at a time by descending risk, and one ring with its members."""

from __future__ import annotations

import base64
import json
import math
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query, Request

from graphsvc.api import masking
from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import MemberOut, RingDetail, RingNetworkOut, RingOut, RingPage
from graphsvc.api.security import Caller
from graphsvc.errors import InputError
from graphsvc.rings import TYPOLOGY_NAMES, typologies

router = APIRouter(prefix="/v1/rings", tags=["rings"])
ERRORS = {400: {"description": "bad cursor"}, 401: {"description": "no or unknown API key"},
          403: {"description": "role not allowed"}, 404: {"description": "no run or no such ring"},
          429: {"description": "rate limit exceeded"}}


def _ring(row) -> RingOut:
    features = json.loads(row["features"])
    return RingOut(ring_id=row["ring_id"], size=int(row["size"]), risk=float(row["risk"]), fraud=int(row["fraud"]),
                   default=int(row["default"]), features=features, typologies=typologies(features))


def _cursor(run_id: str, risk: float, ring_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([run_id, risk, ring_id]).encode()).decode()


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
    service = app_state.service
    run_id = service.run_id()
    rings = service.store.run_table(run_id, "rings")
    rings = rings[(rings["risk"] >= min_risk) & (rings["size"] >= min_size)]
    if typology is not None:
        rings = rings.loc[np.array([typology in typologies(json.loads(f)) for f in rings["features"]], dtype=bool)]
    rings = rings.sort_values(["risk", "ring_id"], ascending=[False, True], ignore_index=True)
    if cursor:
        try:
            run, risk, ring_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            if not (isinstance(run, str) and isinstance(ring_id, str) and isinstance(risk, int | float)
                    and math.isfinite(risk)):
                raise TypeError("a cursor holds a run id, a finite risk and a ring id")
            risk = float(risk)
        except (ValueError, TypeError) as exc:
            raise InputError("cursor is not one this API issued") from exc
        if run != run_id:
            raise InputError("cursor belongs to an older run: start again without a cursor")
        rings = rings[(rings["risk"] < risk) | ((rings["risk"] == risk) & (rings["ring_id"] > ring_id))]
    page = rings.head(limit)
    more = len(rings) > limit
    last = page.iloc[-1] if len(page) else None
    return RingPage(run_id=run_id, items=[_ring(r) for _, r in page.iterrows()],
                    next_cursor=_cursor(run_id, float(last["risk"]), last["ring_id"]) if more else None)


@router.get("/{ring_id}", response_model=RingDetail, name="get_ring", responses=ERRORS)
async def get_ring(ring_id: str, request: Request, app_state: State,
                   caller: Annotated[Caller, Depends(allowed("get_ring"))]) -> RingDetail:
    """One ring of the served run: features and members with their scores."""
    service = app_state.service
    run_id = service.run_id()
    members = service.ring_members(ring_id, run_id=run_id)
    ring = service.store.run_table(run_id, "rings", where={"ring_id": [ring_id]}).iloc[0]
    audit(request, app_state, caller, members["applicant_id"].tolist())
    return RingDetail(**_ring(ring).model_dump(), run_id=run_id,
                      members=[MemberOut(applicant_id=m.applicant_id,
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
