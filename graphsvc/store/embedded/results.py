"""Re-score runs and their result tables in the embedded store."""

from __future__ import annotations

import json
import time

import pandas as pd

from graphsvc.errors import InputError, NotFoundError, StoreError
from graphsvc.store.base import PROMOTION_COLUMNS, REVIEW_COLUMNS, RUN_TABLES, SERVING, with_none
from graphsvc.store.embedded.sql import Connection, first
from graphsvc.store.rows import RunScore
from graphsvc.store.staging import plain_rows

_JSON_COLUMNS = ("params", "timings", "counts")


class Results:
    """Runs of :func:`graphsvc.analytics.rescore.rescore`, written in one transaction each."""

    _con: Connection
    readonly: bool
    _served: tuple | None = None  # (stamp, record) of the served run, as last read

    def _has_runs(self) -> bool:
        """False for a file written before runs existed and opened read-only."""
        return self._con.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone() is not None

    def save_run(self, run: dict, tables: dict[str, pd.DataFrame], promotions: list[dict] = ()) -> None:
        if self.readonly:
            raise StoreError("the store is open read-only")
        con = self._con
        started = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        try:
            for name, columns in RUN_TABLES.items():
                frame = tables[name][columns]
                marks = ", ".join("?" * (len(columns) + 1))
                con.executemany(f"INSERT INTO {name} VALUES ({marks})",  # noqa: S608 - fixed names
                                ((run["run_id"], *row) for row in plain_rows(frame)))
            # the run's row goes last, so it can carry the time the write took
            run["timings"]["write"] = round(time.perf_counter() - started, 3)
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run["run_id"], run["created_at"], run["as_of"], run["seed"],
                 *(json.dumps(run[c], sort_keys=True) for c in _JSON_COLUMNS)),
            )
            for entry in promotions:
                self._promotion(entry)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def runs(self) -> pd.DataFrame:
        if not self._has_runs():
            return pd.DataFrame(columns=["run_id", "created_at", "as_of", "seed", *_JSON_COLUMNS])
        frame = self._frame("SELECT * FROM runs ORDER BY created_at DESC, run_id DESC")
        for column in _JSON_COLUMNS:
            frame[column] = [json.loads(v) for v in frame[column]]
        return frame

    def served_run(self) -> dict | None:
        if not self._has_runs():
            return None
        # Which run is served changes only with a promotion or a run written or removed:
        # score-on-write asks on every request, and parsing the run's policy and model
        # each time cost more than the question
        stamp = self._con.execute("SELECT (SELECT max(id) FROM promotions), (SELECT count(*) FROM runs), "
                                  "(SELECT max(created_at) FROM runs)").fetchone()
        cached = self._served
        if cached is not None and cached[0] == stamp:
            return dict(cached[1]) if cached[1] is not None else None
        record = self._served_record()
        self._served = (stamp, record)
        return dict(record) if record is not None else None

    def _served_record(self) -> dict | None:
        record = first(self._con, "SELECT r.* FROM promotions p JOIN runs r ON r.run_id = p.run_id "
                                  f"WHERE p.action IN ({', '.join(repr(a) for a in SERVING)}) "
                                  "ORDER BY p.id DESC LIMIT 1")
        if record is None and self._con.execute("SELECT 1 FROM promotions LIMIT 1").fetchone() is None:
            record = first(self._con, "SELECT * FROM runs ORDER BY created_at DESC, run_id DESC LIMIT 1")
        if record is None:
            return None
        return {**record, **{c: json.loads(record[c]) for c in _JSON_COLUMNS}}

    def promotions(self) -> pd.DataFrame:
        frame = self._frame(f"SELECT {', '.join(PROMOTION_COLUMNS)} FROM promotions ORDER BY id DESC")
        frame["replaces"] = with_none(frame["replaces"])
        return frame

    def record_promotion(self, entry: dict) -> None:
        if self.readonly:
            raise StoreError("the store is open read-only")
        self._promotion(entry)

    def _promotion(self, entry: dict) -> None:
        self._con.execute("INSERT INTO promotions (at, run_id, action, reason, replaces) VALUES (?, ?, ?, ?, ?)",
                          tuple(entry[c] for c in PROMOTION_COLUMNS))

    def latest_scores(self, run_id: str, applicant_ids: list[str]) -> dict[str, RunScore]:
        rows = self._con.execute(
            "SELECT s.applicant_id, s.score, s.band, s.ring_id, s.reasons, r.risk, r.size FROM scores s "
            "LEFT JOIN rings r ON r.run_id = s.run_id AND r.ring_id = s.ring_id "
            "WHERE s.run_id = ? AND s.applicant_id IN (SELECT value FROM json_each(?))",
            (run_id, json.dumps(list(applicant_ids)))).fetchall()
        return {row[0]: RunScore._make(row[1:]) for row in rows}

    def run_table(self, run_id: str, table: str, *, where: dict[str, list] | None = None) -> pd.DataFrame:
        if table not in RUN_TABLES:
            raise InputError(f"unknown result table {table!r}; one of {sorted(RUN_TABLES)}")
        known = self._has_runs() and self._con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if not known:
            raise NotFoundError(f"no run {run_id!r}")
        columns = RUN_TABLES[table]
        clauses, params = ["run_id = ?"], [run_id]
        for column, values in (where or {}).items():
            if column not in columns:
                raise InputError(f"{table} has no column {column!r}")
            if not values:
                return pd.DataFrame(columns=columns)
            clauses.append(f'"{column}" IN ({",".join("?" * len(values))})')
            params.extend(values)
        quoted = ", ".join(f'"{c}"' for c in columns)
        cursor = self._con.execute(
            f"SELECT {quoted} FROM {table} WHERE {' AND '.join(clauses)}", params)  # noqa: S608 - checked names
        return pd.DataFrame(cursor.fetchall(), columns=columns)

    def record_review(self, entry: dict) -> None:
        self._con.execute(f"INSERT INTO reviews ({', '.join(REVIEW_COLUMNS)}) "
                          f"VALUES ({', '.join('?' * len(REVIEW_COLUMNS))})", [entry[c] for c in REVIEW_COLUMNS])

    def reviews(self, *, status: str | None = None, applicant_id: str | None = None,
                review_id: str | None = None) -> pd.DataFrame:
        wanted = {"status": status, "applicant_id": applicant_id, "review_id": review_id}
        clauses = [f"{c} = ?" for c, v in wanted.items() if v is not None]
        frame = self._frame(f"SELECT {', '.join(REVIEW_COLUMNS)} FROM reviews "  # noqa: S608 - fixed names
                            f"WHERE {' AND '.join(clauses) or '1'} ORDER BY requested_at DESC, review_id",
                            [v for v in wanted.values() if v is not None])
        return frame.astype(object).where(frame.notna(), None)

    def close_review(self, review_id: str, closed: dict) -> bool:
        before = self._con.total_changes()
        self._con.execute("UPDATE reviews SET status = 'closed', closed_at = ?, closed_by = ?, outcome = ?, note = ? "
                          "WHERE review_id = ? AND status = 'open'",
                          (closed["closed_at"], closed["closed_by"], closed["outcome"], closed["note"], review_id))
        return self._con.total_changes() > before

    def record_access(self, entry: dict) -> None:
        self._con.execute(
            "INSERT INTO audit (at, caller, role, route, method, status, subjects, purpose, reason, revealed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry["at"], entry["caller"], entry["role"], entry["route"], entry["method"], entry["status"],
             json.dumps(entry["subjects"]), entry.get("purpose"), entry.get("reason"),
             json.dumps(entry["revealed"]) if entry.get("revealed") else None))

    def access_log(self, limit: int = 100, subject: str | None = None) -> pd.DataFrame:
        where, params = "", []
        if subject is not None:
            where, params = "WHERE EXISTS (SELECT 1 FROM json_each(subjects) WHERE value = ?)", [subject]
        frame = self._frame(f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?", [*params, limit])  # noqa: S608
        frame["subjects"] = [json.loads(s) for s in frame["subjects"]]
        frame["revealed"] = [json.loads(r) if isinstance(r, str) else [] for r in frame["revealed"]]
        frame["purpose"], frame["reason"] = with_none(frame["purpose"]), with_none(frame["reason"])
        return frame
