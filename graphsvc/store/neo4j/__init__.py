"""Neo4j store of record: the official driver, Cypher from ``queries/``, GDS for analytics.

Every statement is a named query of the library (:mod:`graphsvc.store.neo4j.queries`) run
with parameters in a managed transaction. A batch is one write transaction, with
its manifest entry, so a killed load leaves whole batches only; the driver may
retry a transaction, which is safe because each one re-reads what is stored
before it writes (idempotent). Writing is in :mod:`.writer`, reading in
:mod:`.reader`, runs in :mod:`.results`, whole-graph algorithms on GDS in
:mod:`.algorithms`.

Requires Neo4j 5.26 or newer (dynamic labels, ``CALL () {}`` scopes, ``SHORTEST``)
and, for re-scoring, the Graph Data Science plugin (2.x).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pandas as pd

from graphsvc.errors import ConfigurationError, StoreError
from graphsvc.settings import Settings
from graphsvc.store.base import Store
from graphsvc.store.neo4j import queries
from graphsvc.store.neo4j.reader import Reader
from graphsvc.store.neo4j.results import Results
from graphsvc.store.neo4j.tx import frame, run
from graphsvc.store.neo4j.writer import Writer

T = TypeVar("T")
SCHEMA = tuple(q.name for q in queries.library() if q.name.startswith("schema/"))


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """The driver's errors as :class:`StoreError`, naming the query that failed (the
    note :func:`.tx.run` adds). Outside the managed transaction, so that the driver
    still retries what it deems transient before anything is translated."""
    from neo4j.exceptions import DriverError, Neo4jError

    try:
        yield
    except (DriverError, Neo4jError) as exc:
        where = "; ".join(getattr(exc, "__notes__", [])) or "no named query"
        raise StoreError(f"Neo4j {operation} failed ({where}): {exc}") from exc


class Neo4jStore(Writer, Reader, Results, Store):
    """The store on a Neo4j database.

    Parameters
    ----------
    driver : neo4j.Driver
        An open driver (or a test double with the same session interface).
    database : str
        The database to use.
    readonly : bool
        Refuse writes.
    """

    #: a transaction holds its whole batch in the server's transaction memory (70% of the
    #: heap by default): 200,000 contacts in one batch overran a 4 GB heap, 50,000 rows fit in 2 GB
    max_batch_rows = 50_000

    def __init__(self, driver: Any, database: str = "neo4j", *, readonly: bool = False) -> None:
        self._driver = driver
        self._database = database
        self.readonly = readonly
        self._gds: Any = None
        if not readonly:
            self._write(lambda tx: [run(tx, name) for name in SCHEMA])

    @classmethod
    def connect(cls, settings: Settings, *, readonly: bool = False) -> Neo4jStore:
        """Open a driver from ``GRAPHSVC_NEO4J_*`` settings and check the server answers."""
        if not settings.neo4j_uri:
            raise ConfigurationError("the neo4j backend needs GRAPHSVC_NEO4J_URI (e.g. neo4j://localhost:7687)")
        import neo4j

        password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else ""
        # no per-query notifications: on a young database every property not yet written is a warning
        driver = neo4j.GraphDatabase.driver(settings.neo4j_uri, auth=(settings.neo4j_user, password),
                                            notifications_min_severity="OFF")
        try:
            driver.verify_connectivity()
        except Exception as exc:
            driver.close()
            raise StoreError(f"cannot reach Neo4j at {settings.neo4j_uri}: {exc}") from exc
        return cls(driver, settings.neo4j_database, readonly=readonly)

    def _read(self, name: str, **parameters: Any) -> list[dict]:
        return self._read_all(lambda tx: run(tx, name, **parameters))

    def _read_all(self, work: Callable[[Any], T]) -> T:
        with _translated("read"), self._driver.session(database=self._database,
                                                       default_access_mode="READ") as session:
            return session.execute_read(work)

    def _write(self, work: Callable[[Any], T]) -> T:
        if self.readonly:
            raise StoreError("the store is open read-only")
        with _translated("write"), self._driver.session(database=self._database) as session:
            return session.execute_write(work)

    def forget(self, plans: list, entries: list[dict]) -> list[dict[str, int]]:
        if self.readonly:
            raise StoreError("the store is open read-only")
        from graphsvc.store.neo4j import erasure

        return [erasure.forget(self, plan, entry) for plan, entry in zip(plans, entries)]

    def forget_contacts(self, plan, entry: dict) -> dict[str, int]:
        if self.readonly:
            raise StoreError("the store is open read-only")
        from graphsvc.store.neo4j import erasure

        return erasure.forget_contacts(self, plan, entry)

    def stale_contacts(self, source: str | None, before: int) -> pd.DataFrame:
        return frame(self._read("store/stale_contacts", source=source, before=int(before)),
                     ["applicant_id", "value", "last_seen"])

    def tombstones(self) -> frozenset[str]:
        rows = self._read("store/tombstones")
        return frozenset(rows[0]["digests"]) if rows else frozenset()

    def tombstoned(self, digests: list[str]) -> frozenset[str]:
        return frozenset(r["digest"] for r in self._read("store/tombstoned", digests=list(digests)))

    def algorithms(self):
        """Whole-graph algorithms on Graph Data Science (:class:`.algorithms.GdsAlgorithms`)."""
        from graphsvc.store.neo4j.algorithms import GdsAlgorithms

        if self._gds is None:
            from graphdatascience import GraphDataScience

            self._gds = GraphDataScience(self._driver, database=self._database)
        return GdsAlgorithms(self._gds.run_cypher)

    speaks_cypher = True

    def query(self, name: str, **parameters: Any) -> list[dict]:
        """Run a named query of the library (read-only), e.g. ``investigate/contact_cycles``."""
        return self._read(name, **parameters)

    def close(self) -> None:
        self._driver.close()
