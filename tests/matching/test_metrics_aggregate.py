"""Metrics and aggregation checked against hand-worked values and brute force."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xfd.matching.aggregate import topk_mean
from xfd.matching.metrics import expertise_loss, ndcg_at_k


def test_ndcg_hand_worked() -> None:
    # relevant at ranks 2 and 3 of 3, two relevant in total
    got = ndcg_at_k(np.array([0.9, 0.5, 0.4]), np.array([False, True, True]), k=10)
    want = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert got == pytest.approx(want)
    assert ndcg_at_k(np.array([1.0, 0.0]), np.array([True, False])) == 1.0
    assert ndcg_at_k(np.array([1.0, 0.0]), np.array([False, False])) == 0.0


def test_expertise_loss_known_values() -> None:
    true = [5.0, 3.0, 1.0]
    assert expertise_loss([([3, 2, 1], true)]) == 0.0
    assert expertise_loss([([1, 2, 3], true)]) == 1.0
    assert expertise_loss([([0, 0, 0], true)]) == 0.5
    # one pair swapped: (5,3) costs 2 of total 2+4+2=8
    assert expertise_loss([([2, 3, 1], true)]) == pytest.approx(2 / 8)


@pytest.mark.parametrize("k", [1, 2, 3, 10])
def test_topk_mean_matches_brute_force(k: int) -> None:
    rng = np.random.default_rng(k)
    scores = rng.normal(size=(6, 20))
    owner = rng.integers(0, 7, 20)
    weights = rng.uniform(0.5, 1.0, 20)
    got = topk_mean(scores, owner, 8, k=k, weights=weights, empty=-9.0, chunk=4)
    for q, p in itertools.product(range(6), range(8)):
        vals = sorted(scores[q, owner == p] * weights[owner == p], reverse=True)[:k]
        want = float(np.mean(vals)) if vals else -9.0
        assert got[q, p] == pytest.approx(want)


def test_topk_mean_checks_shapes() -> None:
    with pytest.raises(ValueError, match="3 columns but owner has 2"):
        topk_mean(np.zeros((1, 3)), np.array([0, 1]), 2)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 9, 14])
def test_topk_mean_brute_force_narrow_and_wide_layouts(k: int) -> None:
    """Both selection paths (network for narrow layouts, partition for wide ones), ties, empty profiles."""
    rng = np.random.default_rng(100 + k)
    for max_docs in (4, 12):  # widest profile: 4 (network) or 12 (> NETWORK_WIDTH: partition)
        counts = rng.integers(0, max_docs + 1, 9)
        counts[0], counts[1] = max_docs, 0
        owner = rng.permutation(np.repeat(np.arange(9), counts))
        scores = np.round(rng.normal(size=(5, len(owner))), 1)  # rounded: many ties
        got = topk_mean(scores, owner, 9, k=k, empty=-3.0, chunk=2)
        for q, p in itertools.product(range(5), range(9)):
            vals = sorted(scores[q, owner == p], reverse=True)[:k]
            assert got[q, p] == pytest.approx(float(np.mean(vals)) if vals else -3.0)


def test_top2_of_4_equals_the_sorted_top_two() -> None:
    """The k=2, 4-slot tournament gives the two largest values' sum (padding -inf counts 0), ties included."""
    from xfd.matching.aggregate import _top2_of_4

    rng = np.random.default_rng(3)
    for trial in range(200):
        x = rng.standard_normal((int(rng.integers(1, 5)), 4, int(rng.integers(1, 30))))
        if trial % 2:
            x = np.round(x, 1)  # ties
        x[rng.random(x.shape) < 0.3] = -np.inf
        top = np.sort(x, axis=1)[:, 2:]
        top[np.isneginf(top)] = 0.0
        assert np.array_equal(_top2_of_4(x), top[:, 0] + top[:, 1])


@pytest.mark.parametrize("k", [1, 2, 3, 5, 14])
def test_topk_mean_document_major_input_gives_the_same_numbers(k: int) -> None:
    """A (n_queries, n_docs) view of a document-major array takes the row-gathering path: exactly the
    numbers of the query-major path, float32 and float64, weighted or not, empty profiles included."""
    from xfd.matching import aggregate

    rng = np.random.default_rng(200 + k)
    for max_docs, dtype, weighted in itertools.product((4, 12), (np.float32, np.float64), (False, True)):
        counts = rng.integers(0, max_docs + 1, 11)
        counts[0], counts[1] = max_docs, 0
        owner = rng.permutation(np.repeat(np.arange(11), counts))
        scores = np.round(rng.normal(size=(6, len(owner))), 1).astype(dtype)  # ties
        w = rng.uniform(0.5, 1.0, len(owner)) if weighted else None
        doc_major = np.ascontiguousarray(scores.T).T
        assert doc_major.flags.f_contiguous and not doc_major.flags.c_contiguous
        want = topk_mean(scores, owner, 11, k=k, weights=w, empty=-3.0)
        for block in (aggregate.BLOCK_VALUES, 50):  # one block, and blocks of a few profiles
            old, aggregate.BLOCK_VALUES = aggregate.BLOCK_VALUES, block
            try:
                got = topk_mean(doc_major, owner, 11, k=k, weights=w, empty=-3.0)
            finally:
                aggregate.BLOCK_VALUES = old
            assert got.dtype == np.float64 and np.array_equal(got, want)
        for q, p in itertools.product(range(6), range(11)):
            vals = sorted(scores[q, owner == p].astype(np.float64) * (1 if w is None else w[owner == p]),
                          reverse=True)[:k]
            assert want[q, p] == pytest.approx(float(np.mean(vals)) if vals else -3.0, rel=1e-6, abs=1e-6)
