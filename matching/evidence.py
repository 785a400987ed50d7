"""Evidence for matches: why a profile matched a demand, for the matches a person reads.

For one demand and a few of its ranked profiles, the evidence of each profile
is its ``max_docs`` best documents for the demand (by the fused document value,
ties by table order) and, per document, up to ``max_terms`` of the demand's
words that the document contains, rarest first (highest idf, then the term).

All profiles of one demand are explained together: one sparse slice of the
lexical index gives which query words every chosen document contains, so the
cost is per demand, not per (demand, profile) pair with a Python loop over terms.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xfd.matching.lexical import LexicalIndex
from xfd.matching.types import Evidence


def query_terms(index: LexicalIndex, words: Sequence[str]) -> np.ndarray:
    """Distinct vocabulary ids of ``words`` (unknown words dropped), rarest first:
    by idf descending, then by the term itself (int64 array)."""
    vocab, idf, terms = index.vocabulary_, index.idf_, index.terms_
    ids = {vocab[w] for w in words if w in vocab}
    return np.asarray(sorted(ids, key=lambda t: (-idf[t], terms[t])), dtype=np.int64)


def explain(
    index: LexicalIndex,
    titles: Sequence[str],
    layout: tuple[np.ndarray, np.ndarray],
    doc_value: np.ndarray,
    profiles: np.ndarray,
    words: Sequence[str],
    max_docs: int,
    max_terms: int,
) -> list[tuple[Evidence, ...]]:
    """Evidence of each profile in ``profiles`` (column indices) for one demand.

    ``titles``: display title per document row; ``layout``: ``owner_layout``
    of the document table, ``(idx, mask)`` of shape (n_profiles, width);
    ``doc_value`` (n_docs,): the demand's fused value of each document (higher
    = better evidence); ``words``: the demand's word tokens.  A profile
    without documents gets ``()``.
    """
    profiles = np.asarray(profiles, dtype=np.int64)
    if profiles.size == 0:
        return []
    idx, mask = layout
    rows, valid = idx[profiles], mask[profiles]  # (m, width), documents in table order
    val = np.where(valid, doc_value[rows], -np.inf)
    order = np.argsort(-val, axis=1, kind="stable")[:, :max_docs]  # valid documents sort first
    best = np.take_along_axis(rows, order, axis=1)
    ok = np.take_along_axis(valid, order, axis=1)
    q = query_terms(index, words)
    used = np.unique(best[ok])
    if q.size and used.size:
        present = index.doc_matrix_t_[q][:, used].toarray() != 0  # (len(q), len(used)): word in document
    else:
        present = np.zeros((q.size, used.size), dtype=bool)
    col = np.searchsorted(used, best)
    terms = index.terms_
    out: list[tuple[Evidence, ...]] = []
    for a in range(len(profiles)):
        ev = []
        for b in np.flatnonzero(ok[a]):
            shared = q[present[:, col[a, b]]][:max_terms]
            ev.append(Evidence(titles[best[a, b]], tuple(terms[shared].tolist())))
        out.append(tuple(ev))
    return out
