"""Quality harness: lexical, dense and hybrid scoring on ../shared/data.

    python benchmarks/quality.py [--model e5-small] [--demands 400] [--fit] [--cv] [--adapter FILE]

(a) Chinese discipline routing built from the CSL abstracts: profiles of 3
abstracts of one discipline, other abstracts as demands, relevant = same
discipline; reports nDCG@10 and top-1.  (b) The English reviewer–paper
expertise set (development half) with its loss (lower is better).

Scores go through the same ``MatchScorer`` that ``xfd score`` uses; "dense"
and "lexical" are the hybrid with the other weight set to zero.  ``--fit``
searches the fusion weights on these development sets and prints them.

``--cv`` adds the cross-validated figures (``benchmarks/cv.py``): every chosen
parameter (fusion weight ratios, k, lexical_k, per-demand normalisation, the
model for English pairs) is chosen on training folds only and reported on the
held-out ones: Chinese folds of disjoint abstracts, of disjoint disciplines
and the CSL split column (each fold's routing set built from its abstracts
only), English folds of disjoint researchers; mean ± sd over folds × seeds;
plus the shipped defaults' held-out figures under other set constructions
(profiles of 1–5 abstracts, 2–8 profiles per discipline).  ``--adapter FILE``
scores with that e5 adapter (``xfd.matching.adapter``) on top of the model,
e.g. ``--model e5-small-raw --adapter corpora/e5_adapter.npz`` against
``--model e5-small-raw`` (no adapter).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cv
from benchmarks.datasets import SHARED_DATA, csl_routing, csl_rows, expertise_gold
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
    fu = scorer.fusion_
    bias, s = cv.logistic_bias_scale([fu.terms(f) for f, _ in sets], [y for _, y in sets])
    return Fusion(round(bias, 3), round(fu.dense * s, 4), round(fu.centroid * s, 4),
                  round(fu.lexical * s, 4))


#: scorer variants: the English routing, then the demand's role for e5 ("" = the shipped default)
VARIANTS = ("e5+minilm", "e5", "e5+minilm/query", "e5+minilm/passage", "e5/query", "e5/passage")


def scorer_factory(model: str, adapter: Path | None):
    """variant name (``VARIANTS``) -> unfitted scorer: "e5+minilm" (English pairs by MiniLM, as
    shipped) or "e5" (no English model), optionally "/query" or "/passage" (the demand's e5 role)."""
    from sklearn.base import clone

    from xfd.models.pipeline import make_scorer

    base = make_scorer(model)  # loaded once; clones share the encoders and the tokenizer
    base.set_params(tokenizer=cv.MemoTokenizer(base.tokenizer))
    if adapter is not None:
        from xfd.matching.adapter import AdaptedEncoder, load_adapter

        base.set_params(encoder=AdaptedEncoder(base.encoder, load_adapter(adapter)))

    def make(variant: str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
        sc = clone(base)
        english, _, role = variant.partition("/")
        if english == "e5":
            sc.set_params(english_encoder=None)
        if role:
            sc.set_params(demand_role=role)
        return sc

    return make


#: other ways to build the Chinese routing set (the hidden set may be built differently)
CONSTRUCTIONS = {
    "1 abstract/profile": {"per_profile": 1},
    "2 abstracts/profile": {"per_profile": 2},
    "5 abstracts/profile": {"per_profile": 5, "max_profiles_per_discipline": 2},
    "2 profiles/discipline": {"max_profiles_per_discipline": 2},
    "8 profiles/discipline": {"max_profiles_per_discipline": 8, "per_profile": 1},
}


def cv_section(model: str, adapter: Path | None, seeds: list[int], demands: int) -> list[cv.Row]:
    """The cross-validated rows (see the module doc); prints progress to stderr."""
    make = scorer_factory(model, adapter)
    shipped = make("e5+minilm")
    role = shipped.demand_role
    other = "passage" if role == "query" else "query"
    zh_vs = [f"e5+minilm/{role}", f"e5+minilm/{other}"]
    fixed_zh = cv.Candidate(zh_vs[0], cv.shipped(shipped))
    fixed_en = cv.Candidate("e5+minilm", cv.shipped(shipped, english=True))
    zh_cands = [cv.Candidate(v, c) for v in zh_vs for c in cv.ZH_GRID]
    rows_all = csl_rows()
    out = []
    base: list = []
    n_d = demands // 2
    for mode, label in (("abstract", "abstracts, 2-fold"), ("discipline", "disciplines, 2-fold"),
                        ("split", "CSL split dev|test")):
        sp = cv.routing_splits(rows_all, make, zh_vs, mode=mode, seeds=seeds, n_demands=n_d)
        lab = f"{label} × {len(seeds)} seeds"
        out.append(cv.cv_row("zh nDCG@10", lab, sp, fixed_zh, zh_cands))
        if mode == "abstract":  # the levers one by one, on the same folds
            base = sp
            for name, keep in ((f"zh, demand as {role}", lambda c: c.variant == zh_vs[0]),
                               (f"zh, demand as {other}", lambda c: c.variant == zh_vs[1]),
                               ("zh, no per-demand norm", lambda c: not c.cfg.norm)):
                out.append(cv.cv_row(name, lab, sp, fixed_zh, [c for c in zh_cands if keep(c)]))
            out.append(cv.cv_row("zh, k/lexical_k only", lab, sp, fixed_zh,
                                 [cv.Candidate(fixed_zh.variant, fixed_zh.cfg._replace(k=k, lexical_k=lk))
                                  for k in (1, 2, 3, 5) for lk in (1, 2)]))
        print(f"  cv: zh {mode} done", file=sys.stderr, flush=True)
    for name, kw in CONSTRUCTIONS.items():
        # chosen on the standard build of the training fold, tested on the held-out fold built this way
        alt = cv.routing_splits(rows_all, make, zh_vs, mode="abstract", seeds=seeds, n_demands=n_d, **kw)
        mixed = [(s, list(zip(items, o_items))) for (s, items), (_, o_items) in zip(base, alt)]
        out.append(cv.cv_row_transfer("zh nDCG@10", name, mixed, fixed_zh, zh_cands))
        print(f"  cv: zh {name} done", file=sys.stderr, flush=True)
    es = expertise_gold()
    pidx = {p.id: j for j, p in enumerate(es.profiles)}
    pairs = cv.rating_pairs(es.ratings, pidx)
    preps = {v: cv.prepare(make(v).fit(es.profiles), es.demands) for v in ("e5+minilm", "e5")}
    en_seeds = list(range(max(8, len(seeds))))
    sp = cv.expertise_splits(preps, pairs, seeds=en_seeds, n_folds=3)
    label = f"researchers, 3-fold × {len(en_seeds)}"
    for name, cands in (("en loss", [cv.Candidate("e5+minilm", c) for c in cv.EN_GRID]),
                        ("en loss, e5 only", [cv.Candidate("e5", c) for c in cv.EN_GRID]),
                        ("en loss, either", [cv.Candidate(v, c) for v in preps for c in cv.EN_GRID]),
                        ("en loss, +norm", [cv.Candidate("e5+minilm", c._replace(norm=n)) for c in cv.EN_GRID
                                            for n in (False, True)])):
        out.append(cv.cv_row(name, label, sp, fixed_en, cands, loss=True))
    return out, (base, preps, pairs, es, pidx)


def choose_defaults(zh_items: list[cv.Item], zh_cands: list[cv.Candidate], en_item: cv.Item,
                    en_cands: list[cv.Candidate], en_labels: np.ndarray) -> dict[str, tuple]:
    """The same selection as inside the folds, run on all the data: per language the chosen
    candidate and the (bias, scale) of its logistic calibration.  These are the defaults to ship."""
    out = {}
    for lang, items, cands in (("zh", zh_items, zh_cands), ("en", [en_item], en_cands)):
        cand, _v = cv.choose(items, cands)
        if lang == "zh":
            parts = [(it.preps[cand.variant], it.relevant.astype(float)) for it in items]
        else:
            parts = [(en_item.preps[cand.variant], en_labels)]
        bias, scale = cv.fit_scale(parts, cand.cfg)
        c = cand.cfg
        lw = c.lexical / 10.0 if c.norm else c.lexical
        out[lang] = (cand, Fusion(round(bias, 3), round(c.dense * scale, 4), round(c.centroid * scale, 4),
                                  round(lw * scale, 4)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--demands", type=int, default=400, help="routing demands")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write results here")
    ap.add_argument("--fit", action="store_true", help="fit the fusion bias and scale and print them")
    ap.add_argument("--cv", action="store_true", help="add the cross-validated figures (a few minutes)")
    ap.add_argument("--cv-seeds", type=int, default=3, help="seeds of the Chinese folds")
    ap.add_argument("--adapter", type=Path, default=None, help="score with this e5 adapter file")
    args = ap.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    from xfd.models.pipeline import make_scorer

    rows = []
    t0 = time.time()
    make = scorer_factory(args.model, args.adapter) if args.model != "lexical" else (lambda _v: make_scorer("lexical"))
    rs = csl_routing(n_demands=args.demands, seed=args.seed)
    sc = make("e5+minilm").fit(rs.profiles)
    f = sc.features(rs.demands)
    zh = {name: routing_metrics(m, rs.relevant) for name, m in variants(f, sc).items()}
    t_zh = time.time() - t0
    t0 = time.time()
    es = expertise_gold()
    sc2 = make("e5+minilm").fit(es.profiles)
    f2 = sc2.features(es.demands)
    pidx = {p.id: j for j, p in enumerate(es.profiles)}
    en = {name: expertise_metric(m, es.ratings, pidx) for name, m in variants(f2, sc2).items()}
    t_en = time.time() - t0
    print(f"model={args.model}{'' if args.adapter is None else f' + adapter {args.adapter}'}  routing: {len(rs.profiles)} profiles × {len(rs.demands)} demands ({t_zh:.0f} s); "
          f"expertise: {len(es.profiles)} researchers × {len(es.demands)} papers ({t_en:.0f} s)")
    print(f"{'scorer':<8} | {'zh nDCG@10':>10} | {'zh top-1':>8} | {'en loss':>7}")
    print("-" * 44)
    for name in ("lexical", "dense", "hybrid"):
        if name in zh:
            nd, top1 = zh[name]
            print(f"{name:<8} | {nd:>10.4f} | {top1:>8.4f} | {en[name]:>7.4f}")
            rows.append({"scorer": name, "zh_ndcg10": nd, "zh_top1": top1, "en_loss": en[name]})
    cv_rows = []
    if args.cv:
        cv_rows, (base, preps, pairs, es_cv, pidx_cv) = cv_section(args.model, args.adapter,
                                                                    list(range(args.cv_seeds)), args.demands)
        print("\ncross-validated: parameters chosen on the training folds only, figures on the held-out folds "
              "(mean ± sd over folds × seeds; 'shipped defaults' = today's fixed settings on the same held-out folds)")
        print(cv.format_rows(cv_rows))
    if args.fit and args.cv:
        vs = list(base[0][1][0].preps)
        zh_cands = [cv.Candidate(v, c) for v in vs for c in cv.ZH_GRID]
        en_cands = [cv.Candidate("e5+minilm", c) for c in cv.EN_GRID]
        got = choose_defaults([it for _, items in base for it in items], zh_cands, cv.Item(preps, pairs=pairs),
                              en_cands, expertise_labels(es_cv, pidx_cv))
        for lang, (cand, fusion) in got.items():
            print(f"chosen on all the data, {lang}: {cand}\n    {fusion}")
    elif args.fit:
        print(fit_fusion([(f, rs.relevant.astype(float)), (f2, expertise_labels(es, pidx))], sc))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "rows": rows, "cv": [r._asdict() for r in cv_rows]}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
