"""Erasure on the embedded store: one transaction, deleted content overwritten.

With ``secure_delete`` SQLite overwrites the cells it deletes and the pages it
frees with zeros. Earlier updates (a link seen again, a name replaced) left older
copies of rows in the free space of their pages, so after the commit the file is
rewritten (``VACUUM``) and a truncating checkpoint empties the write-ahead log,
which held older copies too. The rewrite reads and writes the whole file once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from graphsvc.errors import NotFoundError, StoreError
from graphsvc.store.embedded import sql
from graphsvc.store.embedded.sql import Connection

#: (what is counted, statement) in order; `:who` is the applicant's row id, `:key` its key,
#: `:ids` the JSON list of the removed identifiers' row ids. First the person's links ...
_LINKS = (
    ("links", "DELETE FROM links WHERE applicant = :who OR identifier IN (SELECT value FROM json_each(:ids))"),
    ("holders", "DELETE FROM holders WHERE applicant = :who OR identifier IN (SELECT value FROM json_each(:ids))"),
)
#: ... the removed identifiers (every erasure) ...
_IDENTIFIERS = (
    ("outcome phones", "UPDATE outcomes SET phone = NULL WHERE phone IN (SELECT value FROM json_each(:ids))"),
    ("identifiers", "DELETE FROM identifiers WHERE id IN (SELECT value FROM json_each(:ids))"),
)
#: ... and the person's facts and results
_FACTS = (
    ("applications", "DELETE FROM applications WHERE applicant = :who"),
    ("outcomes", "DELETE FROM outcomes WHERE applicant = :who"),
    ("relations", "DELETE FROM relations WHERE src = :who OR dst = :who"),
    ("pending", "DELETE FROM pending WHERE waiting = :key"),
    ("scores", "DELETE FROM scores WHERE applicant_id = :key"),
    ("ring memberships", "DELETE FROM ring_members WHERE applicant_id = :key"),
    ("reviews", "DELETE FROM reviews WHERE applicant_id = :key"),
    ("applicants", "DELETE FROM applicants WHERE id = :who"),
)


def forget(store, plan, entry: dict) -> dict[str, int]:
    """Apply ``plan`` (:class:`graphsvc.people.erasure.Plan`) to the embedded ``store`` and
    record ``entry`` in its audit trail, in one transaction (:func:`compact` after)."""
    def work(con: Connection, done: dict[str, int]) -> None:
        row = con.execute("SELECT id FROM applicants WHERE key = ?", (plan.applicant_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no applicant {plan.applicant_id!r}")
        removed = _identifier_ids(store, plan.identifiers)
        _run(con, _LINKS + _IDENTIFIERS + _FACTS, {"who": row[0], "key": plan.applicant_id,
                                                   "ids": json.dumps(removed)}, done)
        done["pending"] += _pending_naming(con, [v for _, v in plan.identifiers])

    return _erase(store, work, plan, entry)


def forget_contacts(store, plan, entry: dict) -> dict[str, int]:
    """Apply a :class:`graphsvc.people.erasure.ContactPlan` (contact links past retention) and
    record ``entry``, in one transaction (:func:`compact` after)."""
    def work(con: Connection, done: dict[str, int]) -> None:
        phones = [("phone", p) for _, p in plan.contacts]
        listings = json.dumps([[a, h] for (a, _), h in zip(plan.contacts, store._identifier_hashes(phones))])
        listed = "(SELECT a.id, i.id FROM json_each(?) j JOIN applicants a ON a.key = j.value ->> 0 " \
                 "JOIN identifiers i ON i.hash = j.value ->> 1)"
        before = con.total_changes()
        con.execute(f"DELETE FROM links WHERE role = 'contact' AND (applicant, identifier) IN {listed}", (listings,))
        done["links"] = con.total_changes() - before
        before = con.total_changes()
        con.execute("DELETE FROM holders WHERE (applicant, identifier) IN "
                    f"{listed} AND NOT EXISTS (SELECT 1 FROM links l WHERE l.applicant = holders.applicant "
                    "AND l.identifier = holders.identifier)", (listings,))
        done["holders"] = con.total_changes() - before
        _run(con, _IDENTIFIERS, {"ids": json.dumps(_identifier_ids(store, plan.identifiers))}, done)

    return _erase(store, work, plan, entry)


def _erase(store, work, plan, entry: dict) -> dict[str, int]:
    """One erasure transaction with deleted content overwritten: ``work`` deletes, then
    hubs on removed identifiers go, reasons are rewritten, tombstones and the audit row
    are written."""
    con: Connection = store._con
    con.execute("PRAGMA secure_delete = ON")
    done: dict[str, int] = {}
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            work(con, done)
            done["hubs"] = _delete_hubs(con, plan.identifiers)
            done["reasons rewritten"] = _rewrite_reasons(con, plan.replacements)
            now = datetime.now(UTC).isoformat(timespec="seconds")
            con.executemany("INSERT OR IGNORE INTO tombstones VALUES (?, ?, ?)",
                            [(d, what, now) for d, what in plan.tombstones])
            store.record_access(entry)
            con.execute("COMMIT")
        except sql.Error as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"{store.path}: the erasure failed and was rolled back: {exc}") from exc
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
    finally:
        con.execute("PRAGMA secure_delete = OFF")
    return done


def compact(store) -> None:
    """Rewrite the database file (``VACUUM``, with deleted content overwritten) and empty
    the write-ahead log: older copies of erased rows, which earlier updates left in
    free space of their pages, go too."""
    con: Connection = store._con
    con.execute("PRAGMA secure_delete = ON")
    try:
        con.execute("VACUUM")
    finally:
        con.execute("PRAGMA secure_delete = OFF")
    busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise StoreError(f"{store.path}: erased, but a reader kept the write-ahead log from being emptied; "
                         "stop the processes that hold the store and run `graphsvc subject forget` again")


def _run(con: Connection, statements: tuple, params: dict, done: dict[str, int]) -> None:
    """Run counted statements, adding what each changed to ``done``."""
    for what, statement in statements:
        before = con.total_changes()
        con.execute(statement, params)
        done[what] = done.get(what, 0) + con.total_changes() - before


def _identifier_ids(store, identifiers: list[tuple[str, str]]) -> list[int]:
    hashes = store._identifier_hashes(identifiers)
    return [r[0] for r in store._con.execute(
        "SELECT id FROM identifiers WHERE hash IN (SELECT value FROM json_each(?))", (json.dumps(hashes),))]


def _pending_naming(con: Connection, values: list[str]) -> int:
    """Pending facts of others that hold a removed value (a contact listing the phone)."""
    gone = 0
    for value in values:
        before = con.total_changes()
        con.execute("DELETE FROM pending WHERE instr(body, ?) > 0", (json.dumps(value, ensure_ascii=False),))
        gone += con.total_changes() - before
    return gone


def _delete_hubs(con: Connection, identifiers: list[tuple[str, str]]) -> int:
    before = con.total_changes()
    con.executemany("DELETE FROM hubs WHERE kind = ? AND value = ?", identifiers)
    return con.total_changes() - before


def _rewrite_reasons(con: Connection, replacements: list[tuple[str, str]]) -> int:
    """Other applicants' reasons that name the person or a removed value, rewritten
    (every replacement in one pass over the scores)."""
    if not replacements:
        return 0
    rewritten = "reasons"
    for i in range(len(replacements)):
        rewritten = f"replace({rewritten}, ?{2 * i + 1}, ?{2 * i + 2})"
    named = " OR ".join(f"instr(reasons, ?{2 * i + 1}) > 0" for i in range(len(replacements)))
    before = con.total_changes()
    con.execute(f"UPDATE scores SET reasons = {rewritten} WHERE {named}",  # noqa: S608 - placeholders only
                [part for pair in replacements for part in pair])
    return con.total_changes() - before
