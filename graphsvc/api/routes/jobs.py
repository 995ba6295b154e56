"""Re-score jobs: started in a separate process (:mod:`graphsvc.service.jobs`), so the API keeps
answering; any worker of ``graphsvc serve --workers`` tells a job's status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from graphsvc.api.deps import State, allowed
from graphsvc.api.models import JobIn, JobOut
from graphsvc.api.security import Caller

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "no such job"}, 429: {"description": "rate limit exceeded"}}


@router.post("/rescore", response_model=JobOut, status_code=202, name="start_rescore", responses=ERRORS)
async def start_rescore(body: JobIn, app_state: State,
                        caller: Annotated[Caller, Depends(allowed("start_rescore"))]) -> JobOut:
    """Start a re-score run of the whole graph; poll ``GET /v1/jobs/{job_id}`` (any worker answers).

    The run is served from then on only when it covers the store (no ``as_of`` in the
    past, every applicant scored, counts within bounds of the served run) or with
    ``promote``; the job says which, and why."""
    job, process = app_state.service.start_rescore_job(app_state.jobs_dir, as_of=body.as_of, seed=body.seed,
                                                       promote=body.promote)
    app_state.jobs[job["job_id"]] = process
    return JobOut(**job)


@router.get("/{job_id}", response_model=JobOut, name="get_job", responses=ERRORS)
async def get_job(job_id: str, app_state: State, caller: Annotated[Caller, Depends(allowed("get_job"))]) -> JobOut:
    """A re-score job's status, and its run id once it has succeeded."""
    job = app_state.service.rescore_job(app_state.jobs_dir, job_id, app_state.jobs.get(job_id))
    return JobOut(**{k: v for k, v in job.items() if k in JobOut.model_fields})
