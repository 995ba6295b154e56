"""Re-score jobs: started in a separate process, so the API keeps answering."""

from __future__ import annotations

import multiprocessing
import secrets
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from graphsvc.api.deps import State, allowed
from graphsvc.api.models import JobIn, JobOut
from graphsvc.api.security import Caller
from graphsvc.errors import NotFoundError
from graphsvc.rescore import parse_as_of

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
ERRORS = {401: {"description": "no or unknown API key"}, 403: {"description": "role not allowed"},
          404: {"description": "no such job"}, 429: {"description": "rate limit exceeded"}}


def _run(db: str, settings, as_of: int | None, seed: int, promote: bool, pipe) -> None:
    """The job process: one re-score run of the store the API serves; sends the run id or the error.

    ``db`` is the embedded store's file; on Neo4j the settings name the database.
    """
    from graphsvc.rescore import rescore
    from graphsvc.store import open_store

    try:
        with open_store(db, settings=settings) as store:
            run = rescore(store, as_of=as_of, seed=seed, promote=promote)
            pipe.send({k: run[k] for k in ("run_id", "decision", "reason")})
    except Exception as exc:  # reported through GET /v1/jobs/{id}
        pipe.send({"error": f"{type(exc).__name__}: {exc}"})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@router.post("/rescore", response_model=JobOut, status_code=202, name="start_rescore", responses=ERRORS)
async def start_rescore(body: JobIn, app_state: State,
                        caller: Annotated[Caller, Depends(allowed("start_rescore"))]) -> JobOut:
    """Start a re-score run of the whole graph; poll ``GET /v1/jobs/{job_id}``.

    The run is served from then on only when it covers the store (no ``as_of`` in the
    past, every applicant scored, counts within bounds of the served run) or with
    ``promote``; the job says which, and why."""
    as_of = parse_as_of(body.as_of, app_state.settings.timezone)
    receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
    db = str(getattr(app_state.service.store, "path", ""))
    process = multiprocessing.get_context("spawn").Process(
        target=_run, args=(db, app_state.settings, as_of, body.seed, body.promote, send), daemon=True)
    process.start()
    job = {"job_id": f"job-{secrets.token_hex(6)}", "status": "running", "started_at": _now(),
           "process": process, "pipe": receive}
    app_state.jobs[job["job_id"]] = job
    return _view(job)


@router.get("/{job_id}", response_model=JobOut, name="get_job", responses=ERRORS)
async def get_job(job_id: str, app_state: State, caller: Annotated[Caller, Depends(allowed("get_job"))]) -> JobOut:
    """A re-score job's status, and its run id once it has succeeded."""
    job = app_state.jobs.get(job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id!r}")
    if job["status"] == "running" and job["pipe"].poll():
        outcome = job["pipe"].recv()
        job.update(status="failed" if "error" in outcome else "succeeded", finished_at=_now(), **outcome)
        job["process"].join(timeout=5)
    elif job["status"] == "running" and not job["process"].is_alive():
        job.update(status="failed", finished_at=_now(), error="the job process ended without a result")
    return _view(job)


def _view(job: dict) -> JobOut:
    return JobOut(**{k: v for k, v in job.items() if k in JobOut.model_fields})
