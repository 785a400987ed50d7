"""Does learning from verdicts pay on new demands?  Simulated office verdicts on the CSL routing set.

    python benchmarks/calibration_cv.py [--model e5-small] [--seeds 0 1 2] [--splits 2] [--cli]

For each data seed (``benchmarks.datasets.csl_routing``: profiles of 3 abstracts of one
discipline, 400 other abstracts as demands, relevant = same discipline) and each random
half split, verdicts on half 1 are simulated by three protocols:

(a) ``top10``: the office judged each half-1 demand's top-10 recommendations (accepted
    if relevant, else rejected);
(b) ``balanced``: every relevant pair accepted, as many random irrelevant ones rejected;
(c) ``few``: protocol (a) on 20 half-1 demands only.

The calibration is fitted exactly as ``xfd calibrate`` does (``fit_calibration`` with
the same pair features and memory inputs) and half 2 is scored with and without it
(``MatchScorer(fusion=…, memory=…)``, as ``xfd score --calibration``).  Printed: nDCG@10
on half 2 before/after, the gain beside the limit +0.01, and mean/min of the gain over
seeds and splits (the min must never be < 0).  ``--cli`` also runs one case through the
real ``xfd calibrate`` / ``xfd score`` files and checks it gives the same figure.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import SHARED_DATA, RoutingSet, csl_routing
from xfd.matching.calibration import (
    MemoryInputs,
    Verdict,
    calibration_from_json,
    calibration_to_json,
    fit_calibration,
    pair_features,
)
from xfd.matching.memory import memory_vectors
from xfd.matching.metrics import ndcg_at_k

PROTOCOLS = ("top10", "balanced", "few")
LIMIT = 0.01
FEW_DEMANDS = 20


class Case(NamedTuple):
    seed: int
    split: int
    protocol: str
    verdicts: int
    source: str
    before: float
    after: float


def ndcg10(scores: np.ndarray, relevant: np.ndarray) -> float:
    return float(np.mean([ndcg_at_k(scores[i], relevant[i], 10) for i in range(len(scores))]))


def simulate(protocol: str, base: np.ndarray, relevant: np.ndarray, half1: np.ndarray, ids: list[str],
             pids: list[str], rng: np.random.Generator) -> list[Verdict]:
    """Verdicts on the half-1 demands (rows of ``base`` / ``relevant``) by ``protocol``."""
    rows = half1[:FEW_DEMANDS] if protocol == "few" else half1
    out: list[Verdict] = []
    for i in rows.tolist():
        if protocol in ("top10", "few"):
            top = np.argsort(-base[i], kind="stable")[:10]
            out += [Verdict(ids[i], pids[j], bool(relevant[i, j])) for j in top.tolist()]
        else:
            pos = np.flatnonzero(relevant[i])
            neg = rng.choice(np.flatnonzero(~relevant[i]), size=len(pos), replace=False)
            out += [Verdict(ids[i], pids[j], True) for j in pos.tolist()]
            out += [Verdict(ids[i], pids[j], False) for j in neg.tolist()]
    return out


def calibrate(scorer: Any, feats: Any, rs: RoutingSet, verdicts: list[Verdict], model: str) -> dict:
    """The calibration document ``xfd calibrate`` would write for these verdicts."""
    row = {d.id: i for i, d in enumerate(rs.demands)}
    col = {p.id: j for j, p in enumerate(rs.profiles)}
    x = pair_features(feats, [row[v.demand_id] for v in verdicts], [col[v.profile_id] for v in verdicts])
    used = list(dict.fromkeys(v.demand_id for v in verdicts))
    texts = [rs.demands[row[d]].text for d in used]
    base = scorer.fusion_.bias + scorer.fusion_.terms(feats)[[row[d] for d in used]]
    mem = MemoryInputs(used, texts, memory_vectors(texts, scorer.encoder, None if scorer.encoder else scorer.tokenizer,
                                                   getattr(scorer, "demand_role", "query")),
                       [v.profile_id for v in verdicts], base, [p.id for p in rs.profiles])
    cal = fit_calibration(x, np.array([v.accepted for v in verdicts]), [v.demand_id for v in verdicts],
                          scorer.fusion_, model, mem)
    return calibration_to_json(cal)


def calibrated_scores(scorer: Any, feats: Any, rs: RoutingSet, rows: np.ndarray, doc: dict, model: str) -> np.ndarray:
    """Logits of the demands ``rows`` under the calibration (fusion + memory), as ``xfd score --calibration``."""
    cal = calibration_from_json(doc, model)
    z = cal.fusion.bias + cal.fusion.terms(feats)[rows]
    if cal.memory is not None:
        z = z + cal.memory.bind(scorer).logits([rs.demands[i].text for i in rows.tolist()])
    return z


def run_seed(seed: int, splits: int, model: str) -> list[Case]:
    from xfd.models.pipeline import make_scorer

    rs = csl_routing(seed=seed)
    scorer = make_scorer(model).fit(rs.profiles)
    feats = scorer.features(rs.demands)
    base = scorer.fusion_.bias + scorer.fusion_.terms(feats)
    ids, pids = [d.id for d in rs.demands], [p.id for p in rs.profiles]
    out = []
    for split in range(splits):
        rng = np.random.default_rng(1000 * seed + split)
        perm = rng.permutation(len(ids))
        half1, half2 = perm[: len(ids) // 2], perm[len(ids) // 2 :]
        before = ndcg10(base[half2], rs.relevant[half2])
        for protocol in PROTOCOLS:
            verdicts = simulate(protocol, base, rs.relevant, half1, ids, pids, rng)
            doc = calibrate(scorer, feats, rs, verdicts, model)
            after = ndcg10(calibrated_scores(scorer, feats, rs, half2, doc, model), rs.relevant[half2])
            out.append(Case(seed, split, protocol, len(verdicts), doc["source"], before, after))
            c = out[-1]
            print(f"seed {seed} split {split} {protocol:<8} {c.verdicts:>5} verdicts  source {c.source:<7} "
                  f"nDCG@10 half 2 {c.before:.4f} -> {c.after:.4f}  gain {c.after - c.before:+.4f} "
                  f"(limit +{LIMIT}){'' if doc['source'] != 'default' else '  ' + doc.get('reason', '')}", flush=True)
    return out


def check_cli(model: str) -> None:
    """One case through the real files: ``xfd calibrate`` then ``xfd score --calibration`` on half 2."""
    from xfd.api.cli import main
    from xfd.models.pipeline import make_scorer

    rs = csl_routing(seed=0)
    scorer = make_scorer(model).fit(rs.profiles)
    feats = scorer.features(rs.demands)
    base = scorer.fusion_.bias + scorer.fusion_.terms(feats)
    ids, pids = [d.id for d in rs.demands], [p.id for p in rs.profiles]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(ids))
    half1, half2 = perm[: len(ids) // 2], perm[len(ids) // 2 :]
    verdicts = simulate("top10", base, rs.relevant, half1, ids, pids, rng)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        write = lambda p, rows: p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),  # noqa: E731
                                             encoding="utf-8")
        write(t / "p.jsonl", [{"id": p.id, "documents": [{"title": d.title, "text": d.text, "kind": d.kind}
                                                         for d in p.documents]} for p in rs.profiles])
        for name, rows in (("d1", half1), ("d2", half2)):
            write(t / f"{name}.jsonl", [{"id": rs.demands[i].id, "title": rs.demands[i].title,
                                         "description": rs.demands[i].description} for i in rows.tolist()])
        write(t / "f.jsonl", [{"demand_id": v.demand_id, "profile_id": v.profile_id,
                               "verdict": "accepted" if v.accepted else "rejected"} for v in verdicts])
        common = ["--profiles", str(t / "p.jsonl"), "--model", model]
        assert main(["calibrate", *common, "--demands", str(t / "d1.jsonl"), "--feedback", str(t / "f.jsonl"),
                     "--out", str(t / "cal.json")]) == 0
        figs = []
        for extra in ([], ["--calibration", str(t / "cal.json")]):
            assert main(["score", *common, "--demands", str(t / "d2.jsonl"), "--out", str(t / "s.jsonl"),
                         "--top-k", "0", *extra]) == 0
            col = {p: j for j, p in enumerate(pids)}
            s = np.zeros((len(half2), len(pids)))
            for i, line in enumerate((t / "s.jsonl").read_text(encoding="utf-8").splitlines()):
                for m in json.loads(line)["matches"]:
                    s[i, col[m["profile_id"]]] = m["score"]
            figs.append(ndcg10(s, rs.relevant[half2]))
        src = json.loads((t / "cal.json").read_text(encoding="utf-8"))["source"]
    print(f"CLI (seed 0 split 0 top10): source {src}; xfd score half 2 nDCG@10 {figs[0]:.4f} -> {figs[1]:.4f} "
          f"gain {figs[1] - figs[0]:+.4f} (limit +{LIMIT})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--splits", type=int, default=2, help="random half splits per seed")
    ap.add_argument("--cli", action="store_true", help="also run one case through xfd calibrate / xfd score")
    args = ap.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    t0 = time.time()
    cases = [c for s in args.seeds for c in run_seed(s, args.splits, args.model)]
    print(f"\n{'protocol':<9} | {'cases':>5} | {'mean before':>11} | {'mean after':>10} | {'mean gain':>9} | "
          f"{'min gain':>8} | limit | kept")
    print("-" * 86)
    for protocol in PROTOCOLS:
        cs = [c for c in cases if c.protocol == protocol]
        gains = np.array([c.after - c.before for c in cs])
        kept = sum(c.source != "default" for c in cs)
        print(f"{protocol:<9} | {len(cs):>5} | {np.mean([c.before for c in cs]):>11.4f} | "
              f"{np.mean([c.after for c in cs]):>10.4f} | {gains.mean():>+9.4f} | {gains.min():>+8.4f} | "
              f"+{LIMIT} | {kept}/{len(cs)}")
    print(f"({time.time() - t0:.0f} s)")
    if args.cli:
        check_cli(args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
