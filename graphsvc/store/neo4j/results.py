"""Re-score runs in Neo4j: a ``Run`` node with SCORED, FOUND (rings, with MEMBER) and
HUB relationships, written in one transaction; scores are also written back onto
the applicants for investigators. The audit trail is ``Access`` nodes."""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
import pandas as pd

from graphsvc.errors import InputError, NotFoundError
from graphsvc.ingest import keys
from graphsvc.store.base import PROMOTION_COLUMNS, REVIEW_COLUMNS, RUN_TABLES, SERVING, with_none
from graphsvc.store.neo4j.tx import frame, records, run, run_rows
from graphsvc.store.rows import RunScore

_JSON = ("params", "timings", "counts")
_RUN_COLUMNS = ["run_id", "created_at", "as_of", "seed", *_JSON]
_AUDIT_COLUMNS = ["id", "at", "caller", "role", "route", "method", "status", "subjects", "purpose", "reason",
                  "revealed"]


class Results:
    """Runs of :func:`graphsvc.analytics.rescore.rescore` on Neo4j."""

    def save_run(self, run_record: dict, tables: dict[str, pd.DataFrame], promotions: list[dict] = ()) -> None:
        started = time.perf_counter()
        run_id = run_record["run_id"]
        rings = tables["rings"].copy()
        rings["features"] = [f if isinstance(f, str) else json.dumps(f, sort_keys=True) for f in rings["features"]]
        hubs = tables["hubs"].copy()
        hubs["ref"] = np.zeros(len(hubs), dtype=np.int64)
        for kind in hubs["kind"].unique():
            part = (hubs["kind"] == kind).to_numpy()
            hubs.loc[part, "ref"] = keys.identifier_ids(str(kind), hubs.loc[part, "value"].to_numpy(object))

        def work(tx: Any) -> None:
            run(tx, "results/create_run", run={
                "run_id": run_id, "created_at": run_record["created_at"], "as_of": run_record["as_of"],
                "seed": int(run_record["seed"]), **{c: json.dumps(run_record[c], sort_keys=True) for c in _JSON}})
            run_rows(tx, "results/write_scores", records(tables["scores"][RUN_TABLES["scores"]]), run_id=run_id)
            run_rows(tx, "results/write_rings", records(rings[RUN_TABLES["rings"]]), run_id=run_id)
            run_rows(tx, "results/write_members", records(tables["ring_members"][RUN_TABLES["ring_members"]]),
                     run_id=run_id)
            run_rows(tx, "results/write_hubs", records(
                hubs[["ref", "role", "degree", "fraud", "fraud_share", "verdict"]]), run_id=run_id)
            run_record["timings"]["write"] = round(time.perf_counter() - started, 3)
            run(tx, "results/finish_run", run_id=run_id, timings=json.dumps(run_record["timings"], sort_keys=True))
            for entry in promotions:
                self._promotion(tx, entry)

        self._write(work)

    def runs(self) -> pd.DataFrame:
        out = frame(self._read("results/runs", limit=2 ** 31), _RUN_COLUMNS)
        for column in _JSON:
            out[column] = [json.loads(v) for v in out[column]]
        return out

    def served_run(self) -> dict | None:
        found = self._read("results/served_run", serving=list(SERVING))[0]
        if found["run_id"] is None and not found["logged"]:  # runs written before the log: the newest
            rows = self._read("results/runs", limit=1)
            found = rows[0] if rows else found
        if found["run_id"] is None:
            return None
        record = {c: found[c] for c in _RUN_COLUMNS}
        return {**record, **{c: json.loads(record[c]) for c in _JSON}}

    def promotions(self) -> pd.DataFrame:
        return frame(self._read("results/promotions"), PROMOTION_COLUMNS)

    def record_promotion(self, entry: dict) -> None:
        self._write(lambda tx: self._promotion(tx, entry))

    @staticmethod
    def _promotion(tx: Any, entry: dict) -> None:
        run(tx, "results/record_promotion", entry={"seq": time.time_ns(), **{c: entry[c] for c in PROMOTION_COLUMNS}})

    def latest_scores(self, run_id: str, applicant_ids: list[str]) -> dict[str, RunScore]:
        return {r["applicant_id"]: RunScore(r["score"], r["band"], r["ring_id"], r["reasons"], r["risk"], r["size"])
                for r in self._read("results/latest_scores", run_id=run_id, ids=list(applicant_ids))}

    def run_table(self, run_id: str, table: str, *, where: dict[str, list] | None = None) -> pd.DataFrame:
        if table not in RUN_TABLES:
            raise InputError(f"unknown result table {table!r}; one of {sorted(RUN_TABLES)}")
        if not self._read("results/run_exists", run_id=run_id):
            raise NotFoundError(f"no run {run_id!r}")
        columns = RUN_TABLES[table]
        where = dict(where or {})
        for column, values in where.items():
            if column not in columns:
                raise InputError(f"{table} has no column {column!r}")
            if not values:
                return pd.DataFrame(columns=columns)
        # applicant and ring filters run in the database; any other column is filtered here
        pushed = {p: where.get(c) for p, c in (("applicant_ids", "applicant_id"), ("ring_ids", "ring_id"))}
        parameters = {"scores": pushed, "rings": {"ring_ids": pushed["ring_ids"]},
                      "ring_members": pushed, "hubs": {}}[table]
        out = frame(self._read(f"results/{table}", run_id=run_id, **parameters), columns)
        for column, values in where.items():
            out = out[out[column].isin(values)]
        return out.reset_index(drop=True)

    def record_review(self, entry: dict) -> None:
        self._write(lambda tx: run(tx, "results/record_review", entry={c: entry[c] for c in REVIEW_COLUMNS}))

    def reviews(self, *, status: str | None = None, applicant_id: str | None = None,
                review_id: str | None = None) -> pd.DataFrame:
        return frame(self._read("results/reviews", status=status, applicant_id=applicant_id, review_id=review_id),
                     REVIEW_COLUMNS)

    def close_review(self, review_id: str, closed: dict) -> bool:
        return bool(self._write(lambda tx: run(tx, "results/close_review", review_id=review_id, closed=closed)))

    def record_access(self, entry: dict) -> None:
        self._write(lambda tx: record_access(tx, entry))

    def access_log(self, limit: int = 100, subject: str | None = None) -> pd.DataFrame:
        rows = self._read("results/access_log", subject=subject, limit=int(limit))
        for row in rows:
            row["id"] = row.pop("seq")
            row["subjects"] = list(row["subjects"] or [])
            row["revealed"] = list(row["revealed"] or [])
        out = frame(rows, _AUDIT_COLUMNS)
        out["purpose"], out["reason"] = with_none(out["purpose"]), with_none(out["reason"])
        return out


def record_access(tx, entry: dict) -> None:
    """Append an audit row (:func:`graphsvc.store.base.access_entry`) in transaction ``tx``."""
    run(tx, "results/record_access", entry={
        "seq": time.time_ns(), "at": entry["at"], "caller": entry["caller"], "role": entry["role"],
        "route": entry["route"], "method": entry["method"], "status": int(entry["status"]),
        "subjects": [str(s) for s in entry["subjects"]], "purpose": entry.get("purpose"),
        "reason": entry.get("reason"), "revealed": [str(d) for d in entry.get("revealed") or []]})
