"""Writing batches into the embedded store: one transaction per batch.

Each batch holds its facts, the links they imply, its rejects and its manifest
row, so a killed process leaves the file as it was before or after the batch.
Rows get sequential ids, so a batch appends to the end of each tree; facts and
identifiers also carry a 63-bit hash of their natural key (:mod:`graphsvc.ingest.keys`)
under a compact unique index, looked up in one join per batch. That makes
re-applying a row a no-op: links are only ever incremented from facts that were
new. Contact and sighting rows keep only their hash; their content lives in the
link (first and last seen, count, and for contacts the name and source given).
Each link's (identifier, applicant) pair is also written to ``holders``, in the
same transaction, so that links are found from either end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from graphsvc.errors import KeyCollisionError, StoreError
from graphsvc.store import staging
from graphsvc.store.base import REJECT_COLUMNS, Batch, BatchResult, rejected_rows
from graphsvc.store.embedded import sql
from graphsvc.store.embedded.application import OneApplication
from graphsvc.store.embedded.checkpoint import Checkpointer
from graphsvc.store.embedded.known import HASHED, ApplicantIds, Known
from graphsvc.store.embedded.reader import _ints
from graphsvc.store.embedded.sql import (
    INSERT_LINK,
    UPSERT_LINK,
    ConstraintError,
    bindable,
    bound_rows,
    data_version,
    frame,
)
from graphsvc.store.embedded.tables import Tables


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``np.unique(values, return_index=True, return_inverse=True)`` gives, except
    that each distinct value's index is that of any one occurrence: from one unstable
    argsort (about twice as fast on two million hashes)."""
    order = np.argsort(values)
    ordered = values[order]
    starts = np.ones(len(values), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    inverse = np.empty(len(values), dtype=np.int64)
    inverse[order] = np.cumsum(starts) - 1
    return ordered[starts], order[starts], inverse


class Writer(Tables, OneApplication):
    """The write half of :class:`~graphsvc.store.embedded.EmbeddedStore`."""

    def stage(self, table: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        rows, prepared = staging.stage(table, rows)
        if "applicant_keys" in prepared:
            # this writer finds applicants through the batch's codes (``_a``); the keys
            # column would only cost time to pass from the reading process
            rows = rows.drop(columns="applicant_id")
        return rows, prepared

    def apply_all(self, batches: list[Batch]) -> list[BatchResult]:
        if self.readonly:
            raise StoreError("the store is open read-only")
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        if self._known is not None and data_version(con) != self._known.version:
            self._known = None  # another connection wrote: look hashes up in the database again
        try:
            results = [self._apply_one(batch) for batch in batches]
            con.execute("COMMIT")
            self._applicant_cache.add(list(self._pending_applicants), list(self._pending_applicants.values()))
            if self._known is not None:
                self._known.commit()
        except ConstraintError as exc:
            self._rollback()
            first = batches[0].origin
            raise StoreError(f"{first.file} rows {first.start_row}-: {exc}") from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            self._pending_applicants = {}
        return results

    def _rollback(self) -> None:
        self._con.execute("ROLLBACK")
        if self._known is not None:
            self._known.rollback()

    def _apply_one(self, batch: Batch) -> BatchResult:
        apply_table = getattr(self, f"_apply_{batch.origin.table}")
        rows, prepared = ((batch.rows, batch.prepared) if batch.prepared is not None
                          else self.stage(batch.origin.table, batch.rows))
        self._attached = {}
        loaded, duplicates, store_rejects, pending = apply_table(rows, prepared)
        rejects = pd.concat(
            [frame for frame in (batch.rejects, store_rejects) if len(frame)]
            or [pd.DataFrame(columns=REJECT_COLUMNS)],
            ignore_index=True,
        )
        self._record(batch, loaded, duplicates, rejects)
        return BatchResult(loaded=loaded, duplicates=duplicates, rejects=rejects, pending=pending,
                           attached=self._attached)

    def _record(self, batch: Batch, loaded: int, duplicates: int, rejects: pd.DataFrame) -> None:
        o = batch.origin
        rejected = rejected_rows(rejects)
        self._con.execute(
            "INSERT INTO manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (o.checksum, o.table, o.start_row, o.end_row, o.source, o.file, o.rows_read,
             loaded, duplicates, rejected, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        if len(rejects):
            self._con.executemany(
                "INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?)",
                bound_rows(
                    np.full(len(rejects), o.checksum, dtype=object),
                    np.full(len(rejects), o.table, dtype=object),
                    np.full(len(rejects), o.file, dtype=object),
                    rejects["row"], rejects["column"], rejects["reason"], rejects["detail"],
                ),
            )

    def _probe(self, table: str, hashes: np.ndarray, columns: str) -> pd.DataFrame:
        """Rows of ``table`` whose hash is in ``hashes`` (index look-ups in one join).

        During a bulk load only the hashes the in-memory arrays know are looked up.
        """
        if self._known is not None:
            hashes = hashes[self._known.stored(table, hashes)]
        if not len(hashes):
            return pd.DataFrame(columns=[c.strip().split(".")[-1] for c in columns.split(",")])
        # distinct and sorted, so the join walks the index in order
        return frame(self._con, f"SELECT {columns} FROM carray(?) p JOIN {table} t ON t.hash = p.value",  # noqa: S608
                     (sql.ints(_distinct(np.asarray(hashes, dtype=np.int64))[0]),))

    def _next_ids(self, table: str, count: int) -> np.ndarray:
        """``count`` fresh sequential ids of ``table`` (the batch holds the write lock)."""
        start = self._con.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608
        return np.arange(start, start + count, dtype=np.int64)

    def _applicant_ids(self, applicant_keys: pd.Series, *, create: bool) -> np.ndarray:
        """Internal ids aligned with ``applicant_keys``; -1 where unknown (``create=False``)."""
        con = self._con
        codes, uniques = pd.factorize(np.asarray(applicant_keys, dtype=object))
        uniques = np.asarray(uniques, dtype=object)
        ids = self._applicant_cache.ids(uniques)
        if self._pending_applicants and (ids < 0).any():
            rest = np.flatnonzero(ids < 0)
            ids[rest] = [self._pending_applicants.get(key, -1) for key in uniques[rest].tolist()]
        missing_at = np.flatnonzero(ids < 0)
        # key order: one sweep of the index (sorted as fixed-width strings, a third of the time)
        missing_at = missing_at[np.argsort(uniques[missing_at].astype(str), kind="stable")]
        if len(missing_at) and self._known is None:
            # outside a bulk load the cache may not hold every stored applicant
            stored = dict(con.execute("SELECT p.value, a.id FROM carray(?) p JOIN applicants a ON a.key = p.value",
                                      (sql.texts(uniques[missing_at]),)).fetchall())
            if stored:
                self._applicant_cache.add(list(stored), list(stored.values()))
                ids[missing_at] = [stored.get(key, -1) for key in uniques[missing_at].tolist()]
                missing_at = missing_at[ids[missing_at] < 0]
        if create and len(missing_at):
            new_ids = self._next_ids("applicants", len(missing_at))
            new_keys = uniques[missing_at].tolist()
            con.executemany("INSERT INTO applicants (id, key) VALUES (?, ?)", zip(new_ids.tolist(), new_keys))
            self._pending_applicants.update(zip(new_keys, new_ids.tolist()))
            ids[missing_at] = new_ids
        return np.where(codes >= 0, ids[np.maximum(codes, 0)], -1) if len(ids) else np.full(len(codes), -1, np.int64)

    def _new_facts(self, table: str, hashes: np.ndarray) -> np.ndarray:
        """Mask of rows whose fact hash is neither earlier in the batch nor stored."""
        first = ~pd.Series(hashes).duplicated().to_numpy()
        stored = self._probe(table, hashes[first], "t.hash")["hash"].to_numpy(np.int64)
        return first & ~np.isin(hashes, stored)

    def _inserted(self, table: str, hashes: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        if self._known is not None:
            self._known.added(table, hashes, columns)

    def _insert_facts(self, table: str, hashes: np.ndarray, *columns: pd.Series | np.ndarray) -> None:
        self._inserted(table, hashes)
        order = np.argsort(hashes, kind="stable")  # one forward sweep through the hash index
        ids = self._next_ids(table, len(hashes))
        marks = ", ".join("?" * (len(columns) + 2))
        picked = [np.asarray(pd.Series(c).to_numpy(object) if not isinstance(c, np.ndarray) else c)[order]
                  for c in columns]
        self._con.executemany(f"INSERT INTO {table} VALUES ({marks})", bound_rows(ids, hashes[order], *picked))  # noqa: S608

    def _record_facts(self, table: str, hashes: np.ndarray) -> None:
        self._inserted(table, hashes)
        if len(hashes):
            self._con.execute(f"INSERT INTO {table} SELECT value FROM carray(?)", (sql.ints(np.sort(hashes)),))  # noqa: S608

    def _identifier_ids(self, kinds: np.ndarray, values: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Ids of identifiers (kind, value, staged hash), inserting the unknown ones.

        Looked up by hash (during a bulk load first among the identifiers it
        inserted, in memory; the rest in one join); a stored row with the same hash
        but another kind or value raises KeyCollisionError.
        """
        distinct, first, inverse = _distinct(np.asarray(hashes, dtype=np.int64))
        kinds, values = np.asarray(kinds, dtype=object)[first], np.asarray(values, dtype=object)[first]
        ids = np.full(len(distinct), -1, dtype=np.int64)
        stored_kind, stored_value = np.empty(len(distinct), dtype=object), np.empty(len(distinct), dtype=object)
        if self._known is not None:
            found, known = self._known.inserted_identifiers(distinct)
            ids[found], stored_kind[found], stored_value[found] = (known[c][found] for c in ("id", "kind", "value"))
        rest = ids < 0
        stored = self._probe("identifiers", distinct[rest], "t.hash, t.id, t.kind, t.value")
        if len(stored):
            at = np.searchsorted(distinct, stored["hash"].to_numpy(np.int64))
            ids[at] = stored["id"].to_numpy(np.int64)
            stored_kind[at], stored_value[at] = stored["kind"].to_numpy(object), stored["value"].to_numpy(object)
        new = ids < 0
        found = np.flatnonzero(~new)
        clash = (kinds[found] != stored_kind[found]) | (values[found] != stored_value[found])
        if clash.any():
            raise KeyCollisionError(f"identifier hash collision: {distinct[found[clash]].tolist()[:3]}")
        # new ids run kind by kind, each kind in hash order (one forward sweep of the
        # unique index per kind)
        kind_codes = pd.factorize(kinds[new])[0]
        by_kind = np.argsort(kind_codes, kind="stable")
        at = np.flatnonzero(new)[by_kind]
        ids[at] = self._next_ids("identifiers", len(at))
        self._inserted("identifiers", distinct[new], {"id": ids[new], "kind": kinds[new], "value": values[new]})
        for part in np.split(at, np.flatnonzero(np.diff(kind_codes[by_kind])) + 1):
            if len(part):
                self._insert_identifiers(int(ids[part[0]]), str(kinds[part[0]]), distinct[part], values[part])
        return ids[inverse]

    def _insert_identifiers(self, first_id: int, kind: str, hashes: np.ndarray, values: np.ndarray) -> None:
        """Insert identifiers of one kind with ids from ``first_id`` on, bound as arrays.

        ``carray`` gives one column per array, so the values go through a temporary
        table keyed by position and join the hashes there (measured on 1.5M
        identifiers: 1.6 s against 2.8 s for ``executemany``).
        """
        con = self._con
        con.execute("CREATE TEMP TABLE IF NOT EXISTS identifier_values (at INTEGER PRIMARY KEY, value TEXT)")
        con.execute("INSERT INTO temp.identifier_values SELECT rowid, value FROM carray(?)", (sql.texts(values),))
        con.execute("INSERT INTO identifiers (id, hash, kind, value) SELECT ?1 + h.rowid - 1, h.value, ?2, v.value "
                    "FROM carray(?3) h CROSS JOIN temp.identifier_values v ON v.at = h.rowid",
                    (first_id, kind, sql.ints(hashes)))
        if con.changes() != len(hashes):  # the batch rolls back: nothing is half-written
            raise StoreError(f"inserted {con.changes()} of {len(hashes)} new {kind} identifiers")
        con.execute("DELETE FROM temp.identifier_values")

    def _row_applicants(self, rows: pd.DataFrame, prepared: dict, *, create: bool) -> np.ndarray:
        """Applicant ids of ``rows`` (-1 where unknown); for staged rows through the
        batch's applicant codes (``_a``), so that each key is looked up once."""
        keys = prepared.get("applicant_keys")
        if keys is None or "_a" not in rows.columns:
            return self._applicant_ids(rows["applicant_id"], create=create)
        codes = rows["_a"].to_numpy(np.int64)
        used = np.zeros(len(keys), dtype=bool)
        used[codes] = True
        by_code = np.full(len(keys), -1, dtype=np.int64)
        by_code[used] = self._applicant_ids(pd.Series(keys[used], dtype=object), create=create)
        return by_code[codes]

    def _add_links(self, table: str, rows: pd.DataFrame, applicant: np.ndarray, new_from: int | None = None) -> None:
        """Increment links from the sightings of new fact rows (applicant ids per row),
        inserting identifiers seen for the first time.

        Applicants with ids from ``new_from`` on were created by this batch, so none of
        their links can be stored yet: those links are inserted, not upserted (a
        third less work per row).
        """
        agg = staging.aggregate_links(staging.sightings(table, rows, applicant))
        if not len(agg["applicant"]):
            return
        identifier = self._identifier_ids(agg["kind"], agg["value"], agg["identifier"])
        order = np.lexsort((identifier, agg["applicant"]))  # appends in key order where it can
        fresh = agg["applicant"][order] >= (np.iinfo(np.int64).max if new_from is None else new_from)
        for statement, part in ((UPSERT_LINK, order[~fresh]), (INSERT_LINK, order[fresh])):
            if len(part):
                self._con.executemany(statement, zip(
                    agg["applicant"][part].tolist(), identifier[part].tolist(), agg["role"][part].tolist(),
                    agg["relation"][part].tolist(), staging.stamps(agg["first_seen"][part]),
                    staging.stamps(agg["last_seen"][part]), agg["count"][part].tolist(),
                    bindable(agg["name"][part]), bindable(agg["source"][part])))
        self._hold(agg["applicant"], identifier)

    def _hold(self, applicant: np.ndarray, identifier: np.ndarray) -> None:
        """Record who holds each identifier (``holders``, the reverse of the links' key)
        for links just written; pairs already there are skipped.

        The pairs go in as one array in identifier order, so the table is filled in
        one forward sweep (a million applicants: 2-4 s over the whole load, where an
        index on links(identifier) cost 15 s to build at the end).
        """
        if not len(applicant):
            return
        applicant, identifier = np.asarray(applicant, dtype=np.int64), np.asarray(identifier, dtype=np.int64)
        if applicant.max() >= 1 << 32 or identifier.max() >= 1 << 31:
            raise StoreError("the embedded store holds at most 2**32 applicants and 2**31 identifiers; "
                             "use the Neo4j store beyond that")
        pairs = np.sort((identifier << 32) | applicant)
        self._con.execute("INSERT OR IGNORE INTO holders SELECT value >> 32, value & 4294967295 FROM carray(?)",
                          (sql.ints(pairs),))

    # -- one application at a time (the API's score-on-write) ---------------------------

    @contextmanager
    def bulk(self, expected_rows: int) -> Iterator[None]:
        """Prepare for a large load, and finish it.

        - The stored hashes and applicant keys are read into memory (:mod:`.known`),
          so batches look them up without touching the indexes.
        - The write-ahead log is checkpointed by a background thread, off the
          batches' path.
        - Python's cycle collector runs less often: a batch makes millions of short-lived
          row tuples (measured: about 2 s less on a million applicants).
        """
        if self.readonly:
            yield
            return
        con = self._con
        con.execute("BEGIN")
        try:
            self._known = Known({t: _ints(con, f"SELECT hash AS x FROM {t}") for t in HASHED},  # noqa: S608
                                data_version(con))
            self._applicant_cache = ApplicantIds()  # every stored applicant, in one chunk
            stored = con.execute("SELECT key, id FROM applicants").fetchall()
            self._applicant_cache.add([k for k, _ in stored], [i for _, i in stored])
        finally:
            con.execute("COMMIT")
        checkpointer = Checkpointer(self.path, con)
        thresholds = gc.get_threshold()
        gc.set_threshold(200_000, 20, 100)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            self._known = None
            checkpointer.stop()
            con.execute("PRAGMA optimize")
