"""Which run the service serves: a new run is promoted only when it covers the store.

Every run a re-score writes gets a decision, recorded with it in the same
transaction (the store's promotion log): ``promote`` makes it the served run,
``hold`` keeps it for reading by id only. A run is promoted when it scores the
store as it is now (no as-of in the past), scores every applicant known, and its
counts stay within bounds of the served run's (:func:`verdict`); anything else
waits for ``graphsvc promote RUN``. ``graphsvc rollback`` serves the run served
before the current one again. The API, score-on-write and ring ids all read the
served run (:meth:`graphsvc.store.base.Store.served_run`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from graphsvc.errors import NotFoundError
from graphsvc.ingest.normalise import format_timestamp
from graphsvc.store.base import SERVING, Store

#: a new run that finds fewer than this share of the served run's rings is held (when the
#: served run found at least MIN_RINGS): a collapse is a broken input, not a safer world
RING_FLOOR, MIN_RINGS = 0.5, 4


def verdict(run: dict, served: dict | None, *, requested: bool = False) -> tuple[str, str]:
    """``("promote" | "hold", reason)`` for a new run record, given the served run.

    ``requested``: promote whatever the checks say (``rescore --promote``).
    """
    counts = run["counts"]
    problems = []
    if run.get("as_of") is not None:
        problems.append(f"scored as of {format_timestamp(run['as_of'])}, not as the store is now")
    if counts.get("not_scored", 0):
        problems.append(f"{counts['not_scored']} applicants in the store are not scored")
    if served is not None:
        before = served["counts"]
        if counts["applicants"] < before.get("applicants", 0):
            problems.append(f"scores {counts['applicants']} applicants where the served run "
                            f"{served['run_id']} scored {before['applicants']}")
        if before.get("rings", 0) >= MIN_RINGS and counts["rings"] < RING_FLOOR * before["rings"]:
            problems.append(f"finds {counts['rings']} rings where the served run {served['run_id']} "
                            f"found {before['rings']}")
    if requested:
        return "promote", "promoted on request" + (f" although it {'; '.join(problems)}" if problems else "")
    if problems:
        return "hold", "; ".join(problems) + " (graphsvc promote serves it)"
    return "promote", (f"covers the store: {counts['applicants']} applicants scored, {counts['rings']} rings"
                       + (f", replacing {served['run_id']}" if served else ""))


def entries(store: Store, run: dict, *, requested: bool = False) -> list[dict]:
    """The promotion log entries a new run brings (written with it): its decision, and
    for a store whose runs predate the log, the served run recorded first, so a held run
    changes nothing."""
    served = store.served_run()
    action, reason = verdict(run, served, requested=requested)
    out = []
    if served is not None and action == "hold" and not len(store.promotions()):
        out.append(_entry(served["run_id"], "promote", "served before promotions were recorded", None))
    out.append(_entry(run["run_id"], action, reason, served["run_id"] if served and action == "promote" else None))
    return out


def promote(store: Store, run_id: str, reason: str = "promoted by hand") -> dict:
    """Serve ``run_id`` from now on; returns the log entry.

    Raises
    ------
    NotFoundError
        When the store has no such run.
    """
    runs = store.runs()
    if run_id not in set(runs["run_id"]):
        raise NotFoundError(f"no run {run_id!r}")
    served = store.served_run()
    entry = _entry(run_id, "promote", reason, served["run_id"] if served else None)
    store.record_promotion(entry)
    return entry


def rollback(store: Store, reason: str = "rolled back by hand") -> dict:
    """Serve again the run served before the current one (runs rolled back from are
    skipped); returns the log entry.

    Raises
    ------
    NotFoundError
        When no earlier served run is left to go back to.
    """
    served = store.served_run()
    if served is None:
        raise NotFoundError("no run is served yet")
    log = store.promotions()
    serving = log[log["action"].isin(SERVING)]
    retired = set(log.loc[log["action"] == "rollback", "replaces"].dropna()) | {served["run_id"]}
    earlier = [r for r in serving["run_id"] if r not in retired]
    if not earlier:
        raise NotFoundError(f"no run served before {served['run_id']} to roll back to")
    entry = _entry(earlier[0], "rollback", reason, served["run_id"])
    store.record_promotion(entry)
    return entry


def annotate(runs: pd.DataFrame, log: pd.DataFrame, served: dict | None) -> pd.DataFrame:
    """Runs with ``served`` (the one served now) and ``decision`` / ``reason`` (the latest
    log entry about each run)."""
    latest = log.drop_duplicates("run_id", keep="first").set_index("run_id") if len(log) else None
    out = runs.copy()
    out["served"] = out["run_id"] == (served["run_id"] if served else None)
    if latest is None:  # a store whose runs predate the log serves its newest
        out["decision"], out["reason"] = None, None
        return out
    out["decision"] = out["run_id"].map(latest["action"])
    out["reason"] = out["run_id"].map(latest["reason"])
    return out


def _entry(run_id: str, action: str, reason: str, replaces: str | None) -> dict:
    return {"at": datetime.now(UTC).isoformat(timespec="microseconds"), "run_id": run_id, "action": action,
            "reason": reason, "replaces": replaces}
