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

from pathlib import Path

import numpy as np
import pandas as pd

from graphsvc.store.embedded.sql import Connection
from graphsvc.store.staging import lookup

#: tables keyed by a 63-bit hash of their natural key
HASHED = ("applications", "identifiers", "contact_records", "sighting_records", "outcomes", "relations")


class KnownHashes:
    """A set of hashes as sorted chunks, optionally with columns of values per hash.

    Each chunk keeps its columns in the order they came, with the position of each
    sorted hash in them: merging chunks then sorts integers only, never the
    (object) columns.
    """

    def __init__(self, hashes: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        self._chunks: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
        self._names = tuple(columns or ())
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
        found = np.empty(len(hashes), dtype=bool)
        picked = {name: np.zeros(len(hashes), dtype=self._chunks[0][2][name].dtype) for name in self._names}
        for chunk, positions, columns in self._chunks:
            at, here = lookup(chunk, wanted)
            for name in self._names:
                picked[name][order[here]] = columns[name][positions[at[here]]]
            hit |= here
        found[order] = hit
        return found, picked

    def add(self, hashes: np.ndarray, columns: dict[str, np.ndarray] | None = None) -> None:
        hashes = np.asarray(hashes, dtype=np.int64)
        if self._chunks and not len(hashes):
            return
        order = np.argsort(hashes, kind="stable")
        self._chunks.append((hashes[order], order, {name: np.asarray(columns[name]) for name in self._names}))
        # merge neighbours of similar size (as a binary counter does): few chunks to
        # search, and each hash is merged only a logarithmic number of times
        while len(self._chunks) > 1 and len(self._chunks[-2][0]) <= 2 * len(self._chunks[-1][0]):
            (left, left_at, left_columns), (right, right_at, right_columns) = self._chunks[-2:]
            both = np.concatenate([left, right])
            order = np.argsort(both, kind="stable")  # two sorted runs: a linear merge
            at = np.concatenate([left_at, right_at + len(left)])  # a chunk's columns are as long as it
            self._chunks[-2:] = [(both[order], at[order], {
                name: np.concatenate([left_columns[name], right_columns[name]]) for name in self._names})]

    def merge(self, other: KnownHashes) -> None:
        """Add everything ``other`` holds."""
        for hashes, positions, columns in other._chunks:
            in_order = np.empty_like(hashes)
            in_order[positions] = hashes  # back in the columns' order
            self.add(in_order, columns)


class Known:
    """Known hashes of every hashed table, with the additions of the open transaction.

    Identifiers are the exception: ``tables["identifiers"]`` holds those stored
    before the load, and :attr:`identifiers` those the load inserted, with their id,
    kind and value, so that the writer needs no database look-up at all for them.
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
        and value, and are found through :meth:`inserted_identifiers` only."""
        if table == "identifiers":
            self._pending_identifiers.add(hashes, columns)
        else:
            self._pending.setdefault(table, []).append(np.asarray(hashes, dtype=np.int64))

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


class ApplicantIds:
    """Internal ids of committed applicants by key, looked up a batch at a time.

    Large additions (a loaded batch's new applicants) become chunks of a pandas
    index, looked up in C; small ones (one application from the API) gather in a
    dict until they make a chunk. Keys never change ids once committed, so this
    stays valid whatever other writers do.
    """

    def __init__(self) -> None:
        self._chunks: list[tuple[pd.Index, np.ndarray]] = []
        self._recent: dict[str, int] = {}

    def __len__(self) -> int:
        return sum(len(ids) for _, ids in self._chunks) + len(self._recent)

    def ids(self, keys: np.ndarray) -> np.ndarray:
        """Ids aligned with ``keys`` (an object array), -1 where not known."""
        out = np.full(len(keys), -1, dtype=np.int64)
        for index, ids in self._chunks:
            at = index.get_indexer(keys)
            hit = at >= 0
            out[hit] = ids[at[hit]]
        if self._recent:
            rest = np.flatnonzero(out < 0)
            out[rest] = [self._recent.get(key, -1) for key in keys[rest].tolist()]
        return out

    def get(self, key: str) -> int | None:
        if key in self._recent:
            return self._recent[key]
        for index, ids in self._chunks:
            if key in index:
                return int(ids[index.get_loc(key)])
        return None

    def add(self, keys: list[str] | np.ndarray, ids: list[int] | np.ndarray) -> None:
        """Keys not known yet, with their ids."""
        if len(keys) < _CHUNK:
            self._recent.update(zip(list(keys), np.asarray(ids, dtype=np.int64).tolist()))
            if len(self._recent) < _CHUNK:
                return
            keys, ids, self._recent = list(self._recent), list(self._recent.values()), {}
        self._chunks.append((pd.Index(np.asarray(keys, dtype=object)), np.asarray(ids, dtype=np.int64)))
        while len(self._chunks) > 1 and len(self._chunks[-2][1]) <= 2 * len(self._chunks[-1][1]):
            (left, left_ids), (right, right_ids) = self._chunks[-2:]
            self._chunks[-2:] = [(left.append(right), np.concatenate([left_ids, right_ids]))]


_CHUNK = 50_000  # keys added one by one gather in a dict up to this many


class WriterState:
    """What every part of the embedded store's writer (:mod:`~graphsvc.store.embedded.writer`,
    its ``tables`` and ``application`` halves) reads of the store it is part of."""

    _con: Connection
    readonly: bool
    _applicant_cache: ApplicantIds
    _pending_applicants: dict[str, int]
    _known: Known | None  # stored hashes in memory during a bulk load
    path: Path
