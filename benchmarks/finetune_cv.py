"""Cross-validated value of fine-tuning e5-small's top layers (issue 11, item 2).

    python benchmarks/finetune_cv.py [--constructions abstract,discipline,split] [--folds 2] [--seeds 0,1]
                                     [--layers 1] [--epochs 2] [--lr 1e-4] [--batch 32] [--ft-queries keywords,discipline]

Pairs: CSL title -> paper and keywords -> paper
(``xfd.models.finetune_build.full_text_pairs``; the short
side as an e5 ``query``, the paper's full text as a ``passage``); the fine-tuning
also pairs each paper with other papers of its CSL discipline (``--ft-queries``).
For each held-out fold — folds of disjoint abstracts or disjoint disciplines
(``benchmarks.datasets.row_folds``), or the CSL ``dev``/``test`` split — both
the adapter and the fine-tuning are trained only on the pairs of the other
abstracts, and the Chinese routing set of ``benchmarks/datasets.py`` is built
from the fold's abstracts only, scored through ``MatchScorer`` with the
shipped defaults (fusion, k, demand role "passage", 512 tokens) as
``benchmarks/adapter_cv.py`` does.  Conditions, paired on the same folds:

- ``shipped``: raw e5 + the domain adapter (``adapter_build.DEFAULT_SETTINGS``)
  trained on the fold's training pairs — today's default, honestly trained;
- ``raw``: raw e5 alone;
- ``ft``: the fine-tuned model alone (``xfd.models.finetune.train_top``);
- ``ft+adapter``: the fine-tuned model plus an adapter trained on its own
  vectors of the same training pairs.

The frozen bottom's hidden states are computed once per text (cached in
``--cache``), so a fold costs the top layers' training and re-encoding only.
Printed: each fold's figures, the mean ± sd over folds × seeds per
construction, the paired gain over ``shipped`` (mean ± standard error), and
the training wall / CPU seconds with the load average.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.datasets import SHARED_DATA, csl_routing, csl_rows, row_folds
from benchmarks.quality import routing_metrics, variants
from xfd.matching.adapter import AdaptedEncoder, Adapter, fit_adapter
from xfd.matching.encoders import Role, SharedResource
from xfd.matching.types import Document
from xfd.models.adapter_build import DEFAULT_SETTINGS
from xfd.models.e5_build import E5_PROMPTS
from xfd.models.finetune import FinetuneSettings, bottom_states, encode_states, tokenize, train_top
from xfd.models.finetune_build import full_text_pairs

CONDITIONS = ("shipped", "raw", "ft", "ft+adapter")
CONSTRUCTIONS = ("abstract", "discipline", "split")
PREFIX = {role: E5_PROMPTS[role] for role in ("query", "passage")}  # e5's prompts, as the scorer uses them
MAX_LEN = 256


class LookupEncoder(SharedResource):
    """Precomputed unit vectors keyed by (role, text); misses (a few texts the scorer strips or joins
    differently) go to ``compute`` (a function of the missing keys) and are kept."""

    def __init__(self, vectors: dict[tuple[str, str], np.ndarray], name: str, dim: int, compute) -> None:
        self.vectors, self.name, self.dim, self.compute = dict(vectors), name, dim, compute

    def encode(self, texts, role: Role = "passage") -> np.ndarray:
        missing = sorted({(role, t) for t in texts if t and t.strip() and (role, t) not in self.vectors})
        if missing:
            self.vectors.update(self.compute(missing))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if t and t.strip():
                out[i] = self.vectors[(role, t)]
        return out


class Texts:
    """Every text the benchmark embeds, with its bottom states (computed once, cached on disk)."""

    def __init__(self, model: Any, n_top: int, cache: Path) -> None:
        self.bert, self.n_top, self.tokenizer = model[0].auto_model, n_top, model.tokenizer
        rows = csl_rows()
        self.rows = rows
        self.full = [Document(text=r["abstract"], title=r["title"], kind="paper").full_text for r in rows]
        self.pairs = full_text_pairs(rows, self.full)
        keys = sorted({("passage", t) for t in self.full} | {("query", t) for t in self.pairs.queries})
        self.index = {k: i for i, k in enumerate(keys)}
        path = cache / f"finetune_cv_bottom_L{n_top}_T{MAX_LEN}_{len(keys)}.pt"
        import torch

        if path.is_file():
            self.states = torch.load(path)
        else:
            t0 = time.time()
            ids: list[list[int]] = [[] for _ in keys]
            for role in PREFIX:
                at = [i for i, k in enumerate(keys) if k[0] == role]
                for i, row in zip(at, tokenize(model.tokenizer, [keys[i][1] for i in at], PREFIX[role], MAX_LEN)):
                    ids[i] = row
            self.states = bottom_states(self.bert, ids, n_top)
            torch.save(self.states, path)
            print(f"bottom states of {len(keys)} texts: {time.time() - t0:.0f} s", flush=True)

    def vectors(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], np.ndarray]:
        """Current model's unit vectors of ``keys`` (role, text); bottom states of new keys are computed."""
        new = [k for k in keys if k not in self.index]
        for k in new:
            self.index[k] = len(self.states)
            ids = tokenize(self.tokenizer, [k[1]], PREFIX[k[0]], MAX_LEN)
            self.states.extend(bottom_states(self.bert, ids, self.n_top))
        v = encode_states(self.bert, self.n_top, [self.states[self.index[k]] for k in keys])
        return dict(zip(keys, v))


def pair_arrays(tx: Texts, vec: dict, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = tx.pairs
    q = np.stack([vec[("query", p.queries[i])] for i in np.flatnonzero(keep)])
    d = np.stack([vec[("passage", p.passages[i])] for i in np.flatnonzero(keep)])
    return q, d


def pair_keys(tx: Texts, keep: np.ndarray) -> list[tuple[str, str]]:
    p = tx.pairs
    return sorted({("query", p.queries[i]) for i in np.flatnonzero(keep)}
                  | {("passage", p.passages[i]) for i in np.flatnonzero(keep)})


def evaluate(base, encoder, adapter: Adapter | None, rs) -> dict[str, float]:
    from sklearn.base import clone

    enc = AdaptedEncoder(encoder, adapter) if adapter is not None else encoder
    sc = clone(base).set_params(encoder=enc, english_encoder=None, disciplines=()).fit(rs.profiles)
    f = sc.features(rs.demands)
    return {name: routing_metrics(m, rs.relevant)[0] for name, m in variants(f, sc).items() if name != "lexical"}


def held_out_folds(rows: list[dict], construction: str, n_folds: int, seed: int) -> list[list[dict]]:
    if construction == "split":
        return [[r for r in rows if r["split"] == s] for s in ("dev", "test")]
    return row_folds(rows, n_folds, seed, by=construction)


def training_groups(tx: Texts, keep: np.ndarray, kinds: tuple[str, ...]) -> tuple[list, list, list[str]]:
    """Bottom states of the fine-tuning set: one entry per training abstract (its full text as the
    passage), its queries (one drawn per epoch): its ``title``/``keywords`` pair queries and, with
    ``discipline``, the full texts of the other training abstracts of its discipline (then
    the masking group is the discipline, so same-discipline rows are never negatives)."""
    p, group = tx.pairs, np.array(tx.pairs.group)
    by_row: dict[str, list[int]] = {}
    for i in np.flatnonzero(keep):
        by_row.setdefault(group[i], [])
        if p.kind[i] in kinds:
            by_row[group[i]].append(i)
    row = {r["id"]: (r, f) for r, f in zip(tx.rows, tx.full)}
    by_disc: dict[str, list[str]] = {}
    for g in by_row:
        by_disc.setdefault(row[g][0]["discipline"], []).append(g)
    queries, passages, groups = [], [], []
    for g in sorted(by_row):
        qs = [tx.states[tx.index[("query", p.queries[i])]] for i in by_row[g]]
        disc = row[g][0]["discipline"]
        if "discipline" in kinds:
            qs += [tx.states[tx.index[("passage", row[o][1])]] for o in by_disc[disc] if o != g]
        if qs:
            queries.append(qs)
            passages.append(tx.states[tx.index[("passage", row[g][1])]])
            groups.append(disc if "discipline" in kinds else g)
    return queries, passages, groups


def run_fold(tx: Texts, base, raw: dict, held: list[dict], seed: int, settings: FinetuneSettings,
             n_demands: int, ft_kinds: tuple[str, ...]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """All conditions on one held-out fold; returns their figures and the training cost."""
    import torch

    held_ids = {r["id"] for r in held}
    group = np.array(tx.pairs.group)
    keep = ~np.isin(group, list(held_ids))
    rs = csl_routing(rows=held, n_demands=n_demands, seed=seed)
    held_keys = [("passage", t) for t, r in zip(tx.full, tx.rows) if r["id"] in held_ids]
    ad_settings = DEFAULT_SETTINGS._replace(seed=seed)
    dim = tx.bert.config.hidden_size
    out = {}
    raw_enc = LookupEncoder(raw, "raw", dim, tx.vectors)
    out["raw"] = evaluate(base, raw_enc, None, rs)
    out["shipped"] = evaluate(base, raw_enc, fit_adapter(*pair_arrays(tx, raw, keep), ad_settings), rs)
    queries, passages, groups = training_groups(tx, keep, ft_kinds)
    saved = {k: v.detach().clone() for k, v in tx.bert.named_parameters()}
    t0, c0, load0 = time.time(), time.process_time(), os.getloadavg()[0]
    res = train_top(tx.bert, queries, passages, groups, settings._replace(seed=seed))
    cost = {"train_wall_s": time.time() - t0, "train_cpu_s": time.process_time() - c0,
            "load": (load0 + os.getloadavg()[0]) / 2, "loss_first": res.losses[0], "loss_last": res.losses[-1]}
    try:
        with torch.no_grad():  # evaluate the weights as shipped: base + float16 delta
            params = dict(tx.bert.named_parameters())
            for k, d in res.delta.tensors.items():
                params[k].copy_(saved[k] + torch.from_numpy(d.astype(np.float32)))
        ft = tx.vectors(held_keys + pair_keys(tx, keep))
        ft_enc = LookupEncoder(ft, "ft", dim, tx.vectors)
        out["ft"] = evaluate(base, ft_enc, None, rs)
        out["ft+adapter"] = evaluate(base, ft_enc, fit_adapter(*pair_arrays(tx, ft, keep), ad_settings), rs)
    finally:
        with torch.no_grad():
            for k, v in tx.bert.named_parameters():
                v.copy_(saved[k])
    return out, cost


def summary(results: dict[str, list[dict[str, dict[str, float]]]], costs: list[dict[str, float]]) -> None:
    for construction, folds in results.items():
        n = len(folds)
        print(f"\n{construction}: {n} held-out folds (mean ± sd; paired gain over shipped: mean ± SE, min)")
        for metric in ("hybrid", "dense"):
            for cond in CONDITIONS:
                vals = np.array([f[cond][metric] for f in folds])
                line = f"  {metric:<6} {cond:<11} {vals.mean():.4f} ± {vals.std():.4f}"
                if cond != "shipped":
                    d = vals - np.array([f["shipped"][metric] for f in folds])
                    se = d.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
                    line += f"   gain {d.mean():+.4f} ± {se:.4f} (min {d.min():+.4f})"
                print(line)
    if costs:
        w, c, ld = (np.mean([x[k] for x in costs]) for k in ("train_wall_s", "train_cpu_s", "load"))
        print(f"\ntraining per fold: wall {w:.0f} s, CPU {c:.0f} s, load average {ld:.1f} ({len(costs)} runs)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--constructions", default=",".join(CONSTRUCTIONS))
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--demands", type=int, default=400, help="routing demands per fold")
    ap.add_argument("--layers", type=int, default=FinetuneSettings().layers)
    ap.add_argument("--epochs", type=int, default=FinetuneSettings().epochs)
    ap.add_argument("--lr", type=float, default=FinetuneSettings().lr)
    ap.add_argument("--batch", type=int, default=FinetuneSettings().batch)
    ap.add_argument("--ft-queries", default="keywords,discipline", help="what the fine-tuning pairs with each paper: title, keywords, discipline (same-discipline papers)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp"), help="folder for the bottom states")
    args = ap.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    from sentence_transformers import SentenceTransformer

    from xfd.models.loader import _set_torch_threads, ensure_e5_small
    from xfd.models.pipeline import make_scorer

    _set_torch_threads()
    model = SentenceTransformer(str(ensure_e5_small()), device="cpu", local_files_only=True)
    settings = FinetuneSettings(layers=args.layers, epochs=args.epochs, lr=args.lr, batch=args.batch)
    t0 = time.time()
    tx = Texts(model, settings.layers, args.cache)
    raw = tx.vectors(sorted(tx.index))
    base = make_scorer("lexical")
    print(f"{len(tx.pairs.group)} pairs, {len(tx.rows)} abstracts, {MAX_LEN} tokens; {settings}; fine-tuning "
          f"queries {args.ft_queries}; raw vectors {time.time() - t0:.0f} s", flush=True)
    results: dict[str, list] = {}
    costs: list[dict[str, float]] = []
    for construction in [c for c in args.constructions.split(",") if c]:
        seeds = [int(s) for s in args.seeds.split(",")]
        for seed in seeds:
            for fold, held in enumerate(held_out_folds(tx.rows, construction, args.folds, seed)):
                out, cost = run_fold(tx, base, raw, held, seed, settings, args.demands, tuple(args.ft_queries.split(",")))
                results.setdefault(construction, []).append(out)
                costs.append(cost)
                print(f"{construction} seed {seed} fold {fold}: "
                      + "  ".join(f"{c} {v['hybrid']:.4f}/{v['dense']:.4f}" for c, v in out.items())
                      + f"  (train {cost['train_wall_s']:.0f} s wall, {cost['train_cpu_s']:.0f} s CPU, load "
                      f"{cost['load']:.1f}, loss {cost['loss_first']:.3f} -> {cost['loss_last']:.3f})", flush=True)
    summary(results, costs)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
