"""Embedded store of record: one SQLite file in WAL mode.

Several processes may read while one writes. Writing is in :mod:`.writer`, one
``BEGIN IMMEDIATE`` transaction per batch; reading by natural keys in :mod:`.reader`.
"""

from __future__ import annotations

import functools
import inspect
import json
from importlib import resources
from pathlib import Path

from graphsvc.errors import StoreError
from graphsvc.files import private
from graphsvc.store.base import Store
from graphsvc.store.embedded.checkpoint import Checkpointer
from graphsvc.store.embedded.known import ApplicantIds
from graphsvc.store.embedded.reader import Reader
from graphsvc.store.embedded.results import Results
from graphsvc.store.embedded.sql import Connection, Error, connect
from graphsvc.store.embedded.writer import Writer

SCHEMA_VERSION = "5"
PAGE_SIZE = 16_384
MMAP_BYTES = 1 << 40  # address space, not memory: the pages read stay in the OS page cache


class EmbeddedStore(Writer, Reader, Results, Store):
    """The default store: a single SQLite file, created on first open.

    Parameters
    ----------
    path : str or Path
        The database file.
    readonly : bool
        Open without write access (the file must exist).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        try:
            self._open(readonly)
        except Error as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc

    def _open(self, readonly: bool) -> None:
        if readonly:
            if not self.path.exists():
                raise StoreError(f"no store at {self.path}")
            self._con = connect(self.path, readonly=True)
        else:
            # owner-only before SQLite writes a byte; its -wal and -shm files take the same mode
            private(self.path)
            self._con = connect(self.path)
        self.readonly = readonly
        # The connection may move between threads (the API's event loop, test clients):
        # callers use a store from one thread at a time.
        # Applicant key -> id never changes once committed, so this cache stays valid
        # whatever other writers do; entries of the open batch join it on commit.
        self._applicant_cache = ApplicantIds()
        self._pending_applicants: dict[str, int] = {}  # applicants created by the open transaction
        self._attached: dict[str, int] = {}  # pending facts the open batch attached, by table
        self._known = None
        con = self._con
        if not readonly:
            # 16 KiB pages (for a new file; an existing one keeps its own): loading a
            # million applicants took a third less time than with 4 KiB pages, the
            # re-score read the graph faster, score-on-write stayed about as fast
            con.execute(f"PRAGMA page_size={PAGE_SIZE}")
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-1000000")  # up to 1 GB, allocated as used
        con.execute("PRAGMA temp_store=MEMORY")
        # Reads straight from the file's pages in memory: a connection's own page cache is
        # dropped whenever another connection commits (every score-on-write of another
        # worker), and re-reading it with a system call per page cost more than the scoring
        con.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        if not readonly:
            schema = resources.files("graphsvc.store.embedded").joinpath("schema.sql").read_text()
            con.execute(schema)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                (SCHEMA_VERSION,),
            )
            _upgrade(con)
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or version[0] != SCHEMA_VERSION:
            found = "none" if version is None else version[0]
            raise StoreError(f"{self.path}: schema version {found} is not {SCHEMA_VERSION}"
                             + (" (open it once writable to upgrade it)" if found in ("1", "2", "3", "4") else ""))

    def forget(self, plans: list, entries: list[dict]) -> list[dict[str, int]]:
        if self.readonly:
            raise StoreError("the store is open read-only")
        from graphsvc.store.embedded import erasure

        done = [erasure.forget(self, plan, entry) for plan, entry in zip(plans, entries)]
        self._applicant_cache = ApplicantIds()  # the erased applicants' ids are no longer valid
        erasure.compact(self)  # once, after every plan
        return done

    def forget_contacts(self, plan, entry: dict) -> dict[str, int]:
        if self.readonly:
            raise StoreError("the store is open read-only")
        from graphsvc.store.embedded import erasure

        done = erasure.forget_contacts(self, plan, entry)
        erasure.compact(self)
        return done

    def tombstones(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._con.execute("SELECT digest FROM tombstones"))

    def tombstoned(self, digests: list[str]) -> frozenset[str]:
        return frozenset(r[0] for r in self._con.execute(
            "SELECT digest FROM tombstones WHERE digest IN (SELECT value FROM json_each(?))", (json.dumps(digests),)))

    def background_checkpoints(self) -> Checkpointer:
        """Checkpoint the write-ahead log from a thread until the returned object is stopped
        (the API's score-on-write commits often; requests then never wait for it)."""
        return Checkpointer(self.path, self._con)

    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._con.close()


def _translated(name: str, method):
    """``method`` raising :class:`StoreError` (naming the file and the operation) where
    SQLite raised its own error, so that nothing above the store sees APSW's."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Error as exc:
            raise StoreError(f"{self.path}: {name} failed: {exc}") from exc

    return call


# SQLite's errors end at this edge: every public method of the store translates them
for _name in sorted({n for cls in EmbeddedStore.__mro__[:-1] for n, v in vars(cls).items()
                     if not n.startswith("_") and inspect.isfunction(v)}):
    setattr(EmbeddedStore, _name, _translated(_name, getattr(EmbeddedStore, _name)))


def _upgrade(con: Connection) -> None:
    """Bring an older store to this schema version in one transaction. From 1:
    ``holders`` filled from the links, in place of the links-by-identifier index.
    From 2: the audit trail's ``reason`` column (refused calls). From 3: the ``pending``
    table (facts waiting for their applicant) and the ``promotions`` log (which run is
    served), which the schema script creates, and the audit trail's ``revealed`` column
    (digests of the numbers a response showed in full). From 4: the applicants'
    ``consents`` and ``consents_at`` columns (filled from no application: consents
    stated before version 5 were not read)."""
    version = "SELECT value FROM meta WHERE key = 'schema_version'"
    if con.execute(version).fetchone()[0] not in ("1", "2", "3", "4"):
        return
    con.execute("BEGIN IMMEDIATE")
    try:
        found = con.execute(version).fetchone()[0]
        if found in ("1", "2", "3", "4"):  # not upgraded by another process meanwhile
            if found == "1":
                con.execute("INSERT OR IGNORE INTO holders SELECT identifier, applicant FROM links "
                            "ORDER BY identifier, applicant")
                con.execute("DROP INDEX IF EXISTS links_by_identifier")
            columns = {row[1] for row in con.execute("PRAGMA table_info(audit)")}
            if "reason" not in columns:
                con.execute("ALTER TABLE audit ADD COLUMN reason TEXT")
            if "revealed" not in columns:
                con.execute("ALTER TABLE audit ADD COLUMN revealed TEXT")
            held = {row[1] for row in con.execute("PRAGMA table_info(applicants)")}
            for column, kind in (("consents", "TEXT"), ("consents_at", "INTEGER")):
                if column not in held:
                    con.execute(f"ALTER TABLE applicants ADD COLUMN {column} {kind}")
            con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
