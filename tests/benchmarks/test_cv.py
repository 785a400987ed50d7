"""Cross-validation harness (benchmarks/cv.py, fold builders in benchmarks/datasets.py) on tiny known cases."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks import cv
from benchmarks.datasets import id_folds, row_folds
from xfd.matching.aggregate import owner_layout
from xfd.matching.metrics import expertise_loss, ndcg_at_k


def _rows(n_disc: int = 5, per: int = 7) -> list[dict]:
    return [{"id": f"r{d}_{i}", "discipline": f"d{d}", "split": "dev" if i % 2 else "test"}
            for d in range(n_disc) for i in range(per)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_abstract_folds_are_disjoint_cover_and_spread_every_discipline(seed) -> None:
    rows = _rows()
    folds = row_folds(rows, 3, seed, by="abstract")
    ids = [r["id"] for f in folds for r in f]
    assert sorted(ids) == sorted(r["id"] for r in rows)  # every row exactly once
    for f in folds:
        assert {r["discipline"] for r in f} == {f"d{d}" for d in range(5)}  # 7 per discipline >= 3 folds
    assert max(map(len, folds)) - min(map(len, folds)) <= 1


def test_discipline_folds_share_no_discipline_and_are_deterministic() -> None:
    rows = _rows()
    folds = row_folds(rows, 2, 4, by="discipline")
    a, b = ({r["discipline"] for r in f} for f in folds)
    assert not a & b and a | b == {f"d{d}" for d in range(5)}
    assert row_folds(rows, 2, 4, by="discipline") == folds
    with pytest.raises(ValueError, match="by must be"):
        row_folds(rows, 2, 0, by="people")


def test_id_folds_disjoint_and_complete() -> None:
    ids = [f"R{i}" for i in range(29)]
    folds = id_folds(ids, 3, 5)
    assert sorted(itertools.chain(*folds)) == sorted(ids)
    assert [len(f) for f in folds] == [10, 10, 9]
    assert id_folds(ids, 3, 6) != folds  # another seed, another split
    with pytest.raises(ValueError, match="n_folds"):
        id_folds(ids, 1, 0)


def test_vectorised_metrics_equal_the_reference_definitions() -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(0, 4, size=(30, 12)).astype(float)  # many ties
    rel = rng.random((30, 12)) < 0.25
    rel[0] = False  # a demand with nothing relevant counts 0
    ref = np.mean([ndcg_at_k(s[i], rel[i], 10) for i in range(30)])
    assert cv.ndcg10(s, rel) == pytest.approx(ref, abs=1e-12)
    ratings = {f"R{j}": [(int(d), float(rng.integers(1, 6))) for d in rng.choice(30, 6, replace=False)]
               for j in range(12)}
    pidx = {f"R{j}": j for j in range(12)}
    rp = cv.rating_pairs(ratings, pidx)
    ref = expertise_loss(([s[d, pidx[r]] for d, _ in p], [v for _, v in p]) for r, p in ratings.items())
    assert cv.pairs_loss(s, rp) == pytest.approx(ref, abs=1e-12)
    some = ["R1", "R5", "R7"]
    ref = expertise_loss(([s[d, pidx[r]] for d, _ in ratings[r]], [v for _, v in ratings[r]]) for r in some)
    assert cv.pairs_loss(s, rp, some) == pytest.approx(ref, abs=1e-12)


def _prepared(dense: np.ndarray, lexical: np.ndarray) -> cv.Prepared:
    """One document per profile, so every top-k is the document's own value."""
    n = dense.shape[1]
    owner = np.arange(n)
    return cv.Prepared(dense, lexical, np.zeros_like(dense), owner, np.ones(n), owner_layout(owner, n), n)


def test_choice_is_made_on_training_folds_and_reported_on_the_held_out_one() -> None:
    # 4 demands x 4 profiles, profile j relevant to demand j.  In item A the lexical
    # feature finds the relevant profile and dense points elsewhere; in item B the reverse.
    eye = np.eye(4)
    wrong = np.roll(eye, 1, axis=1)
    a = cv.Item({"v": _prepared(wrong, eye)}, relevant=eye.astype(bool))
    b = cv.Item({"v": _prepared(eye, wrong)}, relevant=eye.astype(bool))
    lex_only = cv.Candidate("v", cv.Config(1, 1, 0.0, 10.0, dense=0.0))
    dense_only = cv.Candidate("v", cv.Config(1, 1, 0.0, 0.0))
    assert a.metric(lex_only) == 1.0 and b.metric(dense_only) == 1.0
    res = cv.cross_validate([(0, [a, b])], [dense_only, lex_only])
    # testing on a, the choice is made on b (dense) and fails on a; and the reverse
    assert [r.chosen for r in res] == [dense_only, lex_only]
    assert [r.train for r in res] == [1.0, 1.0]
    worst = cv.ndcg10(wrong, eye.astype(bool))
    assert [r.test for r in res] == [pytest.approx(worst)] * 2
    assert [r.extra for r in res] == [0.0, 0.0]  # top-1 on the held-out fold
    row = cv.cv_row("zh", "2 folds", [(0, [a, b])], lex_only, [dense_only, lex_only])
    assert row.shipped == (pytest.approx((1.0 + worst) / 2), pytest.approx(np.std([1.0, worst], ddof=1)))
    assert row.chosen == (pytest.approx(worst), 0.0)


def test_per_demand_normalisation_and_aggregation_settings() -> None:
    d = np.array([[1.0, 2.0, 3.0, 10.0]])
    owner = np.array([0, 0, 1, 1])
    p = cv.Prepared(d, np.zeros_like(d), np.zeros((1, 2)), owner, np.ones(4), owner_layout(owner, 2), 2)
    np.testing.assert_allclose(p.aggregated(1, 1)[0], [[2.0, 10.0]])   # max
    np.testing.assert_allclose(p.aggregated(2, 1)[0], [[1.5, 6.5]])    # mean of the 2 best
    dn, _, _ = p.features(cv.Config(2, 1, 0.0, 0.0, norm=True))
    np.testing.assert_allclose(dn, [[-1.0, 1.0]])                       # row z over profiles


def test_transfer_row_chooses_on_standard_builds_and_tests_on_other_builds() -> None:
    eye = np.eye(3)
    wrong = np.roll(eye, 1, axis=1)
    std_a = cv.Item({"v": _prepared(eye, wrong)}, relevant=eye.astype(bool))
    std_b = cv.Item({"v": _prepared(eye, wrong)}, relevant=eye.astype(bool))
    other = cv.Item({"v": _prepared(wrong, eye)}, relevant=eye.astype(bool))
    dense_only = cv.Candidate("v", cv.Config(1, 1, 0.0, 0.0))
    lex_only = cv.Candidate("v", cv.Config(1, 1, 0.0, 10.0, dense=0.0))
    row = cv.cv_row_transfer("zh", "other", [(0, [(std_a, other), (std_b, other)])], lex_only,
                             [lex_only, dense_only])
    assert row.choices == [dense_only, dense_only]       # standard builds favour dense
    assert row.chosen[0] == pytest.approx(cv.ndcg10(wrong, eye.astype(bool)))
    assert row.shipped[0] == 1.0


def test_memo_tokenizer_returns_the_same_tokens_and_copies() -> None:
    calls = []

    class Tok:
        def __call__(self, text: str) -> list[str]:
            calls.append(text)
            return text.split()

        def split(self, text: str) -> tuple[list[str], list[str]]:
            return text.split(), [text[:2]]

    m = cv.MemoTokenizer(Tok())
    assert m("a b") == ["a", "b"] and m("a b") == ["a", "b"] and calls == ["a b"]
    m("a b").append("x")  # callers may change what they get
    assert m("a b") == ["a", "b"]
    assert m.split("ab c") == (["ab", "c"], ["ab"])
