"""Backtest metrics against brute force, and a backtest of a generated scenario."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphsvc.analytics.backtest import adjusted_rand, auc, backtest, precision_at
from graphsvc.ingest.normalise import parse_as_of
from graphsvc.store import open_store


def _pair_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def _pair_ari(a, b):
    """Adjusted Rand index from its definition over all pairs of items."""
    pairs = list(itertools.combinations(range(len(a)), 2))
    same_a = np.array([a[i] == a[j] for i, j in pairs])
    same_b = np.array([b[i] == b[j] for i, j in pairs])
    index = (same_a & same_b).sum()
    expected = same_a.sum() * same_b.sum() / len(pairs)
    top = (same_a.sum() + same_b.sum()) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40))
def test_auc_equals_pair_counting(rows):
    scores, labels = map(list, zip(*rows))
    expected = _pair_auc(scores, labels) if any(labels) and not all(labels) else None
    assert auc(np.array(scores), np.array(labels)) == pytest.approx(expected)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=30))
def test_adjusted_rand_equals_pair_definition(rows):
    a, b = map(list, zip(*rows))
    assert adjusted_rand(np.array(a), np.array(b)) == pytest.approx(_pair_ari(a, b))


def test_precision_at_k():
    assert precision_at(np.array([9, 1, 8, 7]), np.array([True, True, False, True]), 2) == 0.5
    assert precision_at(np.array([]), np.array([]), 5) is None
    assert precision_at(np.array([3, 2]), np.array([False, False]), 1) is None  # nothing to find: blank, not 0.0


def test_backtest_of_a_generated_population(population):
    with open_store(str(population / "graph.db"), readonly=True) as store:
        figures = backtest(store, parse_as_of("2025-03-31"), k=20, truth=population / "truth_applicants.parquet")
    assert figures["fraud_after"] > 20
    assert figures["auc"] > 0.6
    assert 0 <= figures["precision_at_20"] <= 1
    assert figures["recall_at_review"] >= 0.3
    assert figures["ring_precision"] >= 0.8 and figures["ring_recall"] >= 0.8
    assert figures["false_flag_rate"] < 0.02
    assert set(figures["timings"]) == {"read", "link", "features", "rings", "propagate", "score"}


def test_holdout_finds_hidden_fraud(population):
    from graphsvc.analytics.backtest import holdout

    with open_store(str(population / "graph.db"), readonly=True) as store:
        figures = holdout(store, 0.3, seed=1, k=20)
        fraud = len(set(store.outcome_events("fraud")["applicant_id"]))
    assert figures["held_out"] + figures["labelled"] == fraud
    assert figures["held_out"] == round(0.3 * fraud)
    base_rate = figures["held_out"] / figures["applicants_scored"]
    assert figures["auc"] > 0.6 and figures["precision_at_20"] > 20 * base_rate
    with pytest.raises(ValueError, match="between 0 and 1"):
        with open_store(str(population / "graph.db"), readonly=True) as store:
            holdout(store, 1.5)
