"""Replay: live later applications through score-on-write, as underwriting did.

:func:`replay` takes the same sources a load takes and a cut date. Into a
working store it loads everything known at the cut (applications made, contacts
recorded, sightings and relations dated, outcomes observed by then) and
re-scores as of the cut. It then sends every later application with its
contacts, in time order, through the code path of ``POST
/v1/applications/score`` (:mod:`graphsvc.online.scoring`, in process), keeping each
answer and its latency. Finally it loads the rest and re-scores in batch, and
compares who was flagged (band ``review`` or ``high``) at application time with
who the batch run afterwards flags, per outcome and, given a generator's truth
file, per ring typology.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc.analytics.policy import Policy
from graphsvc.analytics.rescore import rescore
from graphsvc.ingest import normalise
from graphsvc.ingest.loader import load
from graphsvc.ingest.sources import TableSource
from graphsvc.online.scoring import score_on_write
from graphsvc.settings import Settings, get_settings
from graphsvc.store import Store

Progress = Callable[[str, int, int], None]
FLAGGED = ("review", "high")
#: the column giving each table's time
TIME_COLUMNS = {"applications": "applied_at", "contacts": "recorded_at", "outcomes": "observed_at",
                "identifiers": "observed_at", "relations": "at"}


def read_table(source: TableSource) -> pd.DataFrame:
    """A source's whole contract table (strings, as the loader reads it)."""
    frames = [frame for _, _, frame in source.batches(1 << 30)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _seconds(values: pd.Series, timezone: str) -> np.ndarray:
    return pd.to_numeric(normalise.timestamps(values, timezone), errors="coerce").to_numpy(float)


def _write(frame: pd.DataFrame, path: Path, source: TableSource) -> TableSource:
    """A part of a table as a canonical file, read back the way ``source`` declares kinds."""
    columns = [c for c in frame.columns if c not in ("row", "properties")]
    frame[columns].to_parquet(path, index=False)
    kinds = {c: c[len("kind:"):] for c in columns if c.startswith("kind:")}
    return TableSource(table=source.table, path=path, kinds=kinds)


def replay(store: Store, sources: list[TableSource], cut: int, *, truth: pd.DataFrame | None = None,
           policy: Policy | None = None, seed: int = 7, settings: Settings | None = None,
           model=None, limit: int | None = None, progress: Progress | None = None) -> dict:
    """Replay the applications of ``sources`` made after ``cut`` (epoch seconds) into
    ``store`` (a new, empty store) and report what was flagged when. ``model``
    (:mod:`graphsvc.analytics.model`) scores both runs, and so score-on-write.

    Returns the report: counts and flag rates per outcome (and per ring kind with
    ``truth``), the latency percentiles of score-on-write, and the answers
    (``answers``, one row per replayed application).
    """
    settings = settings or get_settings()
    zone = settings.timezone
    tables = {s.table: (s, read_table(s)) for s in sources}
    workdir = Path(tempfile.mkdtemp(prefix="graphsvc-replay-"))
    before, later = [], {}
    for name, (source, frame) in tables.items():
        if name in TIME_COLUMNS and TIME_COLUMNS[name] in frame:
            at = _seconds(frame[TIME_COLUMNS[name]], zone)
            early = ~(at > cut)  # undated rows count as known
            later[name] = frame[~early].assign(_at=at[~early])
            frame = frame[early]
        before.append(_write(frame, workdir / f"before-{name}.parquet", source))
    load(store, before, settings=settings)
    rescore(store, as_of=cut, seed=seed, policy=policy, model=model, promote=True)  # served: underwriting at the cut

    applications = later.get("applications", pd.DataFrame(columns=["application_id", "applicant_id", "_at"]))
    applications = applications.sort_values(["_at", "application_id"], kind="stable")
    if limit is not None:
        applications = applications.head(limit)
    contacts = _contacts_by_application(applications, later.get("contacts"))
    answers = []
    total = len(applications)
    for done, record in enumerate(applications.to_dict("records"), start=1):
        application = {k: record[k] for k in ("application_id", "applicant_id", "applied_at", "phone", "device_id",
                                              "ip", "id_number", "consents") if k in record and not _missing(record[k])}
        application["identifiers"] = {k[len("kind:"):]: v for k, v in record.items()
                                      if k.startswith("kind:") and not _missing(v)}
        listed = [{k: c[k] for k in ("contact_phone", "relation", "contact_name", "source", "recorded_at")
                   if k in c and not _missing(c[k])} for c in contacts.get(record["application_id"], [])]
        started = time.perf_counter()
        answer = score_on_write(store, application, listed, settings)
        elapsed = time.perf_counter() - started
        answers.append({"application_id": record["application_id"], "applicant_id": record["applicant_id"],
                        "applied_at": int(record["_at"]), "score": answer["score"], "band": answer["band"],
                        "codes": ",".join(r["code"] for r in answer["reasons"]), "ignored": len(answer["ignored"]),
                        "ms": round(1000 * elapsed, 3)})
        if progress:
            progress("replaying", done, total)
    load(store, [s for s, _ in tables.values()], settings=settings)
    rescore(store, seed=seed, policy=policy, model=model)
    run = store.served_run()
    batch = store.run_table(run["run_id"], "scores")
    return _report(pd.DataFrame(answers, columns=["application_id", "applicant_id", "applied_at", "score", "band",
                                                  "codes", "ignored", "ms"]),
                   batch, store, cut, truth)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def _contacts_by_application(applications: pd.DataFrame, contacts: pd.DataFrame | None) -> dict[str, list[dict]]:
    """Later contacts, each with the applicant's latest replayed application made by
    the time it was recorded (or its first one, for a contact recorded earlier)."""
    if contacts is None or not len(contacts) or not len(applications):
        return {}
    apps = applications[["application_id", "applicant_id", "_at"]].sort_values(["applicant_id", "_at"])
    out: dict[str, list[dict]] = {}
    by_applicant = {a: (g["_at"].to_numpy(float), g["application_id"].tolist())
                    for a, g in apps.groupby("applicant_id", sort=False)}
    for contact in contacts.to_dict("records"):
        found = by_applicant.get(contact["applicant_id"])
        if found is None:
            continue
        times, ids = found
        at = contact["_at"]
        k = max(int(np.searchsorted(times, at, side="right")) - 1, 0) if at == at else 0
        out.setdefault(ids[k], []).append(contact)
    return out


def _report(answers: pd.DataFrame, batch: pd.DataFrame, store: Store, cut: int,
            truth: pd.DataFrame | None) -> dict:
    """Flag rates at application time and in the batch run afterwards."""
    first = answers.sort_values("applied_at").drop_duplicates("applicant_id")
    new = first[~first["applicant_id"].isin(_known_before(store, cut))]
    online = answers.groupby("applicant_id")["band"].agg(lambda b: bool(b.isin(FLAGGED).any()))
    by_id = batch.set_index("applicant_id")
    batch_flagged = by_id["band"].isin(FLAGGED)
    people = pd.DataFrame({"applicant_id": new["applicant_id"].to_numpy()})
    people["online"] = online.reindex(people["applicant_id"]).fillna(False).to_numpy(bool)
    people["batch"] = batch_flagged.reindex(people["applicant_id"]).fillna(False).to_numpy(bool)
    people["group"] = "all"
    fraud = store.outcome_events("fraud")
    people.loc[people["applicant_id"].isin(set(fraud["applicant_id"])), "group"] = "fraud"
    if truth is not None:
        kind = truth.set_index("applicant_id")["ring_kind"]
        ring = kind.reindex(people["applicant_id"]).to_numpy(object)
        people["group"] = np.where(pd.isna(ring), "legitimate", "ring:" + pd.Series(ring).fillna("").astype(str))
    groups = []
    for name, part in sorted(people.groupby("group"), key=lambda g: g[0]):
        groups.append(_rates(name, part))
    if truth is not None:
        ring = people[people["group"].str.startswith("ring:")]
        if len(ring):
            groups.append(_rates("ring:all", ring))
    ms = answers["ms"].to_numpy(float)
    return {
        "cut": normalise.format_timestamp(cut), "applications_replayed": len(answers),
        "new_applicants": len(people), "refused": 0, "ignored_values": int(answers["ignored"].sum()),
        "groups": groups,
        "latency_ms": {f"p{q}": round(float(np.percentile(ms, q)), 2) if len(ms) else None
                       for q in (50, 95, 99)} | {"max": round(float(ms.max()), 2) if len(ms) else None},
        "answers": answers,
    }


def _rates(name: str, part: pd.DataFrame) -> dict:
    online, batch = part["online"].to_numpy(bool), part["batch"].to_numpy(bool)
    return {"group": name, "applicants": len(part), "flagged_online": int(online.sum()),
            "flagged_batch": int(batch.sum()),
            "online_rate": round(float(online.mean()), 4) if len(part) else None,
            "batch_rate": round(float(batch.mean()), 4) if len(part) else None,
            "online_over_batch": round(float(online.sum() / batch.sum()), 4) if batch.sum() else None,
            "batch_also_online": round(float((online & batch).sum() / batch.sum()), 4) if batch.sum() else None}


def _known_before(store: Store, cut: int) -> set[str]:
    """Applicants with an application at or before the cut."""
    arrays = store.graph_arrays(cut)
    return set(arrays.applicants[np.unique(arrays.application_applicant)].tolist())
