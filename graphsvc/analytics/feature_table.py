"""The feature table, and the point-in-time counting it is built with.

In: the projection's time-stamped links (first-seen ticks per link, applicants' own
times). Out: :class:`Features` (one row per applicant, one numpy column per feature,
the base rates beside), and the counters :mod:`graphsvc.analytics.features` fills it with:
how many holders an identifier had by a time (:class:`Counter`), when a link was
first seen (:class:`LinkTimes`), and each row's span of links (:class:`Rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY = 86_400
WINDOWS = (1, 7, 30)
_SHIFT = 34
_OFFSET = 1 << 33  # seconds from the epoch, shifted: 1697 to 2242 pack in 34 bits


def ticks(seconds) -> np.ndarray:
    """Seconds as int64 ticks in ``[0, 2**34)``; undated (NaN) and earlier times are 0."""
    t = np.asarray(seconds, dtype=float)
    t = np.where(np.isnan(t), -np.inf, t)
    return (np.clip(t, -_OFFSET, _OFFSET - 1) + _OFFSET).astype(np.int64)


class Counter:
    """Links of one role, keyed by identifier and time: how many were known by a time."""

    def __init__(self, identifier: np.ndarray, seen: np.ndarray, m: int) -> None:
        self.identifier, self.ticks, self.m = identifier, ticks(seen), m
        self._keys: np.ndarray | None = None
        self._start: np.ndarray | None = None
        self._at: dict[int, np.ndarray] = {}

    def upto(self, identifier: np.ndarray, at: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
        """Links of each identifier first seen at or before each time.

        ``order`` sorts the queries by identifier then time (binary searches over
        sorted needles run several times faster); it stays valid for times shifted
        by one amount, so one sort serves every window.
        """
        t = ticks(at)
        if t.ndim == 0 or (len(t) and (t == t[0]).all()):  # one time for all: a count per identifier
            first = int(t if t.ndim == 0 else t[0])
            counts = self._at.get(first)
            if counts is None:  # int32: half the memory traffic of the gathers below
                counts = self._at[first] = np.bincount(self.identifier[self.ticks <= first],
                                                       minlength=self.m).astype(np.int32)
            return counts[identifier]
        if self._keys is None:
            self._keys = np.sort((self.identifier.astype(np.int64) << _SHIFT) | self.ticks)
            self._start = np.searchsorted(self._keys, np.arange(self.m + 1, dtype=np.int64) << _SHIFT)
        wanted = (identifier.astype(np.int64) << _SHIFT) | t
        if order is None:
            found = np.searchsorted(self._keys, wanted, side="right")
        else:
            found = np.empty(len(wanted), dtype=np.int64)
            found[order] = np.searchsorted(self._keys, wanted[order], side="right")
        return found - self._start[identifier]


class LinkTimes:
    """One entry per (applicant, identifier, role) with the earliest time it was seen."""

    def __init__(self, arrays) -> None:
        a = arrays.link_applicant.astype(np.int64)
        j = arrays.link_identifier.astype(np.int64)
        c = arrays.link_contact.astype(np.int64)
        seen = np.where(np.isnan(arrays.link_first_seen), -np.inf, arrays.link_first_seen)
        key = (a << 33) | (j << 1) | c
        if len(key) and not (key[1:] >= key[:-1]).all():
            order = np.lexsort((seen, key))
            key, seen = key[order], seen[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1]))) if len(key) else np.zeros(0, np.int64)
        self.key = key[starts]
        self.seen = np.minimum.reduceat(seen, starts) if len(starts) else seen
        self.applicant = (self.key >> 33).astype(np.int32)
        self.identifier = ((self.key >> 1) & 0xFFFFFFFF).astype(np.int32)
        self.contact = (self.key & 1).astype(bool)

    def time_of(self, applicant: np.ndarray, identifier: np.ndarray, contact: bool) -> np.ndarray:
        """When each (applicant, identifier) link of the role was first seen (+inf: none)."""
        want = (applicant.astype(np.int64) << 33) | (identifier.astype(np.int64) << 1) | int(contact)
        at = np.searchsorted(self.key, want)
        found = at < len(self.key)
        found[found] = self.key[at[found]] == want[found]
        return np.where(found, self.seen[np.minimum(at, len(self.key) - 1)], np.inf)


@dataclass
class Rows:
    """Per-link values behind the features (the evidence an explanation names)."""

    position: np.ndarray  # index into the feature table's rows
    at: np.ndarray  # scoring time of each row of the table
    identifier: np.ndarray
    contact: np.ndarray  # bool: a number the applicant lists
    holders: np.ndarray  # others holding the identifier as their own at the time
    listers: np.ndarray  # others listing it as a contact at the time
    holder_recent: dict[int, np.ndarray]  # of the holders, first seen in the last w days
    lister_recent: dict[int, np.ndarray]
    hub: np.ndarray

    def span(self, row: int) -> np.ndarray:
        """Indices of the links of one row of the table."""
        if "_by_row" not in self.__dict__:
            self.__dict__["_by_row"] = np.argsort(self.position, kind="stable")
            self.__dict__["_bounds"] = np.searchsorted(self.position[self.__dict__["_by_row"]],
                                                       np.arange(int(self.position.max(initial=-1)) + 2))
        bounds = self.__dict__["_bounds"]
        if row + 1 >= len(bounds):
            return np.zeros(0, dtype=np.int64)
        return self.__dict__["_by_row"][bounds[row]:bounds[row + 1]]


@dataclass
class Features:
    """A feature table: one row per applicant, one float32 array per feature.

    ``table[name]`` gives a column; :meth:`frame` the table as a DataFrame
    (``applicant_id`` first). ``rows`` holds the per-link values behind them
    when asked for (``keep_rows``).
    """

    applicant_id: np.ndarray
    columns: dict[str, np.ndarray]
    prior: tuple[float, float]
    rows: Rows | None = None
    positions: np.ndarray | None = None  # the rows' applicant positions in the projection
    at: np.ndarray | None = None  # the rows' scoring times

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def __len__(self) -> int:
        return len(self.applicant_id)

    def frame(self) -> pd.DataFrame:
        return pd.concat([pd.DataFrame({"applicant_id": self.applicant_id}), pd.DataFrame(self.columns)], axis=1)
