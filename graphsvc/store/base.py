"""The store-of-record interface that every backend implements.

A store receives validated, normalised batches from the loader (one table, one
row range of one file at a time) and applies each atomically together with its
manifest row, so a killed load leaves whole batches only and a re-run skips what
is done. Reads are by natural keys (applicant ids, identifier kind and value),
never by a backend's internal ids.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from graphsvc.contract import CONTACT_SOURCES
from graphsvc.errors import ConfigurationError

REJECT_COLUMNS = ["row", "column", "reason", "detail"]
#: what a store without Cypher answers a named query
NO_CYPHER = "named Cypher queries run on the neo4j backend only (GRAPHSVC_BACKEND=neo4j)"
#: the detail of a field left out while its row loaded (a quarantined field, not a rejected row)
QUARANTINED = "left out, the row loaded without it: "


def quarantined(rejects: pd.DataFrame) -> np.ndarray:
    """Bool per line of ``rejects``: a field left out of a row that loaded."""
    return rejects["detail"].astype(str).str.startswith(QUARANTINED).to_numpy(dtype=bool)


def rejected_rows(rejects: pd.DataFrame) -> int:
    """Rows rejected whole among ``rejects`` (quarantined fields leave their row loaded)."""
    if not len(rejects):
        return 0
    return int(rejects.loc[~quarantined(rejects), "row"].nunique())


def with_none(column: pd.Series) -> pd.Series:
    """``column`` with its missing values as None (object dtype), as both stores return optional text."""
    return column.astype(object).where(column.notna(), None)

#: columns of every link frame a store returns
LINK_COLUMNS = [
    "applicant_id", "kind", "value", "role", "relation", "first_seen", "last_seen", "count",
    "name", "source", "consents",  # consents: the applicant's (graphsvc.consent)
]


@dataclass(frozen=True)
class BatchOrigin:
    """Where a batch came from: the manifest entry it writes."""

    source: str  # mapping name, or "canonical" for contract files
    file: str
    checksum: str  # of the file's bytes and the mapping that read it
    table: str
    start_row: int  # first data row (1-based) of the batch
    end_row: int  # last data row of the batch
    rows_read: int


@dataclass
class Batch:
    """Valid rows of one table plus the rows the loader already rejected."""

    origin: BatchOrigin
    rows: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    prepared: dict | None = None  # what Store.stage gave beside the rows; None: not staged yet


@dataclass(frozen=True)
class BatchResult:
    """What applying a batch did."""

    loaded: int
    duplicates: int
    rejects: pd.DataFrame  # every rejected row of the batch, loader's and store's
    pending: int = 0  # rows kept until their applicant is loaded (pending facts)
    attached: dict[str, int] = field(default_factory=dict)  # pending rows of earlier batches attached, by table


@dataclass
class GraphArrays:
    """The whole graph as integer arrays, the input of every analytic.

    Applicants and identifiers are numbered by position (0-based); links are one
    entry per (applicant, identifier, role). ``identifier_ref`` keeps the store's
    own identifier id so that values are fetched only for the few that a result
    shows (:meth:`Store.identifier_values`).
    """

    applicants: np.ndarray  # applicant_id by position
    kinds: tuple[str, ...]  # identifier kind by code
    identifier_kind: np.ndarray  # int8 code by identifier position
    identifier_ref: np.ndarray  # int64 store id by identifier position
    link_applicant: np.ndarray  # int32
    link_identifier: np.ndarray  # int32
    link_contact: np.ndarray  # bool: the applicant listed the phone as a contact
    link_first_seen: np.ndarray  # float seconds the link was first seen, NaN when undated
    outcome_applicant: np.ndarray  # int32
    outcome: np.ndarray  # outcome names
    outcome_at: np.ndarray  # float seconds, NaN when undated
    application_applicant: np.ndarray  # int32
    application_at: np.ndarray  # int64 seconds
    relation_src: np.ndarray | None = None  # int32: applicant-applicant relations (transfers, referrals ...)
    relation_dst: np.ndarray | None = None  # int32
    relation_type: np.ndarray | None = None  # relation type names
    relation_at: np.ndarray | None = None  # float seconds, NaN when undated
    #: a scoring neighbourhood (:mod:`graphsvc.neighbourhood`) holds only some applicants:
    #: identifier values, and per identifier the number of applicants linked to it in the
    #: whole store as far as it was counted (hubs are counted, not fetched)
    identifier_value: np.ndarray | None = None
    identifier_degree: np.ndarray | None = None
    #: int8 per link: the contact source (:data:`SOURCE_CODES`; 0 when not stated or an
    #: own link), and per applicant the consents stated (canonical text, None when never
    #: stated): what the consent rules read
    link_source: np.ndarray | None = None
    applicant_consents: np.ndarray | None = None


#: a link's contact source as ``GraphArrays.link_source`` codes it (0: not stated, or an own link)
SOURCE_CODES = {name: code for code, name in enumerate(CONTACT_SOURCES, 1)}
#: code -> source name (None for 0)
SOURCE_NAMES = (None, *CONTACT_SOURCES)

#: columns of the relation frames a store returns
RELATION_COLUMNS = ["src_applicant_id", "dst_applicant_id", "type", "at", "amount"]

def require_applicant(store: Store, applicant_id: str) -> None:
    """Raise :class:`~graphsvc.errors.NotFoundError` unless the store holds the applicant."""
    from graphsvc.errors import NotFoundError

    if not len(store.applicants([applicant_id])):
        raise NotFoundError(f"no applicant {applicant_id!r}")


def access_entry(caller: str, role: str, route: str, method: str, status: int, subjects: list[str], *,
                 purpose: str | None = None, reason: str | None = None, revealed: list[str] = ()) -> dict:
    """One audit row for :meth:`Store.record_access`, timed now: who (``caller``, ``role``),
    through what (``route``, ``method``, ``status``), about whom (``subjects``), why
    (``purpose``), why refused (``reason``) and the keyed digests of the numbers shown in
    full (``revealed``)."""
    return {"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "caller": caller, "role": role,
            "route": route, "method": method, "status": status, "subjects": sorted(set(subjects)),
            "purpose": purpose, "reason": reason, "revealed": sorted(set(revealed))}


#: columns of a review request (graphsvc.decision)
REVIEW_COLUMNS = ["review_id", "applicant_id", "application_id", "requested_at", "requested_by", "reason", "status",
                  "closed_at", "closed_by", "outcome", "note"]
#: columns of the promotion log (which run is served, and why)
PROMOTION_COLUMNS = ["at", "run_id", "action", "reason", "replaces"]
#: actions of the promotion log that make their run the served one (:meth:`Store.served_run`)
SERVING = ("promote", "rollback")

#: result tables of a re-score run and their columns (keyed by natural keys)
RUN_TABLES = {
    "scores": ["applicant_id", "score", "band", "ring_id", "reasons"],
    "rings": ["ring_id", "size", "risk", "fraud", "default", "features"],
    "ring_members": ["ring_id", "applicant_id"],
    "hubs": ["kind", "value", "role", "degree", "fraud", "fraud_share", "verdict"],
}


class Store(ABC):
    """Store of record. Implementations: embedded (SQLite) and neo4j."""

    #: the most rows one load batch (one transaction) may hold on this store, or None for
    #: no limit beyond ``GRAPHSVC_BATCH_ROWS``; a constant, so that batch boundaries (and
    #: so resuming an interrupted load) stay the same from run to run
    max_batch_rows: int | None = None
    #: whether :meth:`query` runs the named Cypher queries of ``queries/`` (Neo4j does)
    speaks_cypher: bool = False

    @property
    def location(self) -> str:
        """Where another process finds this store (:func:`graphsvc.store.open_store`'s
        first argument): the embedded file; empty for a server, which the settings name."""
        return ""

    def query(self, name: str, **parameters: Any) -> list[dict]:
        """Run a named query of the Cypher library (read-only), e.g. ``investigate/contact_cycles``.

        Raises
        ------
        ConfigurationError
            On a store that does not speak Cypher (``speaks_cypher`` false): the default.
        """
        raise ConfigurationError(NO_CYPHER)

    def background_checkpoints(self) -> Any:
        """Start the housekeeping a busy writer needs off the request path and return a
        handle whose ``stop()`` ends it, or None when the store needs none (the default;
        the embedded file checkpoints its write-ahead log from a thread)."""
        return None

    def stage(self, table: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        """Work on a batch that needs no database (hashing keys, aggregating links):
        the rows, with columns added, and anything else the writer may use.

        Must not touch connections: the loader runs it in a forked child process,
        beside the writer. The default does nothing.
        """
        return rows, {}

    def apply(self, batch: Batch) -> BatchResult:
        """Apply one batch atomically, with its manifest row and rejects (staging
        it first unless ``batch.prepared`` says it was)."""
        return self.apply_all([batch])[0]

    @abstractmethod
    def apply_all(self, batches: list[Batch]) -> list[BatchResult]:
        """Apply several batches in one transaction (an application with its
        contacts, written by the API): all of them or none."""

    @abstractmethod
    def write_application(self, application: dict, contacts: list[dict], checksum: str, *,
                          dry: bool = False) -> str:
        """Write one validated application with its contacts in one transaction, as a
        loaded batch would (the API's path): ``stored``, ``duplicate`` (the same
        application with no contact it was not stored with) or ``conflict``. ``dry``
        decides the same way and writes nothing."""

    @abstractmethod
    def neighbourhood(self, applicant_ids: list[str], identifiers: list[tuple[str, str]], cap: int) -> list[tuple]:
        """The one-hop neighbourhood of applicants for online scoring, as tuples.

        Covers ``identifiers`` and every identifier the applicants already have:
        ``(kind, value, degree, holder, role, relation, first_seen, source, consents)``,
        one row per link (``source`` the contact source, ``consents`` the holder's stated
        consents), with ``degree`` (distinct applicants) counted only up to ``cap + 1``;
        identifiers above ``cap`` come as one row without holder (None).
        """

    @abstractmethod
    def timelines(self, applicant_ids: list[str]) -> tuple[list[tuple], list[tuple]]:
        """What happened to the given applicants: their outcomes ``(applicant_id,
        outcome, observed_at)`` and applications ``(applicant_id, applied_at)``
        (times in epoch seconds, None when undated)."""

    @abstractmethod
    def latest_scores(self, run_id: str, applicant_ids: list[str]) -> dict[str, tuple]:
        """Scores of a run by applicant: ``(score, band, ring_id, reasons JSON)``,
        with the ring's ``(risk, size)`` appended (None, None outside rings)."""

    @abstractmethod
    def applicant_outcomes(self, applicant_id: str) -> list[tuple]:
        """One applicant's outcomes, oldest first: ``(outcome, observed_at, phone)``."""

    @abstractmethod
    def application(self, application_id: str) -> dict | None:
        """A stored application: applicant_id, applied_at and content digest; None if unknown."""

    @abstractmethod
    def record_access(self, entry: dict) -> None:
        """Append one row to the audit trail (append-only: rows are never changed)."""

    @abstractmethod
    def access_log(self, limit: int = 100, subject: str | None = None) -> pd.DataFrame:
        """The newest audit rows, optionally those naming ``subject`` among their subjects."""

    @abstractmethod
    def loaded_batches(self, checksum: str, table: str) -> pd.DataFrame:
        """Manifest rows already applied for a file read as a table."""

    @abstractmethod
    def rejects(self, checksum: str, table: str) -> pd.DataFrame:
        """Rejected rows recorded for a file read as a table."""

    @abstractmethod
    def counts(self) -> dict[str, dict[str, int]]:
        """Node, link and fact counts by kind."""

    @abstractmethod
    def forget(self, plans: list, entries: list[dict]) -> list[dict[str, int]]:
        """Apply erasure plans (:class:`graphsvc.erasure.Plan`), each in one transaction
        with its audit row: the applicant and its facts, links, pending facts, the plan's
        identifiers and every run's results about them removed, the tombstones added.
        Returns what was removed per plan, by kind of row."""

    @abstractmethod
    def stale_contacts(self, source: str | None, before: int) -> pd.DataFrame:
        """Contact links from ``source`` (None: not stated) last seen before ``before``
        (epoch seconds; undated ones never): ``applicant_id, value, last_seen``."""

    @abstractmethod
    def forget_contacts(self, plan, entry: dict) -> dict[str, int]:
        """Remove contact links past their retention (:class:`graphsvc.erasure.ContactPlan`)
        with the guarantees of :meth:`forget`, in one transaction; what was removed."""

    @abstractmethod
    def record_review(self, entry: dict) -> None:
        """Store a request for human review (:data:`REVIEW_COLUMNS`, :mod:`graphsvc.decision`)."""

    @abstractmethod
    def reviews(self, *, status: str | None = None, applicant_id: str | None = None,
                review_id: str | None = None) -> pd.DataFrame:
        """Review requests (:data:`REVIEW_COLUMNS`), newest first, optionally filtered."""

    @abstractmethod
    def close_review(self, review_id: str, closed: dict) -> bool:
        """Close an open review (``closed_at, closed_by, outcome, note``); False when no
        open review has this id."""

    @abstractmethod
    def tombstones(self) -> frozenset[str]:
        """Digests of what erased people left (:func:`graphsvc.erasure.digest`)."""

    @abstractmethod
    def tombstoned(self, digests: list[str]) -> frozenset[str]:
        """Those of ``digests`` that are tombstones (one look-up, for score-on-write)."""

    @abstractmethod
    def pending(self) -> pd.DataFrame:
        """Facts waiting for their applicant, by table: ``table, rows, oldest`` (epoch
        seconds the oldest was kept); no row for a table with none waiting."""

    @abstractmethod
    def applicant_links(self, applicant_ids: list[str]) -> pd.DataFrame:
        """Links of the given applicants (:data:`LINK_COLUMNS`)."""

    @abstractmethod
    def applicant_relations(self, applicant_ids: list[str]) -> pd.DataFrame:
        """Relations (transfers, referrals ...) to or from the given applicants, oldest
        first: :data:`RELATION_COLUMNS` (``at`` in epoch seconds, None when undated)."""

    @abstractmethod
    def identifier_links(
        self, identifiers: list[tuple[str, str]], max_degree: int | None = None
    ) -> pd.DataFrame:
        """Links of the given identifiers; those with more holders than ``max_degree``
        are left out (see :meth:`identifier_degrees`)."""

    @abstractmethod
    def identifier_degrees(self, identifiers: list[tuple[str, str]], cap: int | None = None) -> pd.DataFrame:
        """Number of distinct applicants per identifier: kind, value, degree. With
        ``cap``, counting stops at ``cap + 1`` (enough to tell a hub), so the cost
        is bounded whatever the identifier's real degree."""

    @abstractmethod
    def applicants(self, applicant_ids: list[str]) -> pd.DataFrame:
        """Known applicants among ``applicant_ids`` with outcome flags."""

    @abstractmethod
    def shared_identifiers(self, kind: str, min_degree: int = 2) -> pd.DataFrame:
        """Identifiers of a kind held by at least ``min_degree`` applicants, with the
        number of holders and of holders with a fraud outcome."""

    @abstractmethod
    def outcome_events(self, outcome: str) -> pd.DataFrame:
        """Every recorded outcome of a kind: applicant_id, observed_at (epoch seconds)."""

    @abstractmethod
    def graph_arrays(self, as_of: int | None = None) -> GraphArrays:
        """Links, outcomes and applications known at ``as_of`` (epoch seconds;
        everything when None). Undated links count as always known; undated
        outcomes as never known before the present."""

    @abstractmethod
    def identifier_values(self, refs: np.ndarray) -> pd.DataFrame:
        """Kind and value of identifiers by store id: ref, kind, value."""

    @abstractmethod
    def save_run(self, run: dict, tables: dict[str, pd.DataFrame], promotions: list[dict] = ()) -> None:
        """Write a re-score run (``run_id``, parameters, timings, counts), its result
        tables (:data:`RUN_TABLES`) and its promotion log entries (:mod:`graphsvc.serving`)
        in one transaction, adding the time the write took to ``run["timings"]["write"]``."""

    @abstractmethod
    def served_run(self) -> dict | None:
        """The run served (as :meth:`runs` gives it): the run of the newest ``promote`` or
        ``rollback`` entry of the promotion log; with no log entry at all (runs written
        before the log existed), the newest run; else None."""

    @abstractmethod
    def promotions(self) -> pd.DataFrame:
        """The promotion log, newest first: at, run_id, action (promote, hold, rollback),
        reason, replaces (the run served before, for promote and rollback)."""

    @abstractmethod
    def record_promotion(self, entry: dict) -> None:
        """Append one entry (:data:`PROMOTION_COLUMNS`) to the promotion log."""

    @abstractmethod
    def runs(self) -> pd.DataFrame:
        """Re-score runs, newest first: run_id, created_at, as_of, seed, params,
        timings, counts."""

    @abstractmethod
    def run_table(self, run_id: str, table: str, *, where: dict[str, list] | None = None) -> pd.DataFrame:
        """A result table of a run, optionally filtered by column values."""

    def algorithms(self):
        """Whole-graph algorithms (components, communities, PageRank) for this store's
        data: in this process by default (:class:`graphsvc.rings.LocalAlgorithms`)."""
        from graphsvc.rings import LocalAlgorithms

        return LocalAlgorithms()

    @contextmanager
    def bulk(self, expected_rows: int) -> Iterator[None]:
        """A large load of about ``expected_rows`` rows follows (an implementation may
        defer index upkeep or hold keys in memory)."""
        yield

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
