"""Lexical similarity between query texts and documents (sparse, vectorised).

``LexicalIndex`` is fitted on the document texts of a profile set and gives a
(n_queries, n_docs) similarity matrix in [0, 1]: the cosine of sublinear
TF-IDF vectors, ``tf = 1 + ln(count)``, ``idf = ln((1 + n) / (1 + df)) + 1``,
rows L2-normalised — scikit-learn's ``CountVectorizer`` with the project's
tokenizer as analyzer followed by ``TfidfTransformer(sublinear_tf=True)``.

The document matrix is float32 and transformed in place (one copy, stored
transposed), which is what keeps peak memory at 10k profiles within the
figure in ``benchmarks/README.md``.  The tokenizer is passed in (any callable
``str -> list[str]``).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain, count, islice, repeat

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer

TokenizerFn = Callable[[str], list[str]]


#: documents counted per step of ``count_matrix`` (bounds its temporaries)
COUNT_CHUNK = 2048


def count_matrix(token_lists: Iterable[list[str]]) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Term counts of documents given as token lists: ``(counts, vocabulary)`` exactly as
    ``CountVectorizer(analyzer=identity, dtype=float32).fit_transform`` gives them — (n_docs,
    n_terms) float32 CSR with sorted indices, columns in sorted term order — but counted by
    array passes over ``COUNT_CHUNK`` documents at a time (one dict lookup per token, no
    per-document dict).  An empty vocabulary gives an (n_docs, 0) matrix and ``{}``."""
    ids_of: defaultdict[str, int] = defaultdict(count().__next__)  # term -> first-seen id
    indptr, indices, data = [np.zeros(1, dtype=np.int64)], [], []
    it = iter(token_lists)
    while chunk := list(islice(it, COUNT_CHUNK)):
        lens = np.fromiter(map(len, chunk), dtype=np.int64, count=len(chunk))
        ids = np.fromiter(map(ids_of.__getitem__, chain.from_iterable(chunk)), dtype=np.int64, count=int(lens.sum()))
        rows = np.repeat(np.arange(len(chunk), dtype=np.int64), lens)
        base = len(ids_of) + 1  # above every id seen so far: key = row * base + id
        keys, n = np.unique(rows * base + ids, return_counts=True)
        row = keys // base
        indices.append((keys - row * base).astype(np.int32))
        data.append(n.astype(np.float32))
        indptr.append(indptr[-1][-1] + np.searchsorted(row, np.arange(1, len(chunk) + 1)))
    n_docs = sum(len(p) for p in indptr) - 1
    terms = sorted(ids_of)
    rank = np.empty(len(terms), dtype=np.int32)  # first-seen id -> sorted column
    rank[np.fromiter(map(ids_of.__getitem__, terms), dtype=np.int64, count=len(terms))] = np.arange(len(terms))
    idx = rank[np.concatenate(indices)] if indices else np.zeros(0, dtype=np.int32)
    out = sp.csr_matrix((np.concatenate(data) if data else np.zeros(0, dtype=np.float32), idx,
                         np.concatenate(indptr)), shape=(n_docs, len(terms)))
    out.sort_indices()
    return out, {t: j for j, t in enumerate(terms)}


class LexicalIndex(BaseEstimator):
    """Sparse TF-IDF cosine scorer over documents; see the module doc.

    Fitted state: ``vocabulary_`` (term -> column), ``terms_`` (object array,
    column -> term), ``idf_`` (n_terms,) float32, ``doc_matrix_t_``
    (n_terms, n_docs) float32 CSR with sorted indices and ``tfidf_`` (the fitted
    ``TfidfTransformer``).
    """

    def __init__(self, tokenizer: TokenizerFn) -> None:
        self.tokenizer = tokenizer

    def fit(self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> LexicalIndex:
        """Learn vocabulary, idf and the document matrix from ``texts`` (or their given ``tokens``)."""
        # without given tokens, texts are tokenised a chunk at a time while counting:
        # no list of every document's tokens is ever held (peak memory)
        lists: Iterable[list[str]] = tokens if tokens is not None else map(self.tokenizer, texts)
        self.tfidf_ = TfidfTransformer(sublinear_tf=True)
        counts, vocabulary = count_matrix(lists)
        self.vocabulary_: dict[str, int] = vocabulary
        if not vocabulary:  # empty vocabulary: no document has a token
            self.idf_ = np.zeros(0, dtype=np.float32)
        else:
            counts = self.tfidf_.fit(counts).transform(counts, copy=False)  # in place, float32
            self.idf_ = self.tfidf_.idf_
        self.terms_ = np.empty(len(self.vocabulary_), dtype=object)
        for term, j in self.vocabulary_.items():
            self.terms_[j] = term
        # stored once, transposed (n_terms, n_docs) in CSR: a query is one sparse product
        self.doc_matrix_t_ = sp.csr_matrix(counts.T)
        del counts
        self.doc_matrix_t_.sort_indices()
        return self

    def query_columns(self, token_lists: Sequence[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """The queries' terms and their TF-IDF weights, column-major: ``cols`` (n_cols,) the
        sorted vocabulary ids of the terms any query has, ``qt`` (n_cols, n_queries) float32,
        each query's column unit-length (all zero for a query with no known term) — the
        query rows of ``TfidfTransformer(sublinear_tf=True)`` over the vocabulary's counts,
        transposed and made dense over those terms only."""
        lists = list(token_lists)
        n_q, n_t = len(lists), len(self.vocabulary_)
        flat = list(chain.from_iterable(lists))
        ids = np.fromiter(map(self.vocabulary_.get, flat, repeat(-1, len(flat))), dtype=np.int64, count=len(flat))
        rows = np.repeat(np.arange(n_q, dtype=np.int64), [len(t) for t in lists])
        keep = ids >= 0
        ids, rows = ids[keep], rows[keep]
        present = np.zeros(n_t, dtype=bool)
        present[ids] = True
        cols = np.flatnonzero(present)
        pos = np.empty(n_t, dtype=np.int64)
        pos[cols] = np.arange(len(cols))
        # nz: flat (column, query) positions of the non-zeros, sorted; counts: how often
        nz, counts = np.unique(pos[ids] * n_q + rows, return_counts=True)
        # tf = 1 + ln(count), times idf, each query's column L2-normalised (float64, then stored float32)
        vals = (1.0 + np.log(counts)) * self.idf_[cols[nz // max(n_q, 1)]]
        q_of = nz % max(n_q, 1)
        norm = np.sqrt(np.bincount(q_of, weights=vals * vals, minlength=n_q))
        qt = np.zeros(len(cols) * n_q, dtype=np.float32)
        qt[nz] = vals / norm[q_of]
        return cols, qt.reshape(len(cols), n_q)

    def similarity(self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> np.ndarray:
        """Dense (n_queries, n_docs) cosine similarities in [0, 1], float32, C-ordered."""
        toks = list(tokens) if tokens is not None else [self.tokenizer(t) for t in texts]
        n_docs = self.doc_matrix_t_.shape[1]
        if not self.vocabulary_:
            return np.zeros((len(toks), n_docs), dtype=np.float32)
        cols, qt = self.query_columns(toks)
        # only the document rows of the queries' terms; their transpose (n_docs, n_cols) is
        # CSC, whose product with the dense query columns is one pass over their non-zeros
        s = (self.doc_matrix_t_[cols].T @ qt).T
        return np.clip(s, 0.0, 1.0, out=s)
