"""Aggregate document-level scores into profile-level scores, vectorised.

Given ``doc_scores`` of shape (n_queries, n_docs) and ``owner`` (n_docs,)
mapping each document to a profile column, return (n_queries, n_profiles):
for every profile, the mean of its ``k`` best (weighted) document scores —
``k=1`` is the max, a large ``k`` is the mean.  Profiles with no documents
get ``empty`` (default 0).
"""
from __future__ import annotations

from typing import NamedTuple

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


#: Widest layout whose top-k is selected by a compare-exchange network across slots (wider: a partition).
NETWORK_WIDTH = 8
#: Values gathered per block (rows x width x profiles): temporaries stay small
#: enough to be reused from the heap and to sit in cache.
BLOCK_VALUES = 1 << 16


def _top_sum(slots: np.ndarray, kk: int) -> np.ndarray:
    """Sum of the ``kk`` largest values over axis 1 of ``slots`` (b, width, n_profiles);
    -inf entries (padding) count as 0 when they are among them."""
    width = slots.shape[1]
    if kk == 1:
        return slots.max(axis=1)
    if kk == 2 and width == 4:
        return _top2_of_4(slots)
    if width <= NETWORK_WIDTH:
        # odd-even transposition sort of the slots, elementwise over (b, n_profiles)
        rows = [slots[:, j] for j in range(width)]
        for r in range(width):
            for j in range(r % 2, width - 1, 2):
                lo, hi = np.minimum(rows[j], rows[j + 1]), np.maximum(rows[j], rows[j + 1])
                rows[j], rows[j + 1] = lo, hi
        top = np.stack(rows[width - kk :], axis=1)
    else:
        top = np.partition(slots, width - kk, axis=1)[:, width - kk :]
    top[np.isneginf(top)] = 0.0  # fewer than k documents: the padding adds nothing
    return top.sum(axis=1)


def _top2_of_4(slots: np.ndarray) -> np.ndarray:
    """``_top_sum(slots, 2)`` for 4 slots (the default k with 3 documents and a card), by a
    7-comparison tournament: the same two values, added in the same order (second + first)."""
    a, b = np.maximum(slots[:, 0], slots[:, 1]), np.minimum(slots[:, 0], slots[:, 1])
    c, d = np.maximum(slots[:, 2], slots[:, 3]), np.minimum(slots[:, 2], slots[:, 3])
    first = np.maximum(a, c)
    second = np.maximum(np.minimum(a, c), np.maximum(b, d))
    first[np.isneginf(first)] = 0.0  # fewer than k documents: the padding adds nothing
    second[np.isneginf(second)] = 0.0
    return second + first


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
    ``owner_layout(owner, n_profiles)`` when the caller has it already;
    ``chunk`` bounds the rows per block (also bounded by ``BLOCK_VALUES``).

    Each block of rows is gathered once, slots first, into (rows, width,
    n_profiles) with the padding slots reading an extra column (-inf, or 0 when
    every document is averaged), so each reduction runs over contiguous rows.
    """
    if doc_scores.ndim != 2 or doc_scores.shape[1] != len(owner):
        raise ValueError(f"doc_scores has {doc_scores.shape[-1]} columns but owner has {len(owner)} entries")
    n_q = doc_scores.shape[0]
    out = np.full((n_q, n_profiles), empty, dtype=np.float64)
    n_docs = len(owner)
    if n_docs == 0 or n_q == 0:
        return out
    idx, mask = layout if layout is not None else owner_layout(owner, n_profiles)
    width = idx.shape[1]
    kk = max(1, min(k, width))
    n_has = mask.sum(axis=1)
    none = n_has == 0
    counts = np.maximum(np.minimum(n_has, kk), 1).astype(np.float64)
    gather = np.where(mask, idx, n_docs).T  # (width, n_profiles); padding reads the extra column
    pad = 0.0 if kk == width else -np.inf
    chunk = max(1, min(chunk, BLOCK_VALUES // (width * max(n_profiles, 1))))
    # float32 scores are ranked and summed in float32 (half the memory traffic), others in float64
    dtype = np.float32 if doc_scores.dtype == np.float32 else np.float64
    w = None if weights is None else np.asarray(weights, dtype=dtype)
    if n_q > 1 and doc_scores.T.flags.c_contiguous:  # document-major input: gather whole rows
        blk = _Block(gather, kk, counts, none, pad, empty)
        return _topk_doc_major(doc_scores.T, w, blk, out)
    ext = np.empty((min(chunk, n_q), n_docs + 1), dtype=dtype)
    for s in range(0, n_q, chunk):
        block = doc_scores[s : s + chunk]
        b = block.shape[0]
        e = ext[:b]
        if w is None:
            e[:, :n_docs] = block
        else:
            np.multiply(block, w, out=e[:, :n_docs])
        e[:, n_docs] = pad
        slots = e[:, gather]  # (b, width, n_profiles)
        res = slots.sum(axis=1) if kk == width else _top_sum(slots, kk)
        if kk > 1:
            res /= counts
        res[:, none] = empty
        out[s : s + b] = res
    return out


class _Block(NamedTuple):
    """What every block of a top-k aggregation shares: ``gather`` (width, n_profiles)
    document rows per slot (padding reads row n_docs), ``kk`` documents averaged,
    ``counts`` (n_profiles,) divisors, ``none`` (n_profiles,) profiles without documents,
    ``pad`` the padding row's value and ``empty`` the score of a profile without any."""

    gather: np.ndarray
    kk: int
    counts: np.ndarray
    none: np.ndarray
    pad: float
    empty: float


def _topk_doc_major(x_t: np.ndarray, w: np.ndarray | None, blk: _Block, out: np.ndarray) -> np.ndarray:
    """``topk_mean`` of a document-major score array ``x_t`` (n_docs, n_queries), C-ordered:
    each slot gathers whole rows (contiguous over the queries), blocks run over profiles.
    The same operations on the same values as the query-major path, so the same numbers."""
    n_docs, n_q = x_t.shape
    width, n_p = blk.gather.shape
    ext = np.empty((n_docs + 1, n_q), dtype=x_t.dtype)
    if w is None:
        ext[:n_docs] = x_t
    else:
        np.multiply(x_t, w[:, None], out=ext[:n_docs])
    ext[n_docs] = blk.pad
    step = max(1, BLOCK_VALUES // (width * n_q))
    for s in range(0, n_p, step):
        slots = ext[blk.gather[:, s : s + step]].transpose(1, 0, 2)  # (b, width, n_queries)
        res = slots.sum(axis=1) if blk.kk == width else _top_sum(slots, blk.kk)
        if blk.kk > 1:
            res /= blk.counts[s : s + step, None]
        res[blk.none[s : s + step]] = blk.empty
        out[:, s : s + step] = res.T
    return out
