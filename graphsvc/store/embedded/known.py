"""What a large load already knows: every hash of the hash-keyed tables, in memory.

During a bulk load (:meth:`Writer.bulk`) the writer answers "is this hash stored?"
from sorted arrays instead of a temporary table joined against the index: one
``searchsorted`` per chunk of hashes instead of a B-tree probe per row. The arrays
are read once when the load starts and grow with each committed batch. They stay
valid only while this connection is the only writer: ``PRAGMA data_version``
changes when another connection commits, and the writer then drops them and
probes the database again.
"""

from __future__ import annotations

import numpy as np

from graphsvc.store.staging import lookup

#: tables keyed by a 63-bit hash of their natural key
HASHED = ("applications", "identifiers", "contact_records", "sighting_records", "outcomes", "relations")
_MERGE_AT = 8  # chunks are merged into one sorted array when there are more than this


class KnownHashes:
    """The set of hashes one table holds, as sorted chunks."""

    def __init__(self, hashes: np.ndarray) -> None:
        self._chunks = [np.sort(np.asarray(hashes, dtype=np.int64))]

    def __len__(self) -> int:
        return sum(len(c) for c in self._chunks)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of ``hashes`` that are known."""
        order = np.argsort(hashes, kind="stable")
        wanted = hashes[order]  # sorted queries walk each chunk in order: far fewer cache misses
        hit = np.zeros(len(hashes), dtype=bool)
        for chunk in self._chunks:
            hit |= lookup(chunk, wanted)[1]
        found = np.empty(len(hashes), dtype=bool)
        found[order] = hit
        return found

    def add(self, hashes: np.ndarray) -> None:
        if len(hashes):
            self._chunks.append(np.sort(np.asarray(hashes, dtype=np.int64)))
        if len(self._chunks) > _MERGE_AT:
            self._chunks = [np.sort(np.concatenate(self._chunks))]


class Known:
    """Known hashes of every hashed table, with the additions of the open transaction."""

    def __init__(self, tables: dict[str, np.ndarray], version: int) -> None:
        self.tables = {name: KnownHashes(hashes) for name, hashes in tables.items()}
        self.version = version  # PRAGMA data_version when the arrays were last in step
        self._pending: dict[str, list[np.ndarray]] = {}

    def stored(self, table: str, hashes: np.ndarray) -> np.ndarray:
        """Mask of ``hashes`` that may be stored (committed, or added in this transaction)."""
        found = self.tables[table].contains(hashes)
        for chunk in self._pending.get(table, []):
            found |= np.isin(hashes, chunk)
        return found

    def added(self, table: str, hashes: np.ndarray) -> None:
        """Hashes inserted in the open transaction."""
        self._pending.setdefault(table, []).append(np.asarray(hashes, dtype=np.int64))

    def commit(self) -> None:
        for table, chunks in self._pending.items():
            self.tables[table].add(np.concatenate(chunks))
        self._pending = {}

    def rollback(self) -> None:
        self._pending = {}
