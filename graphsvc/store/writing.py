"""How every store takes data in: load batches (staged, then applied atomically with
their manifest row, so a killed load leaves whole batches only and a re-run skips
what is done), and one application at a time for score-on-write.

In: :class:`~graphsvc.store.base.Batch` (validated, normalised rows of one table and
row range) or one validated application. Out: what each write did.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from graphsvc.store.base import Batch, BatchResult


class StoreWriter(ABC):
    """Writes of the data (:class:`~graphsvc.store.base.Store` is all four parts)."""

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

    @contextmanager
    def bulk(self, expected_rows: int) -> Iterator[None]:
        """A large load of about ``expected_rows`` rows follows (an implementation may
        defer index upkeep or hold keys in memory)."""
        yield
