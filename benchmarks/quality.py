"""Quality harness: lexical, dense and hybrid scoring on ../shared/data.

    python benchmarks/quality.py [--model e5-small] [--demands 400] [--fit]

(a) Chinese discipline routing built from the CSL abstracts: profiles of 3
abstracts of one discipline, other abstracts as demands, relevant = same
discipline; reports nDCG@10 and top-1.  (b) The English reviewer–paper
expertise set (development half) with its loss (lower is better).

Scores go through the same ``MatchScorer`` that ``xfd score`` uses; "dense"
and "lexical" are the hybrid with the other weight set to zero.  ``--fit``
searches the fusion weights on these development sets and prints them.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import SHARED_DATA, csl_routing, expertise_gold
from xfd.matching.metrics import expertise_loss, ndcg_at_k
from xfd.matching.scoring import Features, Fusion, MatchScorer


def routing_metrics(scores: np.ndarray, relevant: np.ndarray) -> tuple[float, float]:
    """Mean nDCG@10 and top-1 accuracy over demands."""
    nd = float(np.mean([ndcg_at_k(scores[i], relevant[i], 10) for i in range(len(scores))]))
    top1 = float(np.mean([relevant[i, int(np.argmax(scores[i]))] for i in range(len(scores))]))
    return nd, top1


def expertise_metric(scores: np.ndarray, ratings: dict, profile_index: dict[str, int]) -> float:
    return expertise_loss(
        ([scores[d, profile_index[r]] for d, _ in pairs], [v for _, v in pairs])
        for r, pairs in ratings.items()
        if r in profile_index
    )


def variants(f: Features, scorer: MatchScorer) -> dict[str, np.ndarray]:
    """lexical / dense / hybrid scores of one feature set under the scorer's fusion."""
    out = {"lexical": f.lexical}
    if f.dense is not None:
        out["dense"] = scorer.fusion_.dense_term(f)
        out["hybrid"] = scorer.fuse(f)
    return out


def expertise_labels(es, pidx: dict[str, int]) -> np.ndarray:
    """(n_demands, n_profiles) labels: 1 for rating >= 4, 0 for <= 2, NaN otherwise/unrated."""
    y = np.full((len(es.demands), len(pidx)), np.nan)
    for r, pairs in es.ratings.items():
        if r in pidx:
            for d, v in pairs:
                y[d, pidx[r]] = 1.0 if v >= 4 else (0.0 if v <= 2 else np.nan)
    return y


def fit_fusion(sets: list[tuple[Features, np.ndarray]], scorer: MatchScorer) -> Fusion:
    """Logistic regression of the labels (NaN = unlabelled) on the fused feature with the scorer's weight ratios.

    Returns the Fusion with the fitted scale applied to every weight and the fitted bias.
    """
    from sklearn.linear_model import LogisticRegression

    fu = scorer.fusion_
    xs, ys = [], []
    for f, y in sets:
        u = fu.terms(f)
        keep = ~np.isnan(y)
        xs.append(u[keep])
        ys.append(y[keep])
    x = np.concatenate(xs)[:, None]
    y = np.concatenate(ys)
    lr = LogisticRegression(C=100.0, class_weight="balanced").fit(x, y)  # 0.5 = even odds at equal priors
    s = float(lr.coef_[0, 0])
    return Fusion(round(float(lr.intercept_[0]), 3), round(fu.dense * s, 4), round(fu.centroid * s, 4),
                  round(fu.lexical * s, 4))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--demands", type=int, default=400, help="routing demands")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write results here")
    ap.add_argument("--fit", action="store_true", help="fit the fusion bias and scale and print them")
    args = ap.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    from xfd.models.pipeline import make_scorer

    rows = []
    t0 = time.time()
    rs = csl_routing(n_demands=args.demands, seed=args.seed)
    sc = make_scorer(args.model).fit(rs.profiles)
    f = sc.features(rs.demands)
    zh = {name: routing_metrics(m, rs.relevant) for name, m in variants(f, sc).items()}
    t_zh = time.time() - t0
    t0 = time.time()
    es = expertise_gold()
    sc2 = make_scorer(args.model).fit(es.profiles)
    f2 = sc2.features(es.demands)
    pidx = {p.id: j for j, p in enumerate(es.profiles)}
    en = {name: expertise_metric(m, es.ratings, pidx) for name, m in variants(f2, sc2).items()}
    t_en = time.time() - t0
    print(f"model={args.model}  routing: {len(rs.profiles)} profiles × {len(rs.demands)} demands ({t_zh:.0f} s); "
          f"expertise: {len(es.profiles)} researchers × {len(es.demands)} papers ({t_en:.0f} s)")
    print(f"{'scorer':<8} | {'zh nDCG@10':>10} | {'zh top-1':>8} | {'en loss':>7}")
    print("-" * 44)
    for name in ("lexical", "dense", "hybrid"):
        if name in zh:
            nd, top1 = zh[name]
            print(f"{name:<8} | {nd:>10.4f} | {top1:>8.4f} | {en[name]:>7.4f}")
            rows.append({"scorer": name, "zh_ndcg10": nd, "zh_top1": top1, "en_loss": en[name]})
    if args.fit:
        print(fit_fusion([(f, rs.relevant.astype(float)), (f2, expertise_labels(es, pidx))], sc))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
