"""Lexical similarity between query texts and documents (sparse, vectorised).

``LexicalIndex`` is fitted on the document texts of a profile set and gives a
(n_queries, n_docs) similarity matrix in [0, 1]:

- ``"tfidf"``: cosine of sublinear TF-IDF vectors;
- ``"bm25"``: BM25 (k1, b) divided by the query's own best possible score
  (sum over its terms of idf·(k1+1)), so values are comparable across queries.

The tokenizer is passed in (any callable ``str -> list[str]``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from xfd.matching.registry import choose

TokenizerFn = Callable[[str], list[str]]
LEXICAL_METHODS = ("bm25", "tfidf")


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class LexicalIndex:
    """Sparse lexical scorer over documents; see module doc for ``method``."""

    def __init__(self, tokenizer: TokenizerFn, method: str = "bm25", k1: float = 1.2, b: float = 0.75) -> None:
        self.tokenizer = tokenizer
        self.method = method
        self.k1 = k1
        self.b = b

    def fit(self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> "LexicalIndex":
        """Learn vocabulary, idf and the document matrix from ``texts``."""
        choose("lexical method", self.method, {m: m for m in LEXICAL_METHODS})
        # without given tokens, texts are tokenised one at a time while counting:
        # no list of every document's tokens is ever held (peak memory)
        if tokens is not None:
            cv = CountVectorizer(analyzer=_identity, lowercase=False, dtype=np.float32)
            source: Sequence = list(tokens)
        else:
            cv = CountVectorizer(analyzer=self.tokenizer, lowercase=False, dtype=np.float32)
            source = list(texts)
        try:
            tf = cv.fit_transform(source).tocsr()  # float32 counts
            self.vocabulary_ = cv.vocabulary_
        except ValueError:  # empty vocabulary: no document has a token
            tf = sp.csr_matrix((len(source), 0), dtype=np.float32)
            self.vocabulary_ = {}
        self.terms_ = np.empty(len(self.vocabulary_), dtype=object)
        for term, j in self.vocabulary_.items():
            self.terms_[j] = term
        n = max(tf.shape[0], 1)
        tf.sum_duplicates()
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
        rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))  # row of each stored entry
        data = tf.data  # transformed in place: no extra copies of the matrix
        if self.method == "bm25":
            self.idf_ = np.log1p((n - df + 0.5) / (df + 0.5))
            dl = np.bincount(rows, weights=data, minlength=tf.shape[0])
            avg = dl.mean() if dl.size and dl.mean() > 0 else 1.0
            data *= (self.k1 + 1) / (data + self.k1 * (1 - self.b + self.b * dl[rows] / avg))
            data *= self.idf_[tf.indices]
        else:
            self.idf_ = np.log((1 + n) / (1 + df)) + 1.0
            np.log(data, out=data)
            data += 1.0
            data *= self.idf_[tf.indices]
            norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=tf.shape[0]))
            norms[norms == 0] = 1.0
            data /= norms[rows]
        del rows
        # stored once, transposed (n_terms, n_docs) in CSR: a query is one sparse product
        self.doc_matrix_t_ = tf.T.tocsr()
        self.doc_matrix_t_.sort_indices()
        return self

    def shared_terms(self, term_ids: Sequence[int], row: int) -> list[int]:
        """The ids among ``term_ids`` that occur in document ``row``."""
        m = self.doc_matrix_t_
        out = []
        for t in term_ids:
            docs = m.indices[m.indptr[t] : m.indptr[t + 1]]
            k = np.searchsorted(docs, row)
            if k < len(docs) and docs[k] == row:
                out.append(int(t))
        return out

    def query_matrix(self, token_lists: Sequence[list[str]]) -> tuple[sp.csr_matrix, np.ndarray]:
        """Sparse (n_queries, n_terms) query weights and each query's normaliser.

        Unknown terms are dropped.  The normaliser (n_queries,) turns raw
        scores into [0, 1]: for BM25 the query's best possible score, for
        TF-IDF 1 (vectors are already unit length).
        """
        rows, cols, vals = [], [], []
        vocab = self.vocabulary_
        for i, toks in enumerate(token_lists):
            counts: dict[int, int] = {}
            for t in toks:
                j = vocab.get(t)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(i)
                cols.append(j)
                vals.append(float(c))
        q = sp.csr_matrix((vals, (rows, cols)), shape=(len(token_lists), len(vocab)))
        if self.method == "bm25":
            q.data = np.ones_like(q.data)  # each distinct query term once
            best = q @ (self.idf_ * (self.k1 + 1))
            return q, np.where(best > 0, best, 1.0)
        q.data = 1.0 + np.log(q.data)
        q = q @ sp.diags(self.idf_)
        norms = np.sqrt(np.asarray(q.multiply(q).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ q), np.ones(q.shape[0])

    def similarity(self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> np.ndarray:
        """Dense (n_queries, n_docs) similarities in [0, 1]."""
        toks = list(tokens) if tokens is not None else [self.tokenizer(t) for t in texts]
        q, norm = self.query_matrix(toks)
        s = (q @ self.doc_matrix_t_).toarray().astype(np.float64)
        return np.clip(s / norm[:, None], 0.0, 1.0)
