"""Re-score jobs: one re-score run in a separate process, so the API keeps answering.

In: a store's location, the settings, a folder of job records. Out: a job record (a
JSON file in that folder, shared by every worker of ``graphsvc serve --workers``),
which the job process completes when it ends; any process can read it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from graphsvc.errors import NotFoundError
from graphsvc.settings import Settings

JOB_ID = re.compile(r"job-[0-9a-f]{12}")


def start(location: str, settings: Settings, folder: Path, *, as_of: int | None, seed: int,
          promote: bool) -> tuple[dict, multiprocessing.Process]:
    """Write a running job's record and start its process; returns both.

    ``location`` is the embedded store's file; on Neo4j the settings name the database.
    """
    job = {"job_id": f"job-{secrets.token_hex(6)}", "status": "running", "started_at": _now()}
    record = folder / f"{job['job_id']}.json"
    _write(record, job)
    process = multiprocessing.get_context("spawn").Process(
        target=_run, args=(location, settings, as_of, seed, promote, record), daemon=True)
    process.start()
    return job, process


def status(folder: Path, job_id: str, process: multiprocessing.Process | None = None) -> dict:
    """A job's record; a running job whose process has ended without a result is
    recorded as failed. ``process``: the job's process, when this one started it.

    Raises
    ------
    NotFoundError
        For an id that names no job of the folder.
    """
    record = folder / f"{job_id}.json"
    if not JOB_ID.fullmatch(job_id) or not record.exists():
        raise NotFoundError(f"no job {job_id!r}")
    job = _read(record)
    if job["status"] == "running":
        alive = process.is_alive() if process is not None else _alive(job.get("pid"))
        if not alive:
            job = _read(record)  # it may have written its result as it ended
            if job["status"] == "running":
                job.update(status="failed", finished_at=_now(), error="the job process ended without a result")
                _write(record, job)
    return job


def _run(location: str, settings: Settings, as_of: int | None, seed: int, promote: bool, record: Path) -> None:
    """The job process: one re-score run; writes the run id or the error into the job's record."""
    from graphsvc.analytics.rescore import rescore
    from graphsvc.store import open_store

    # the only writer of the record from now on (the API writes it again only once this process is gone)
    _write(record, {**_read(record), "pid": os.getpid()})
    try:
        with open_store(location, settings=settings) as store:
            run = rescore(store, as_of=as_of, seed=seed, promote=promote)
            outcome = {"status": "succeeded", **{k: run[k] for k in ("run_id", "decision", "reason")}}
    except Exception as exc:  # reported through the job's record
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
