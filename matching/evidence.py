"""Evidence for matches: why a profile matched a demand, for the matches a person reads.

For one demand and a few of its ranked profiles, the evidence of each profile
is its ``max_docs`` best documents for the demand (by the fused document value,
ties by table order) and, per document, up to ``max_terms`` of the demand's
words that the document contains, rarest first (highest idf, then the term).

All profiles of one demand are explained together: one sparse slice of the
lexical index gives which query words every chosen document contains, so the
cost is per demand, not per (demand, profile) pair with a Python loop over terms.

Evidence must be content words of the field, so a query word is never shown
when it is in ``exclude`` (the project passes its generic-word and place
lists from ``corpora/``), looks like a place name (:func:`is_place_like`), or
occurs in more than ``max_df`` of all indexed documents and in more than
``MIN_COMMON_DOCS`` of them (too common to explain anything; a small index
cannot tell common from relevant).  The filter changes evidence only, never scores.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from xfd.matching.lexical import LexicalIndex
from xfd.matching.types import Evidence

#: A word of 3+ characters ending in one of these is taken for a place (云溪市, 青山县, 江北区, 古镇 is not: 2 characters).
PLACE_SUFFIXES = ("市", "县", "区", "镇")
#: ... unless it ends in one of these kinds of area, which name a subject (工业园区, 旅游景区, 丘陵山区).
AREA_WORDS = ("园区", "景区", "社区", "山区", "灌区", "矿区", "库区", "厂区", "林区", "牧区", "产区", "城区", "罐区", "城市")


#: A word is over-common only when it is in more documents than this as well.
MIN_COMMON_DOCS = 20


def is_place_like(term: str) -> bool:
    """True for a word shaped like a Chinese city, county, district or town name."""
    return len(term) >= 3 and term.endswith(PLACE_SUFFIXES) and not term.endswith(AREA_WORDS)


def query_terms(index: LexicalIndex, words: Sequence[str], exclude: Collection[str] = frozenset(),
                max_df: float = 1.0, places: bool = True) -> np.ndarray:
    """Distinct vocabulary ids of ``words`` that may be shown as evidence, rarest
    first: by idf descending, then by the term itself (int64 array).

    Dropped: unknown words, words in ``exclude``, place-like words (unless
    ``places`` is False), and words
    in more than ``max_df`` (share, 0..1) of the indexed documents (and in
    more than ``MIN_COMMON_DOCS``).
    """
    vocab, idf, terms = index.vocabulary_, index.idf_, index.terms_
    ids = {vocab[w] for w in words if w in vocab and w not in exclude and not (places and is_place_like(w))}
    if ids and max_df < 1.0:
        m = index.doc_matrix_t_
        limit = max(max_df * m.shape[1], MIN_COMMON_DOCS)
        ids = {t for t in ids if m.indptr[t + 1] - m.indptr[t] <= limit}
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
    exclude: Collection[str] = frozenset(),
    max_df: float = 1.0,
    places: bool = True,
) -> list[tuple[Evidence, ...]]:
    """Evidence of each profile in ``profiles`` (column indices) for one demand.

    ``titles``: display title per document row; ``layout``: ``owner_layout``
    of the document table, ``(idx, mask)`` of shape (n_profiles, width);
    ``doc_value`` (n_docs,): the demand's fused value of each document (higher
    = better evidence); ``words``: the demand's word tokens; ``exclude`` and
    ``max_df`` and ``places`` filter the words shown (module doc).  A profile without
    documents gets ``()``.
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
    q = query_terms(index, words, exclude, max_df, places)
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
