"""Cross-validated value of the e5 domain adapter (issue 11, item 2).

    python benchmarks/adapter_cv.py [--folds 2] [--seeds 0,1,2] [--variants raw,center,nce]

For each seed the 2,000 CSL abstracts are split into ``--folds`` disjoint
folds (``benchmarks.datasets.row_folds``, by abstract, as ``benchmarks/cv.py``).  For each fold, the adapter is trained on the self-supervised pairs
(``xfd.models.adapter_build.read_pairs``: CSL title/keywords -> abstract,
technology achievements and demands name -> text; never the discipline
labels) whose CSL abstract is NOT in the fold; the Chinese routing set of
``benchmarks/datasets.py`` is then built from the fold's abstracts only and
scored through the project's ``MatchScorer`` (``make_scorer("e5-small-raw")``,
the encoder swapped for the adapted one), as ``benchmarks/quality.py`` does.
Also reported: discipline inference on the fold's abstracts (top-1/top-3 of
the scorer's ``DisciplineInferer`` containing the CSL label), and the English
expertise loss with the default English routing (all-MiniLM for English
pairs) and with e5 alone (``e5-only``), with and without an adapter trained
on all pairs.

Variants: ``raw`` (no adapter), ``center`` (subtract the domain mean only),
``nce`` (mean + InfoNCE-trained matrix with the shipped adapter's settings,
``adapter_build.DEFAULT_SETTINGS``, and ``--l2`` / ``--epochs`` / ``--lr`` /
``--temperature`` overrides), ``whiten`` (centring + shrunk PCA whitening,
``--shrink``), ``whiten-nce`` (InfoNCE started from the whitening).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import SHARED_DATA, csl_routing, csl_rows, expertise_gold, row_folds
from benchmarks.quality import expertise_metric, routing_metrics, variants
from xfd.matching.adapter import AdaptedEncoder, Adapter, TrainSettings, fit_adapter, fit_whitening
from xfd.models.adapter_build import DEFAULT_SETTINGS, DEFAULT_SOURCES, cached_e5, encode_pairs, read_pairs

VARIANTS = ("raw", "center", "nce", "whiten", "whiten-nce")


def train(kind: str, q: np.ndarray, p: np.ndarray, settings: TrainSettings, shrink: float = 1.0) -> Adapter | None:
    if kind == "raw":
        return None
    if kind == "center":
        return fit_adapter(q, p, settings._replace(epochs=0))
    if kind == "nce":
        return fit_adapter(q, p, settings)
    if kind == "whiten":
        return fit_whitening(p, shrink)
    if kind == "whiten-nce":
        w = fit_whitening(p, shrink)
        a = fit_adapter(q, p, settings, init=w)
        return a
    raise ValueError(f"unknown variant {kind!r}; valid: {', '.join(VARIANTS)}")


def scorer_with(base, adapter: Adapter | None, english: bool = True):
    """An unfitted copy of ``base`` (a make_scorer result) using the adapted encoder."""
    from sklearn.base import clone

    sc = clone(base)
    if adapter is not None:
        sc.set_params(encoder=AdaptedEncoder(base.encoder, adapter))
    if not english:
        sc.set_params(english_encoder=None)
    return sc


def discipline_hits(sc, demands, labels: list[str]) -> tuple[float, float]:
    """Share of demands whose inferred top-1 / top-3 discipline is one the CSL label names."""
    from xfd.corpora import discipline_lookup

    look = discipline_lookup()
    probs = sc.inferer_.predict_proba([d.text for d in demands])
    names = sc.inferer_.names_
    top1 = top3 = 0
    for row, lab in zip(probs, labels):
        want = set(look.get(lab, ()))
        order = [names[j] for j in np.argsort(-row, kind="stable")[:3]]
        top1 += order[0] in want
        top3 += bool(want & set(order))
    return top1 / len(labels), top3 / len(labels)


def evaluate_routing(base, adapter: Adapter | None, rs) -> dict[str, float]:
    sc = scorer_with(base, adapter).fit(rs.profiles)
    f = sc.features(rs.demands)
    out = {f"zh_{name}": routing_metrics(m, rs.relevant)[0] for name, m in variants(f, sc).items() if name != "lexical"}
    out["disc_top1"], out["disc_top3"] = discipline_hits(sc, rs.demands, rs.labels)
    return out


def evaluate_english(base, adapter: Adapter | None) -> dict[str, float]:
    es = expertise_gold()
    pidx = {p.id: j for j, p in enumerate(es.profiles)}
    out = {}
    for tag, english in (("en", True), ("en_e5only", False)):
        sc = scorer_with(base, adapter, english=english).fit(es.profiles)
        f = sc.features(es.demands)
        for name, m in variants(f, sc).items():
            if name != "lexical":
                out[f"{tag}_{name}"] = expertise_metric(m, es.ratings, pidx)
    return out


def summary(results: dict[str, list[dict[str, float]]]) -> None:
    keys = list(next(iter(results.values()))[0])
    print(f"{'variant':<8} | " + " | ".join(f"{k:>17}" for k in keys))
    for kind, rs in results.items():
        cells = [f"{np.mean([r[k] for r in rs]):.4f} ± {np.std([r[k] for r in rs]):.4f}" for k in keys]
        print(f"{kind:<8} | " + " | ".join(f"{c:>17}" for c in cells))
    if "raw" in results:
        for kind, rs in results.items():
            if kind != "raw":
                d = [r["zh_hybrid"] - b["zh_hybrid"] for r, b in zip(rs, results["raw"])]
                e = [r["zh_dense"] - b["zh_dense"] for r, b in zip(rs, results["raw"])]
                print(f"{kind} - raw, paired over {len(d)} folds: hybrid {np.mean(d):+.4f} ± {np.std(d):.4f} "
                      f"(min {min(d):+.4f}), dense {np.mean(e):+.4f} ± {np.std(e):.4f} (min {min(e):+.4f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--sources", default=",".join(DEFAULT_SOURCES), help="csl, achievements, demands")
    ap.add_argument("--demands", type=int, default=400, help="routing demands per fold")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--l2", type=float, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--temperature", type=float, default=None)
    ap.add_argument("--shrink", type=float, default=1.0, help="whitening shrinkage (variants whiten*)")
    ap.add_argument("--no-english", action="store_true", help="skip the English expertise check")
    args = ap.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    from xfd.models.pipeline import make_scorer

    settings = DEFAULT_SETTINGS._replace(**{k: v for k, v in (("epochs", args.epochs), ("l2", args.l2), ("lr", args.lr),
                                                             ("temperature", args.temperature)) if v is not None})
    kinds = [k for k in args.variants.split(",") if k]
    sources = [s for s in args.sources.split(",") if s]
    t0 = time.time()
    pairs = read_pairs(SHARED_DATA, sources)
    q, p = encode_pairs(cached_e5(), pairs)
    group = np.array(pairs.group)
    base = make_scorer("e5-small-raw")
    rows = csl_rows()
    print(f"{len(group)} pairs ({', '.join(sources)}), {len(rows)} abstracts, {args.folds} folds × seeds {args.seeds}; "
          f"settings {settings}", flush=True)
    results: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for fold, held_rows in enumerate(row_folds(rows, args.folds, seed, by="abstract")):
            keep = ~np.isin(group, [r["id"] for r in held_rows])
            rs = csl_routing(rows=held_rows, n_demands=args.demands, seed=seed)
            for kind in kinds:
                adapter = train(kind, q[keep], p[keep], settings._replace(seed=seed), args.shrink)
                r = evaluate_routing(base, adapter, rs)
                results[kind].append(r)
                print(f"seed {seed} fold {fold} {kind:<6} ({len(rs.profiles)} profiles, {int(keep.sum())} pairs): "
                      + "  ".join(f"{k} {v:.4f}" for k, v in r.items()), flush=True)
    summary(results)
    if not args.no_english:
        print("English expertise loss (lower is better), adapter trained on all pairs:")
        for kind in kinds:
            r = evaluate_english(base, train(kind, q, p, settings, args.shrink))
            print(f"  {kind:<6} " + "  ".join(f"{k} {v:.4f}" for k, v in r.items()), flush=True)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
