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
    """A set of hashes as sorted chunks, optionally with columns of values per hash."""

    def __init__(self, hashes: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        self._chunks: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self._names = dict.fromkeys(columns or {})
        self.add(hashes, columns)

    def __len__(self) -> int:
        return sum(len(c[0]) for c in self._chunks)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Mask of ``hashes`` that are known."""
        return self.find(hashes)[0]

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Mask of ``hashes`` that are known, and their columns (aligned with ``hashes``;
        undefined where not known)."""
        order = np.argsort(hashes, kind="stable")
        wanted = hashes[order]  # sorted queries walk each chunk in order: far fewer cache misses
        hit = np.zeros(len(hashes), dtype=bool)
        picked = {name: np.zeros(len(hashes), dtype=self._chunks[0][1][name].dtype) for name in self._names}
        for chunk, columns in self._chunks:
            at, here = lookup(chunk, wanted)
            for name, values in columns.items():
                picked[name][here] = values[at[here]]
            hit |= here
        found = np.empty(len(hashes), dtype=bool)
        found[order] = hit
        for name, values in picked.items():
            picked[name] = np.empty_like(values)
            picked[name][order] = values
        return found, picked

    def add(self, hashes: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        hashes = np.asarray(hashes, dtype=np.int64)
        if self._chunks and not len(hashes):
            return
        order = np.argsort(hashes, kind="stable")
        self._chunks.append((hashes[order], {name: np.asarray(columns[name])[order] for name in self._names}))
        if len(self._chunks) > _MERGE_AT:
            chunks, self._chunks = self._chunks, []
            self.add(np.concatenate([c[0] for c in chunks]),
                     {name: np.concatenate([c[1][name] for c in chunks]) for name in self._names})

    def merge(self, other: KnownHashes) -> None:
        """Add everything ``other`` holds."""
        for hashes, columns in other._chunks:
            self.add(hashes, columns)


class Known:
    """Known hashes of every hashed table, with the additions of the open transaction.

    For the identifiers this load inserted it also holds their id, kind and value,
    so that the writer needs no database look-up at all for them.
    """

    def __init__(self, tables: dict[str, np.ndarray], version: int) -> None:
        self.tables = {name: KnownHashes(hashes) for name, hashes in tables.items()}
        self.version = version  # PRAGMA data_version when the arrays were last in step
        self.identifiers = _identifier_columns()  # inserted by this load, committed
        self._pending: dict[str, list[np.ndarray]] = {}
        self._pending_identifiers = _identifier_columns()

    def stored(self, table: str, hashes: np.ndarray) -> np.ndarray:
        """Mask of ``hashes`` that may be stored (committed, or added in this transaction)."""
        found = self.tables[table].contains(hashes)
        for chunk in self._pending.get(table, []):
            found |= np.isin(hashes, chunk)
        return found

    def inserted_identifiers(self, hashes: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Mask of identifier ``hashes`` this load inserted, and their id, kind and value
        (aligned with ``hashes``)."""
        found, columns = self.identifiers.find(hashes)
        pending, more = self._pending_identifiers.find(hashes)
        return found | pending, {name: np.where(pending, more[name], columns[name]) for name in columns}

    def added(self, table: str, hashes: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        """Hashes inserted in the open transaction; identifiers come with their id, kind
        and value."""
        self._pending.setdefault(table, []).append(np.asarray(hashes, dtype=np.int64))
        if table == "identifiers":
            self._pending_identifiers.add(hashes, columns)

    def commit(self) -> None:
        for table, chunks in self._pending.items():
            self.tables[table].add(np.concatenate(chunks))
        self.identifiers.merge(self._pending_identifiers)
        self.rollback()

    def rollback(self) -> None:
        self._pending = {}
        self._pending_identifiers = _identifier_columns()


def _identifier_columns() -> KnownHashes:
    return KnownHashes(np.zeros(0, dtype=np.int64), {"id": np.zeros(0, dtype=np.int64),
                                                     "kind": np.zeros(0, dtype=object),
                                                     "value": np.zeros(0, dtype=object)})
