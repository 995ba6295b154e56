import numpy as np

from graphsvc.ingest import keys


def test_hashes_are_pinned():
    # A change here re-keys every existing store: it must be deliberate.
    assert keys.hash_strings(["A00000001", ""]).tolist() == PINNED_STRINGS
    assert keys.identifier_ids("phone", ["+8613800138000"]).tolist() == PINNED_PHONE
    assert keys.row_ids("contacts", [np.array(["A1"], dtype=object), np.array(["x"], dtype=object)]).tolist() == PINNED_ROW


def test_namespaces_and_column_order_matter():
    a = keys.identifier_ids("device", ["abc"])[0]
    b = keys.identifier_ids("card", ["abc"])[0]
    assert a != b
    left = keys.row_ids("t", [np.array(["x"], dtype=object), np.array(["y"], dtype=object)])
    right = keys.row_ids("t", [np.array(["y"], dtype=object), np.array(["x"], dtype=object)])
    assert left[0] != right[0]


def test_missing_differs_from_empty_and_ids_are_non_negative():
    with_none = keys.row_ids("t", [np.array([None], dtype=object)])
    with_empty = keys.row_ids("t", [np.array([""], dtype=object)])
    assert with_none[0] != with_empty[0]
    many = keys.identifier_ids("phone", [f"+86138{i:08d}" for i in range(10_000)])
    assert (many >= 0).all() and len(set(many.tolist())) == 10_000


PINNED_STRINGS = [3515026237745272125, 3556635862040169235]
PINNED_PHONE = [8366856769024609285]
PINNED_ROW = [9087707751513791676]


def test_small_arrays_hash_as_large_ones():
    values = [f"v{i}" for i in range(40)] + ["", "王", "+8613800138000"]
    bulk = keys.salted("k", np.array(values, dtype=object))
    one_by_one = [keys.salted("k", np.array([v], dtype=object))[0] for v in values]
    assert bulk.tolist() == one_by_one
    rows = [np.array([1704153600, None, "x", 2.5] * 5, dtype=object), np.array(["a", "b", None, ""] * 5, dtype=object)]
    bulk_rows = keys.row_ids("t", rows)
    single = [keys.row_ids("t", [np.array([c[i]], dtype=object) for c in rows])[0] for i in range(20)]
    assert bulk_rows.tolist() == single
