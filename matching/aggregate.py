"""Aggregate document-level scores into profile-level scores, vectorised.

Given ``doc_scores`` of shape (n_queries, n_docs) and ``owner`` (n_docs,)
mapping each document to a profile column, return (n_queries, n_profiles):
for every profile, the mean of its ``k`` best (weighted) document scores —
``k=1`` is the max, a large ``k`` is the mean.  Profiles with no documents
get ``empty`` (default 0).
"""
from __future__ import annotations

import numpy as np


def owner_layout(owner: np.ndarray, n_profiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded (n_profiles, max_docs) index of document rows and its validity mask."""
    counts = np.bincount(owner, minlength=n_profiles)
    width = max(int(counts.max()) if counts.size else 0, 1)
    order = np.argsort(owner, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(owner)) - np.repeat(starts, counts)
    idx = np.zeros((n_profiles, width), dtype=np.int64)
    mask = np.zeros((n_profiles, width), dtype=bool)
    idx[owner[order], slot] = order
    mask[owner[order], slot] = True
    return idx, mask


def topk_mean(
    doc_scores: np.ndarray,
    owner: np.ndarray,
    n_profiles: int,
    k: int = 3,
    weights: np.ndarray | None = None,
    empty: float = 0.0,
    chunk: int = 256,
    layout: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Mean of the ``k`` best weighted document scores of each profile.

    ``weights`` (n_docs,) multiply document scores before ranking.  A profile
    with fewer than ``k`` documents averages those it has.  ``layout`` is
    ``owner_layout(owner, n_profiles)`` when the caller has it already.
    """
    if doc_scores.ndim != 2 or doc_scores.shape[1] != len(owner):
        raise ValueError(f"doc_scores has {doc_scores.shape[-1]} columns but owner has {len(owner)} entries")
    n_q = doc_scores.shape[0]
    out = np.full((n_q, n_profiles), empty, dtype=np.float64)
    if len(owner) == 0 or n_q == 0:
        return out
    idx, mask = layout if layout is not None else owner_layout(owner, n_profiles)
    has = mask.any(axis=1)
    kk = max(1, min(k, idx.shape[1]))
    counts = np.minimum(mask.sum(axis=1), kk).astype(np.float64)
    w = np.ones(len(owner)) if weights is None else np.asarray(weights, dtype=np.float64)
    for s in range(0, n_q, chunk):
        block = doc_scores[s : s + chunk].astype(np.float64) * w  # (b, n_docs)
        g = block[:, idx]  # (b, n_profiles, width)
        g = np.where(mask[None], g, -np.inf)
        if kk < g.shape[2]:
            g = -np.partition(-g, kk - 1, axis=2)[:, :, :kk]
        g = np.where(np.isfinite(g), g, 0.0)
        res = g.sum(axis=2) / np.maximum(counts, 1)[None]
        out[s : s + chunk] = np.where(has[None], res, empty)
    return out
