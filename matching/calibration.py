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
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

from xfd.matching.readers import RecordError
from xfd.matching.scoring import Features, Fusion

FORMAT = "xfd-calibration"
VERSION = 1
VERDICTS = ("accepted", "rejected")
#: feature columns of a pair matrix, in this order (weights of the same names in ``Fusion``)
COLUMNS = ("dense", "centroid", "lexical")
MAX_FOLDS = 5
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


# ----------------------------------------------------------------------------- feedback
def parse_feedback(records: Iterable[tuple[int, Any]], file: str, demand_ids: Iterable[str],
                   profile_ids: Iterable[str]) -> list[Verdict]:
    """Validate ``(line, object)`` feedback records against the known ids.

    Each object needs ``demand_id`` and ``profile_id`` (known ids) and
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
        for key in ("demand_id", "profile_id"):
            value = obj.get(key)
            if not isinstance(value, str) or not value:
                raise RecordError(f"缺少或不是字符串 missing or not a string: {value!r}", file=file, line=line,
                                  field=key)
            if value not in known[key]:
                raise RecordError(f"未知{what[key][0]}编号 unknown {what[key][1]} id {value!r}",
                                  file=file, line=line, field=key)
        verdict = obj.get("verdict")
        if verdict not in VERDICTS:
            raise RecordError(f"应为 must be one of {', '.join(VERDICTS)}, got {verdict!r}", file=file,
                              line=line, field="verdict")
        pair = (obj["demand_id"], obj["profile_id"])
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


def figures(z: np.ndarray, y: np.ndarray, groups: np.ndarray) -> Figures:
    """:class:`Figures` of logits ``z`` against labels ``y`` (bool) grouped by demand."""
    auc = float(roc_auc_score(y, z)) if 0 < y.sum() < len(y) else None
    ll = np.where(y, np.logaddexp(0.0, -z), np.logaddexp(0.0, z))  # -log p of the true label
    return Figures(pairwise(z, y, groups), auc, float(ll.mean()))


# ----------------------------------------------------------------------------- fitting
def refit(x: np.ndarray, y: np.ndarray, start: Fusion, active: Sequence[bool] = (True, True, True)) -> Fusion:
    """Class-balanced L2 logistic regression with non-negative weights (more similarity
    never lowers a score), started from ``start``; inactive columns keep weight 0."""
    act = np.asarray(active, dtype=bool)
    scale = np.where(act, x.std(axis=0), 1.0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    xs = x / scale
    n_pos, n = float(y.sum()), float(len(y))
    sw = np.where(y, n / (2 * n_pos), n / (2 * (n - n_pos)))
    sign = np.where(y, 1.0, -1.0)
    lam = L2 / n

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + xs @ theta[1:]
        m = -sign * z
        value = float((sw * np.logaddexp(0.0, m)).mean() + 0.5 * lam * theta[1:] @ theta[1:])
        g = sw * -sign / (1.0 + np.exp(-np.clip(m, -60, 60))) / n
        grad = np.concatenate([[g.sum()], xs.T @ g + lam * theta[1:]])
        return value, grad

    theta0 = np.concatenate([[start.bias], _weights(start) * scale * act])
    bounds = [(None, None)] + [(0.0, None) if a else (0.0, 0.0) for a in act]
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    w = res.x[1:] / scale
    return Fusion(bias=float(res.x[0]), **{c: float(v) for c, v in zip(COLUMNS, w)})


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
    and no worse on pairwise or AUC."""
    for a, b in ((after.pairwise, before.pairwise), (after.auc, before.auc)):
        if a is not None and b is not None and a < b - 1e-12:
            return False
    primary = [(a, b) for a, b in ((after.pairwise, before.pairwise), (after.auc, before.auc))
               if a is not None and b is not None]
    return bool(primary) and primary[0][0] > primary[0][1] + 1e-12


def fit_calibration(x: np.ndarray, y: np.ndarray, groups: Sequence[str], default: Fusion, model: str
                    ) -> Calibration:
    """Fit a calibration from verdict pairs.

    ``x`` (n, 3) pair features (:data:`COLUMNS`), ``y`` (n,) True = accepted,
    ``groups`` (n,) the demand of each verdict, ``default`` the fusion the
    scorer uses without calibration (its zero weights stay zero).
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
    held = {"before": figures(logits(default, x), y, g), "after": figures(z_oof, y, g)}
    fitted = refit(x, y, default, active)
    every = {"before": before_all, "after": figures(logits(fitted, x), y, g)}
    figs = {"held_out": held, "all": every}
    if not np.any(_weights(fitted) > 1e-9):
        return keep("重新拟合不使用任何特征 refit ignores every feature (all scores would tie)", figs, folds)
    if not _better(held["after"], held["before"]):
        return keep("重新拟合在留出的反馈上不优于默认 refit not better than the default on held-out verdicts",
                    figs, folds)
    if not _better(every["after"], every["before"]):
        return keep("重新拟合在全部反馈上不优于默认 refit not better than the default on all verdicts", figs, folds)
    return Calibration(model, fitted, default, "refit", figs, folds=folds,
                       reason="重新拟合在留出的反馈上更好 refit better on held-out verdicts", **counts)


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
    }


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
