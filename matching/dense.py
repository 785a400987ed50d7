"""Dense similarity between query texts and profiles, with language routing.

``DenseIndex`` holds one main encoder (multilingual, e.g. e5-small) and an
optional English encoder (e.g. all-MiniLM-L6-v2).  Cosines of each model are
standardised against that model's background distribution on the fitted
corpus, ``z = (cos - mu) / sigma``, so both models' values live on one scale.
For an English query and an English document the English model's value is
used; every other pair uses the main model.

Two views are produced per query: document-level z (n_queries, n_docs), and
profile-level z against each profile's centroid — the normalised,
prior-weighted mean of its document vectors (n_queries, n_profiles).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from xfd.matching.encoders import Encoder
from xfd.matching.text import is_english


class Background(NamedTuple):
    """Mean and standard deviation of a model's cosine between unrelated texts."""

    mu: float
    sigma: float


class DenseSimilarity(NamedTuple):
    """``docs``: z per (query, document), float32; ``centroids``: z per (query, profile), float64."""

    docs: np.ndarray
    centroids: np.ndarray


def background(vectors: np.ndarray, rng: np.random.Generator, n_pairs: int = 4000) -> Background:
    """Estimate the cosine background from random pairs of distinct rows.

    With fewer than 8 rows there is no sample to speak of: returns (0, 1), so
    z is the raw cosine.
    """
    n = vectors.shape[0]
    if n < 8:
        return Background(0.0, 1.0)
    i = rng.integers(0, n, n_pairs)
    j = rng.integers(0, n, n_pairs)
    keep = i != j
    cos = np.einsum("ij,ij->i", vectors[i[keep]], vectors[j[keep]])
    sigma = float(cos.std())
    return Background(float(cos.mean()), sigma if sigma > 1e-6 else 1.0)


def centroids(vectors: np.ndarray, owner: np.ndarray, n_profiles: int, weights: np.ndarray) -> np.ndarray:
    """Unit-length weighted mean vector per profile (n_profiles, dim); zero rows for none."""
    w = sp.csr_matrix((weights.astype(np.float32), (owner, np.arange(len(owner)))), shape=(n_profiles, len(owner)))
    c = np.asarray(w @ vectors, dtype=np.float32)  # (n_profiles, dim), no float64 copy of the vectors
    norm = np.linalg.norm(c, axis=1, keepdims=True)
    return c / np.where(norm > 0, norm, 1.0)


def centroid_map(vectors: np.ndarray, owner: np.ndarray, n_profiles: int, weights: np.ndarray) -> sp.csr_matrix:
    """(n_profiles, n_docs) float32 CSR, one entry per document: ``w_j / |sum_k w_k v_k|`` in
    its profile's row, so ``centroid_map @ (vectors @ q)`` is ``centroids(...) @ q`` (the
    cosine of ``q`` with each profile's unit-length weighted mean vector, 0 for a profile
    with none) computed from the document cosines, without a matrix of centroids."""
    n = len(owner)
    w = sp.csr_matrix((weights.astype(np.float32), (owner, np.arange(n))), shape=(n_profiles, n))
    norm = np.linalg.norm(np.asarray(w @ vectors, dtype=np.float32), axis=1)
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0).astype(np.float32)
    out = sp.csr_matrix(sp.diags(inv) @ w, dtype=np.float32)
    out.sort_indices()
    return out


def _standardised(cos: np.ndarray, bg: Background) -> np.ndarray:
    """``((cos - mu) / sigma)`` of a float32 array, in place (the same numbers as with
    temporaries); returns ``cos``."""
    cos -= bg.mu
    cos /= bg.sigma
    return cos


class DenseIndex(BaseEstimator):
    """Standardised dense similarities, a scikit-learn estimator; see module doc.

    ``fit(texts, owner, n_profiles, weights)``: ``owner`` (n_docs,) maps
    documents to profile columns, ``weights`` (n_docs,) are document priors.
    ``query_role``: the role the main encoder gives query texts (``"passage"``
    compares a demand and a document symmetrically, as two passages).
    """

    def __init__(self, encoder: Encoder, english_encoder: Encoder | None = None, seed: int = 0,
                 query_role: str = "query") -> None:
        self.encoder = encoder
        self.english_encoder = english_encoder
        self.seed = seed
        self.query_role = query_role  # the main encoder's role for query texts ("query" or "passage")

    def fit(
        self,
        texts: Sequence[str],
        owner: np.ndarray | None = None,
        n_profiles: int | None = None,
        weights: np.ndarray | None = None,
    ) -> DenseIndex:
        """Encode the documents; learn backgrounds, centroids and the English rows (state ends in ``_``)."""
        texts = list(texts)
        n = len(texts)
        owner = np.arange(n) if owner is None else np.asarray(owner)
        n_profiles = n if n_profiles is None else n_profiles
        weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        rng = np.random.default_rng(self.seed)
        self.vectors_ = np.asarray(self.encoder.encode(texts, "passage"), dtype=np.float32).reshape(n, -1)
        self.background_ = background(self.vectors_, rng)
        self.centroid_map_ = centroid_map(self.vectors_, owner, n_profiles, weights)
        en = np.array([is_english(t) for t in texts], dtype=bool)
        rows = np.flatnonzero(en) if self.english_encoder is not None else np.zeros(0, dtype=np.int64)
        self.english_rows_ = rows
        if len(rows):
            ev = np.asarray(self.english_encoder.encode([texts[i] for i in rows], "passage"), dtype=np.float32)
            self.english_vectors_ = ev
            self.english_background_ = background(ev, rng)
            self.english_centroids_ = centroids(ev, owner[rows], n_profiles, weights[rows])
            self.english_profiles_ = np.unique(owner[rows])
        return self

    def similarity(self, texts: Sequence[str], english: np.ndarray | None = None) -> DenseSimilarity:
        """z-similarities of ``texts`` (as queries) to documents and profile centroids.

        ``english``: bool (n_texts,), ``is_english`` of each text, when the caller has it.
        """
        texts = list(texts)
        if english is not None and len(english) != len(texts):
            raise ValueError(f"english has {len(english)} flags but there are {len(texts)} texts")
        q = np.asarray(self.encoder.encode(texts, self.query_role), dtype=np.float32).reshape(len(texts), -1)
        # document-major (n_docs, n_queries) in memory, returned as its (n_queries, n_docs) view
        cos = self.vectors_ @ q.T
        cent = _standardised(np.asarray(self.centroid_map_ @ cos), self.background_)  # (n_profiles, n_queries)
        cents = np.ascontiguousarray(cent.T, dtype=np.float64)
        docs = _standardised(cos, self.background_).T
        if len(self.english_rows_):
            en_q = np.flatnonzero([is_english(t) for t in texts] if english is None else english)
            if len(en_q):
                qe = np.asarray(self.english_encoder.encode([texts[i] for i in en_q], "query"), dtype=np.float32)
                ebg = self.english_background_
                docs[np.ix_(en_q, self.english_rows_)] = (qe @ self.english_vectors_.T - ebg.mu) / ebg.sigma
                ep = self.english_profiles_
                cents[np.ix_(en_q, ep)] = (qe @ self.english_centroids_[ep].T - ebg.mu) / ebg.sigma
        return DenseSimilarity(docs, cents)
