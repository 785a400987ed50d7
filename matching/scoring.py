"""The match scorer: demands × profiles -> calibrated scores in [0, 1], ranked and explained.

Pipeline for one batch of demands (all arrays, no per-pair Python loops):

1. document-level similarities, lexical (n_demands, n_docs) in [0, 1] and
   dense (n_demands, n_docs) in background-standardised units (z);
2. each weighted by the document's prior (kind, recency) and aggregated per
   profile as a top-k mean (``matching.aggregate``);
3. fused by a logistic calibration ``sigmoid(bias + w_dense·z + w_lex·lex)``
   whose weights were fitted on development data, so a score means the same
   across demands and profile sets.

The tokenizer and encoders are passed in; with ``encoder=None`` the scorer is
purely lexical.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator

from xfd.matching.aggregate import owner_layout, topk_mean
from xfd.matching.corpus import DocTable, build_doc_table, doc_weights
from xfd.matching.dense import DenseIndex
from xfd.matching.disciplines import DisciplineInferer, DisciplineScore, DisciplineSpec
from xfd.matching.encoders import Encoder
from xfd.matching.evidence import explain
from xfd.matching.lexical import LexicalIndex
from xfd.matching.text import is_english
from xfd.matching.types import Demand, DemandMatches, Evidence, Match, Profile


class Fusion(NamedTuple):
    """Logistic fusion: score = sigmoid(bias + dense·D + centroid·C + lexical·L).

    D: top-k mean of a profile's document z-similarities; C: z-similarity to
    the profile's centroid; L: best lexical similarity of its documents.
    """

    bias: float
    dense: float
    centroid: float
    lexical: float

    def terms(self, f: "Features") -> np.ndarray:
        """The weighted feature sum without the bias (n_demands, n_profiles)."""
        x = self.lexical * f.lexical
        if f.dense is not None:
            x += self.dense_term(f)  # in place: the same numbers as x + dense_term
        return x

    def dense_term(self, f: "Features") -> np.ndarray:
        """The dense part alone: dense·D + centroid·C (requires dense features)."""
        d = self.dense * f.dense
        d += self.centroid * f.centroid
        return d


#: Chosen by the cross-validated figure (``python benchmarks/quality.py --cv --fit``):
#: the weight ratios, ``k``, ``lexical_k`` and the demand's e5 role by grid search on
#: Chinese routing folds of disjoint CSL abstracts (held-out nDCG@10 0.5504 ± 0.0181
#: against 0.5309 ± 0.0142 for the previous in-sample-fitted defaults on the same
#: folds), then run once on all the folds; bias and scale by class-balanced logistic
#: regression (0.5 = even odds for a relevant vs an irrelevant profile).  Per-demand
#: normalisation and BM25 did not pay out of sample and are not used.
DEFAULT_FUSION = Fusion(bias=-4.868, dense=0.6643, centroid=1.3287, lexical=13.2865)
DEFAULT_K = 2
DEFAULT_LEXICAL_K = 2
#: e5 role of a demand text: a demand is compared with a document as one passage with
#: another (cross-validated +0.02 nDCG@10 over "query"; the English model has no roles).
DEFAULT_DEMAND_ROLE = "passage"
#: English pairs (English demand, all-English profile; see ``MatchScorer``): the English
#: model's mean z of a profile's top-2 documents, nothing else.  On folds of disjoint
#: researchers of the English expertise set (``benchmarks/english_cv.py``, 3-fold × 20) this
#: fixed rule is held out at loss 0.1920 ± 0.0492; the broad searches chosen on training
#: folds do worse (the fusion grid 0.2013, +0.0093 ± 0.0033 paired; aggregations, encodings,
#: other models likewise).  It replaced the fusion tuned on all 29 researchers (k=3 +
#: centroid + lexical ×10): 0.1774 in-sample, but 0.224 on the unseen half (issue 11) against
#: ~0.212 for this rule.  Bias and scale by logistic regression on the ratings (>= 4 expert,
#: <= 2 not); they set the probability, not the order.
DEFAULT_ENGLISH_FUSION: Fusion | None = Fusion(bias=-2.88, dense=1.4782, centroid=0.0, lexical=0.0)
DEFAULT_ENGLISH_K = 2
DEFAULT_ENGLISH_LEXICAL_K = 1
LEXICAL_ONLY_FUSION = Fusion(bias=-2.06, dense=0.0, centroid=0.0, lexical=61.5606)
#: z units subtracted from a document's dense similarity per unit of prior
#: weight below 1 (a 0.75-weight document loses 0.5 z).
DENSE_PRIOR_PENALTY = 2.0


class Features(NamedTuple):
    """Per-pair features of a batch: ``lexical``, ``dense`` and ``centroid``
    (n_demands, n_profiles); ``doc_lexical`` and ``doc_dense`` (n_demands,
    n_docs); dense parts are None for a lexical-only scorer."""

    lexical: np.ndarray
    dense: np.ndarray | None
    centroid: np.ndarray | None
    doc_lexical: np.ndarray
    doc_dense: np.ndarray | None
    #: a calibration's verdict-memory logit shift (n_demands, n_profiles), None without one
    memory: np.ndarray | None = None
    #: bool (n_demands, n_profiles): pairs scored by the English fusion (English demand and
    #: an all-English profile, see ``MatchScorer``), None when the batch has none
    english: np.ndarray | None = None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-clip(x, -60, 60)))`` elementwise, in one new array (``x`` is kept)."""
    z = np.clip(x, -60, 60)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def top_order(row: np.ndarray, k: int) -> np.ndarray:
    """Columns of the ``k`` highest values of ``row`` (n,), best first, ties by column:
    ``np.lexsort((arange(n), -row))[:k]`` exactly, without sorting the whole row when
    ``k`` is small (every column tied with the k-th value is a candidate)."""
    n = len(row)
    if 4 * k >= n:  # a short row (or k = all): the full sort is as cheap
        return np.lexsort((np.arange(n), -row))[:k]
    kth = np.partition(row, n - k)[n - k]  # the k-th highest value
    cand = np.flatnonzero(row >= kth)
    return cand[np.lexsort((cand, -row[cand]))][:k]


class MatchScorer(BaseEstimator):
    """Hybrid lexical (TF-IDF) + dense scorer, a scikit-learn estimator.

    ``__init__`` stores settings only; ``fit(profiles)`` learns the index and
    returns ``self``; learned state ends in ``_``; ``sklearn.base.clone``
    gives an unfitted copy sharing the tokenizer and encoders.
    ``k``: documents averaged per profile (top-k mean); ``lexical_k``: the
    same for lexical similarities (None: ``DEFAULT_LEXICAL_K`` with an encoder, 1 for
    lexical-only scoring); ``fusion``: weights (``None`` picks the
    default for the configuration); ``now_year``: reference year for recency
    (None = this year); ``evidence_docs`` / ``evidence_terms``: documents per
    match and terms per document shown as evidence; ``evidence_exclude``
    (words never shown) and ``evidence_max_df`` (words in more than this share
    of the documents are not shown) and ``evidence_places`` (place-like words
    are not shown) keep evidence to content words
    (``matching.evidence``; scores are unaffected).  ``memory``: a calibration's verdict
    memory (``xfd.matching.memory.VerdictMemory``, None: none) whose logit shift is added
    to the fused logits.  ``english_fusion``, ``english_k``, ``english_lexical_k``: the
    same settings for English pairs (an English demand and a profile whose documents are
    all English, when an ``english_encoder`` is set): ``None`` takes the English defaults
    when ``fusion`` is also None (a given ``fusion``, e.g. a calibration, then scores
    every pair), ``k`` / ``lexical_k`` otherwise.  ``demand_role``: the main encoder's
    role for demand texts, ``"query"`` or ``"passage"`` (a demand compared with a
    document as one passage with another).
    """

    def __init__(
        self,
        tokenizer: Callable[[str], list[str]],
        encoder: Encoder | None = None,
        english_encoder: Encoder | None = None,
        k: int = DEFAULT_K,
        lexical_k: int | None = None,
        fusion: Fusion | None = None,
        now_year: int | None = None,
        evidence_docs: int = 2,
        evidence_terms: int = 6,
        evidence_exclude: Sequence[str] = (),
        evidence_max_df: float = 1.0,
        evidence_places: bool = True,
        disciplines: Sequence[DisciplineSpec] = (),
        batch: int = 64,
        memory: object | None = None,
        english_fusion: Fusion | None = None,
        english_k: int | None = None,
        english_lexical_k: int | None = None,
        demand_role: str = DEFAULT_DEMAND_ROLE,
    ) -> None:
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.english_encoder = english_encoder
        self.k = k
        self.lexical_k = lexical_k
        self.fusion = fusion
        self.now_year = now_year
        self.evidence_docs = evidence_docs
        self.evidence_terms = evidence_terms
        self.evidence_exclude = evidence_exclude
        self.evidence_max_df = evidence_max_df
        self.evidence_places = evidence_places
        self.disciplines = disciplines
        self.batch = batch
        self.memory = memory
        self.english_fusion = english_fusion
        self.english_k = english_k
        self.english_lexical_k = english_lexical_k
        self.demand_role = demand_role

    # -- fitting -----------------------------------------------------------
    def fit(self, profiles: Sequence[Profile]) -> MatchScorer:
        """Index the profiles' documents (lexical statistics, document vectors)."""
        self.profiles_ = list(profiles)
        self.table_: DocTable = build_doc_table(self.profiles_)
        year = self.now_year or _dt.date.today().year
        self.doc_weights_ = doc_weights(self.table_, year)
        texts = list(self.table_.texts)
        # dense first: loading and first running a model (the English one is loaded on first
        # use) has the largest transient, so it comes before the lexical index exists (peak RSS)
        self.dense_ = (
            DenseIndex(self.encoder, self.english_encoder, query_role=self.demand_role).fit(
                texts, self.table_.owner, self.table_.n_profiles, self.doc_weights_
            )
            if self.encoder is not None
            else None
        )
        self.lexical_ = LexicalIndex(self.tokenizer).fit(texts)
        self.fusion_ = self.fusion or (DEFAULT_FUSION if self.encoder is not None else LEXICAL_ONLY_FUSION)
        # lexical-only scoring keeps its own (max) aggregation: the search above was for the hybrid
        self.lexical_k_ = self.lexical_k or (DEFAULT_LEXICAL_K if self.encoder is not None else 1)
        self.inferer_ = (
            DisciplineInferer(self.tokenizer, self.encoder).fit(self.disciplines) if self.disciplines else None
        )
        self.layout_ = owner_layout(self.table_.owner, self.table_.n_profiles)
        self.ids_ = [p.id for p in self.profiles_]  # column -> profile id, for ranking
        self.evidence_exclude_ = frozenset(self.evidence_exclude)
        pool = sorted({c for p in self.profiles_ for c in p.disciplines})
        self.pool_disciplines_ = pool
        col = {c: i for i, c in enumerate(pool)}
        pairs = [(j, col[c]) for j, p in enumerate(self.profiles_) for c in dict.fromkeys(p.disciplines)]
        self.pool_pairs_ = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self.memory_ = self.memory.bind(self) if self.memory is not None else None  # type: ignore[attr-defined]
        self._fit_english()
        return self

    def _fit_english(self) -> None:
        """``english_fusion_`` (None: one fusion for every pair) and ``english_profiles_``
        (profile columns whose documents are all English, as the dense index routed them)."""
        ef = self.english_fusion
        if ef is None and self.fusion is None and self.dense_ is not None:
            ef = DEFAULT_ENGLISH_FUSION
        rows = self.dense_.english_rows_ if self.dense_ is not None else np.zeros(0, dtype=np.int64)
        self.english_fusion_ = ef if len(rows) else None
        default = ef is not None and self.english_fusion is None  # the English defaults as a whole
        self.english_k_ = self.english_k or (DEFAULT_ENGLISH_K if default else self.k)
        self.english_lexical_k_ = self.english_lexical_k or (DEFAULT_ENGLISH_LEXICAL_K if default
                                                             else self.lexical_k_)
        n_docs = np.bincount(self.table_.owner, minlength=self.table_.n_profiles)
        n_en = np.bincount(self.table_.owner[rows], minlength=self.table_.n_profiles)
        self.english_profiles_ = np.flatnonzero((n_en == n_docs) & (n_docs > 0))

    # -- scoring -----------------------------------------------------------
    def features(self, demands: Sequence[Demand], tokens: Sequence[list[str]] | None = None) -> Features:
        """Document- and profile-level features of a batch of demands."""
        texts = [d.text for d in demands]
        toks = list(tokens) if tokens is not None else [self.tokenizer(t) for t in texts]
        n_p = self.table_.n_profiles
        owner = self.table_.owner
        w = self.doc_weights_
        doc_lex = self.lexical_.similarity(texts, toks)
        lex = topk_mean(doc_lex, owner, n_p, k=self.lexical_k_, weights=w, layout=self.layout_)
        mem = self.memory_.logits(texts) if self.memory_ is not None else None
        if self.dense_ is None:
            return Features(lex, None, None, doc_lex, None, mem)
        english = np.array([is_english(t) for t in texts], dtype=bool)
        sim = self.dense_.similarity(texts, english)
        # z can be negative: the prior is a subtraction, so it never flips a sign
        doc_dense = sim.docs  # float32, a new array per call: the prior is subtracted in place
        doc_dense -= (DENSE_PRIOR_PENALTY * (1.0 - w)).astype(np.float32)
        dense = topk_mean(doc_dense, owner, n_p, k=self.k, empty=-3.0, layout=self.layout_)
        en = self._english_pairs(english)
        if en is not None:
            rows = np.flatnonzero(en.any(axis=1))
            for k, own_k, mat, src, kw in ((self.english_k_, self.k, dense, doc_dense, {"empty": -3.0}),
                                           (self.english_lexical_k_, self.lexical_k_, lex, doc_lex,
                                            {"weights": w})):
                if k != own_k:
                    alt = topk_mean(src[rows], owner, n_p, k=k, layout=self.layout_, **kw)
                    mat[rows] = np.where(en[rows], alt, mat[rows])
        return Features(lex, dense, sim.centroids, doc_lex, doc_dense, mem, en)

    def _english_pairs(self, q: np.ndarray) -> np.ndarray | None:
        """Bool (n_texts, n_profiles) of the pairs the English fusion scores, None when there are
        none; ``q`` (n_texts,) bool: which texts are English."""
        if self.english_fusion_ is None or not len(self.english_profiles_):
            return None
        if not q.any():
            return None
        en = np.zeros((len(q), self.table_.n_profiles), dtype=bool)
        en[np.ix_(np.flatnonzero(q), self.english_profiles_)] = True
        return en

    def fuse(self, f: Features) -> np.ndarray:
        """Calibrated scores (n_demands, n_profiles) in (0, 1) from features."""
        z = self.fusion_.terms(f)
        z += self.fusion_.bias  # in place: the same numbers as bias + terms
        if f.english is not None and self.english_fusion_ is not None:
            ef = self.english_fusion_
            z = np.where(f.english, ef.bias + ef.terms(f), z)
        return _sigmoid(z if f.memory is None else z + f.memory)

    def score(self, demands: Sequence[Demand], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Calibrated match scores (n_demands, n_profiles) in (0, 1).

        Computed in batches of ``batch`` demands in input order (the same
        batches ``rank`` uses, so both give identical numbers).
        ``progress(n)`` is called after each batch with the demands done.
        """
        out = np.zeros((len(demands), self.table_.n_profiles))
        for s in range(0, len(demands), self.batch):
            part = demands[s : s + self.batch]
            out[s : s + len(part)] = self.fuse(self.features(part))
            if progress is not None:
                progress(len(part))
        return out

    # -- disciplines -------------------------------------------------------
    def propose_disciplines(self, demands: Sequence[Demand], scores: np.ndarray | None = None, top: int = 5
                            ) -> list[tuple[DisciplineScore, ...]]:
        """Disciplines each demand probably needs, best first, scores in [0, 1].

        Candidates are the disciplines the profile pool declares (so a
        proposal can be covered by exact name), or the whole discipline table
        when no profile declares any.  Evidence: the match scores of the
        profiles declaring a discipline (top-2 mean), times the text's
        similarity to the discipline's description in the table when known.
        """
        texts = [d.text for d in demands]
        n = len(demands)
        if self.pool_disciplines_:
            names = list(self.pool_disciplines_)
            sc = self.score(demands) if scores is None else scores
            pj, pc = self.pool_pairs_[:, 0], self.pool_pairs_[:, 1]
            pool = topk_mean(sc[:, pj], pc, len(names), k=2)
            pool = pool / np.maximum(pool.max(axis=1, keepdims=True), 1e-12)
            combined = pool
            if self.inferer_ is not None:
                known = {c: i for i, c in enumerate(self.inferer_.names_)}
                probs = self.inferer_.predict_proba(texts)
                tab = np.zeros((n, len(names)))
                cols = [(i, known[c]) for i, c in enumerate(names) if c in known]
                if cols:
                    ci, ti = zip(*cols)
                    tab[:, list(ci)] = probs[:, list(ti)]
                    tab = tab / np.maximum(tab.max(axis=1, keepdims=True), 1e-12)
                    combined = pool * (0.5 + 0.5 * tab)
        elif self.inferer_ is not None:
            names = list(self.inferer_.names_)
            combined = self.inferer_.predict_proba(texts)
            combined = combined / np.maximum(combined.max(axis=1, keepdims=True), 1e-12)
        else:
            return [() for _ in demands]
        out = []
        for row in combined:
            order = np.argsort(-row, kind="stable")[:top]
            out.append(tuple(DisciplineScore(names[j], float(row[j])) for j in order))
        return out

    def required_disciplines(
        self, demands: Sequence[Demand], scores: np.ndarray | None = None, max_disciplines: int = 3,
        relative: float = 0.8,
    ) -> list[tuple[str, ...]]:
        """Each demand's required disciplines: its own list, else inferred
        (the best proposal plus any within ``relative`` of it, at most
        ``max_disciplines`` and never more than the team's minimum size)."""
        need = [i for i, d in enumerate(demands) if d.disciplines is None]  # () = none required
        out: list[tuple[str, ...]] = [tuple(d.disciplines or ()) for d in demands]
        if not need:
            return out
        sub = [demands[i] for i in need]
        props = self.propose_disciplines(sub, None if scores is None else scores[need])
        for i, prop in zip(need, props):
            if not prop:
                continue
            cap = max(1, min(max_disciplines, demands[i].team_size[0]))
            top = prop[0].score
            out[i] = tuple(p.name for p in prop[:cap] if p.score >= relative * top and p.score > 0)
        return out

    # -- ranking and explanations -------------------------------------------
    def rank(
        self,
        demands: Sequence[Demand],
        top_k: int = 10,
        progress: Callable[[int], None] | None = None,
        scores_out: np.ndarray | None = None,
        evidence: int | None = None,
    ) -> list[DemandMatches]:
        """Ranked matches per demand (``top_k`` <= 0 lists all), the first ones explained.

        Ties are broken by profile order.  ``evidence``: how many of each
        demand's first matches carry evidence (``None`` = all it returns);
        later matches carry ``()``, so listing every profile stays cheap.
        ``progress(n)`` is called after each batch.  ``scores_out``, an
        (n_demands, n_profiles) array, receives every calibrated score (the
        numbers ``score`` returns), so a caller needing both does not score twice.
        """
        out: list[DemandMatches] = []
        n_p = self.table_.n_profiles
        kk = n_p if top_k <= 0 else min(top_k, n_p)
        n_ev = kk if evidence is None else max(0, min(evidence, kk))
        ids = self.ids_
        for s in range(0, len(demands), self.batch):
            part = demands[s : s + self.batch]
            split = [self._split(d.text) for d in part]
            f = self.features(part, [w + g for w, g in split])
            scores = self.fuse(f)
            if scores_out is not None:
                scores_out[s : s + len(part)] = scores
            for i, d in enumerate(part):
                order = top_order(scores[i], kk)
                ev = self._evidence(f, i, order[:n_ev], split[i][0]) + [()] * (len(order) - n_ev)
                matches = tuple(map(Match, [ids[j] for j in order.tolist()], scores[i, order].tolist(), ev))
                out.append(DemandMatches(d.id, matches))
            if progress is not None:
                progress(len(part))
        return out

    def _split(self, text: str) -> tuple[list[str], list[str]]:
        """(words, other tokens) of a query: evidence shows words only, when the tokenizer can tell them apart."""
        split = getattr(self.tokenizer, "split", None)
        return split(text) if callable(split) else (self.tokenizer(text), [])

    def _evidence(self, f: Features, i: int, profiles: np.ndarray, words: list[str]) -> list[tuple[Evidence, ...]]:
        """Evidence of the given profile columns for demand ``i`` of the batch (see ``matching.evidence``)."""
        fu = self.fusion_
        value = fu.lexical * f.doc_lexical[i]
        if f.doc_dense is not None:
            value = value + fu.dense * f.doc_dense[i]
        return explain(self.lexical_, self.table_.titles, self.layout_, value, profiles, words,
                       self.evidence_docs, self.evidence_terms, self.evidence_exclude_, self.evidence_max_df,
                       self.evidence_places)
