"""What every store keeps for the people it holds: the append-only audit trail of who
saw whose data, requests for human review, and erasure (applied with its audit row in
one transaction, remembered by tombstones so that a later load does not bring the
person back).

In: audit rows (:func:`~graphsvc.store.base.access_entry`), review records, erasure
plans (:mod:`graphsvc.people.erasure`). Out: frames of them, what an erasure removed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import pandas as pd


class StoreRecords(ABC):
    """The audit trail, reviews and erasure (:class:`~graphsvc.store.base.Store` is all four parts)."""

    @abstractmethod
    def record_access(self, entry: dict) -> None:
        """Append one row to the audit trail (append-only: rows are never changed)."""

    @abstractmethod
    def access_log(self, limit: int = 100, subject: str | None = None) -> pd.DataFrame:
        """The newest audit rows, optionally those naming ``subject`` among their subjects."""

    @abstractmethod
    def forget(self, plans: list, entries: list[dict]) -> list[dict[str, int]]:
        """Apply erasure plans (:class:`graphsvc.people.erasure.Plan`), each in one transaction
        with its audit row: the applicant and its facts, links, pending facts, the plan's
        identifiers and every run's results about them removed, the tombstones added.
        Returns what was removed per plan, by kind of row."""

    @abstractmethod
    def stale_contacts(self, source: str | None, before: int) -> pd.DataFrame:
        """Contact links from ``source`` (None: not stated) last seen before ``before``
        (epoch seconds; undated ones never): ``applicant_id, value, last_seen``."""

    @abstractmethod
    def forget_contacts(self, plan, entry: dict) -> dict[str, int]:
        """Remove contact links past their retention (:class:`graphsvc.people.erasure.ContactPlan`)
        with the guarantees of :meth:`forget`, in one transaction; what was removed."""

    @abstractmethod
    def record_review(self, entry: dict) -> None:
        """Store a request for human review (:data:`REVIEW_COLUMNS`, :mod:`graphsvc.people.decision`)."""

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
        """Digests of what erased people left (:func:`graphsvc.people.erasure.digest`)."""

    @abstractmethod
    def tombstoned(self, digests: list[str]) -> frozenset[str]:
        """Those of ``digests`` that are tombstones (one look-up, for score-on-write)."""
