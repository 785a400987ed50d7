"""Ranking quality metrics with known definitions.

- ``ndcg_at_k``: binary-relevance nDCG@k of one ranking.
- ``expertise_loss``: the reviewer–paper expertise loss of Stelmakh et al.
  (2023): over each researcher's pairs of rated papers, a pair ordered against
  the ratings costs the rating difference, a tie in predicted score costs half
  of it; the sum is divided by the sum of all rating differences (0 = perfect,
  0.5 = constant scores, lower is better).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def ndcg_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """nDCG@k for one query: ``scores`` and boolean ``relevant`` of equal length.

    Ties are broken by column order (stable sort).  Returns 0 when nothing is
    relevant.
    """
    rel = np.asarray(relevant, dtype=bool)
    n_rel = int(rel.sum())
    if n_rel == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float((rel[order] * disc[: len(order)]).sum())
    idcg = float(disc[: min(n_rel, k)].sum())
    return dcg / idcg


def expertise_loss(groups: Iterable[tuple[Sequence[float], Sequence[float]]]) -> float:
    """Loss over groups of (predicted scores, true ratings), one group per researcher."""
    num = 0.0
    den = 0.0
    for pred, true in groups:
        p = np.asarray(pred, dtype=np.float64)
        t = np.asarray(true, dtype=np.float64)
        for i in range(len(t)):
            for j in range(i + 1, len(t)):
                diff = abs(t[i] - t[j])
                if diff == 0:
                    continue
                den += diff
                if p[i] == p[j]:
                    num += diff / 2
                elif (p[i] - p[j]) * (t[i] - t[j]) < 0:
                    num += diff
    return num / den if den > 0 else 0.0
