"""Dense similarity between query texts and documents, with language routing.

``DenseIndex`` holds one main encoder (multilingual, e.g. e5-small) and an
optional English encoder (e.g. all-MiniLM-L6-v2).  Cosines of each model are
standardised against that model's background distribution on the fitted
corpus, ``z = (cos - mu) / sigma``, so both models' values live on one scale.
For an English query and an English document the English model's value is
used; every other pair uses the main model.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from matching.encoders import Encoder
from matching.text import is_english


class Background(NamedTuple):
    """Mean and standard deviation of a model's cosine between unrelated texts."""

    mu: float
    sigma: float


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


class DenseIndex:
    """Standardised dense similarities (n_queries, n_docs); see module doc."""

    def __init__(self, encoder: Encoder, english_encoder: Encoder | None = None, seed: int = 0) -> None:
        self.encoder = encoder
        self.english_encoder = english_encoder
        self.seed = seed

    def fit(self, texts: Sequence[str]) -> "DenseIndex":
        rng = np.random.default_rng(self.seed)
        self.vectors_ = np.asarray(self.encoder.encode(list(texts), "passage"), dtype=np.float32)
        self.background_ = background(self.vectors_, rng)
        en = np.array([is_english(t) for t in texts], dtype=bool)
        self.english_rows_ = np.flatnonzero(en) if self.english_encoder is not None else np.zeros(0, dtype=np.int64)
        if len(self.english_rows_):
            en_texts = [texts[i] for i in self.english_rows_]
            self.english_vectors_ = np.asarray(self.english_encoder.encode(en_texts, "passage"), dtype=np.float32)
            self.english_background_ = background(self.english_vectors_, rng)
        else:
            self.english_vectors_ = np.zeros((0, 1), dtype=np.float32)
            self.english_background_ = Background(0.0, 1.0)
        return self

    def similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Standardised similarities (n_queries, n_docs), float64."""
        q = np.asarray(self.encoder.encode(list(texts), "query"), dtype=np.float32)
        bg = self.background_
        z = (q @ self.vectors_.T - bg.mu) / bg.sigma
        z = z.astype(np.float64)
        if len(self.english_rows_):
            en_q = np.flatnonzero([is_english(t) for t in texts])
            if len(en_q):
                qe = np.asarray(self.english_encoder.encode([texts[i] for i in en_q], "query"), dtype=np.float32)
                ebg = self.english_background_
                ze = (qe @ self.english_vectors_.T - ebg.mu) / ebg.sigma
                z[np.ix_(en_q, self.english_rows_)] = ze
        return z
