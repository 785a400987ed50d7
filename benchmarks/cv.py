"""Cross-validation of the scorer's chosen parameters (used by ``benchmarks/quality.py --cv``).

Every parameter the scorer's defaults fix by looking at labelled data — the
fusion's weight ratios (dense : centroid : lexical), ``k``, ``lexical_k`` and
per-demand normalisation, separately per language — is *chosen on training
folds only* by a grid search on the task's own metric, then reported on the
held-out fold:

- Chinese routing: folds of CSL abstracts (disjoint abstracts, or disjoint
  disciplines, or the CSL ``split`` column); each fold's routing set is built
  from that fold's abstracts only (``benchmarks.datasets.csl_routing(rows=…)``).
- English expertise: folds of the researchers (their ratings held out
  together); the scorer is fitted once on every researcher's papers (profile
  text, no labels), the ratings of the held-out researchers are never seen.

The document-level features come from the real ``MatchScorer`` (the numbers
``xfd score`` fuses); this module only re-aggregates (top-k mean) and fuses
them under candidate settings, which is what makes a grid search cheap.
Ranking metrics do not depend on the fusion's bias or overall scale, so a
candidate is a direction (weight ratios) plus aggregation settings; the bias
and scale are then fitted by logistic regression (``fit_scale``).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from benchmarks.datasets import csl_routing, id_folds, row_folds
from xfd.matching import scoring
from xfd.matching.aggregate import topk_mean
from xfd.matching.encoders import SharedResource
from xfd.matching.scoring import Features, MatchScorer


class Config(NamedTuple):
    """One candidate setting: top-k of dense (``k``) and lexical (``lexical_k``)
    aggregation, weights relative to the dense weight 1, and ``norm`` (per-demand
    standardisation of each feature over the profiles before fusing)."""

    k: int
    lexical_k: int
    centroid: float
    lexical: float
    norm: bool = False
    dense: float = 1.0


def grid(ks: Sequence[int] = (1, 2, 3, 5), lexical_ks: Sequence[int] = (1, 2, 3),
         centroids: Sequence[float] = (0.0, 0.5, 1.0, 2.0),
         lexicals: Sequence[float] = (0.0, 2.5, 5.0, 10.0, 15.0, 20.0),
         norms: Sequence[bool] = (False,)) -> list[Config]:
    """Every combination of the given values (lexical weights are in z units of
    dense per unit of lexical cosine; with ``norm`` they are rescaled below)."""
    return [Config(*c) for c in itertools.product(ks, lexical_ks, centroids, lexicals, norms)]


def _rowz(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=1, keepdims=True)
    return (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 1e-9, sd, 1.0)


@dataclass
class Prepared:
    """Document-level features of one evaluation set and its aggregations (cached by (k, lexical_k))."""

    doc_dense: np.ndarray      # (n_demands, n_docs) z, prior-penalised
    doc_lexical: np.ndarray    # (n_demands, n_docs) cosine in [0, 1]
    centroid: np.ndarray       # (n_demands, n_profiles) z
    owner: np.ndarray          # (n_docs,)
    weights: np.ndarray        # (n_docs,) document priors
    layout: tuple[np.ndarray, np.ndarray]
    n_profiles: int
    _agg: dict = field(default_factory=dict)

    def aggregated(self, k: int, lexical_k: int) -> tuple[np.ndarray, np.ndarray]:
        """(dense top-k mean, lexical top-lexical_k mean), each (n_demands, n_profiles)."""
        key = (k, lexical_k)
        if key not in self._agg:
            d = topk_mean(self.doc_dense, self.owner, self.n_profiles, k=k, empty=-3.0, layout=self.layout)
            lx = topk_mean(self.doc_lexical, self.owner, self.n_profiles, k=lexical_k, weights=self.weights,
                           layout=self.layout)
            self._agg[key] = (d, lx)
        return self._agg[key]

    def features(self, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(dense, centroid, lexical) under ``cfg`` (row-standardised when ``cfg.norm``)."""
        d, lx = self.aggregated(cfg.k, cfg.lexical_k)
        c = self.centroid
        if cfg.norm:
            return _rowz(d), _rowz(c), _rowz(lx)
        return d, c, lx

    def ranking_score(self, cfg: Config) -> np.ndarray:
        """dense·D + centroid·C + lexical·L (n_demands, n_profiles); only its order matters."""
        d, c, lx = self.features(cfg)
        lw = cfg.lexical / 10.0 if cfg.norm else cfg.lexical  # both sides in row-z units: comparable ratios
        return cfg.dense * d + cfg.centroid * c + lw * lx


def prepare(scorer: MatchScorer, demands: Sequence) -> Prepared:
    """Features of ``demands`` from a fitted scorer, kept at document level."""
    f: Features = scorer.features(demands)
    if f.doc_dense is None:
        raise ValueError("cross-validation needs a dense scorer (model lexical has no dense features)")
    return Prepared(f.doc_dense, f.doc_lexical, f.centroid, scorer.table_.owner, scorer.doc_weights_,
                    scorer.layout_, scorer.table_.n_profiles)


# ----------------------------------------------------------------------------- metrics
def ndcg10(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    """Mean binary nDCG@k over rows (ties broken by column order, as ``matching.metrics.ndcg_at_k``)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    gains = np.take_along_axis(relevant.astype(np.float64), order, axis=1)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = gains @ disc[: order.shape[1]]
    n_rel = relevant.sum(axis=1)
    idcg = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, k)]
    return float(np.mean(np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)))


def top1(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Share of rows whose best-scored column is relevant."""
    return float(np.mean(relevant[np.arange(len(scores)), np.argmax(scores, axis=1)]))


class RatingPairs(NamedTuple):
    """Every pair of differently rated papers of each researcher: columns, rows, |diff|, sign."""

    col: np.ndarray
    a: np.ndarray
    b: np.ndarray
    diff: np.ndarray
    sign: np.ndarray
    researcher: np.ndarray  # index into ``ids``
    ids: list[str]


def rating_pairs(ratings: dict[str, list[tuple[int, float]]], profile_index: dict[str, int]) -> RatingPairs:
    """Pairs of ``expertise_loss`` (pairs with equal ratings carry no weight and are left out)."""
    ids = sorted(r for r in ratings if r in profile_index)
    rows: list[tuple[int, int, int, float, float, int]] = []
    for ri, r in enumerate(ids):
        pairs = ratings[r]
        for (da, va), (db, vb) in itertools.combinations(pairs, 2):
            if va != vb:
                rows.append((profile_index[r], da, db, abs(va - vb), np.sign(va - vb), ri))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return RatingPairs(arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2].astype(int), arr[:, 3], arr[:, 4],
                       arr[:, 5].astype(int), ids)


def pairs_loss(scores: np.ndarray, rp: RatingPairs, researchers: Sequence[str] | None = None) -> float:
    """``matching.metrics.expertise_loss`` over the given researchers (all when None)."""
    keep = np.ones(len(rp.col), dtype=bool)
    if researchers is not None:
        want = np.isin(np.array(rp.ids), list(researchers))
        keep = want[rp.researcher]
    pa = scores[rp.a[keep], rp.col[keep]]
    pb = scores[rp.b[keep], rp.col[keep]]
    d = rp.diff[keep]
    cost = np.where(pa == pb, d / 2, np.where((pa - pb) * rp.sign[keep] < 0, d, 0.0))
    return float(cost.sum() / d.sum()) if d.sum() > 0 else 0.0


# ----------------------------------------------------------------------------- selection
class Candidate(NamedTuple):
    """A scorer ``variant`` (e.g. which model scores English pairs) and a fusion config."""

    variant: str
    cfg: Config


@dataclass
class Item:
    """One labelled evaluation unit: prepared features per variant, and its labels.

    Chinese: ``relevant`` (n_demands, n_profiles) bool; English: ``pairs`` and the
    ``researchers`` whose ratings belong to this item (a fold of them).
    """

    preps: dict[str, Prepared]
    relevant: np.ndarray | None = None
    pairs: RatingPairs | None = None
    researchers: tuple[str, ...] | None = None

    def metric(self, cand: Candidate) -> float:
        """Higher is better: nDCG@10 (routing) or minus the expertise loss."""
        s = self.preps[cand.variant].ranking_score(cand.cfg)
        if self.relevant is not None:
            return ndcg10(s, self.relevant)
        return -pairs_loss(s, self.pairs, self.researchers)

    def secondary(self, cand: Candidate) -> float | None:
        """Top-1 accuracy for routing items (None for expertise)."""
        if self.relevant is None:
            return None
        return top1(self.preps[cand.variant].ranking_score(cand.cfg), self.relevant)


def choose(train: Sequence[Item], candidates: Sequence[Candidate]) -> tuple[Candidate, float]:
    """The candidate with the best mean training metric (the first one on ties), and that mean."""
    best, best_v = candidates[0], -np.inf
    for cand in candidates:
        v = float(np.mean([it.metric(cand) for it in train]))
        if v > best_v + 1e-12:
            best, best_v = cand, v
    return best, best_v


class FoldResult(NamedTuple):
    """One held-out fold: the config chosen on the others, its training and held-out figures."""

    seed: int
    fold: int
    chosen: Candidate
    train: float
    test: float
    extra: float | None = None


def cross_validate(splits: Sequence[tuple[int, Sequence[Item]]], candidates: Sequence[Candidate]
                   ) -> list[FoldResult]:
    """Leave-one-fold-out over each seed's folds: choose on the others, report on the one left out.

    ``splits``: (seed, items of that seed's folds).  ``test`` is the held-out
    metric (nDCG@10, or minus the loss), ``extra`` the held-out top-1 (routing).
    """
    out = []
    for seed, items in splits:
        for i, test in enumerate(items):
            train = [it for j, it in enumerate(items) if j != i]
            cand, v = choose(train, candidates)
            out.append(FoldResult(seed, i, cand, v, test.metric(cand), test.secondary(cand)))
    return out


def spread(values: Sequence[float]) -> tuple[float, float]:
    """(mean, standard deviation) of fold figures."""
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def logistic_bias_scale(scores: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> tuple[float, float]:
    """(bias, scale) of a class-balanced logistic regression (C=100) of 0/1 ``labels``
    (NaN = unlabelled) on one score per pair; ``scores[i]`` and ``labels[i]`` have one shape.
    0.5 = even odds for a relevant vs an irrelevant pair at equal priors."""
    from sklearn.linear_model import LogisticRegression

    keep = [~np.isnan(y) for y in labels]
    x = np.concatenate([u[k] for u, k in zip(scores, keep, strict=True)])[:, None]
    y = np.concatenate([y[k] for y, k in zip(labels, keep, strict=True)])
    lr = LogisticRegression(C=100.0, class_weight="balanced").fit(x, y)
    return float(lr.intercept_[0]), float(lr.coef_[0, 0])


def fit_scale(parts: Sequence[tuple[Prepared, np.ndarray]], cfg: Config) -> tuple[float, float]:
    """(bias, scale) of ``logistic_bias_scale`` on the config's ranking score, fitted on
    ``parts`` (the training folds only)."""
    return logistic_bias_scale([p.ranking_score(cfg) for p, _ in parts], [y for _, y in parts])


# ----------------------------------------------------------------------------- building the folds
class MemoTokenizer(SharedResource):
    """A tokenizer that remembers its answers: the folds reuse the same 2,000 abstracts
    many times, so each is segmented once.  Same ``__call__``/``split``/``words`` results."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self._memo: dict[tuple[str, str], object] = {}

    def _get(self, kind: str, text: str):
        key = (kind, text)
        if key not in self._memo:
            fn = self.tokenizer if kind == "call" else getattr(self.tokenizer, kind)
            self._memo[key] = fn(text)
        got = self._memo[key]
        return (list(got[0]), list(got[1])) if kind == "split" else list(got)

    def __call__(self, text: str) -> list[str]:
        return self._get("call", text)

    def split(self, text: str) -> tuple[list[str], list[str]]:
        return self._get("split", text)

    def words(self, text: str) -> list[str]:
        return self._get("words", text)


#: scorer factory: variant name -> an unfitted scorer (e.g. ``lambda v: make_scorer("e5-small")``)
Factory = Callable[[str], MatchScorer]


def routing_item(rows: list[dict], seed: int, factory: Factory, variants: Sequence[str], **construction) -> Item:
    """A routing :class:`Item` built from these CSL rows only (``construction``: ``csl_routing`` keywords)."""
    rs = csl_routing(rows=rows, seed=seed, **construction)
    preps = {v: prepare(factory(v).fit(rs.profiles), rs.demands) for v in variants}
    return Item(preps, relevant=rs.relevant)


def routing_splits(rows: list[dict], factory: Factory, variants: Sequence[str], mode: str = "abstract",
                   seeds: Sequence[int] = (0, 1, 2), n_folds: int = 2, **construction
                   ) -> list[tuple[int, list[Item]]]:
    """Per seed, one routing item per fold: ``mode`` "abstract" or "discipline"
    (``benchmarks.datasets.row_folds``) or "split" (the CSL ``split`` column's values as folds)."""
    out = []
    for seed in seeds:
        if mode == "split":
            folds = [[r for r in rows if r["split"] == s] for s in sorted({r["split"] for r in rows})]
        else:
            folds = row_folds(rows, n_folds, seed, by=mode)
        out.append((seed, [routing_item(f, seed, factory, variants, **construction) for f in folds]))
    return out


def expertise_splits(preps: dict[str, Prepared], pairs: RatingPairs, seeds: Sequence[int] = tuple(range(8)),
                     n_folds: int = 3) -> list[tuple[int, list[Item]]]:
    """Per seed, one expertise item per fold of researchers (``benchmarks.datasets.id_folds``)."""
    return [(s, [Item(preps, pairs=pairs, researchers=tuple(f)) for f in id_folds(pairs.ids, n_folds, s)])
            for s in seeds]


# ----------------------------------------------------------------------------- report
#: the grids searched on training folds (kept small: with 29 researchers a wide grid overfits)
ZH_GRID = grid(ks=(1, 2, 3, 5), lexical_ks=(1, 2), centroids=(0.0, 0.5, 1.0, 2.0),
               lexicals=(0.0, 2.5, 5.0, 10.0, 15.0, 20.0), norms=(False, True))
EN_GRID = grid(ks=(1, 2, 3, 5), lexical_ks=(1, 2), centroids=(0.0, 1.0), lexicals=(0.0, 5.0, 10.0))


def shipped(scorer: MatchScorer, english: bool = False) -> Config:
    """The (dense) scorer's own defaults as a :class:`Config` (its English settings when ``english``)."""
    chinese_lk = scorer.lexical_k or scoring.DEFAULT_LEXICAL_K
    if english and scorer.fusion is None and scorer.english_fusion is None and scoring.DEFAULT_ENGLISH_FUSION:
        fu = scoring.DEFAULT_ENGLISH_FUSION
        k = scorer.english_k or scoring.DEFAULT_ENGLISH_K
        lk = scorer.english_lexical_k or scoring.DEFAULT_ENGLISH_LEXICAL_K
    elif english and scorer.english_fusion is not None:
        fu, k, lk = scorer.english_fusion, scorer.english_k or scorer.k, scorer.english_lexical_k or chinese_lk
    else:
        fu, k, lk = scorer.fusion or scoring.DEFAULT_FUSION, scorer.k, chinese_lk
    return Config(k, lk, fu.centroid / fu.dense, fu.lexical / fu.dense)


class Row(NamedTuple):
    """One line of the cross-validated table: held-out mean ± sd of the shipped defaults
    and of the parameters chosen on the training folds, and the choices made."""

    task: str
    folds: str
    shipped: tuple[float, float]
    chosen: tuple[float, float]
    chosen_top1: tuple[float, float] | None
    choices: list[Candidate]


def cv_row(task: str, folds: str, splits: Sequence[tuple[int, Sequence[Item]]], fixed: Candidate,
           candidates: Sequence[Candidate], loss: bool = False) -> Row:
    """Held-out figures of ``fixed`` and of grid selection on training folds (losses made positive)."""
    sign = -1.0 if loss else 1.0
    held = [it.metric(fixed) * sign for _, items in splits for it in items]
    res = cross_validate(splits, candidates)
    top = [r.extra for r in res if r.extra is not None]
    return Row(task, folds, spread(held), spread([r.test * sign for r in res]), spread(top) if top else None,
               [r.chosen for r in res])


def format_rows(rows: Sequence[Row]) -> str:
    """The cross-validated table as text."""
    out = [f"{'task':<20} | {'folds':<26} | {'shipped defaults':>16} | {'chosen on train':>16} | "
           f"{'its top-1':>15} | choices (k/lk/c/l/norm) × folds", "-" * 140]
    for r in rows:
        ch: dict[str, int] = {}
        for c in r.choices:
            key = f"{c.variant}:{c.cfg.k}/{c.cfg.lexical_k}/{c.cfg.centroid:g}/{c.cfg.lexical:g}/{int(c.cfg.norm)}"
            ch[key] = ch.get(key, 0) + 1
        top = ", ".join(f"{k}×{v}" for k, v in sorted(ch.items(), key=lambda kv: -kv[1])[:3])
        out.append(f"{r.task:<20} | {r.folds:<26} | {r.shipped[0]:.4f} ± {r.shipped[1]:.4f} | "
                   f"{r.chosen[0]:.4f} ± {r.chosen[1]:.4f} | "
                   f"{f'{r.chosen_top1[0]:.4f} ± {r.chosen_top1[1]:.4f}' if r.chosen_top1 else '':>15} | {top}")
    return "\n".join(out)


def cv_row_transfer(task: str, folds: str, splits: Sequence[tuple[int, Sequence[tuple[Item, Item]]]],
                    fixed: Candidate, candidates: Sequence[Candidate]) -> Row:
    """Like :func:`cv_row`, but each fold is a (standard item, item built another way) pair:
    parameters are chosen on the other folds' standard items, reported on this fold's other build."""
    held = [te.metric(fixed) for _, items in splits for _, te in items]
    tests, tops, chosen = [], [], []
    for _, items in splits:
        for i, (_, te) in enumerate(items):
            cand, _v = choose([tr for j, (tr, _) in enumerate(items) if j != i], candidates)
            tests.append(te.metric(cand))
            tops.append(te.secondary(cand))
            chosen.append(cand)
    return Row(task, folds, spread(held), spread(tests), spread(tops), chosen)
