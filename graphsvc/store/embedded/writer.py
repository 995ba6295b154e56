"""Writing batches into the embedded store: one transaction per batch.

Each batch holds its facts, the links they imply, its rejects and its manifest
row, so a killed process leaves the file as it was before or after the batch.
Rows get sequential ids, so a batch appends to the end of each tree; facts and
identifiers also carry a 63-bit hash of their natural key (:mod:`graphsvc.keys`)
under a compact unique index, looked up in one join per batch. That makes
re-applying a row a no-op: links are only ever incremented from facts that were
new. Contact and sighting rows keep only their hash; their content lives in the
link (first and last seen, count, and for contacts the name and source given).
Each link's (identifier, applicant) pair is also written to ``holders``, in the
same transaction, so that links are found from either end.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc import keys
from graphsvc.contract import LinkRole
from graphsvc.errors import KeyCollisionError, StoreError
from graphsvc.store import staging
from graphsvc.store.base import REJECT_COLUMNS, Batch, BatchResult, rejected_rows
from graphsvc.store.embedded import sql
from graphsvc.store.embedded.checkpoint import Checkpointer
from graphsvc.store.embedded.known import HASHED, ApplicantIds, Known
from graphsvc.store.embedded.reader import _ints
from graphsvc.store.embedded.sql import Connection, ConstraintError, frame
from graphsvc.store.staging import FACT_KEYS

_NO_REJECTS = pd.DataFrame(columns=REJECT_COLUMNS)
_INSERT_LINK = ("INSERT INTO links (applicant, identifier, role, relation, first_seen, last_seen, count, name, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
#: an applicant's consents are those of its newest application that stated them; of two
#: stated at the same time, the one granting less (order of arrival never matters)
_SET_CONSENTS = ("UPDATE applicants SET consents = ?1, consents_at = ?2 WHERE id = ?3 AND (consents_at IS NULL "
                 "OR consents_at < ?2 OR (consents_at = ?2 AND consents > ?1))")
_UPSERT_LINK = (
    "INSERT INTO links (applicant, identifier, role, relation, first_seen, last_seen, count, name, source) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
    "first_seen = min(coalesce(first_seen, excluded.first_seen), "
    "coalesce(excluded.first_seen, first_seen)), "
    "last_seen = max(coalesce(last_seen, excluded.last_seen), "
    "coalesce(excluded.last_seen, last_seen)), "
    "count = count + excluded.count, "
    # the name and source of the newest sighting that gave one, whatever the order of arrival
    "name = CASE WHEN coalesce(excluded.last_seen, -1e18) >= coalesce(last_seen, -1e18) "
    "THEN coalesce(excluded.name, name) ELSE coalesce(name, excluded.name) END, "
    "source = CASE WHEN coalesce(excluded.last_seen, -1e18) >= coalesce(last_seen, -1e18) "
    "THEN coalesce(excluded.source, source) ELSE coalesce(source, excluded.source) END"
)


def _column(values: pd.Series | np.ndarray) -> list:
    """A column as a list SQLite can bind: numpy scalars unboxed, missing as None."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        missing = pd.isna(values)
        if missing.all():
            return [None] * len(values)
        if missing.any():
            values = values.copy()
            values[missing] = None  # NaN, NA and NaT alike (a third of a comprehension's time)
        return values.tolist()
    series = pd.Series(values)
    kind = series.dtype.kind
    missing = series.isna().to_numpy()
    if kind in "iub" and not missing.any():
        return series.astype(np.int64).tolist()
    if kind in "iuf":
        cast = int if kind in "iu" else float
        return [None if m else cast(v) for v, m in zip(series.to_numpy(object), missing)]
    if not missing.any():
        return series.astype(object).tolist()
    return [None if m else v for v, m in zip(series.astype(object).tolist(), missing)]


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


def _data_version(con: Connection) -> int:
    """Changes whenever another connection commits to the file."""
    return con.execute("PRAGMA data_version").fetchone()[0]


def _rows(*columns: pd.Series | np.ndarray) -> list[tuple]:
    return list(zip(*(_column(c) for c in columns)))


class Writer:
    """The write half of :class:`~graphsvc.store.embedded.EmbeddedStore`."""

    _con: Connection
    readonly: bool
    _applicant_cache: ApplicantIds
    _pending_applicants: dict[str, int]
    _known: Known | None  # stored hashes in memory during a bulk load
    path: Path

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
        if self._known is not None and _data_version(con) != self._known.version:
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
                _rows(
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
        self._con.executemany(f"INSERT INTO {table} VALUES ({marks})", _rows(ids, hashes[order], *picked))  # noqa: S608

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
        for statement, part in ((_UPSERT_LINK, order[~fresh]), (_INSERT_LINK, order[fresh])):
            if len(part):
                self._con.executemany(statement, zip(
                    agg["applicant"][part].tolist(), identifier[part].tolist(), agg["role"][part].tolist(),
                    agg["relation"][part].tolist(), staging.stamps(agg["first_seen"][part]),
                    staging.stamps(agg["last_seen"][part]), agg["count"][part].tolist(),
                    _column(agg["name"][part]), _column(agg["source"][part])))
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

    def write_application(self, application: dict, contacts: list[dict], checksum: str, *,
                          dry: bool = False) -> str:
        """Write one validated application and its contacts in one transaction, with
        the same hashes, links and manifest rows a loaded batch would give.

        ``application`` holds ``application_id, applicant_id, applied_at, digest``
        and ``id:<kind>`` values; contacts hold ``contact_phone, relation, source,
        contact_name, recorded_at``. Returns ``stored``, ``duplicate`` (the same
        content, contacts included, is already stored) or ``conflict`` (other content
        under the id, or contacts it was not stored with).
        """
        if self.readonly:
            raise StoreError("the store is open read-only")
        con = self._con
        app_hash = int(keys.salted("application", np.array([application["application_id"]], dtype=object))[0])
        con.execute("BEGIN IMMEDIATE")
        try:
            found = con.execute("SELECT key, digest FROM applications WHERE hash = ?", (app_hash,)).fetchone()
            if found is not None:
                if found[0] != application["application_id"]:
                    raise KeyCollisionError(f"application hash collision: {application['application_id']!r}")
                same = found[1] == application["digest"] and all(
                    con.execute("SELECT 1 FROM contact_records WHERE hash = ?", (fact,)).fetchone()
                    for fact in self._contact_facts(application["applicant_id"], contacts))
                con.execute("ROLLBACK")
                return "duplicate" if same else "conflict"
            if dry:
                con.execute("ROLLBACK")
                return "stored"
            applicant, created = self._one_applicant(application["applicant_id"])
            at = application["applied_at"]
            con.execute("INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (int(self._next_ids("applications", 1)[0]), app_hash, application["application_id"],
                         applicant, at, application["digest"], application.get("properties")))
            held = []
            for column in sorted(c for c in application if c.startswith("id:")):
                if application[column] is not None:
                    held.append(self._one_identifier(column[3:], application[column]))
                    con.execute(_UPSERT_LINK, (applicant, held[-1], str(LinkRole.OWN), "", at, at, 1, None, None))
            if application.get("consents") is not None:
                con.execute(_SET_CONSENTS, (application["consents"], at, applicant))
            new_contacts, listed = self._one_contacts(application["applicant_id"], applicant, contacts)
            held += listed
            self._hold(np.full(len(held), applicant), np.array(held, dtype=np.int64))
            if created:  # facts that came before the applicant's first application
                self._attached = {}
                self._attach([application["applicant_id"]])
            now = datetime.now(UTC).isoformat(timespec="seconds")
            con.execute("INSERT INTO manifest VALUES (?, ?, 1, 1, 'api', 'api', 1, 1, 0, 0, ?)",
                        (checksum, "applications", now))
            if contacts:
                con.execute("INSERT INTO manifest VALUES (?, ?, 1, ?, 'api', 'api', ?, ?, ?, 0, ?)",
                            (checksum, "contacts", len(contacts), len(contacts), new_contacts,
                             len(contacts) - new_contacts, now))
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        if self._applicant_cache.get(application["applicant_id"]) is None:
            self._applicant_cache.add([application["applicant_id"]], [applicant])
        return "stored"

    def _one_applicant(self, key: str) -> tuple[int, bool]:
        """The applicant's id, and whether this call created it."""
        known = self._applicant_cache.get(key)
        if known is None:
            row = self._con.execute("SELECT id FROM applicants WHERE key = ?", (key,)).fetchone()
            known = row[0] if row else None
        if known is not None:
            return known, False
        known = int(self._next_ids("applicants", 1)[0])
        self._con.execute("INSERT INTO applicants (id, key) VALUES (?, ?)", (known, key))
        return known, True

    def _one_identifier(self, kind: str, value: str) -> int:
        h = int(keys.identifier_ids(kind, np.array([value], dtype=object))[0])
        row = self._con.execute("SELECT id, kind, value FROM identifiers WHERE hash = ?", (h,)).fetchone()
        if row is not None:
            if (row[1], row[2]) != (kind, value):
                raise KeyCollisionError(f"identifier hash collision: {h}")
            return row[0]
        new = int(self._next_ids("identifiers", 1)[0])
        self._con.execute("INSERT INTO identifiers (id, hash, kind, value) VALUES (?, ?, ?, ?)", (new, h, kind, value))
        return new

    @staticmethod
    def _contact_facts(applicant_key: str, contacts: list[dict]) -> list[int]:
        """The fact hash of each contact row, as a loaded contacts file would give it."""
        if not contacts:
            return []
        columns = FACT_KEYS["contacts"][1]
        values = [[applicant_key if c == "applicant_id" else row.get(c) for row in contacts] for c in columns]
        return keys.row_ids("contacts", [np.array(v, dtype=object) for v in values]).tolist()

    def _one_contacts(self, applicant_key: str, applicant: int, contacts: list[dict]) -> tuple[int, list[int]]:
        """Contact facts of one application; links aggregated as a batch aggregates them.
        Returns the number of new contact rows and the ids of the phones linked."""
        if not contacts:
            return 0, []
        facts = self._contact_facts(applicant_key, contacts)
        fresh, seen_facts = [], set()
        for fact, row in zip(facts, contacts):
            if fact in seen_facts or self._con.execute(
                    "SELECT 1 FROM contact_records WHERE hash = ?", (fact,)).fetchone():
                continue
            seen_facts.add(fact)
            fresh.append(row)
            self._con.execute("INSERT INTO contact_records VALUES (?)", (fact,))
        links: dict[tuple[str, str], list[dict]] = {}
        for row in fresh:
            links.setdefault((row["contact_phone"], row["relation"]), []).append(row)
        listed = []
        for (phone, relation), rows in sorted(links.items()):
            ordered = sorted(rows, key=lambda r: -math.inf if r.get("recorded_at") is None else r["recorded_at"])
            times = [r["recorded_at"] for r in ordered if r.get("recorded_at") is not None]
            last = ordered[-1]
            listed.append(self._one_identifier("phone", phone))
            self._con.execute(_UPSERT_LINK, (
                applicant, listed[-1], str(LinkRole.CONTACT), relation,
                min(times) if times else None, max(times) if times else None, len(rows),
                last.get("contact_name"), last.get("source")))
        return len(fresh), listed

    def _split_known(self, table: str, rows: pd.DataFrame, columns: tuple[str, ...], prepared: dict):
        """Keep rows naming applicants the store does not know as pending. Returns the
        other rows, their applicant ids per column, and the rows newly kept and already
        kept (duplicates)."""
        ids = {c: self._row_applicants(rows, prepared, create=False) if c == "applicant_id"
               else self._applicant_ids(rows[c], create=False) for c in columns}
        missing = {c: found < 0 for c, found in ids.items()}
        if "applicant_id" in columns and "applicant_id" not in rows and any(m.any() for m in missing.values()):
            rows = rows.assign(applicant_id=prepared["applicant_keys"][rows["_a"].to_numpy(np.int64)])
        wait, key = staging.waiting(rows, missing)
        kept = repeated = 0
        if wait.any():
            records = staging.pending_records(table, rows.loc[wait], key[wait], int(time.time()))
            before = self._con.total_changes()
            self._con.executemany("INSERT OR IGNORE INTO pending (hash, tbl, waiting, since, body) "
                                  "VALUES (:hash, :table, :waiting, :since, :body)", records)
            kept = self._con.total_changes() - before
            repeated = int(wait.sum()) - kept
        keep = ~wait
        return rows.loc[keep].reset_index(drop=True), {c: v[keep] for c, v in ids.items()}, kept, repeated

    #: pending rows applied at a time when an applicant comes (memory stays bounded when
    #: a whole contacts file waited for the applications that now arrive)
    ATTACH_ROWS = 200_000

    def _attach(self, applicant_keys: list[str]) -> None:
        """Apply the pending facts that wait for these applicants (just stored, in this
        transaction), table by table and in pieces of :attr:`ATTACH_ROWS`, and drop them
        from ``pending``."""
        con = self._con
        if not applicant_keys or con.execute("SELECT 1 FROM pending LIMIT 1").fetchone() is None:
            return
        waiting = frame(con, "SELECT p.id, p.tbl FROM carray(?) k JOIN pending p ON p.waiting = k.value",
                        (sql.texts(np.asarray(applicant_keys, dtype=object)),))
        for table in staging.PENDING_COLUMNS:
            ids = np.sort(waiting.loc[waiting["tbl"] == table, "id"].to_numpy(np.int64))
            for start in range(0, len(ids), self.ATTACH_ROWS):
                part = sql.ints(ids[start:start + self.ATTACH_ROWS])
                records = frame(con, "SELECT since, body FROM pending WHERE id IN carray(?)",
                                (part,)).to_dict("records")
                con.execute("DELETE FROM pending WHERE id IN carray(?)", (part,))
                rows, prepared = self.stage(table, staging.pending_frame(table, records))
                pending = getattr(self, f"_apply_{table}")(rows, prepared)[3]
                self._attached[table] = self._attached.get(table, 0) + len(records) - pending

    def _apply_applicants(self, rows: pd.DataFrame, prepared: dict) -> tuple[int, int, pd.DataFrame, int]:
        rows = rows.drop_duplicates("applicant_id", keep="last")
        pending_before = len(self._pending_applicants)
        ids = self._applicant_ids(rows["applicant_id"], create=True)
        new = len(self._pending_applicants) - pending_before
        changed = 0
        if "properties" in rows and rows["properties"].notna().any():
            before = self._con.total_changes()
            self._con.executemany(
                "UPDATE applicants SET properties = ? WHERE id = ? AND properties IS NOT ?",
                [(p, i, p) for p, i in zip(_column(rows["properties"]), ids.tolist())],
            )
            changed = self._con.total_changes() - before
        loaded = max(new, changed)
        self._attach(list(self._pending_applicants)[pending_before:])
        return loaded, len(rows) - loaded, _NO_REJECTS, 0

    def _apply_applications(self, rows: pd.DataFrame, prepared: dict) -> tuple[int, int, pd.DataFrame, int]:
        rows, duplicates, repeated = staging.repeated_applications(rows)
        hashes = rows["_fact"].to_numpy(np.int64)
        stored = self._probe("applications", hashes, "t.hash, t.key, t.digest").set_index("hash")
        known_key = pd.Series(hashes).map(stored["key"]) if len(stored) else pd.Series([None] * len(rows))
        clash = known_key.notna().to_numpy() & (known_key.to_numpy() != rows["application_id"].to_numpy())
        if clash.any():
            raise KeyCollisionError(f"application hash collision: {rows.loc[clash, 'application_id'].tolist()[:3]}")
        old_digest = pd.Series(hashes).map(stored["digest"]).to_numpy() if len(stored) else np.full(len(rows), np.nan)
        new, same, conflicting = staging.stored_applications(rows, old_digest)
        duplicates += same
        rejects = [repeated, conflicting]
        rows, hashes = rows.loc[new].reset_index(drop=True), hashes[new]
        new_from = int(self._next_ids("applicants", 1)[0])  # applicants created from here on are new
        applicant = self._row_applicants(rows, prepared, create=True)
        properties = rows["properties"] if "properties" in rows else pd.Series([None] * len(rows))
        self._insert_facts("applications", hashes, rows["application_id"], applicant,
                           rows["applied_at"], rows["digest"], properties)
        self._add_links("applications", rows, applicant, new_from)
        self._record_consents(applicant, rows)
        self._attach([k for k, i in self._pending_applicants.items() if i >= new_from])
        return len(rows), duplicates, pd.concat(rejects, ignore_index=True), 0

    def _record_consents(self, applicant: np.ndarray, rows: pd.DataFrame) -> None:
        """Each applicant's consents become those of its newest application that states
        them (an older application loaded later changes nothing)."""
        self._con.executemany(_SET_CONSENTS, [(scopes, at, who) for who, scopes, at
                                              in staging.stated_consents(applicant, rows)])

    def _fresh(self, table: str, rows: pd.DataFrame, records: str, prepared: dict,
               applicant_columns: tuple[str, ...] = ("applicant_id",)):
        """Rows naming known applicants whose fact (staged ``_fact`` hash) is new; rows
        naming unknown ones are kept pending.

        Returns the rows, their applicant ids per column, their fact hashes, the
        number of duplicates and the number of rows newly kept pending.
        """
        rows, ids, kept, repeated = self._split_known(table, rows, applicant_columns, prepared)
        fact = rows["_fact"].to_numpy(np.int64)
        new = self._new_facts(records, fact)
        fresh_ids = {c: v[new] for c, v in ids.items()}
        return rows.loc[new].reset_index(drop=True), fresh_ids, fact[new], int((~new).sum()) + repeated, kept

    def _apply_identifiers(self, rows: pd.DataFrame, prepared: dict):
        return self._apply_sightings("identifiers", "sighting_records", rows, prepared)

    def _apply_contacts(self, rows: pd.DataFrame, prepared: dict):
        return self._apply_sightings("contacts", "contact_records", rows, prepared)

    def _apply_sightings(self, table: str, records: str, rows: pd.DataFrame, prepared: dict):
        """Identifier or contact rows: facts kept by hash only, their content in links."""
        rows, ids, fact, duplicates, pending = self._fresh(table, rows, records, prepared)
        self._record_facts(records, fact)
        self._add_links(table, rows, ids["applicant_id"])
        return len(rows), duplicates, _NO_REJECTS, pending

    def _apply_outcomes(self, rows: pd.DataFrame, prepared: dict):
        rows, ids, fact, duplicates, pending = self._fresh("outcomes", rows, "outcomes", prepared)
        phone_id = np.full(len(rows), None, dtype=object)
        has_phone = rows["phone"].notna().to_numpy()
        if has_phone.any():
            phone_id[has_phone] = self._identifier_ids(
                np.full(int(has_phone.sum()), "phone", dtype=object),
                rows.loc[has_phone, "phone"].to_numpy(object),
                rows.loc[has_phone, "_h"].to_numpy(np.int64)).tolist()
        self._insert_facts("outcomes", fact, ids["applicant_id"], rows["outcome"], rows["observed_at"], phone_id)
        return len(rows), duplicates, _NO_REJECTS, pending

    def _apply_relations(self, rows: pd.DataFrame, prepared: dict):
        ends = ("src_applicant_id", "dst_applicant_id")
        rows, ids, fact, duplicates, pending = self._fresh("relations", rows, "relations", prepared,
                                                           applicant_columns=ends)
        self._insert_facts("relations", fact, ids[ends[0]], ids[ends[1]], rows["type"], rows["at"], rows["amount"])
        return len(rows), duplicates, _NO_REJECTS, pending

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
                                _data_version(con))
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
