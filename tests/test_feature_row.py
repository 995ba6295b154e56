"""One applicant's features counted in plain Python (feature_row) equal the batch's numpy counts."""

import numpy as np
import pytest
from conftest import random_graph

from graphsvc.analytics import feature_row, features, linkage
from graphsvc.analytics.policy import Policy
from graphsvc.analytics.projection import Projection
from graphsvc.online import neighbourhood
from graphsvc.store import open_store

DAY = 86_400
T0 = 1_704_067_200.0


def batch(monkeypatch, *args, **kwargs):
    """``features.compute`` with its numpy counts only."""
    with monkeypatch.context() as m:
        m.setattr(features, "ONE_ROW_LINKS", -1)
        return features.compute(*args, **kwargs)


def assert_same(one, many) -> None:
    assert list(one.columns) == list(many.columns)
    for name in many.columns:
        assert np.array_equal(one[name], many[name], equal_nan=True), name
    assert one.prior == many.prior
    assert np.array_equal(one.positions, many.positions) and np.array_equal(one.at, many.at)
    if many.rows is not None:
        for field in ("position", "at", "identifier", "contact", "holders", "listers", "hub"):
            assert np.array_equal(getattr(one.rows, field), getattr(many.rows, field)), field
        for w in (1, 7, 30):
            assert np.array_equal(one.rows.holder_recent[w], many.rows.holder_recent[w])
            assert np.array_equal(one.rows.lister_recent[w], many.rows.lister_recent[w])


@pytest.mark.parametrize("seed", range(25))
def test_one_row_equals_the_batch_on_random_graphs(monkeypatch, seed):
    projection = Projection.build(random_graph(seed))
    policy = Policy(feature_cap=4)  # small, so that some identifiers are hubs by their own links too
    linked = linkage.link(projection, policy, None)
    rng = np.random.default_rng(1000 + seed)
    for position in rng.choice(len(projection.applicants), 8, replace=False):
        at = T0 + float(rng.integers(0, 70)) * DAY + float(rng.choice([0, 3600, 7200]))
        kwargs = dict(at=at, positions=np.array([position]), prior=(0.05, 0.1), linked=linked, keep_rows=True)
        assert_same(features.compute(projection, policy, **kwargs), batch(monkeypatch, projection, policy, **kwargs))


def test_the_one_row_path_is_the_one_compute_takes_for_a_neighbourhood(monkeypatch):
    projection = Projection.build(random_graph(3))
    taken, real = [], feature_row.row
    monkeypatch.setattr(feature_row, "row", lambda *a, **k: taken.append(a[2]) or real(*a, **k))
    features.compute(projection, Policy(), at=T0, positions=np.array([5]), prior=(0.05, 0.1))
    features.compute(projection, Policy(), at=T0, positions=np.array([5, 6]), prior=(0.05, 0.1))  # two rows: numpy
    assert taken == [5]


def test_one_row_equals_the_batch_on_scoring_neighbourhoods(monkeypatch, scored_db):
    """What score-on-write computes: each sampled applicant's neighbourhood (hubs
    counted, not fetched) as of its own application, with its linkage."""
    policy = Policy()
    with open_store(str(scored_db), readonly=True) as store:
        applicants = Projection.from_store(store).applicants
        for applicant in np.random.default_rng(5).choice(applicants, 60, replace=False):
            found = neighbourhood.around(store, applicant, [], policy.feature_cap)
            for at in sorted({at for who, at in found.applications if who == applicant})[:2] + [T0 + 400 * DAY]:
                near = found.projection(as_of=at)
                kwargs = dict(at=at, positions=np.array([0]), prior=(0.01, 0.02),
                              linked=linkage.link(near, policy, None), keep_rows=True)
                assert_same(features.compute(near, policy, **kwargs), batch(monkeypatch, near, policy, **kwargs))
