"""Stable 63-bit ids for natural keys, computed in bulk.

The embedded store keys applications, identifiers and fact rows by a hash of their
natural key, so a batch needs no look-up to find its ids and re-loading a row
lands on the same id. The hash is SipHash-2-4 (pandas' vectorised
``hash_array``) under a fixed key, then folded to 63 bits so it fits SQLite's
signed INTEGER. ``tests/test_keys.py`` pins known values: a change of the
function would silently re-key every store, so it must fail a test first.

A collision between two different keys (probability about n^2 / 2^64, i.e.
below 1e-5 for ten million keys) is detected by the store and raised as
:class:`graphsvc.errors.KeyCollisionError`, never merged silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

_HASH_KEY = "graphsvc/keys/v1"  # 16 bytes, SipHash's key size
_MASK63 = np.uint64((1 << 63) - 1)


def hash_strings(values: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Hash strings to non-negative int64 ids.

    Examples
    --------
    >>> hash_strings(["a", "a", "b"]).tolist()[0] == hash_strings(["a"]).tolist()[0]
    True
    """
    array = np.asarray(values, dtype=object)
    hashed = pd.util.hash_array(array, hash_key=_HASH_KEY, categorize=False)
    return (hashed & _MASK63).astype(np.int64)


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: spreads bits so xor-ed salts stay independent."""
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def salted(kind: str, values: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Ids for values in a namespace (an identifier kind, a fact table)."""
    array = np.asarray(values, dtype=object)
    raw = pd.util.hash_array(array, hash_key=_HASH_KEY, categorize=False)
    salt = pd.util.hash_array(np.array([kind], dtype=object), hash_key=_HASH_KEY)[0]
    return (_mix(raw ^ salt) & _MASK63).astype(np.int64)


def identifier_ids(kind: str, values: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Internal ids of identifier nodes of one kind."""
    return salted("identifier:" + kind, values)


def row_ids(table: str, columns: Sequence[np.ndarray | pd.Series]) -> np.ndarray:
    """Ids of fact rows from several key columns, combined order-sensitively."""
    acc = np.zeros(len(columns[0]), dtype=np.uint64)
    for position, column in enumerate(columns):
        values = np.asarray(pd.Series(column).astype("string").fillna("\x00").to_numpy(object))
        part = salted(f"{table}:{position}", values).astype(np.uint64)
        acc = _mix(acc ^ part)
    return (acc & _MASK63).astype(np.int64)
