"""English expertise harness (benchmarks/english_cv.py) on tiny cases worked by hand."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import cv, english_cv
from xfd.matching.metrics import expertise_loss

OWNER = np.array([0, 0, 0, 1, 1])


def test_aggregations_by_hand() -> None:
    s = np.array([[0.1, 0.5, 0.3, 0.2, 0.4]])
    agg = english_cv.aggregate
    np.testing.assert_allclose(agg(s, OWNER, 2, "max"), [[0.5, 0.4]])
    np.testing.assert_allclose(agg(s, OWNER, 2, "mean"), [[0.3, 0.3]])
    np.testing.assert_allclose(agg(s, OWNER, 2, "topk", k=2), [[0.4, 0.3]])
    np.testing.assert_allclose(agg(s, OWNER, 2, "topk", k=5), [[0.3, 0.3]])  # k above a profile's count: all
    w = np.exp(np.array([0.1, 0.5, 0.3]) / 0.1)
    np.testing.assert_allclose(agg(s, OWNER, 2, "softmax", tau=0.1)[0, 0], (w * [0.1, 0.5, 0.3]).sum() / w.sum())
    assert agg(s, OWNER, 2, "softmax", tau=1e-3)[0, 0] == pytest.approx(0.5)      # tiny tau: the max
    assert agg(s, OWNER, 2, "softmax", tau=1e6)[0, 0] == pytest.approx(0.3)       # huge tau: the mean
    with pytest.raises(ValueError, match="aggregation"):
        agg(s, OWNER, 2, "median")


def _pairs() -> tuple[cv.RatingPairs, dict]:
    ratings = {"A": [(0, 5.0), (1, 1.0), (2, 3.0)], "B": [(0, 2.0), (1, 4.0)]}
    return cv.rating_pairs(ratings, {"A": 0, "B": 1}), ratings


def test_costs_add_up_to_the_metric_per_researcher_and_overall() -> None:
    rp, ratings = _pairs()
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(3, 2))
    scores[1, 1] = scores[0, 1]  # a tie for B costs half
    c = english_cv.costs(scores, rp)
    def ref(keep):
        return expertise_loss(([scores[d, j] for d, _ in ratings[r]], [v for _, v in ratings[r]])
                              for j, r in enumerate("AB") if r in keep)
    assert c.loss() == pytest.approx(ref("AB"))
    assert c.loss(np.array([True, False])) == pytest.approx(ref("A"))
    assert c.loss(np.array([False, True])) == pytest.approx(0.5)  # the tie
    np.testing.assert_allclose(c.d, [4 + 2 + 2, 2])  # |5-1| + |5-3| + |1-3|, |2-4|


def test_paired_and_chosen_on_train_by_hand() -> None:
    ids = ["A", "B", "C", "D"]
    masks = english_cv.fold_masks(4, ids, 2, [0, 1])
    assert len(masks) == 4 and all(m.sum() == 2 for m in masks)
    ref = english_cv.Costs(np.array([1.0, 1.0, 1.0, 1.0]), np.ones(4) * 4)  # loss 0.25 everywhere
    better = english_cv.Costs(np.array([0.0, 0.0, 0.0, 0.0]), np.ones(4) * 4)
    p = english_cv.paired(better, ref, masks, np.random.default_rng(0), n_boot=50)
    assert p.in_sample == 0.0 and p.diff[0] == pytest.approx(-0.25) and p.diff[1] == pytest.approx(0.0)
    same = english_cv.paired(ref, ref, masks, np.random.default_rng(0), n_boot=50)
    assert same.diff == (0.0, 0.0) and same.boot_se == 0.0
    ch = english_cv.chosen_on_train({"ref": ref, "better": better}, ref, masks)
    assert ch.picks == {"better": 4} and ch.held[0] == 0.0 and ch.diff[0] == pytest.approx(-0.25)
    np.testing.assert_array_equal(ch.costs.c, better.c)
    # a member that is best on the training researchers only: chosen, and the held-out figure says so
    tricky = english_cv.Costs(np.array([0.0, 0.0, 4.0, 4.0]), np.ones(4) * 4)
    ch = english_cv.chosen_on_train({"ref": ref, "tricky": tricky}, ref, [np.array([False, False, True, True])])
    assert ch.held[0] == 1.0 and ch.diff[0] == pytest.approx(0.75)
    np.testing.assert_array_equal(ch.costs.c, [0.0, 0.0, 4.0, 4.0])  # only C, D held out: their costs


def test_held_out_costs_average_over_seeds() -> None:
    # fold 1 holds out A, B (train C, D prefer "x"); fold 2 holds out C, D (train A, B prefer "y")
    x = english_cv.Costs(np.array([2.0, 2.0, 0.0, 0.0]), np.ones(4) * 4)
    y = english_cv.Costs(np.array([0.0, 0.0, 3.0, 3.0]), np.ones(4) * 4)
    m1 = np.array([True, True, False, False])
    ch = english_cv.chosen_on_train({"x": x, "y": y}, x, [m1, ~m1, m1, ~m1])
    assert ch.picks == {"x": 2, "y": 2}
    np.testing.assert_array_equal(ch.costs.c, [2.0, 2.0, 3.0, 3.0])  # each one's cost under the member chosen without it
    assert ch.costs.loss() == pytest.approx(10 / 16)


def test_ensemble_is_a_sum_of_standardised_scores() -> None:
    v = english_cv.Views({}, {}, np.zeros((2, 5)), np.zeros((2, 2)), OWNER, 2)
    lex = english_cv.Views({"m": np.zeros((1, 5))}, {}, np.array([[0.1, 0.5, 0.3, 0.2, 0.4]]), np.zeros((1, 2)),
                           OWNER, 2, lex_sd=0.5)
    np.testing.assert_allclose(english_cv.dense("m", "max", zlex=1.0)(lex), [[1.0, 0.8]])  # 0.5/0.5, 0.4/0.5
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[10.0, 0.0], [0.0, 30.0]])
    got = english_cv.ensemble([(lambda _v: a, 1.0), (lambda _v: b, 0.5)])(v)
    np.testing.assert_allclose(got, (a - a.mean()) / a.std() + 0.5 * (b - b.mean()) / b.std())


def test_chunks_cut_at_sentence_ends_within_the_word_budget() -> None:
    text = "One two three. Four five. Six seven eight nine ten. Eleven."
    assert english_cv.chunks(text, 5) == ["One two three. Four five.", "Six seven eight nine ten.", "Eleven."]
    assert english_cv.chunks(text, 100) == [text]
    assert english_cv.chunks("Title。Body text here.", 1) == ["Title。", "Body text here."]  # a long sentence stays whole
    assert english_cv.chunks("", 5) == [""]


def test_units_are_the_title_then_sentences_of_four_words_or_more() -> None:
    text = "We study graphs here. Short one. Then we prove a bound on the cut!"
    assert english_cv.units("A title", text) == ["A title", "We study graphs here.", "Then we prove a bound on the cut!"]
    assert english_cv.units("", "tiny") == ["tiny"]  # no sentence of four words: the text itself


def test_unit_maxsim_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    q, d = rng.normal(size=(5, 3)), rng.normal(size=(6, 3))
    q_of, d_of = np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 2, 2, 2])
    got = english_cv.unit_maxsim(q, q_of, d, d_of, 2, 3)
    for i in range(2):
        for j in range(3):
            want = np.mean([max(q[u] @ d[t] for t in np.flatnonzero(d_of == j)) for u in np.flatnonzero(q_of == i)])
            assert got[i, j] == pytest.approx(want)
    # by hand: one unit each side, the plain dot product
    assert english_cv.unit_maxsim(np.array([[1.0, 2.0]]), np.array([0]), np.array([[3.0, 1.0]]), np.array([0]),
                                  1, 1)[0, 0] == pytest.approx(5.0)
