"""English reviewer-expertise scoring: candidates compared *paired* on held-out researchers.

    python benchmarks/english_cv.py [--seeds 20] [--folds 3] [--extra-model FOLDER] [--encodings] [--sentences] [--json FILE]

The set is the development half of the expertise gold standard (29 researchers,
``../shared/data/expertise_gold_dev``); its loss is per researcher (pairs of papers
that researcher rated, ordered against the ratings, cost the rating difference).
Every candidate becomes one score matrix (n_papers, n_researchers), reduced to
per-researcher costs ``c_r`` and weights ``d_r`` (sum of rating differences), so any
set of researchers has loss ``sum c_r / sum d_r``.  Reported per candidate:

- in-sample loss (all researchers);
- held-out loss over repeated k-fold of researchers (``--folds`` × ``--seeds``), mean ± sd
  over folds, and the *paired* difference to the shipped scorer on the same folds,
  mean ± standard error (sd / sqrt(folds × seeds); folds of one seed are not independent,
  so also the researcher-bootstrap SE of the in-sample difference);
- "chosen on train": for a family of candidates, the one with the best training-fold loss is
  reported on the held-out fold (the honest figure of *choosing* among them), paired vs shipped.

The shipped scorer is ``make_scorer("e5-small")`` exactly as ``xfd score`` runs it; the MiniLM
document-level z-similarities, centroid z and lexical cosines come from its ``features`` (the
numbers it fuses), so a candidate built from them is a change of DEFAULT_ENGLISH_* constants.
Other views (titles only, other models) are encoded through the same cached encoders.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import cv
from benchmarks.datasets import SHARED_DATA, expertise_gold, id_folds


class Views(NamedTuple):
    """Document-level matrices (n_papers, n_docs) of one set, and the layout.

    ``z``: model name -> background-standardised cosine (rated paper's title+abstract vs
    a profile document's title+abstract); ``zt``: the same against document titles only;
    ``lex``: the scorer's TF-IDF cosine; ``cent``: MiniLM z to profile centroids
    (n_papers, n_researchers); ``owner`` (n_docs,) document -> researcher column;
    ``lex_sd``: standard deviation of the TF-IDF cosine between documents of different
    researchers (the lexical background, so a lexical weight can be set in z units untuned)."""

    z: dict[str, np.ndarray]
    zt: dict[str, np.ndarray]
    lex: np.ndarray
    cent: np.ndarray
    owner: np.ndarray
    n_profiles: int
    lex_sd: float = 1.0


# ----------------------------------------------------------------------------- aggregation
def aggregate(s: np.ndarray, owner: np.ndarray, n_p: int, how: str, k: int = 2, tau: float = 1.0) -> np.ndarray:
    """Per researcher from document columns: ``how`` "topk" (mean of the k highest), "max",
    "mean" or "softmax" (weights exp(s/tau), a smooth max).  (n_papers, n_docs) -> (n_papers, n_p)."""
    out = np.zeros((s.shape[0], n_p))
    for j in range(n_p):
        x = s[:, owner == j]
        if how == "max":
            out[:, j] = x.max(axis=1)
        elif how == "mean":
            out[:, j] = x.mean(axis=1)
        elif how == "topk":
            kk = min(k, x.shape[1])
            out[:, j] = -np.sort(-x, axis=1)[:, :kk].mean(axis=1)
        elif how == "softmax":
            w = np.exp((x - x.max(axis=1, keepdims=True)) / tau)
            out[:, j] = (w * x).sum(axis=1) / w.sum(axis=1)
        else:
            raise ValueError(f"unknown aggregation {how!r}")
    return out


def zscore_background(docs: np.ndarray) -> tuple[float, float]:
    """(mean, sd) of cosines between distinct profile documents (unit rows (n_docs, dim))."""
    c = docs @ docs.T
    iu = np.triu_indices(len(docs), 1)
    return float(c[iu].mean()), float(c[iu].std())


# ----------------------------------------------------------------------------- costs
class Costs(NamedTuple):
    """Per researcher (aligned with ``RatingPairs.ids``): cost ``c`` and weight ``d``."""

    c: np.ndarray
    d: np.ndarray

    def loss(self, keep: np.ndarray | None = None) -> float:
        """sum c / sum d over the researchers ``keep`` (bool or indices; all when None)."""
        if keep is None:
            return float(self.c.sum() / self.d.sum())
        return float(self.c[keep].sum() / self.d[keep].sum())


def costs(scores: np.ndarray, rp: cv.RatingPairs) -> Costs:
    """Per-researcher expertise-loss parts of a score matrix (n_papers, n_researchers)."""
    pa = scores[rp.a, rp.col]
    pb = scores[rp.b, rp.col]
    cost = np.where(pa == pb, rp.diff / 2, np.where((pa - pb) * rp.sign < 0, rp.diff, 0.0))
    n = len(rp.ids)
    return Costs(np.bincount(rp.researcher, cost, n), np.bincount(rp.researcher, rp.diff, n))


def fold_masks(n: int, ids: list[str], n_folds: int, seeds: Sequence[int]) -> list[np.ndarray]:
    """Boolean researcher masks of the held-out folds, seed after seed (``datasets.id_folds``)."""
    pos = {r: i for i, r in enumerate(ids)}
    out = []
    for s in seeds:
        for f in id_folds(ids, n_folds, s):
            m = np.zeros(n, dtype=bool)
            m[[pos[r] for r in f]] = True
            out.append(m)
    return out


class Paired(NamedTuple):
    """Held-out figures of one candidate against the reference on the same folds."""

    in_sample: float
    held: tuple[float, float]       # mean, sd over folds
    diff: tuple[float, float]       # mean of (candidate - reference) fold losses, its SE
    boot_se: float                  # researcher-bootstrap SE of the in-sample difference


def _sd(x: np.ndarray) -> float:
    """Sample standard deviation (0 for a single value)."""
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def paired(cand: Costs, ref: Costs, masks: Sequence[np.ndarray], rng: np.random.Generator,
           n_boot: int = 2000) -> Paired:
    """Candidate vs reference: fold losses, paired fold differences, bootstrap over researchers."""
    a = np.array([cand.loss(m) for m in masks])
    b = np.array([ref.loss(m) for m in masks])
    d = a - b
    n = len(cand.c)
    idx = rng.integers(0, n, (n_boot, n))
    boot = cand.c[idx].sum(1) / cand.d[idx].sum(1) - ref.c[idx].sum(1) / ref.d[idx].sum(1)
    return Paired(cand.loss(), (float(a.mean()), _sd(a)), (float(d.mean()), _sd(d) / np.sqrt(len(d))), _sd(boot))


class Chosen(NamedTuple):
    """A family searched on training folds: held-out (mean, sd), paired diff vs the reference
    (mean, fold SE), how often each member was chosen, and per-researcher held-out costs
    (``c`` averaged over the seeds; each researcher is held out once per seed)."""

    held: tuple[float, float]
    diff: tuple[float, float]
    picks: dict[str, int]
    costs: Costs


def chosen_on_train(family: dict[str, Costs], ref: Costs, masks: Sequence[np.ndarray]) -> Chosen:
    """Per fold, the family member with the lowest loss on the other researchers, on the held-out fold."""
    names = list(family)
    held, diffs, picks = [], [], {}
    c = np.zeros_like(ref.c)
    times = np.zeros_like(ref.c)
    for m in masks:
        train = [family[n].loss(~m) for n in names]
        best = names[int(np.argmin(train))]
        picks[best] = picks.get(best, 0) + 1
        held.append(family[best].loss(m))
        diffs.append(held[-1] - ref.loss(m))
        c[m] += family[best].c[m]
        times[m] += 1
    h, d = np.array(held), np.array(diffs)
    return Chosen((float(h.mean()), _sd(h)), (float(d.mean()), _sd(d) / np.sqrt(len(d))), picks,
                  Costs(c / np.maximum(times, 1), ref.d))


# ----------------------------------------------------------------------------- building the views
def encode_views(encoder, demands_full: list[str], demand_titles: list[str], docs_full: list[str],
                 doc_titles: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(z full×full, z full×doc-title) of one encoder, each (n_papers, n_docs), z by the docs' background."""
    q = encoder.encode(demands_full, "passage")
    p = encoder.encode(docs_full, "passage")
    pt = encoder.encode(doc_titles, "passage")
    mu, sd = zscore_background(p)
    mut, sdt = zscore_background(pt)
    return (q @ p.T - mu) / sd, (q @ pt.T - mut) / sdt


def chunks(text: str, max_words: int) -> list[str]:
    """``text`` cut at sentence ends into windows of at most ``max_words`` words (a longer sentence stays whole)."""
    out: list[str] = []
    cur: list[str] = []
    for sent in re.split(r"(?<=[.!?。])\s*", text):
        words = sent.split()
        if cur and len(cur) + len(words) > max_words:
            out.append(" ".join(cur))
            cur = []
        cur += words
    if cur:
        out.append(" ".join(cur))
    return out or [text]


def _pooled(encoder, texts: Sequence[str], max_words: int) -> np.ndarray:
    """Unit mean of the chunk vectors of each text (n_texts, dim)."""
    parts = [chunks(t, max_words) for t in texts]
    vecs = encoder.encode([c for cs in parts for c in cs], "passage")
    out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
    i = 0
    for j, cs in enumerate(parts):
        m = vecs[i:i + len(cs)].mean(axis=0)
        out[j] = m / max(float(np.linalg.norm(m)), 1e-12)
        i += len(cs)
    return out


def encoding_views(es, docs: list[str]) -> dict[str, np.ndarray]:
    """MiniLM encoded other ways, z (n_papers, n_docs): token limit 128 / 512 (shipped: 256), title and
    abstract joined by ". " instead of "。", and 80-word sentence windows mean-pooled."""
    from xfd.models.loader import SentenceTransformerEncoder, minilm_dir
    from xfd.models.pipeline import cached_encoder

    dem = [d.text for d in es.demands]
    dot_docs = [f"{d.title}. {d.text}" if d.title and d.text and not d.title.endswith((".", "?", "!")) else d.full_text
                for p in es.profiles for d in p.documents if d.full_text.strip()]
    dot_dem = [f"{d.title}. {d.description}" if d.title and d.description else d.text for d in es.demands]
    out = {}
    for limit in (128, 256, 512):
        raw = SentenceTransformerEncoder.from_folder(minilm_dir(), name="minilm-encodings", prompts={})
        raw.model.max_seq_length = limit
        raw.name = f"minilm-encodings/L{limit}"
        enc = cached_encoder(raw, None)
        pairs = {f"minilm L{limit}": (docs, dem)} if limit != 256 else {
            'minilm ". " joiner': (dot_docs, dot_dem), "minilm 80-word chunks": None}
        for name, texts in pairs.items():
            p, q = ((_pooled(enc, docs, 80), _pooled(enc, dem, 80)) if texts is None
                    else (enc.encode(texts[0], "passage"), enc.encode(texts[1], "passage")))
            mu, sd = zscore_background(p)
            out[name] = (q @ p.T - mu) / sd
            print(f"  encoded {name}", file=sys.stderr, flush=True)
    return out


def units(title: str, text: str) -> list[str]:
    """The matching units of a paper: its title, then each sentence of at least 4 words of ``text``."""
    sents = [x.strip() for x in re.split(r"(?<=[.!?。])\s+", text or "") if len(x.split()) >= 4]
    return ([title] if title else []) + (sents or [text])


def unit_maxsim(q: np.ndarray, q_of: np.ndarray, d: np.ndarray, d_of: np.ndarray, n_q: int, n_d: int) -> np.ndarray:
    """Late interaction at sentence level: for paper i and document j, the mean over i's units of
    the best cosine to any unit of j.  ``q`` (n_q_units, dim) unit rows, ``q_of`` (n_q_units,) their
    paper; ``d``, ``d_of`` the same for documents.  Returns (n_q, n_d)."""
    best = np.full((n_d, len(q)), -np.inf)
    np.maximum.at(best, d_of, d @ q.T)            # best[j, u]: best unit of document j for query unit u
    out = np.zeros((n_q, n_d))
    np.add.at(out, q_of, best.T)
    return out / np.bincount(q_of, minlength=n_q)[:, None]


def sentence_views(es, n_docs: int) -> dict[str, np.ndarray]:
    """MiniLM sentence max-sim (``unit_maxsim``, title + sentences), standardised over the matrix."""
    from xfd.models.loader import SentenceTransformerEncoder, minilm_dir
    from xfd.models.pipeline import cached_encoder

    enc = cached_encoder(SentenceTransformerEncoder.from_folder(minilm_dir(), name="minilm-sentences", prompts={}), None)
    docs = [d for p in es.profiles for d in p.documents if d.full_text.strip()]
    if len(docs) != n_docs:
        raise ValueError(f"{len(docs)} documents with text vs {n_docs} scorer columns")
    parts = []
    for texts in ([units(d.title, d.description) for d in es.demands], [units(d.title, d.text) for d in docs]):
        vecs = enc.encode([u for us in texts for u in us], "passage")
        parts.append((vecs, np.repeat(np.arange(len(texts)), [len(us) for us in texts])))
    m = unit_maxsim(parts[0][0], parts[0][1], parts[1][0], parts[1][1], len(es.demands), n_docs)
    print("  encoded minilm sentences", file=sys.stderr, flush=True)
    return {"minilm sentence max-sim": (m - m.mean()) / m.std()}


def build(extra: Sequence[Path], encodings: bool = False, sentences: bool = False) -> tuple[Views, cv.RatingPairs, np.ndarray]:
    """The views of the development set, its rating pairs and the shipped scores (n_papers, n_researchers)."""
    from xfd.models.loader import SentenceTransformerEncoder, load_encoder
    from xfd.models.pipeline import cached_encoder, make_scorer

    es = expertise_gold()
    sc = make_scorer("e5-small").fit(es.profiles)
    shipped = sc.score(es.demands)
    f = sc.features(es.demands)
    owner = sc.table_.owner
    pidx = {p.id: j for j, p in enumerate(es.profiles)}
    rp = cv.rating_pairs(es.ratings, pidx)
    dem = [d.text for d in es.demands]
    dtit = [d.title or d.text for d in es.demands]
    docs = list(sc.table_.texts)
    titles = list(sc.table_.titles)
    z, zt = {"minilm": f.doc_dense}, {}
    encoders = {"minilm": sc.english_encoder, "e5-small": sc.encoder}
    for path in extra:
        encoders[path.name] = cached_encoder(SentenceTransformerEncoder.from_folder(path), None)
    _ = load_encoder  # registered names are reached through make_scorer above
    for name, enc in encoders.items():
        full, tit = encode_views(enc, dem, dtit, docs, titles)
        if name != "minilm":
            z[name] = full
        zt[name] = tit
        print(f"  encoded {name}", file=sys.stderr, flush=True)
    if encodings:
        z.update(encoding_views(es, docs))
    if sentences:
        z.update(sentence_views(es, len(docs)))
    lx = sc.lexical_.similarity(docs, [sc.tokenizer(t) for t in docs])
    iu = np.triu_indices(len(docs), 1)
    other = owner[iu[0]] != owner[iu[1]]
    lex_sd = float(lx[iu][other].std())
    return Views(z, zt, f.doc_lexical, f.centroid, owner, sc.table_.n_profiles, lex_sd), rp, shipped


# ----------------------------------------------------------------------------- candidates
Cand = Callable[[Views], np.ndarray]


def dense(model: str, how: str, k: int = 2, tau: float = 1.0, view: str = "full", c: float = 0.0,
          lex: float = 0.0, lk: int = 1, centre: bool = False, zlex: float = 0.0) -> Cand:
    """A candidate: aggregated z of ``model`` (``view`` "full", "title" (document titles),
    "mix" (mean of both)) + ``c`` × MiniLM centroid z + ``lex`` × top-``lk`` lexical cosine
    (the scorer's units: z of dense per unit of cosine); ``zlex`` adds ``zlex / lex_sd`` to ``lex``
    (a lexical weight in units of its own background spread, set without looking at ratings)."""
    def run(v: Views) -> np.ndarray:
        if view not in ("full", "title", "mix"):
            raise ValueError(f"unknown view {view!r}")
        s = v.z[model] if view == "full" else v.zt[model] if view == "title" else (v.z[model] + v.zt[model]) / 2
        if centre:
            s = s - s.mean(axis=1, keepdims=True)
        out = aggregate(s, v.owner, v.n_profiles, how, k, tau)
        if c:
            out = out + c * v.cent
        w = lex + zlex / v.lex_sd
        if w:
            out = out + w * aggregate(v.lex, v.owner, v.n_profiles, "topk", lk)
        return out
    return run


def _summed(name: str, w: float, k: int) -> Cand:
    """Top-``k`` of MiniLM document z (standardised) + ``w`` × sentence max-sim z, per document."""
    def run(v: Views) -> np.ndarray:
        full = v.z["minilm"]
        s = (full - full.mean()) / full.std() + w * v.z["minilm sentence max-sim"]
        return aggregate(s, v.owner, v.n_profiles, "topk", k)
    return run


def ensemble(parts: Sequence[tuple[Cand, float]]) -> Cand:
    """Weighted sum of candidates, each standardised over its whole matrix first (sum of z-scores)."""
    def run(v: Views) -> np.ndarray:
        out = 0.0
        for cand, w in parts:
            s = cand(v)
            out = out + w * (s - s.mean()) / s.std()
        return out
    return run


def families(models: Sequence[str]) -> dict[str, dict[str, Cand]]:
    """The candidate families (each also searched "chosen on train")."""
    fam: dict[str, dict[str, Cand]] = {}
    fam["aggregation (MiniLM, dense only)"] = {
        **{f"top{k}": dense("minilm", "topk", k) for k in (1, 2, 3, 5)},
        "mean": dense("minilm", "mean"),
        **{f"softmax t={t:g}": dense("minilm", "softmax", tau=t) for t in (0.25, 0.5, 1.0, 2.0)},
    }
    fam["view (MiniLM top-3)"] = {f"{vw}": dense("minilm", "topk", 3, view=vw) for vw in ("full", "title", "mix")}
    fam["lexical weight (MiniLM top-3 + c=1)"] = {
        f"lex={w:g}/lk={lk}": dense("minilm", "topk", 3, c=1.0, lex=w, lk=lk)
        for w in (0.0, 2.5, 5.0, 10.0, 20.0) for lk in (1, 2, 3)}
    fam["centroid weight (MiniLM top-3 + lex 10)"] = {
        f"c={c:g}": dense("minilm", "topk", 3, c=c, lex=10.0) for c in (0.0, 0.5, 1.0, 2.0)}
    fam["demand-centred (MiniLM)"] = {
        f"top{k}{' centred' if ce else ''}": dense("minilm", "topk", k, centre=ce) for k in (2, 3) for ce in (0, 1)}
    ms = [m for m in models if m != "minilm"]
    enc = [m for m in models if m.startswith("minilm ")]
    if enc:
        fam["MiniLM encoding (dense only)"] = {f"{m} top{k}": dense(m, "topk", k) for m in ("minilm", *enc)
                                               for k in (2, 3)}
    ms = [m for m in ms if m not in enc]
    if "minilm sentence max-sim" in models:
        ms = [m for m in ms if m != "minilm sentence max-sim"]
        for w in (0.25, 0.5, 1.0, 2.0):
            mix = f"minilm + {w:g}×sentence max-sim"
            fam.setdefault("sentence max-sim (MiniLM z + w × unit max-sim z)", {})
            for k in (2, 3):
                fam["sentence max-sim (MiniLM z + w × unit max-sim z)"][f"{mix} top{k}"] = _summed(mix, w, k)
    fam["model (top-3, dense only)"] = {m: dense(m, "topk", 3) for m in ("minilm", *ms)}
    fam["model (top-3 + c=1 + lex 10)"] = {m: dense(m, "topk", 3, c=1.0, lex=10.0) for m in ("minilm", *ms)}
    ens = {}
    for m in ms:
        for w in (0.25, 0.5, 1.0):
            ens[f"minilm + {w:g}×{m}"] = ensemble([(dense("minilm", "topk", 3), 1.0), (dense(m, "topk", 3), w)])
            ens[f"hybrid(minilm) + {w:g}×{m}"] = ensemble([(dense("minilm", "topk", 3, c=1.0, lex=10.0), 1.0),
                                                        (dense(m, "topk", 3), w)])
    if ens:
        fam["ensemble (sum of z-scores)"] = {"minilm top3": dense("minilm", "topk", 3), **ens}
    fam["untuned lexical weight (z units)"] = {
        f"top{k}{' + c=1' if c else ''} + {w:g} z-lex": dense("minilm", "topk", k, c=c, zlex=w)
        for k in (2, 3) for c in (0.0, 1.0) for w in (0.0, 0.25, 0.5, 1.0)}
    fam["fusion grid (cv.EN_GRID, as the shipped one was chosen)"] = {
        f"{g.k}/{g.lexical_k}/{g.centroid:g}/{g.lexical:g}": dense("minilm", "topk", g.k, c=g.centroid, lex=g.lexical,
                                                                  lk=g.lexical_k) for g in cv.EN_GRID}
    return fam


# ----------------------------------------------------------------------------- report
#: the fixed reference of the procedure comparison: plain MiniLM, mean of a profile's top-2 document z
PLAIN = "top2"


def _line(name: str, p: Paired) -> str:
    return (f"{name:<34} | {p.in_sample:>9.4f} | {p.held[0]:.4f} ± {p.held[1]:.4f} | "
            f"{p.diff[0]:+.4f} ± {p.diff[1]:.4f} | {p.boot_se:.4f}")


def report_family(name: str, cands: dict[str, Cand], views: Views, rp: cv.RatingPairs, refs: dict[str, Costs],
                  masks: Sequence[np.ndarray], rng: np.random.Generator) -> dict:
    """One family: every member paired with the shipped scorer, then the member chosen on training
    folds, paired with the shipped scorer and with plain MiniLM top-2 (fold SE, researcher-bootstrap SE)."""
    print(f"\n## {name}\n{'candidate (vs shipped)':<34} | {'in-sample':>9} | {'held-out mean ± sd':>18} | "
          f"{'paired diff ± SE':>17} | boot SE")
    cs, rows = {}, {}
    for cname, cand in cands.items():
        cs[cname] = costs(cand(views), rp)
        p = paired(cs[cname], refs["shipped"], masks, rng)
        rows[cname] = p._asdict()
        print(_line(cname, p))
    out = {"candidates": rows}
    for rname, ref in refs.items():
        ch = chosen_on_train(cs, ref, masks)
        boot = paired(ch.costs, ref, masks, rng).boot_se
        top = ", ".join(f"{k}×{v}" for k, v in sorted(ch.picks.items(), key=lambda kv: -kv[1])[:3])
        print(f"{'chosen on train, vs ' + rname:<34} | {'':>9} | {ch.held[0]:.4f} ± {ch.held[1]:.4f} | "
              f"{ch.diff[0]:+.4f} ± {ch.diff[1]:.4f} | {boot:.4f} | picks: {top}")
        out[f"chosen_vs_{rname}"] = {"held": ch.held, "diff": ch.diff, "boot_se": boot, "picks": ch.picks}
    return out


def report(views: Views, rp: cv.RatingPairs, shipped: np.ndarray, n_folds: int, seeds: Sequence[int]) -> dict:
    """Print every family's paired table and its chosen-on-train lines; return the figures."""
    rng = np.random.default_rng(0)
    masks = fold_masks(len(rp.ids), rp.ids, n_folds, seeds)
    refs = {"shipped": costs(shipped, rp), PLAIN: costs(dense("minilm", "topk", 2)(views), rp)}
    head = paired(refs["shipped"], refs[PLAIN], masks, rng)
    print(f"{len(rp.ids)} researchers, {n_folds}-fold × {len(seeds)} seeds; paired diff = candidate − reference on "
          f"the same folds (mean ± SE over folds); boot SE: researcher bootstrap of the pooled difference.\n"
          f"shipped (xfd score defaults): in-sample {head.in_sample:.4f}; held-out {head.held[0]:.4f} ± "
          f"{head.held[1]:.4f}; vs plain MiniLM top-2 {head.diff[0]:+.4f} ± {head.diff[1]:.4f} (boot {head.boot_se:.4f})")
    out: dict = {"shipped_vs_top2": head._asdict(), "families": {}}
    for fam, cands in families(list(views.z)).items():
        out["families"][fam] = report_family(fam, cands, views, rp, refs, masks, rng)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--extra-model", type=Path, action="append", default=[],
                    help="a local SentenceTransformer folder to compare as well (repeatable)")
    ap.add_argument("--encodings", action="store_true",
                    help="also MiniLM with token limits 128/512, a '. ' joiner and sentence-window chunks (encodes ~3k texts)")
    ap.add_argument("--sentences", action="store_true",
                    help="also MiniLM sentence-level max-sim (title + sentences as units; encodes ~5k sentences)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not (SHARED_DATA / "expertise_gold_dev").is_dir():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    t0 = time.time()
    views, rp, shipped = build(args.extra_model, args.encodings, args.sentences)
    print(f"built in {time.time() - t0:.0f} s", file=sys.stderr)
    res = report(views, rp, shipped, args.folds, list(range(args.seeds)))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
