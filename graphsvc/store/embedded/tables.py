"""Applying one loaded batch of each table to the embedded store.

In: a staged batch (rows with their hashes, applicant codes and prepared columns, see
:mod:`graphsvc.store.staging`). Out: rows loaded, duplicates, the store's own rejects
and the facts kept pending until their applicant arrives; facts attached when it does.
Each method runs inside the transaction :class:`~graphsvc.store.embedded.writer.Writer`
holds for the batch.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from graphsvc.errors import KeyCollisionError
from graphsvc.store import staging
from graphsvc.store.base import REJECT_COLUMNS
from graphsvc.store.embedded import sql
from graphsvc.store.embedded.known import WriterState
from graphsvc.store.embedded.sql import (
    SET_CONSENTS,
    bindable,
    frame,
)

NO_REJECTS = pd.DataFrame(columns=REJECT_COLUMNS)


class Tables(WriterState):
    """The per-table half of :class:`~graphsvc.store.embedded.writer.Writer`."""

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
                [(p, i, p) for p, i in zip(bindable(rows["properties"]), ids.tolist())],
            )
            changed = self._con.total_changes() - before
        loaded = max(new, changed)
        self._attach(list(self._pending_applicants)[pending_before:])
        return loaded, len(rows) - loaded, NO_REJECTS, 0

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
        self._con.executemany(SET_CONSENTS, [(scopes, at, who) for who, scopes, at
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
        return len(rows), duplicates, NO_REJECTS, pending

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
        return len(rows), duplicates, NO_REJECTS, pending

    def _apply_relations(self, rows: pd.DataFrame, prepared: dict):
        ends = ("src_applicant_id", "dst_applicant_id")
        rows, ids, fact, duplicates, pending = self._fresh("relations", rows, "relations", prepared,
                                                           applicant_columns=ends)
        self._insert_facts("relations", fact, ids[ends[0]], ids[ends[1]], rows["type"], rows["at"], rows["amount"])
        return len(rows), duplicates, NO_REJECTS, pending
