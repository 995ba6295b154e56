"""Re-score jobs: started in a separate process, so the API keeps answering.

Each job has a record (a JSON file in the app's jobs folder, shared by every worker of
``graphsvc serve --workers``) that the job process completes when it ends."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
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
JOB_ID = re.compile(r"job-[0-9a-f]{12}")


def _run(db: str, settings, as_of: int | None, seed: int, promote: bool, record: Path) -> None:
    """The job process: one re-score run of the store the API serves; writes the run id or
    the error into the job's record.

    ``db`` is the embedded store's file; on Neo4j the settings name the database.
    """
    from graphsvc.rescore import rescore
    from graphsvc.store import open_store

    # the only writer of the record from now on (the API writes it again only once this process is gone)
    _write(record, {**_read(record), "pid": os.getpid()})
    try:
        with open_store(db, settings=settings) as store:
            run = rescore(store, as_of=as_of, seed=seed, promote=promote)
            outcome = {"status": "succeeded", **{k: run[k] for k in ("run_id", "decision", "reason")}}
    except Exception as exc:  # reported through GET /v1/jobs/{id}
        outcome = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    _write(record, {**_read(record), **outcome, "finished_at": _now()})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _read(record: Path) -> dict:
    return json.loads(record.read_text())


def _write(record: Path, job: dict) -> None:
    """Replace the job's record at once: a reader sees the old one or the new one."""
    partial = record.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(job))
    os.replace(partial, record)


def _alive(pid: int | None) -> bool:
    """Whether the job's process still runs (started by another worker, it is not this one's child)."""
    if pid is None:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@router.post("/rescore", response_model=JobOut, status_code=202, name="start_rescore", responses=ERRORS)
async def start_rescore(body: JobIn, app_state: State,
                        caller: Annotated[Caller, Depends(allowed("start_rescore"))]) -> JobOut:
    """Start a re-score run of the whole graph; poll ``GET /v1/jobs/{job_id}`` (any worker answers).

    The run is served from then on only when it covers the store (no ``as_of`` in the
    past, every applicant scored, counts within bounds of the served run) or with
    ``promote``; the job says which, and why."""
    as_of = parse_as_of(body.as_of, app_state.settings.timezone)
    job = {"job_id": f"job-{secrets.token_hex(6)}", "status": "running", "started_at": _now()}
    record = app_state.jobs_dir / f"{job['job_id']}.json"
    _write(record, job)
    db = str(getattr(app_state.service.store, "path", ""))
    process = multiprocessing.get_context("spawn").Process(
        target=_run, args=(db, app_state.settings, as_of, body.seed, body.promote, record), daemon=True)
    process.start()
    app_state.jobs[job["job_id"]] = process
    return JobOut(**job)


@router.get("/{job_id}", response_model=JobOut, name="get_job", responses=ERRORS)
async def get_job(job_id: str, app_state: State, caller: Annotated[Caller, Depends(allowed("get_job"))]) -> JobOut:
    """A re-score job's status, and its run id once it has succeeded."""
    record = app_state.jobs_dir / f"{job_id}.json"
    if not JOB_ID.fullmatch(job_id) or not record.exists():
        raise NotFoundError(f"no job {job_id!r}")
    job = _read(record)
    if job["status"] == "running":
        process = app_state.jobs.get(job_id)
        alive = process.is_alive() if process is not None else _alive(job.get("pid"))
        if not alive:
            job = _read(record)  # it may have written its result as it ended
            if job["status"] == "running":
                job.update(status="failed", finished_at=_now(), error="the job process ended without a result")
                _write(record, job)
    return JobOut(**{k: v for k, v in job.items() if k in JobOut.model_fields})
