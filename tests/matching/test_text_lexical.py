"""Text normalisation, tokenisation and lexical similarity, with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from xfd.matching.lexical import LexicalIndex
from xfd.matching.registry import UnknownNameError
from xfd.matching.text import Tokenizer, cjk_ratio, default_tokenizer, is_english, normalize


def test_normalize_folds_full_width_and_case() -> None:
    assert normalize("ＰＬＣ　控制\t系统 ＡＢＣ１２３") == "plc 控制 系统 abc123"


def test_language_detection() -> None:
    assert is_english("Deep learning for defect detection")
    assert not is_english("基于深度学习的缺陷检测 deep learning")
    assert cjk_ratio("") == 0.0
    assert cjk_ratio("机器") == 1.0


def test_tokenizer_mixed_text_stopwords_and_stemming() -> None:
    tok = Tokenizer(stopwords=["the", "of"])
    out = tok("The detection of Cracks 裂纹检测")
    assert "the" not in out and "of" not in out
    assert "crack" in out  # plural stripped
    assert "detection" in out
    assert any("裂纹" in t for t in out)


def test_char_ngrams_follow_words() -> None:
    tok = Tokenizer(char_ngrams=2)
    words = tok.words("缺陷检测")
    out = tok("缺陷检测")
    assert out[: len(words)] == words
    assert out[len(words) :] == ["缺陷", "陷检", "检测"]


def test_default_tokenizer_keeps_domain_terms() -> None:
    tok = default_tokenizer()
    assert "注塑模具" in tok.words("注塑模具的冷却系统优化")


def _brute_tfidf(docs: list[list[str]], query: list[str]) -> np.ndarray:
    vocab = sorted({t for d in docs for t in d})
    n = len(docs)
    idf = {t: math.log((1 + n) / (1 + sum(t in d for d in docs))) + 1 for t in vocab}

    def vec(tokens: list[str]) -> np.ndarray:
        v = np.array([(1 + math.log(tokens.count(t))) * idf[t] if t in tokens else 0.0 for t in vocab])
        nv = np.linalg.norm(v)
        return v / nv if nv else v

    q = vec(query)
    return np.array([vec(d) @ q for d in docs])


def test_tfidf_matches_brute_force() -> None:
    docs = [["机器", "视觉", "视觉"], ["发酵", "工艺"], ["机器", "学习", "工艺"]]
    query = ["机器", "视觉", "未知"]
    idx = LexicalIndex(tokenizer=lambda s: s.split(), method="tfidf").fit(["a", "b", "c"], docs)
    got = idx.similarity(["q"], [query])[0]
    np.testing.assert_allclose(got, _brute_tfidf(docs, query), rtol=1e-6, atol=1e-9)  # float32 matrix


def test_bm25_is_normalised_to_unit_interval() -> None:
    docs = [["a", "b"], ["a"], ["c", "c", "c"]]
    idx = LexicalIndex(tokenizer=lambda s: s.split(), method="bm25").fit(["", "", ""], docs)
    s = idx.similarity(["x"], [["a", "b"]])[0]
    assert np.all(s >= 0) and np.all(s <= 1)
    assert s[0] > s[1] > s[2] == 0.0


def test_unknown_lexical_method_lists_valid() -> None:
    with pytest.raises(UnknownNameError, match="bm25, tfidf"):
        LexicalIndex(tokenizer=str.split, method="bm99").fit(["a"])
