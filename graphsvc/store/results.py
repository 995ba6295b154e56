"""What every store keeps of re-score runs: each run with its result tables, the
promotion log that says which run is served, and the served run's scores for
score-on-write.

In: a run record and its tables (:data:`~graphsvc.store.base.RUN_TABLES`), log
entries. Out: runs, result tables and :class:`~graphsvc.store.rows.RunScore` rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from graphsvc.store.rows import RunScore


class StoreResults(ABC):
    """Re-score runs and their results (:class:`~graphsvc.store.base.Store` is all four parts)."""

    @abstractmethod
    def latest_scores(self, run_id: str, applicant_ids: list[str]) -> dict[str, RunScore]:
        """Scores of a run by applicant: ``(score, band, ring_id, reasons JSON)``,
        with the ring's ``(risk, size)`` appended (None, None outside rings)."""

    @abstractmethod
    def save_run(self, run: dict, tables: dict[str, pd.DataFrame], promotions: list[dict] = ()) -> None:
        """Write a re-score run (``run_id``, parameters, timings, counts), its result
        tables (:data:`RUN_TABLES`) and its promotion log entries (:mod:`graphsvc.analytics.serving`)
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
