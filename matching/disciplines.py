"""Discipline inference: which disciplines does a demand need?

``DisciplineInferer`` compares a demand's text with each discipline's
description (name, aliases and characteristic keywords, from the project's
discipline table) lexically and, given an encoder, densely, and turns the
similarities into a distribution over disciplines (softmax, rows sum to 1).
``select`` keeps the best discipline and any other within ``relative`` of it,
at most ``max_disciplines``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator

from xfd.matching.dense import DenseIndex
from xfd.matching.encoders import Encoder
from xfd.matching.lexical import LexicalIndex


class DisciplineScore(NamedTuple):
    """A proposed discipline and its probability-like score in [0, 1]."""

    name: str
    score: float


class DisciplineSpec(NamedTuple):
    """A discipline as the inferer sees it: its exact name and descriptive text."""

    name: str
    description: str


def softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def select(
    probs: np.ndarray, names: Sequence[str], max_disciplines: int = 3, relative: float = 0.5
) -> list[tuple[str, ...]]:
    """Per row: the top discipline plus those scoring >= ``relative`` × top (at most ``max_disciplines``)."""
    out: list[tuple[str, ...]] = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:max_disciplines]
        top = row[order[0]] if len(order) else 0.0
        out.append(tuple(names[j] for j in order if row[j] >= relative * top and row[j] > 0))
    return out


class DisciplineInferer(BaseEstimator):
    """Scores demands against disciplines; a scikit-learn estimator (fit returns self, state ends in ``_``).

    ``lexical_weight`` and ``dense_weight`` mix the two similarity kinds
    (lexical in [0, 1], dense in background z-units) before a softmax with
    ``temperature``.
    """

    def __init__(
        self,
        tokenizer: Callable[[str], list[str]],
        encoder: Encoder | None = None,
        lexical_weight: float = 15.0,
        dense_weight: float = 1.0,
        temperature: float = 1.0,
    ) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.lexical_weight = lexical_weight
        self.dense_weight = dense_weight
        self.temperature = temperature

    def fit(self, disciplines: Sequence[DisciplineSpec]) -> DisciplineInferer:
        if not disciplines:
            raise ValueError("no disciplines to infer from (discipline table is empty)")
        self.names_ = [d.name for d in disciplines]
        texts = [d.description for d in disciplines]
        self.lexical_ = LexicalIndex(self.tokenizer).fit(texts)
        self.dense_ = DenseIndex(self.encoder).fit(texts) if self.encoder is not None else None
        return self

    def logits(self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> np.ndarray:
        """Unnormalised scores (n_texts, n_disciplines)."""
        x = self.lexical_weight * self.lexical_.similarity(texts, tokens)
        if self.dense_ is not None:
            x = x + self.dense_weight * self.dense_.similarity(texts).docs
        return x

    def predict_proba(self, texts: Sequence[str], tokens: Sequence[list[str]] | None = None) -> np.ndarray:
        """Distribution over disciplines per text (n_texts, n_disciplines), rows sum to 1."""
        return softmax(self.logits(texts, tokens), self.temperature)

    def propose(self, texts: Sequence[str], top: int = 5) -> list[tuple[DisciplineScore, ...]]:
        """The ``top`` disciplines per text with their scores, best first."""
        p = self.predict_proba(texts)
        out = []
        for row in p:
            order = np.argsort(-row, kind="stable")[:top]
            out.append(tuple(DisciplineScore(self.names_[j], float(row[j])) for j in order))
        return out


def table_specs(rows: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> list[DisciplineSpec]:
    """Specs from (name, aliases, keywords) rows of the discipline table."""
    return [DisciplineSpec(name, "；".join([name, *aliases, *keywords])) for name, aliases, keywords in rows]
