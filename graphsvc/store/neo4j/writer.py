"""Writing batches into Neo4j: one managed write transaction per batch.

Each transaction first reads what is already stored (applications by id,
facts by hash), then writes only what is new, then its manifest entry: running
it twice, as the driver does on a transient error, changes nothing the second
time. Links are aggregated in Python exactly as the embedded store aggregates
them (:func:`graphsvc.store.staging.aggregate_links`) and merged with one
``UNWIND ... MERGE`` per chunk.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from graphsvc.errors import KeyCollisionError
from graphsvc.store import staging
from graphsvc.store.base import REJECT_COLUMNS, Batch, BatchOrigin, BatchResult, rejected_rows
from graphsvc.store.neo4j import queries
from graphsvc.store.neo4j.tx import records, run, run_rows

_NO_REJECTS = pd.DataFrame(columns=REJECT_COLUMNS)


def _seconds(values) -> pd.Series:
    """Epoch seconds as Python ints (None when missing), so Neo4j stores integers, not floats."""
    return pd.Series(staging.stamps(pd.to_numeric(pd.Series(values), errors="coerce")), dtype=object)


class Writer:
    """The write half of :class:`~graphsvc.store.neo4j.Neo4jStore`."""

    def stage(self, table: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        return staging.stage(table, rows)

    def apply_all(self, batches: list[Batch]) -> list[BatchResult]:
        staged = [b.rows if b.prepared is not None else self.stage(b.origin.table, b.rows)[0] for b in batches]
        return self._write(lambda tx: [self._apply_one(tx, b.origin, rows, b.rejects)
                                       for b, rows in zip(batches, staged)])

    def write_application(self, application: dict, contacts: list[dict], checksum: str, *,
                          dry: bool = False) -> str:
        """One application with its contacts, in one transaction, through the batch path."""
        row = {k: v for k, v in application.items()}
        row["row"] = 1
        apps, _ = self.stage("applications", pd.DataFrame([row]))
        people, _ = self.stage("contacts", pd.DataFrame(
            [{"row": i + 1, "applicant_id": application["applicant_id"], **c} for i, c in enumerate(contacts)],
            columns=["row", "applicant_id", "contact_phone", "relation", "source", "contact_name", "recorded_at"]))

        def work(tx: Any) -> str:
            found = run(tx, "store/application_digests", keys=[application["application_id"]])
            if found:  # the same content, and no contact it was not stored with
                if found[0]["digest"] != application["digest"]:
                    return "conflict"
                facts = sorted(set(people["_fact"].astype("int64").tolist())) if contacts else []
                known = run(tx, "store/known_facts", hashes=facts) if facts else []
                return "duplicate" if len(known) == len(facts) else "conflict"
            if dry:
                return "stored"
            self._apply_one(tx, BatchOrigin("api", "api", checksum, "applications", 1, 1, 1), apps, _NO_REJECTS)
            if contacts:
                origin = BatchOrigin("api", "api", checksum, "contacts", 1, len(contacts), len(contacts))
                self._apply_one(tx, origin, people, _NO_REJECTS)
            return "stored"

        return self._write(work)

    def _apply_one(self, tx: Any, origin: BatchOrigin, rows: pd.DataFrame, loader_rejects: pd.DataFrame) -> BatchResult:
        self._attached: dict[str, int] = {}  # reset when the driver retries the transaction
        loaded, duplicates, store_rejects, pending = getattr(self, f"_apply_{origin.table}")(tx, rows)
        rejects = pd.concat([f for f in (loader_rejects, *store_rejects) if len(f)] or [_NO_REJECTS],
                            ignore_index=True)
        run(tx, "store/record_batch", batch={
            "checksum": origin.checksum, "table": origin.table, "start_row": origin.start_row,
            "end_row": origin.end_row, "source": origin.source, "file": origin.file, "rows_read": origin.rows_read,
            "loaded": int(loaded), "duplicates": int(duplicates),
            "rejected": rejected_rows(rejects),
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds")})
        if len(rejects):
            run_rows(tx, "store/record_rejects", records(rejects.assign(
                checksum=origin.checksum, table=origin.table, file=origin.file)[
                ["checksum", "table", "file", "row", "column", "reason", "detail"]]))
        return BatchResult(loaded=int(loaded), duplicates=int(duplicates), rejects=rejects, pending=int(pending),
                           attached=self._attached)

    # -- shared steps --------------------------------------------------------------------

    @staticmethod
    def _known(tx: Any, table: str, rows: pd.DataFrame, columns: tuple[str, ...]) -> tuple[pd.DataFrame, int, int]:
        """Rows whose applicants are stored; the others are kept pending. Returns the
        rows, and the rows newly kept and already kept (duplicates)."""
        wanted = sorted(set().union(*(set(rows[c].tolist()) for c in columns))) if len(rows) else []
        known = {r["id"] for r in run(tx, "store/known_applicants", ids=wanted)}
        wait, key = staging.waiting(rows, {c: ~rows[c].isin(known).to_numpy() for c in columns})
        kept = 0
        if wait.any():
            found = staging.pending_records(table, rows.loc[wait], key[wait], int(time.time()))
            kept = sum(r["kept"] for r in run_rows(tx, "store/keep_pending", found))
        return rows.loc[~wait].reset_index(drop=True), kept, int(wait.sum()) - kept

    def _attach(self, tx: Any, applicant_ids: list[str]) -> None:
        """Apply the pending facts that wait for these applicants (stored in this
        transaction), table by table; they leave the pending set."""
        if not applicant_ids or not run(tx, "store/any_pending")[0]["n"]:
            return
        found = run(tx, "store/take_pending", ids=sorted(set(applicant_ids)))
        for table in staging.PENDING_COLUMNS:
            kept = [r for r in found if r["table"] == table]
            if kept:
                rows = self.stage(table, staging.pending_frame(table, kept))[0]
                pending = getattr(self, f"_apply_{table}")(tx, rows)[3]
                self._attached[table] = self._attached.get(table, 0) + len(kept) - pending

    @staticmethod
    def _new(tx: Any, rows: pd.DataFrame, query: str) -> tuple[pd.DataFrame, int]:
        """Rows whose fact hash (``_fact``) is neither earlier in the batch nor stored."""
        facts = rows["_fact"].to_numpy(np.int64)
        first = ~pd.Series(facts).duplicated().to_numpy()
        stored = {r["hash"] for r in run(tx, query, hashes=facts[first].tolist())}
        new = first & ~np.isin(facts, np.array(sorted(stored), dtype=np.int64))
        return rows.loc[new].reset_index(drop=True), int((~new).sum())

    @staticmethod
    def _identifiers(tx: Any, kinds: np.ndarray, values: np.ndarray, refs: np.ndarray) -> None:
        """Merge identifiers by ref; a stored ref with another kind or value is a collision."""
        first = np.unique(refs, return_index=True)[1]
        rows = [{"ref": int(refs[i]), "kind": str(kinds[i]), "value": str(values[i]),
                 "label": queries.kind_label(str(kinds[i]))} for i in first]
        wanted = {r["ref"]: (r["kind"], r["value"]) for r in rows}
        clash = [s["ref"] for s in run_rows(tx, "store/merge_identifiers", rows)
                 if wanted[s["ref"]] != (s["kind"], s["value"])]
        if clash:
            raise KeyCollisionError(f"identifier hash collision: {clash[:3]}")

    def _links(self, tx: Any, table: str, rows: pd.DataFrame) -> None:
        """Merge the identifiers and aggregated links of new fact rows."""
        codes, applicant_keys = pd.factorize(np.asarray(rows["applicant_id"], dtype=object))
        agg = staging.aggregate_links(staging.sightings(table, rows, codes))
        if not len(agg["applicant"]):
            return
        self._identifiers(tx, agg["kind"], agg["value"], agg["identifier"])
        run_rows(tx, "store/merge_links", records(pd.DataFrame({
            "applicant_id": pd.Series(np.asarray(applicant_keys, dtype=object)[agg["applicant"]], dtype=object),
            "ref": agg["identifier"], "role": pd.Series(agg["role"], dtype=object),
            "relation": pd.Series(agg["relation"], dtype=object).fillna(""),  # MERGE refuses a null key property
            "first_seen": _seconds(agg["first_seen"]), "last_seen": _seconds(agg["last_seen"]),
            "count": agg["count"], "name": pd.Series(agg["name"], dtype=object),
            "source": pd.Series(agg["source"], dtype=object)})))

    # -- tables ----------------------------------------------------------------------------

    def _apply_applicants(self, tx: Any, rows: pd.DataFrame):
        rows = rows.drop_duplicates("applicant_id", keep="last").reset_index(drop=True)
        stored = {r["id"]: r["properties"] for r in run(tx, "store/known_applicants",
                                                          ids=rows["applicant_id"].tolist())}
        props = rows["properties"] if "properties" in rows else pd.Series([None] * len(rows))
        new = ~rows["applicant_id"].isin(stored).to_numpy()
        changed = np.array([p is not None and p == p and stored.get(a, p) != p
                            for a, p in zip(rows["applicant_id"], props)], dtype=bool) & ~new
        write = new | changed
        run_rows(tx, "store/merge_applicants", records(pd.DataFrame(
            {"id": rows["applicant_id"][write], "properties": props[write]})))
        loaded = max(int(new.sum()), int(changed.sum()))
        self._attach(tx, rows["applicant_id"][new].tolist())
        return loaded, len(rows) - loaded, [], 0

    def _apply_applications(self, tx: Any, rows: pd.DataFrame):
        rows, duplicates, repeated = staging.repeated_applications(rows)
        found = {r["key"]: r["digest"] for r in run(tx, "store/application_digests",
                                                      keys=rows["application_id"].tolist())}
        stored_digest = rows["application_id"].map(found).to_numpy(dtype=float, na_value=np.nan)
        new, same, conflicting = staging.stored_applications(rows, stored_digest)
        rows = rows.loc[new].reset_index(drop=True)
        properties = rows["properties"] if "properties" in rows else pd.Series([None] * len(rows))
        run_rows(tx, "store/create_applications", records(pd.DataFrame({
            "key": rows["application_id"], "applicant_id": rows["applicant_id"],
            "applied_at": rows["applied_at"].astype(np.int64), "digest": rows["digest"].astype(np.int64),
            "properties": properties,
            "consents": rows["consents"] if "consents" in rows else pd.Series([None] * len(rows))})))
        self._links(tx, "applications", rows)
        self._attach(tx, rows["applicant_id"].tolist())  # pending facts wait only for applicants not stored
        return len(rows), duplicates + same, [repeated, conflicting], 0

    def _apply_identifiers(self, tx: Any, rows: pd.DataFrame):
        return self._apply_sightings(tx, "identifiers", "sightings", rows)

    def _apply_contacts(self, tx: Any, rows: pd.DataFrame):
        return self._apply_sightings(tx, "contacts", "contacts", rows)

    def _apply_sightings(self, tx: Any, table: str, facts: str, rows: pd.DataFrame):
        rows, pending, repeated = self._known(tx, table, rows, ("applicant_id",))
        rows, duplicates = self._new(tx, rows, "store/known_facts")
        run_rows(tx, "store/create_facts", [{"hash": int(h), "table": facts} for h in rows["_fact"]])
        self._links(tx, table, rows)
        return len(rows), duplicates + repeated, [], pending

    def _apply_outcomes(self, tx: Any, rows: pd.DataFrame):
        rows, pending, repeated = self._known(tx, "outcomes", rows, ("applicant_id",))
        rows, duplicates = self._new(tx, rows, "store/known_outcomes")
        has_phone = rows["phone"].notna().to_numpy()
        if has_phone.any():
            self._identifiers(tx, np.full(int(has_phone.sum()), "phone", dtype=object),
                              rows.loc[has_phone, "phone"].to_numpy(object),
                              rows.loc[has_phone, "_h"].to_numpy(np.int64))
        run_rows(tx, "store/create_outcomes", records(pd.DataFrame({
            "hash": rows["_fact"].astype(np.int64), "applicant_id": rows["applicant_id"],
            "outcome": rows["outcome"], "observed_at": _seconds(rows["observed_at"]),
            "phone_ref": rows["_h"].where(has_phone, None)})))
        return len(rows), duplicates + repeated, [], pending

    def _apply_relations(self, tx: Any, rows: pd.DataFrame):
        rows, pending, repeated = self._known(tx, "relations", rows, ("src_applicant_id", "dst_applicant_id"))
        rows, duplicates = self._new(tx, rows, "store/known_relations")
        run_rows(tx, "store/create_relations", records(pd.DataFrame({
            "hash": rows["_fact"].astype(np.int64), "src": rows["src_applicant_id"],
            "dst": rows["dst_applicant_id"], "type": rows["type"], "at": _seconds(rows["at"]),
            "amount": rows["amount"]})))
        return len(rows), duplicates + repeated, [], pending
