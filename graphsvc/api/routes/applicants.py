"""Applicants: summary, network (Cytoscape.js), explanation, and paths between two."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from graphsvc.api import masking
from graphsvc.api.deps import State, allowed, audit
from graphsvc.api.models import ApplicantOut, ExplainOut, LinkOut, NetworkOut, PathsOut, TimelineEvent
from graphsvc.api.security import Caller
from graphsvc.ingest import normalise

router = APIRouter(prefix="/v1", tags=["applicants"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "unknown applicant"}, 429: {"description": "rate limit exceeded"}}
ApplicantId = Annotated[str, Query(min_length=1, max_length=128)]


@router.get("/applicants/{applicant_id}", response_model=ApplicantOut, name="get_applicant", responses=ERRORS)
async def get_applicant(applicant_id: str, request: Request, app_state: State,
                        caller: Annotated[Caller, Depends(allowed("get_applicant"))]) -> ApplicantOut:
    """An applicant's applications, outcomes, latest score with reasons, and identifiers (masked by role)."""
    found = app_state.service.applicant(applicant_id)
    audit(request, app_state, caller, [applicant_id])
    role = caller.role
    return ApplicantOut(
        **{k: found[k] for k in ("applicant_id", "applications", "outcomes", "score", "band", "ring_id", "run_id")},
        reasons=masking.evidence(found["reasons"], role), timeline=[TimelineEvent(**e) for e in found["timeline"]],
        identifiers=[LinkOut(kind=r.kind, value=masking.identifier(r.kind, r.value, role), role=r.role,
                             relation=r.relation or None, name=masking.name(r.name, role),
                             first_seen=normalise.format_timestamp(r.first_seen),
                             last_seen=normalise.format_timestamp(r.last_seen), count=int(r.count))
                     for r in found["links"].itertuples(index=False)])


@router.get("/applicants/{applicant_id}/network", response_model=NetworkOut, name="get_network",
            responses=ERRORS)
async def get_network(
    applicant_id: str, request: Request, app_state: State,
    caller: Annotated[Caller, Depends(allowed("get_network"))],
    hops: Annotated[int, Query(ge=1, le=3, description="edges from the applicant (2: applicants sharing)")] = 2,
    max_nodes: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> NetworkOut:
    """The applicant's neighbourhood as Cytoscape.js elements; hubs shown, not expanded."""
    settings = app_state.settings
    graph = app_state.service.ego_network(
        applicant_id, hops=hops, max_nodes=min(max_nodes, settings.api_max_nodes),
        deadline=time.monotonic() + settings.api_timeout_seconds)
    elements, subjects = masking.elements(graph, caller.role, app_state.handle_salt)
    audit(request, app_state, caller, subjects)
    return NetworkOut(center=applicant_id, truncated=graph.graph["truncated"],
                      consent_version=app_state.service.consent.version, elements=elements)


@router.get("/applicants/{applicant_id}/explain", response_model=ExplainOut, name="explain_applicant",
            responses=ERRORS)
async def explain_applicant(applicant_id: str, request: Request, app_state: State,
                            caller: Annotated[Caller, Depends(allowed("explain_applicant"))]) -> ExplainOut:
    """Reasons of the applicant's latest score, with evidence paths spelled out."""
    explained = app_state.service.explain(applicant_id)
    subjects = [applicant_id, *(p for r in explained["reasons"] for p in r["evidence"].get("path", []))]
    audit(request, app_state, caller, subjects)
    reasons = [{k: v for k, v in r.items() if k != "meaning"} for r in explained["reasons"]]
    for reason in reasons:
        for step in reason["evidence"].get("steps", []):
            step["links"] = [_mask_sentence(s, caller) for s in step["links"]]
    return ExplainOut(**{**explained, "reasons": masking.evidence(reasons, caller.role)})


def _mask_sentence(sentence: str, caller: Caller) -> str:
    words = sentence.split(" ")
    return " ".join(masking.identifier("phone", w, caller.role) if w.startswith("+") and w[1:].isdigit() else w
                    for w in words)


@router.get("/paths", response_model=PathsOut, name="get_paths", responses=ERRORS)
async def get_paths(
    request: Request, app_state: State, caller: Annotated[Caller, Depends(allowed("get_paths"))],
    source: Annotated[str, Query(alias="from", min_length=1, max_length=128)],
    target: Annotated[str, Query(alias="to", min_length=1, max_length=128)],
    max_hops: Annotated[int, Query(ge=1, le=4)] = 3,
) -> PathsOut:
    """A shortest evidence path between two applicants, through identifiers they share or list."""
    settings = app_state.settings
    found = app_state.service.paths(source, target, max_hops=max_hops, max_nodes=settings.api_max_nodes,
                                    deadline=time.monotonic() + settings.api_timeout_seconds)
    for step in found["steps"]:
        step["links"] = [{**link, "value": masking.identifier(link["kind"], link["value"], caller.role)}
                         for link in step["links"]]
    audit(request, app_state, caller, [source, target, *(s["to"] for s in found["steps"])])
    return PathsOut(**found)
