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
from functools import lru_cache

import numpy as np
import pandas as pd
from pandas._libs.hashing import hash_object_array

_HASH_KEY = "graphsvc/keys/v1"  # 16 bytes, SipHash's key size
_MASK63 = np.uint64((1 << 63) - 1)
_SMALL = 16  # arrays up to this length take the per-value path


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


_U64 = (1 << 64) - 1
_MASK63_INT = (1 << 63) - 1


def _mix_int(z: int) -> int:
    """:func:`_mix` on one Python integer."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _U64
    return z ^ (z >> 31)


@lru_cache(maxsize=256)
def _salt(kind: str) -> np.uint64:
    return pd.util.hash_array(np.array([kind], dtype=object), hash_key=_HASH_KEY)[0]


def salted(kind: str, values: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Ids for values in a namespace (an identifier kind, a fact table)."""
    array = np.asarray(values, dtype=object)
    if len(array) <= _SMALL and all(type(v) is str for v in array):
        # what hash_array does for strings, in plain integers: no per-call numpy overhead
        # (the API hashes a handful of values per request)
        salt = int(_salt(kind))
        return np.array([_mix_int(_mix_int(int(h)) ^ salt) & _MASK63_INT
                         for h in hash_object_array(array, _HASH_KEY, "utf8")], dtype=np.int64)
    raw = pd.util.hash_array(array, hash_key=_HASH_KEY, categorize=False)
    return (_mix(raw ^ _salt(kind)) & _MASK63).astype(np.int64)


def identifier_ids(kind: str, values: Sequence[str] | np.ndarray | pd.Series) -> np.ndarray:
    """Internal ids of identifier nodes of one kind."""
    return salted("identifier:" + kind, values)


def _text(value: object) -> str:
    """A key value as pandas' ``string`` dtype spells it, missing as NUL."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "\x00"
    return str(value)


def row_ids(table: str, columns: Sequence[np.ndarray | pd.Series]) -> np.ndarray:
    """Ids of fact rows from several key columns, combined order-sensitively."""
    # a handful of rows (the API's one application): the same sums in plain integers
    small = len(columns[0]) <= _SMALL and not any(isinstance(c, pd.Series) for c in columns)
    acc = [0] * len(columns[0]) if small else np.zeros(len(columns[0]), dtype=np.uint64)
    for position, column in enumerate(columns):
        if len(column) <= _SMALL and not isinstance(column, pd.Series):
            values = np.array([_text(v) for v in column], dtype=object)
        else:
            values = np.asarray(pd.Series(column).astype("string").fillna("\x00").to_numpy(object))
        part = salted(f"{table}:{position}", values)
        if small:
            acc = [_mix_int(a ^ b) for a, b in zip(acc, part.tolist())]
        else:
            acc = _mix(acc ^ part.astype(np.uint64))
    if small:
        return np.array([a & _MASK63_INT for a in acc], dtype=np.int64)
    return (acc & _MASK63).astype(np.int64)


def model_digest(model) -> str:
    """The first 12 hex digits of the SHA-256 of a pydantic model's JSON (keys sorted):
    the version of a policy or rule set (equal content, equal version)."""
    import hashlib
    import json

    text = json.dumps(model.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
