"""Text normalisation, tokenisation and lexical similarity, with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from xfd.matching.lexical import LexicalIndex
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
    idx = LexicalIndex(tokenizer=lambda s: s.split()).fit(["a", "b", "c"], docs)
    got = idx.similarity(["q"], [query])[0]
    np.testing.assert_allclose(got, _brute_tfidf(docs, query), rtol=1e-6, atol=1e-9)  # float32 matrix


def test_tfidf_known_values_by_hand() -> None:
    # 2 documents, n = 2: idf(a) = ln(3/3) + 1 = 1 (in both), idf(b) = ln(3/2) + 1 (in doc 0 only).
    # doc 0 = [a, b, b]: tf(a) = 1, tf(b) = 1 + ln 2; doc 1 = [a]: unit vector on a.
    idx = LexicalIndex(tokenizer=str.split).fit(["a b b", "a"])
    ib = math.log(1.5) + 1
    d0 = np.array([1.0, (1 + math.log(2)) * ib])
    d0 /= np.linalg.norm(d0)
    np.testing.assert_allclose(idx.idf_[[idx.vocabulary_["a"], idx.vocabulary_["b"]]], [1.0, ib], rtol=1e-6)
    got = idx.similarity(["a", "b", "a b", "zzz"])
    q_ab = np.array([1.0, ib]) / math.hypot(1.0, ib)
    want = np.array([[d0[0], 1.0], [d0[1], 0.0], [d0 @ q_ab, q_ab[0]], [0.0, 0.0]])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert idx.doc_matrix_t_.dtype == np.float32  # memory: float32, stored once (transposed)


def test_tfidf_agrees_with_sklearn_tfidf_vectorizer() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = ["机器 视觉 视觉 检测", "发酵 工艺", "机器 学习 工艺 工艺 工艺", "检测"]
    queries = ["机器 视觉", "工艺 工艺 发酵 未知", "未知"]
    ref = TfidfVectorizer(analyzer=str.split, sublinear_tf=True).fit(docs)
    want = (ref.transform(queries) @ ref.transform(docs).T).toarray()
    np.testing.assert_allclose(LexicalIndex(str.split).fit(docs).similarity(queries), want, rtol=1e-6, atol=1e-7)


def test_empty_vocabulary_gives_zero_similarities() -> None:
    idx = LexicalIndex(tokenizer=str.split).fit(["", ""])
    assert idx.vocabulary_ == {} and idx.similarity(["a b"]).tolist() == [[0.0, 0.0]]


def test_lexical_index_is_an_estimator() -> None:
    from sklearn.base import clone

    tok = Tokenizer()
    idx = LexicalIndex(tok)
    assert idx.get_params() == {"tokenizer": tok}
    assert clone(idx).tokenizer is tok  # the tokenizer (and its loaded dictionary) is shared, not copied
    assert not hasattr(clone(idx.fit(["机器 视觉"])), "vocabulary_")


def test_missing_user_dictionary_names_the_file(tmp_path) -> None:
    tok = Tokenizer(user_dict=tmp_path / "jieba_dict.txt")
    with pytest.raises(FileNotFoundError, match="jieba_dict.txt"):
        tok("机器视觉")


@pytest.mark.parametrize("missing", ["jieba_dict.txt", "stopwords.txt"])
def test_default_tokenizer_missing_resource_names_the_file(tmp_path, monkeypatch, missing: str) -> None:
    import xfd.corpora as corpora

    for name in ("jieba_dict.txt", "stopwords.txt"):
        if name != missing:
            (tmp_path / name).write_text("的\n", encoding="utf-8")
    monkeypatch.setattr(corpora.resources, "files", lambda _package: tmp_path)
    with pytest.raises(FileNotFoundError, match=missing):
        default_tokenizer()("机器视觉")


def test_missing_discipline_table_names_the_file(tmp_path, monkeypatch) -> None:
    import xfd.corpora as corpora
    from xfd.models.pipeline import make_scorer

    for name in ("jieba_dict.txt", "stopwords.txt"):
        (tmp_path / name).write_text("的\n", encoding="utf-8")
    monkeypatch.setattr(corpora.resources, "files", lambda _package: tmp_path)
    with pytest.raises(FileNotFoundError, match="disciplines.tsv"):
        make_scorer("lexical")


def _sklearn_counts(idx: LexicalIndex, queries: list[list[str]]) -> sp.csr_matrix:
    """The queries' term counts by scikit-learn's CountVectorizer over the index's vocabulary (float64 CSR)."""
    from sklearn.feature_extraction.text import CountVectorizer

    cv = CountVectorizer(analyzer=lambda t: t, lowercase=False, vocabulary=idx.vocabulary_, dtype=np.float64)
    out = cv.fit([]).transform(queries).tocsr()
    out.sort_indices()
    return out


def _sklearn_query_matrix(idx: LexicalIndex, queries: list[list[str]]) -> np.ndarray:
    """Dense (n_queries, n_terms) TF-IDF query rows by the index's fitted TfidfTransformer
    (which refuses an empty batch: that one is (0, n_terms))."""
    if not queries:
        return np.zeros((0, len(idx.vocabulary_)))
    return idx.tfidf_.transform(_sklearn_counts(idx, queries)).toarray()


def test_query_columns_equal_the_fitted_tfidf_transformer() -> None:
    """The hand-written query transform is sklearn's, queries with no known term included."""
    docs = [["钢板", "缺陷", "检测", "检测"], ["茶叶", "杀青", "工艺"], ["检测", "设备", "设备", "设备"]]
    idx = LexicalIndex(lambda t: t.split()).fit([" ".join(d) for d in docs], tokens=docs)
    queries = [["检测", "检测", "检测", "设备"], ["未知"], [], ["茶叶", "未知", "工艺", "工艺"]]
    cols, qt = idx.query_columns(queries)
    want = _sklearn_query_matrix(idx, queries)
    assert not want[:, np.setdiff1d(np.arange(want.shape[1]), cols)].any()
    np.testing.assert_allclose(qt.T, want[:, cols], rtol=1e-6, atol=1e-7)  # float32 columns
    assert np.allclose(np.linalg.norm(qt, axis=0), [1, 0, 0, 1])


def test_cjk_ratio_counts_like_a_character_loop() -> None:
    """The regex count equals counting characters one by one (str.isspace, the CJK ranges)."""
    import random
    import re

    cjk = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

    def by_hand(text: str) -> float:
        chars = [c for c in text if not c.isspace()]
        return sum(1 for c in chars if cjk.match(c)) / len(chars) if chars else 0.0

    rng = random.Random(0)
    alphabet = "ab 中\t\u3000文\u00a0xyz\u2029\n\x1c\x85㐀﨑\U00020000"
    texts = ["", "   ", "机器 vision", *("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
                                          for _ in range(2000))]
    assert [cjk_ratio(t) for t in texts] == [by_hand(t) for t in texts]


def _random_index_and_queries(seed: int, n_batches: int = 50) -> tuple[LexicalIndex, list[list[list[str]]]]:
    """A LexicalIndex on 30 random documents over 40 words, and ``n_batches`` random query
    batches (0–4 queries of 0–14 tokens, some unknown)."""
    import random

    rng = random.Random(seed)
    words = [f"w{i}" for i in range(40)]
    docs = [[rng.choice(words) for _ in range(rng.randint(0, 12))] for _ in range(30)]
    idx = LexicalIndex(lambda t: t.split()).fit([" ".join(d) for d in docs], tokens=docs)
    batches = [[[rng.choice([*words, "未知"]) for _ in range(rng.randint(0, 15))] for _ in range(rng.randint(0, 5))]
               for _ in range(n_batches)]
    return idx, batches


def test_query_columns_count_like_the_count_vectorizer() -> None:
    """The (query, term) non-zeros of ``query_columns`` are exactly CountVectorizer's counts'."""
    idx, batches = _random_index_and_queries(1)
    for queries in batches:
        want = _sklearn_counts(idx, queries)
        cols, qt = idx.query_columns(queries)
        assert np.array_equal(cols, np.unique(want.indices))
        assert np.array_equal(qt.T != 0, want.toarray()[:, cols] != 0)


def test_query_columns_are_the_tfidf_query_rows_transposed_over_their_terms() -> None:
    """``query_columns`` holds the non-zeros of sklearn's TF-IDF query rows (float32), column per
    query, on exactly the sorted terms some query has; queries without a known term are zero columns."""
    idx, batches = _random_index_and_queries(2)
    for queries in batches:
        want = _sklearn_query_matrix(idx, queries)
        cols, qt = idx.query_columns(queries)
        assert np.array_equal(cols, np.flatnonzero(want.any(axis=0))) and qt.dtype == np.float32
        assert qt.shape == (len(cols), len(queries))
        np.testing.assert_allclose(qt.T, want[:, cols], rtol=1e-6, atol=0)


def test_similarity_rows_are_cosines_of_the_query_and_document_vectors() -> None:
    """The one-pass product equals the sparse cosine, for a batch and for each query alone."""
    import random

    rng = random.Random(3)
    words = [f"w{i}" for i in range(60)]
    docs = [[rng.choice(words) for _ in range(rng.randint(1, 20))] for _ in range(25)]
    idx = LexicalIndex(lambda t: t.split()).fit([" ".join(d) for d in docs], tokens=docs)
    queries = [[rng.choice([*words, "未知"]) for _ in range(rng.randint(0, 15))] for _ in range(7)]
    got = idx.similarity([], queries)
    want = np.clip(_sklearn_query_matrix(idx, queries) @ idx.doc_matrix_t_.astype(np.float64).toarray(), 0, 1)
    assert got.shape == (7, 25) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    for i, q in enumerate(queries):
        np.testing.assert_allclose(idx.similarity([], [q])[0], want[i], rtol=1e-6, atol=1e-7)


def test_is_english_equals_its_definition() -> None:
    """The early exits (no three Latin letters; CJK at least the threshold of all characters)
    give exactly ``cjk_ratio(t) < 0.02 and a run of three Latin letters``."""
    import random
    import re

    latin3 = re.compile(r"[A-Za-z]{3}")
    rng = random.Random(4)
    alphabet = ["abc", "Deep", " ", "\t", "中", "文", "x", "1", "\u3000", "检测 ", "learning "]
    texts = ["", "abc", "中abc", "中" + "a" * 60, "中" + "a" * 40, *(
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000))]
    assert [is_english(t) for t in texts] == [cjk_ratio(t) < 0.02 and bool(latin3.search(t)) for t in texts]


@pytest.mark.parametrize("chunk", [1, 3, 2048])
def test_count_matrix_equals_the_count_vectorizer(monkeypatch, chunk: int) -> None:
    """Counting by array passes gives CountVectorizer's matrix (values, sorted indices, column order)
    and vocabulary, across chunk boundaries, with empty documents and Chinese terms."""
    import random

    from sklearn.feature_extraction.text import CountVectorizer

    from xfd.matching import lexical

    monkeypatch.setattr(lexical, "COUNT_CHUNK", chunk)
    rng = random.Random(chunk)
    words = [f"w{i}" for i in range(30)] + ["检测", "茶叶", "设备", "Zeta", "a-b"]
    for _ in range(20):
        docs = [[rng.choice(words) for _ in range(rng.randint(0, 9))] for _ in range(rng.randint(1, 12))]
        got, vocab = lexical.count_matrix(iter(docs))
        if not any(docs):
            assert vocab == {} and got.shape == (len(docs), 0)
            continue
        cv = CountVectorizer(analyzer=lambda t: t, lowercase=False, dtype=np.float32)
        want = cv.fit_transform(docs).tocsr()
        want.sort_indices()
        assert vocab == cv.vocabulary_ and got.dtype == np.float32 and got.has_sorted_indices
        assert got.shape == want.shape and np.array_equal(got.indptr, want.indptr)
        assert np.array_equal(got.indices, want.indices) and np.array_equal(got.data, want.data)
