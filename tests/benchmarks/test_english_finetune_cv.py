"""The pure parts of benchmarks/english_finetune_cv.py on cases worked by hand."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks import english_finetune_cv as ef


def test_author_pairs_take_the_other_papers_of_the_same_training_researcher() -> None:
    owner = np.array([0, 0, 1, 1, 1, 2])
    p = ef.training_pairs(owner, {1, 2}, "author")
    # researcher 2 has one paper: no other paper to pair it with; researcher 0 is held out
    assert p.passage == [2, 3, 4]
    assert p.queries == [[3, 4], [2, 4], [2, 3]]
    assert p.groups == ["r1", "r1", "r1"]


def test_title_pairs_point_past_the_papers_and_author_title_has_both() -> None:
    owner = np.array([0, 1, 1])
    t = ef.training_pairs(owner, {1}, "title")
    assert (t.queries, t.passage, t.groups) == ([[4], [5]], [1, 2], ["d1", "d2"])
    both = ef.training_pairs(owner, {1}, "author+title")
    assert both.passage == [1, 1, 2, 2] and both.queries == [[2], [4], [1], [5]]


def test_an_unknown_mode_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="author, title, author\\+title"):
        ef.training_pairs(np.array([0]), {0}, "keywords")


def test_the_scores_are_the_mean_of_each_researchers_two_best_papers() -> None:
    """fold_scores reduces the document cosines by english_cv.aggregate's top-2 rule."""
    s = np.array([[0.9, 0.1, 0.5, 0.2, 0.4],
                  [0.0, 0.3, 0.8, 0.6, 0.7]])
    owner = np.array([0, 0, 0, 1, 1])
    np.testing.assert_allclose(ef.aggregate(s, owner, 2, "topk", 2), [[0.7, 0.3], [0.55, 0.65]])
