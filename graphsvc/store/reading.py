"""What every store answers about the graph: applicants, identifiers and their links,
the facts around them, the whole graph as arrays for the analytics, and the load
manifest.

In: natural keys (applicant ids, identifier kind and value), never a backend's own
ids. Out: frames of the columns :mod:`graphsvc.store.base` names, the named rows
beside them, and :class:`~graphsvc.store.base.GraphArrays`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from graphsvc.store.base import GraphArrays
    from graphsvc.store.rows import ApplicantOutcome, ApplicationEvent, NeighbourRow, OutcomeEvent


class StoreReader(ABC):
    """Reads of the graph (:class:`~graphsvc.store.base.Store` is all four parts)."""

    @abstractmethod
    def neighbourhood(self, applicant_ids: list[str], identifiers: list[tuple[str, str]],
                      cap: int) -> list[NeighbourRow]:
        """The one-hop neighbourhood of applicants for online scoring.

        Covers ``identifiers`` and every identifier the applicants already have:
        ``(kind, value, degree, holder, role, relation, first_seen, source, consents)``,
        one row per link (``source`` the contact source, ``consents`` the holder's stated
        consents), with ``degree`` (distinct applicants) counted only up to ``cap + 1``;
        identifiers above ``cap`` come as one row without holder (None), and one row per
        link the given applicants themselves have to them (a hub is counted, not fetched,
        but an applicant's own hub shows in its features).
        """

    @abstractmethod
    def timelines(self, applicant_ids: list[str]) -> tuple[list[OutcomeEvent], list[ApplicationEvent]]:
        """What happened to the given applicants: their outcomes ``(applicant_id,
        outcome, observed_at)`` and applications ``(applicant_id, applied_at)``
        (times in epoch seconds, None when undated)."""

    @abstractmethod
    def applicant_outcomes(self, applicant_id: str) -> list[ApplicantOutcome]:
        """One applicant's outcomes, oldest first: ``(outcome, observed_at, phone)``."""

    @abstractmethod
    def application(self, application_id: str) -> dict | None:
        """A stored application: applicant_id, applied_at and content digest; None if unknown."""

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
