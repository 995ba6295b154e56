"""The store-of-record interface that every backend implements.

A store receives validated, normalised batches from the loader (one table, one
row range of one file at a time) and applies each atomically together with its
manifest row, so a killed load leaves whole batches only and a re-run skips what
is done. Reads are by natural keys (applicant ids, identifier kind and value),
never by a backend's internal ids.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from graphsvc.errors import ConfigurationError
from graphsvc.ingest.contract import CONTACT_SOURCES
from graphsvc.store.reading import StoreReader
from graphsvc.store.records import StoreRecords
from graphsvc.store.results import StoreResults
from graphsvc.store.writing import StoreWriter

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
    "name", "source", "consents",  # consents: the applicant's (graphsvc.people.consent)
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
    #: a scoring neighbourhood (:mod:`graphsvc.online.neighbourhood`) holds only some applicants:
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


#: columns of a review request (graphsvc.people.decision)
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


class Store(StoreReader, StoreWriter, StoreResults, StoreRecords):
    """Store of record: reads of the graph (:mod:`~graphsvc.store.reading`), writes
    (:mod:`~graphsvc.store.writing`), re-score results (:mod:`~graphsvc.store.results`)
    and the records kept for people (:mod:`~graphsvc.store.records`), plus the
    capabilities a backend declares. Implementations: embedded (SQLite) and neo4j."""

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

    def algorithms(self):
        """Whole-graph algorithms (components, communities, PageRank) for this store's
        data: in this process by default (:class:`graphsvc.store.algorithms.LocalAlgorithms`)."""
        from graphsvc.store.algorithms import LocalAlgorithms

        return LocalAlgorithms()

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
