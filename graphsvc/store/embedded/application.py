"""Writing one application, as score-on-write posts it, into the embedded store.

In: one validated application with its contacts (:mod:`graphsvc.online.intake`) and the
checksum that names it. Out: ``stored``, ``duplicate`` or ``conflict``, the
application, its identifiers, links and contacts written in one transaction exactly
as a loaded batch would write them (the same hashes, links and consents), so that a
later load of the same rows is a no-op.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from graphsvc.errors import KeyCollisionError, StoreError
from graphsvc.ingest import keys
from graphsvc.ingest.contract import LinkRole
from graphsvc.store.embedded.known import WriterState
from graphsvc.store.embedded.sql import (
    SET_CONSENTS,
    UPSERT_LINK,
)
from graphsvc.store.staging import FACT_KEYS


class OneApplication(WriterState):
    """The score-on-write half of :class:`~graphsvc.store.embedded.writer.Writer`."""

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
                    con.execute(UPSERT_LINK, (applicant, held[-1], str(LinkRole.OWN), "", at, at, 1, None, None))
            if application.get("consents") is not None:
                con.execute(SET_CONSENTS, (application["consents"], at, applicant))
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
            self._con.execute(UPSERT_LINK, (
                applicant, listed[-1], str(LinkRole.CONTACT), relation,
                min(times) if times else None, max(times) if times else None, len(rows),
                last.get("contact_name"), last.get("source")))
        return len(fresh), listed
