"""Learning from the office's verdicts: a refitted fusion, validated on held-out verdicts.

A *verdict* says whether the office accepted or rejected a profile for a
demand.  A *calibration* is a :class:`~xfd.matching.scoring.Fusion` (bias and
non-negative weights over the scorer's own per-pair features ``dense``,
``centroid``, ``lexical``) refitted by class-balanced, L2-regularised logistic
regression on the verdict pairs.

Validation happens inside :func:`fit_calibration`: folds split by demand
(every verdict of a demand is held out together); the default fusion and the
refit (fitted on the other folds) are compared on the held-out verdicts by
pairwise ordering within a demand (share of accepted–rejected pairs of the
same demand ordered accepted first, ties count ½), AUC and log-loss.  The
refit is returned only if it is better on ordering (pairwise, else AUC) and
no worse on pairwise or AUC both on the held-out folds and on all verdicts;
otherwise the default weights come back with ``source == "default"`` and the
figures that say why.

Pure: arrays in, a :class:`Calibration` out; JSON (de)serialisation as plain
dicts.  Reading files and building features is done by the callers.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from pydantic_core import PydanticCustomError
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

from xfd.matching import memory as memory_mod
from xfd.matching.memory import MemoryItem, VerdictMemory, memory_from_json, memory_to_json, vector_tuple
from xfd.matching.metrics import ndcg_at_k
from xfd.matching.readers import RecordError
from xfd.matching.records import normalize_id
from xfd.matching.scoring import Features, Fusion

FORMAT = "xfd-calibration"
VERSION = 1
VERDICTS = ("accepted", "rejected")
#: feature columns of a pair matrix, in this order (weights of the same names in ``Fusion``)
COLUMNS = ("dense", "centroid", "lexical")
MAX_FOLDS = 5
#: standard errors the held-out per-demand gain must clear (see :func:`gain_is_clear`).  Chosen by
#: ``benchmarks/calibration_cv.py`` with the fine-tuned e5 (3 seeds × 2 half splits, gain on the
#: other half): 1.5 kept the default on 1/6 top-10 and 2/6 balanced verdict sets whose memory gained
#: +0.03–0.05 there; 1.0 keeps every top-10 one (min +0.0133) and no case of any protocol loses.
SIGNIFICANCE = 1.0
#: L2 strength on the standardised weights (per verdict, so it fades as verdicts accumulate)
L2 = 1.0


class Verdict(NamedTuple):
    """One office verdict: ``accepted`` True for "accepted", False for "rejected"."""

    demand_id: str
    profile_id: str
    accepted: bool


class Figures(NamedTuple):
    """Quality of a fusion on a set of verdicts: ``pairwise`` in [0, 1] (None when no
    demand has both an accepted and a rejected profile), ``auc`` in [0, 1] (None with
    one class only), ``log_loss`` >= 0 (nats per verdict)."""

    pairwise: float | None
    auc: float | None
    log_loss: float
    #: nDCG@10 over every profile (accepted = relevant, all others not) of the demands with an
    #: accepted verdict; None when not measured (no full rankings given)
    ndcg: float | None = None


class Calibration(NamedTuple):
    """A fitted calibration: the ``fusion`` to score with, where it came from
    (``source`` "refit" or "default"), the ``default`` it was compared with,
    ``figures`` {"held_out"|"all": {"before"|"after": Figures}}, counts and a reason."""

    model: str
    fusion: Fusion
    default: Fusion
    source: str
    figures: dict[str, dict[str, Figures]]
    verdicts: int
    accepted: int
    demands: int
    folds: int
    reason: str
    memory: VerdictMemory | None = None


# ----------------------------------------------------------------------------- feedback
def parse_feedback(records: Iterable[tuple[int, Any]], file: str, demand_ids: Iterable[str],
                   profile_ids: Iterable[str]) -> list[Verdict]:
    """Validate ``(line, object)`` feedback records against the known ids.

    Each object needs ``demand_id`` and ``profile_id`` (known ids, normalised by the readers'
    rule ``normalize_id``: NFKC, stripped) and
    ``verdict`` in :data:`VERDICTS`; other keys are ignored.  A later verdict on
    the same pair replaces the earlier one (the office changed its mind).  The
    first bad record raises :class:`RecordError` naming file, line and field.
    """
    known = {"demand_id": set(demand_ids), "profile_id": set(profile_ids)}
    what = {"demand_id": ("需求", "demand"), "profile_id": ("人员", "profile")}
    out: dict[tuple[str, str], Verdict] = {}
    for line, obj in records:
        if not isinstance(obj, dict):
            raise RecordError("应为 JSON 对象 must be a JSON object", file=file, line=line)
        ids = {}
        for key in ("demand_id", "profile_id"):
            value = obj.get(key)
            if not isinstance(value, str) or not value:
                raise RecordError(f"缺少或不是字符串 missing or not a string: {value!r}", file=file, line=line,
                                  field=key)
            try:  # the readers' id rule: full-width Ｄ１ names the demand stored as D1
                ids[key] = normalize_id(value)
            except PydanticCustomError as exc:
                raise RecordError(exc.message(), file=file, line=line, field=key) from None
            if ids[key] not in known[key]:
                raise RecordError(f"未知{what[key][0]}编号 unknown {what[key][1]} id {value!r}",
                                  file=file, line=line, field=key)
        verdict = obj.get("verdict")
        if verdict not in VERDICTS:
            raise RecordError(f"应为 must be one of {', '.join(VERDICTS)}, got {verdict!r}", file=file,
                              line=line, field="verdict")
        pair = (ids["demand_id"], ids["profile_id"])
        out.pop(pair, None)
        out[pair] = Verdict(*pair, verdict == "accepted")
    return list(out.values())


def pair_features(features: Features, rows: Sequence[int], cols: Sequence[int]) -> np.ndarray:
    """(n_pairs, 3) matrix of :data:`COLUMNS` at the given (demand row, profile column)
    pairs of a batch; dense columns are 0 for a lexical-only scorer."""
    r, c = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    lex = features.lexical[r, c]
    if features.dense is None or features.centroid is None:
        return np.column_stack([np.zeros_like(lex), np.zeros_like(lex), lex])
    return np.column_stack([features.dense[r, c], features.centroid[r, c], lex])


# ----------------------------------------------------------------------------- figures
def _weights(f: Fusion) -> np.ndarray:
    return np.array([getattr(f, c) for c in COLUMNS], dtype=float)


def logits(fusion: Fusion, x: np.ndarray) -> np.ndarray:
    """bias + weights · features for a (n, 3) pair matrix."""
    return fusion.bias + x @ _weights(fusion)


def pairwise(z: np.ndarray, y: np.ndarray, groups: np.ndarray) -> float | None:
    """Share of (accepted, rejected) pairs of the same group with the accepted one
    scored higher (ties ½); None when no group has both."""
    good = total = 0.0
    for g in np.unique(groups):
        m = groups == g
        pos, neg = z[m & y], z[m & ~y]
        if len(pos) and len(neg):
            d = pos[:, None] - neg[None, :]
            good += float((d > 0).sum() + 0.5 * (d == 0).sum())
            total += d.size
    return good / total if total else None


def gain_is_clear(after: np.ndarray, before: np.ndarray, y: np.ndarray, groups: np.ndarray) -> bool:
    """True when the per-demand pairwise gain of logits ``after`` over ``before`` (demands with both
    an accepted and a rejected verdict) has mean > SIGNIFICANCE standard errors: a gain a few
    demands' noise could give is not taken."""
    diffs = []
    for g in np.unique(groups):
        m = groups == g
        a, b = pairwise(after[m], y[m], groups[m]), pairwise(before[m], y[m], groups[m])
        if a is not None and b is not None:
            diffs.append(a - b)
    if len(diffs) < 2:
        return False
    d = np.asarray(diffs)
    return bool(d.mean() - SIGNIFICANCE * d.std(ddof=1) / math.sqrt(len(d)) > 0)


def figures(z: np.ndarray, y: np.ndarray, groups: np.ndarray) -> Figures:
    """:class:`Figures` of logits ``z`` against labels ``y`` (bool) grouped by demand."""
    auc = float(roc_auc_score(y, z)) if 0 < y.sum() < len(y) else None
    ll = np.where(y, np.logaddexp(0.0, -z), np.logaddexp(0.0, z))  # -log p of the true label
    return Figures(pairwise(z, y, groups), auc, float(ll.mean()))


# ----------------------------------------------------------------------------- fitting
def _logistic(x: np.ndarray, y: np.ndarray, bias0: float, w0: np.ndarray, active: np.ndarray,
              offset: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Class-balanced L2 logistic regression, weights >= 0 (inactive ones 0), from (bias0, w0):
    (bias, weights) in the units of ``x``'s columns; ``offset`` (n,) a fixed logit added to each row."""
    act = np.asarray(active, dtype=bool)
    scale = np.where(act, x.std(axis=0), 1.0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    xs = x / scale
    n_pos, n = float(y.sum()), float(len(y))
    sw = np.where(y, n / (2 * n_pos), n / (2 * (n - n_pos)))
    sign = np.where(y, 1.0, -1.0)
    lam = L2 / n
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = off + theta[0] + xs @ theta[1:]
        m = -sign * z
        value = float((sw * np.logaddexp(0.0, m)).mean() + 0.5 * lam * theta[1:] @ theta[1:])
        g = sw * -sign / (1.0 + np.exp(-np.clip(m, -60, 60))) / n
        grad = np.concatenate([[g.sum()], xs.T @ g + lam * theta[1:]])
        return value, grad

    theta0 = np.concatenate([[bias0], np.asarray(w0, dtype=float) * scale * act])
    bounds = [(None, None)] + [(0.0, None) if a else (0.0, 0.0) for a in act]
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(res.x[0]), res.x[1:] / scale


def refit(x: np.ndarray, y: np.ndarray, start: Fusion, active: Sequence[bool] = (True, True, True)) -> Fusion:
    """Class-balanced L2 logistic regression with non-negative weights (more similarity
    never lowers a score), started from ``start``; inactive columns keep weight 0."""
    bias, w = _logistic(x, y, start.bias, _weights(start), np.asarray(active, dtype=bool))
    return Fusion(bias=bias, **{c: float(v) for c, v in zip(COLUMNS, w)})


def _folds(groups: np.ndarray) -> list[np.ndarray]:
    """Held-out masks: demands dealt round-robin (in first-seen order) into up to MAX_FOLDS folds."""
    uniq = list(dict.fromkeys(groups.tolist()))
    k = min(MAX_FOLDS, len(uniq))
    fold_of = {g: i % k for i, g in enumerate(uniq)}
    idx = np.array([fold_of[g] for g in groups.tolist()])
    return [idx == i for i in range(k)]


def _out_of_fold(x: np.ndarray, y: np.ndarray, groups: np.ndarray, default: Fusion,
                 active: Sequence[bool]) -> tuple[np.ndarray, int]:
    """Refit logits of every verdict from a fusion fitted without its fold (default logits
    for a fold whose training part lacks a class); and the number of folds."""
    z = logits(default, x)
    masks = _folds(groups)
    for held in masks:
        train = ~held
        if 0 < y[train].sum() < train.sum():
            z[held] = logits(refit(x[train], y[train], default, active), x[held])
    return z, len(masks)


def _better(after: Figures, before: Figures) -> bool:
    """Ordering strictly better on the primary measure (pairwise when defined, else AUC)
    and no worse on pairwise or AUC.  (``ndcg`` is reported, not judged: with verdicts on the
    top of each ranking only, the unjudged profiles a memory brings up count as misses.)"""
    for a, b in ((after.pairwise, before.pairwise), (after.auc, before.auc)):
        if a is not None and b is not None and a < b - 1e-12:
            return False
    primary = [(a, b) for a, b in ((after.pairwise, before.pairwise), (after.auc, before.auc))
               if a is not None and b is not None]
    return bool(primary) and primary[0][0] > primary[0][1] + 1e-12


class MemoryInputs(NamedTuple):
    """What a verdict memory is fitted from: ``demand_ids`` (the demands with verdicts, distinct),
    their ``texts`` and unit ``vectors`` (n_demands, dim), from
    :func:`xfd.matching.memory.memory_vectors` with the scorer's encoder or tokenizer; and
    ``pair_profiles`` (n_verdicts,) the profile id of each verdict pair."""

    demand_ids: Sequence[str]
    texts: Sequence[str]
    vectors: Any
    pair_profiles: Sequence[str]
    #: (n_demands, len(profile_ids)) the default logits of every profile (full rankings), or None
    base: np.ndarray | None = None
    profile_ids: Sequence[str] = ()


#: (tau, null) kernels of the verdict memory tried on held-out folds (see ``matching.memory``)
KERNELS = ((0.25, 2.0), (0.5, 2.0), (1.0, 2.0))
#: depth of the held-out ranking figure
RANK_K = 10


class _MemCtx(NamedTuple):
    """Verdict pairs as arrays: demand row ``prow``, profile column ``pcol`` (of ``profiles``),
    labels ``y``, demand fold ``dfold`` and pair fold ``pfold``."""

    vectors: Any
    prow: np.ndarray
    pcol: np.ndarray
    profiles: list[str]
    y: np.ndarray
    dfold: np.ndarray
    pfold: np.ndarray


def _mem_ctx(inp: MemoryInputs, groups: np.ndarray, y: np.ndarray) -> _MemCtx:
    row = {d: i for i, d in enumerate(inp.demand_ids)}
    prow = np.array([row[d] for d in groups.tolist()], dtype=np.int64)
    profiles = list(dict.fromkeys(inp.pair_profiles))
    col = {p: j for j, p in enumerate(profiles)}
    pcol = np.array([col[p] for p in inp.pair_profiles], dtype=np.int64)
    k = min(MAX_FOLDS, len(inp.demand_ids))
    seen = list(dict.fromkeys(groups.tolist()))
    fold_of = {d: i % k for i, d in enumerate(seen)}
    dfold = np.array([fold_of.get(d, -1) for d in inp.demand_ids], dtype=np.int64)
    return _MemCtx(inp.vectors, prow, pcol, profiles, y, dfold, dfold[prow])


def _mem_evidence(ctx: _MemCtx, rows: np.ndarray, memory: np.ndarray, tau: float, null: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(pos, neg), each (len(rows), len(ctx.profiles)), of the demand ``rows`` from the verdicts of
    the demands in ``memory`` (bool per demand row); zeros when the memory is empty."""
    mem_rows = np.flatnonzero(memory)
    if not len(mem_rows) or not len(rows):
        z = np.zeros((len(rows), len(ctx.profiles)))
        return z, z.copy()
    srow = np.full(len(memory), -1)
    srow[mem_rows] = np.arange(len(mem_rows))
    acc = np.zeros((len(mem_rows), len(ctx.profiles)))
    rej = np.zeros_like(acc)
    inm = memory[ctx.prow]
    acc[srow[ctx.prow[inm & ctx.y]], ctx.pcol[inm & ctx.y]] = 1.0
    rej[srow[ctx.prow[inm & ~ctx.y]], ctx.pcol[inm & ~ctx.y]] = 1.0
    mv = ctx.vectors[mem_rows]
    mu, sigma = memory_mod.spread(mv)
    return memory_mod.evidence(memory_mod.cosines(ctx.vectors[rows], mv), acc, rej, mu, sigma, tau, null)


def _mem_cols(ctx: _MemCtx, query: np.ndarray, memory: np.ndarray, tau: float, null: float) -> np.ndarray:
    """(query.sum(), 2) (pos, neg) of the ``query`` pairs (bool per verdict) from the verdicts of
    the demands in ``memory`` (bool per demand row)."""
    qrows = ctx.prow[query]
    uq = np.unique(qrows)
    pos, neg = _mem_evidence(ctx, uq, memory, tau, null)
    qi = np.searchsorted(uq, qrows)
    return np.column_stack([pos[qi, ctx.pcol[query]], neg[qi, ctx.pcol[query]]])


def _ranking(z: np.ndarray, rel: np.ndarray) -> list[float]:
    """nDCG@10 of each row of ``z`` (n, n_profiles) against 0/1 ``rel``; rows without a relevant one skipped."""
    return [ndcg_at_k(z[i], rel[i], RANK_K) for i in range(len(z)) if rel[i].any()]


def _cv_cols(ctx: _MemCtx, pairs: np.ndarray, exclude: int, tau: float, null: float) -> np.ndarray:
    """Memory columns of the ``pairs`` (bool), each fold's pairs from the verdicts of the other
    folds, never of fold ``exclude`` (-1: none excluded)."""
    out = np.zeros((len(ctx.y), 2))
    for j in np.unique(ctx.pfold[pairs]):
        q = pairs & (ctx.pfold == j)
        out[q] = _mem_cols(ctx, q, (ctx.dfold != j) & (ctx.dfold != exclude) & (ctx.dfold >= 0), tau, null)
    return out[pairs]


def _mem_x(base: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Columns (default logit, pos, -neg): weights >= 0 keep "accepted lifts, rejected lowers"."""
    return np.column_stack([base, cols[:, 0], -cols[:, 1]])


def _mem_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(bias, (1, accepted, rejected)): the default logit is a fixed offset (scale 1).  Its own
    weight is not refitted: verdicts are given on the top of each ranking, where the default logit
    varies little, so a refit would shrink it and let the memory overrule the default on the
    profiles nobody judged."""
    b, w = _logistic(x[:, 1:], y, 0.0, np.zeros(2), np.ones(2, dtype=bool), offset=x[:, 0])
    return b, np.concatenate([[1.0], w])


class _Candidate(NamedTuple):
    """A memory kernel's held-out logits (n_verdicts,), logits on all verdicts, held-out nDCG per
    demand (empty without full rankings), bias and weights (1, accepted, rejected)."""

    z_oof: np.ndarray
    z_all: np.ndarray
    ndcg: list[float]
    bias: float
    w: np.ndarray


def _full_rows(inp: MemoryInputs, ctx: _MemCtx) -> tuple[np.ndarray, np.ndarray] | None:
    """(columns of ctx.profiles in inp.base, (n_demands, n_all) accepted indicator), or None."""
    if inp.base is None:
        return None
    col = {p: j for j, p in enumerate(inp.profile_ids)}
    cols = np.array([col[p] for p in ctx.profiles], dtype=np.int64)
    rel = np.zeros(inp.base.shape, dtype=bool)
    rel[ctx.prow[ctx.y], cols[ctx.pcol[ctx.y]]] = True
    return cols, rel


def _memory_candidate(ctx: _MemCtx, base: np.ndarray, tau: float, null: float, full: np.ndarray | None,
                      cols_rel: tuple[np.ndarray, np.ndarray] | None) -> _Candidate:
    """The memory with this kernel, nested: an outer fold's coefficients are fitted on memory
    columns built without it, and it is scored with the memory of the other folds only (on its
    verdicts, and on the full rankings ``full`` of its demands when given)."""
    y = ctx.y
    z_oof = base.copy()
    ndcg: list[float] = []
    for k in np.unique(ctx.pfold):
        train, held = ctx.pfold != k, ctx.pfold == k
        if not 0 < y[train].sum() < train.sum():
            continue
        b, w = _mem_fit(_mem_x(base[train], _cv_cols(ctx, train, k, tau, null)), y[train])
        memory = (ctx.dfold != k) & (ctx.dfold >= 0)
        z_oof[held] = b + _mem_x(base[held], _mem_cols(ctx, held, memory, tau, null)) @ w
        if full is not None and cols_rel is not None:
            rows = np.flatnonzero(ctx.dfold == k)
            pos, neg = _mem_evidence(ctx, rows, memory, tau, null)
            z = full[rows].copy()
            z[:, cols_rel[0]] += w[1] * pos - w[2] * neg
            ndcg += _ranking(z, cols_rel[1][rows])
    every = np.ones(len(y), dtype=bool)
    x_all = _mem_x(base, _cv_cols(ctx, every, -1, tau, null))
    b, w = _mem_fit(x_all, y)
    return _Candidate(z_oof, b + x_all @ w, ndcg, b, w)


def _primary(f: Figures) -> tuple[float, float]:
    return tuple(-1.0 if v is None else v for v in (f.pairwise, f.auc))  # type: ignore[return-value]


def _with_ndcg(f: Figures, values: list[float]) -> Figures:
    return f._replace(ndcg=float(np.mean(values)) if values else None)


def _best_memory(inp: MemoryInputs, g: np.ndarray, y: np.ndarray, base: np.ndarray
                 ) -> tuple[Figures, Figures, VerdictMemory, float, float, Figures, np.ndarray] | None:
    """The memory kernel best on held-out verdicts (pairwise, then AUC; the held-out nDCG of the
    full rankings is reported when given): (held figures after, all figures after, memory, scale
    of the default logit, bias, held figures of the default, held-out logits); None when no kernel
    learns anything."""
    ctx = _mem_ctx(inp, g, y)
    cols_rel = _full_rows(inp, ctx)
    before = figures(base, y, g)
    if cols_rel is not None and inp.base is not None:
        before = _with_ndcg(before, _ranking(inp.base[ctx.dfold >= 0], cols_rel[1][ctx.dfold >= 0]))
    best = None
    for tau, null in KERNELS:
        c = _memory_candidate(ctx, base, tau, null, inp.base, cols_rel)
        if c.w[1] <= 1e-9 and c.w[2] <= 1e-9:
            continue
        held = _with_ndcg(figures(c.z_oof, y, g), c.ndcg)
        if best is None or _primary(held) > _primary(best[0]):
            best = (held, figures(c.z_all, y, g), tau, null, c)
    if best is None:
        return None
    held, every, tau, null, c = best
    mem = VerdictMemory(_memory_items(inp, ctx), float(c.w[1]), float(c.w[2]), tau, null)
    return held, every, mem, float(c.w[0]), c.bias, before, c.z_oof


def _memory_items(inp: MemoryInputs, ctx: _MemCtx) -> tuple[MemoryItem, ...]:
    acc: dict[int, list[str]] = {}
    rej: dict[int, list[str]] = {}
    for r, c, yy in zip(ctx.prow.tolist(), ctx.pcol.tolist(), ctx.y.tolist()):
        (acc if yy else rej).setdefault(r, []).append(ctx.profiles[c])
    dense = isinstance(inp.vectors, np.ndarray)  # an encoder's vectors: kept instead of the text
    return tuple(MemoryItem(d, "" if dense else t, tuple(acc.get(i, ())), tuple(rej.get(i, ())),
                            vector_tuple(inp.vectors[i]) if dense else ())
                 for i, (d, t) in enumerate(zip(inp.demand_ids, inp.texts)) if i in acc or i in rej)


def _scaled(f: Fusion, scale: float, shift: float) -> Fusion:
    """``scale`` · the fusion's logit + ``shift`` as a fusion."""
    return Fusion(bias=scale * f.bias + shift, **{c: scale * getattr(f, c) for c in Fusion._fields if c != "bias"})


def fit_calibration(x: np.ndarray, y: np.ndarray, groups: Sequence[str], default: Fusion, model: str,
                    memory: MemoryInputs | None = None) -> Calibration:
    """Fit a calibration from verdict pairs.

    ``x`` (n, 3) pair features (:data:`COLUMNS`), ``y`` (n,) True = accepted,
    ``groups`` (n,) the demand of each verdict, ``default`` the fusion the
    scorer uses without calibration (its zero weights stay zero), ``memory``
    the demands' texts and vectors for a verdict memory (None: refit only).
    Candidates: the refitted fusion ("refit") and the default's logit plus a
    verdict memory ("memory", each of :data:`KERNELS`); the one best on
    held-out verdicts is returned if it beats the default there and on all
    verdicts, else the default.
    """
    y = np.asarray(y, dtype=bool)
    g = np.asarray(groups)
    x = np.asarray(x, dtype=float).reshape(len(y), len(COLUMNS))
    counts = {"verdicts": len(y), "accepted": int(y.sum()), "demands": len(set(g.tolist()))}
    before_all = figures(logits(default, x), y, g)

    def keep(reason: str, figs: dict[str, dict[str, Figures]], folds: int) -> Calibration:
        return Calibration(model, default, default, "default", figs, folds=folds, reason=reason, **counts)

    if counts["accepted"] in (0, len(y)) or counts["demands"] < 2:
        return keep("需要至少两个需求且同时有接受和拒绝 need accepted and rejected verdicts on at least two demands",
                    {"all": {"before": before_all, "after": before_all}}, 0)
    active = [w != 0 for w in _weights(default)]
    z_oof, folds = _out_of_fold(x, y, g, default, active)
    fitted = refit(x, y, default, active)
    held = {"before": before_all, "after": figures(z_oof, y, g)}
    every = {"before": before_all, "after": figures(logits(fitted, x), y, g)}
    source, mem = "refit", None
    if not np.any(_weights(fitted) > 1e-9):
        held["after"] = every["after"] = before_all
    found = _best_memory(memory, g, y, logits(default, x)) if memory is not None else None
    if found is not None and _primary(found[0]) >= _primary(held["after"]):
        # the memory unless the refit orders the held-out verdicts strictly better
        held = {"before": found[5], "after": found[0]}
        every["after"], mem, scale, shift = found[1:5]
        source, fitted, z_oof = "memory", _scaled(default, scale, shift), found[6]
    figs = {"held_out": held, "all": every}
    if source == "refit" and not np.any(_weights(fitted) > 1e-9):
        return keep("重新拟合不使用任何特征 refit ignores every feature (all scores would tie)", figs, folds)
    if not _better(held["after"], held["before"]):
        return keep("重新拟合在留出的反馈上不优于默认 refit not better than the default on held-out verdicts",
                    figs, folds)
    if not _better(every["after"], every["before"]):
        return keep("重新拟合在全部反馈上不优于默认 refit not better than the default on all verdicts", figs, folds)
    if mem is not None and not gain_is_clear(z_oof, logits(default, x), y, g):
        return keep("留出反馈上的提升不显著（需求太少或差异太小） held-out gain within the noise of the demands "
                    f"(less than {SIGNIFICANCE:g} standard errors)", figs, folds)
    reason = ("反馈记忆在留出的反馈上更好 verdict memory better on held-out verdicts" if mem is not None
              else "重新拟合在留出的反馈上更好 refit better on held-out verdicts")
    return Calibration(model, fitted, default, source, figs, folds=folds, reason=reason, memory=mem, **counts)


# ----------------------------------------------------------------------------- JSON
def _fusion_json(f: Fusion) -> dict[str, float]:
    return {k: float(v) for k, v in f._asdict().items()}


def calibration_to_json(cal: Calibration) -> dict[str, Any]:
    """The calibration document (what ``xfd calibrate`` writes)."""
    return {
        "format": FORMAT, "version": VERSION, "model": cal.model, "source": cal.source,
        "fusion": _fusion_json(cal.fusion), "default_fusion": _fusion_json(cal.default),
        "verdicts": cal.verdicts, "accepted": cal.accepted, "rejected": cal.verdicts - cal.accepted,
        "demands": cal.demands, "folds": cal.folds, "reason": cal.reason,
        "figures": {part: {k: f._asdict() for k, f in v.items()} for part, v in cal.figures.items()},
        **({} if cal.memory is None else {"memory": memory_to_json(cal.memory)}),
    }


class ScorerCalibration(NamedTuple):
    """What a scorer needs from a calibration document: the ``fusion`` and the verdict ``memory`` (or None)."""

    fusion: Fusion
    memory: VerdictMemory | None

    def settings(self) -> dict[str, Any]:
        """``MatchScorer`` keyword settings (``fusion``, and ``memory`` when there is one)."""
        return {"fusion": self.fusion, **({} if self.memory is None else {"memory": self.memory})}


def calibration_from_json(doc: Any, model: str) -> ScorerCalibration:
    """Fusion and memory of a calibration document for ``model``; ValueError naming the field."""
    return ScorerCalibration(fusion_from_json(doc, model), memory_from_json(doc))


def fusion_from_json(doc: Any, model: str) -> Fusion:
    """The fusion of a calibration document for ``model``; ValueError naming the field
    when the document is malformed or was fitted for another model."""
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        raise ValueError(f'字段 field "format": 不是 xfd 校准文件 not an xfd calibration (expected {FORMAT!r})')
    if doc.get("version") != VERSION:
        raise ValueError(f'字段 field "version": 不支持的版本 unsupported version {doc.get("version")!r}, '
                         f"expected {VERSION}")
    if doc.get("model") != model:
        raise ValueError(f'字段 field "model": 校准文件属于模型 calibration is for model {doc.get("model")!r}, '
                         f"但当前模型是 but the model is {model!r}")
    fusion = doc.get("fusion")
    if not isinstance(fusion, Mapping):
        raise ValueError('字段 field "fusion": 应为对象 must be an object')
    values = {}
    for name in Fusion._fields:
        v = fusion.get(name)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f'字段 field "fusion.{name}": 应为有限数 must be a finite number, got {v!r}')
        if name != "bias" and v < 0:
            raise ValueError(f'字段 field "fusion.{name}": 应 >= 0 must be >= 0, got {v!r}')
        values[name] = float(v)
    return Fusion(**values)
