"""Serving the API from several worker processes (``graphsvc serve --workers N``).

uvicorn starts each worker as a new interpreter that builds its own app with
:func:`from_environment`. What the workers share goes through the environment the
parent sets up in :func:`shared`: the store, the API keys (a ``--session-key``
included), a folder for Prometheus' per-process metric files (``/metrics`` adds them
up, whichever worker answers) and one for re-score jobs (any worker can tell a job
another started). Each worker opens its own connection to the store; SQLite's write
lock serialises their commits, and score-on-write checks an application id inside its
write transaction, so the same application posted to two workers at once is stored
once. Each worker admits ``1/N`` of a key's rate.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from fastapi import FastAPI

from graphsvc.settings import Settings, get_settings

FACTORY = "graphsvc.api.serving:from_environment"
_DB, _WORKERS, _JOBS = "GRAPHSVC_SERVE_DB", "GRAPHSVC_SERVE_WORKERS", "GRAPHSVC_SERVE_JOBS"
METRICS = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it


def wait_until_ready(base: str, seconds: float = 120) -> bool:
    """Poll ``{base}/readyz`` until a worker answers 200 (True) or ``seconds`` pass (False)."""
    import time
    import urllib.error
    import urllib.request

    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def check(db: str | Path, settings: Settings) -> None:
    """Refuse (FileNotFoundError) an embedded store that does not exist: ``create_app``'s
    first check, which ``serve --workers`` makes before any worker starts."""
    if settings.backend == "embedded" and not Path(db).exists():
        raise FileNotFoundError(f"no store at {db}")


@contextlib.contextmanager
def shared(db: str | Path, settings: Settings, workers: int):
    """Set up what ``workers`` worker processes share (in this process's environment,
    which uvicorn's workers inherit); removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="graphsvc-serve-"))
    (folder / "metrics").mkdir()
    (folder / "jobs").mkdir()
    keys = {digest: entry.model_dump() for digest, entry in settings.api_keys.items()}
    values = {_DB: str(Path(db).resolve()) if settings.backend == "embedded" else str(db), _WORKERS: str(workers),
              _JOBS: str(folder / "jobs"), METRICS: str(folder / "metrics"), "GRAPHSVC_API_KEYS": json.dumps(keys)}
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield folder
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(folder, ignore_errors=True)


def from_environment() -> FastAPI:
    """One worker's app, as :func:`shared` describes it."""
    from graphsvc.api import create_app

    settings = get_settings()
    workers = int(os.environ.get(_WORKERS, "1"))
    settings = settings.model_copy(update={"api_rate_per_second": settings.api_rate_per_second / workers,
                                           "api_rate_burst": max(1, settings.api_rate_burst // workers)})
    return create_app(os.environ[_DB], settings, jobs_dir=Path(os.environ[_JOBS]))
