"""The in-memory look-ups a writer keeps: hashes with columns, applicant ids by key."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from graphsvc.store.embedded.known import ApplicantIds, KnownHashes
from graphsvc.store.embedded.writer import _distinct


def test_known_hashes_find_what_was_added_with_its_columns_across_merged_chunks():
    rng = np.random.default_rng(3)
    oracle: dict[int, tuple[int, str]] = {}
    known = KnownHashes(np.zeros(0, dtype=np.int64), {"id": np.zeros(0, dtype=np.int64),
                                                      "value": np.zeros(0, dtype=object)})
    for size in [5, 700, 3, 1200, 40, 40, 40, 2500, 1]:
        hashes = rng.choice(2**62, size=size, replace=False).astype(np.int64)
        hashes = hashes[~np.isin(hashes, list(oracle))]
        ids = rng.integers(0, 10**6, len(hashes))
        values = np.array([f"v{h}" for h in hashes], dtype=object)
        known.add(hashes, {"id": ids, "value": values})
        oracle.update({int(h): (int(i), str(v)) for h, i, v in zip(hashes, ids, values)})
    assert len(known) == len(oracle)
    assert len(known._chunks) < 9  # neighbours of similar size were merged
    queries = np.concatenate([np.array(list(oracle), dtype=np.int64)[::7], rng.integers(0, 2**62, 50)])
    found, columns = known.find(queries)
    assert found.tolist() == [int(q) in oracle for q in queries]
    assert [(int(i), v) for i, v in zip(columns["id"][found], columns["value"][found])] == [
        oracle[int(q)] for q in queries[found]]
    copy = KnownHashes(np.zeros(0, dtype=np.int64), {"id": np.zeros(0, dtype=np.int64),
                                                     "value": np.zeros(0, dtype=object)})
    copy.merge(known)
    again, same = copy.find(queries)
    assert again.tolist() == found.tolist() and same["value"][found].tolist() == columns["value"][found].tolist()


def test_applicant_ids_answer_from_chunks_and_recent_keys_alike():
    ids = ApplicantIds()
    ids.add([f"A{i}" for i in range(60_000)], list(range(1, 60_001)))  # one chunk
    ids.add(["B1", "B2"], [70_001, 70_002])  # recent, in a dict
    keys = np.array(["A0", "A59999", "B2", "nobody", "B1"], dtype=object)
    assert ids.ids(keys).tolist() == [1, 60_000, 70_002, -1, 70_001]
    assert (ids.get("A123"), ids.get("B1"), ids.get("nobody")) == (124, 70_001, None)
    ids.add([f"C{i}" for i in range(49_999)], list(range(80_000, 129_999)))  # fills the dict: a chunk
    assert len(ids) == 60_000 + 2 + 49_999 and not ids._recent
    assert ids.ids(np.array(["B2", "C0", "A5"], dtype=object)).tolist() == [70_002, 80_000, 6]


@given(st.lists(st.integers(-(2**62), 2**62), max_size=60).map(lambda v: np.array(v, dtype=np.int64)))
def test_distinct_values_agree_with_numpy_unique(values):
    distinct, first, inverse = _distinct(values)
    unique, unique_inverse = np.unique(values, return_inverse=True)
    assert distinct.tolist() == unique.tolist() and inverse.tolist() == unique_inverse.tolist()
    assert values[first].tolist() == distinct.tolist()

