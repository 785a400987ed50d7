"""xfd against its limits: every figure beside a reference measured in the same run.

    python benchmarks/run.py [--quick] [--json OUT] [--only index,latency,score,assign,rss]

Figures (see benchmarks/README.md for what each means):

- indexing throughput: ``make_scorer(model).fit(profiles)`` with a cold
  embedding cache vs a bare ``SentenceTransformer.encode`` of the very texts
  xfd encodes (target: ratio >= 0.9);
- recommendation latency: ``scorer.rank([new_demand], top_k=10)`` on a warm,
  fitted scorer with 1k and 10k indexed profiles vs one bare query encode of
  the same demand text (target at 1k: p95 <= 1.5 x the bare encode's median);
- score-matrix throughput: ``scorer.score`` (and the feature/fusion step alone)
  on cached vectors vs a bare numpy matmul of the same shapes;
- ``xfd assign --model lexical`` wall time at 250/1000/4000 demands (about
  three profiles per demand) and its gap to the LP bound (target: 1000
  demands <= 20 s, near-linear beyond);
- peak RSS of a separate process holding the model and 10k indexed profiles
  (target <= 1.5 GiB).

Profiles of 1k and 10k are built from real abstracts, but their vectors are
pre-filled into the embedding cache (real e5 vectors of the texts encoded for
the indexing figure, reused with small random perturbations) so that what is
timed is xfd's indexing/scoring path, not hours of encoding on 2 cores.
Progress goes to stderr; the table to stdout.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_util import (
    ROOT,
    Figure,
    Source,
    cache_dir_with_models,
    copy_cache,
    format_table,
    inherited_peak_rss_mb,
    load_source,
    loadavg,
    machine_info,
    make_demands,
    make_profiles,
    peak_rss_mb,
    percentile,
    prefill_cache,
    rss_mb,
    synthetic_vectors,
    timed,
    write_assign_instance,
    write_json,
)

from xfd.matching.corpus import build_doc_table
from xfd.matching.types import Demand, Profile

PARTS = ("index", "latency", "score", "assign", "rss")
RSS_LIMIT_MB = 1.5 * 1024
ASSIGN_BUDGET_S = 20.0          # at 1000 demands
LATENCY_TARGET = 1.5            # x one bare query encode, at 1k profiles
INDEX_TARGET = 0.9              # of bare encoder throughput
SCORE_TARGET = 0.10             # score path pairs/s, of a bare matmul's
Encode = Callable[[Sequence[str], str], np.ndarray]


@dataclass(frozen=True)
class Sizes:
    """How much each part does.  ``index_profiles``: profiles (3 docs + a card each)
    encoded for real per repetition; ``latency_reps``: new demands per size;
    ``score_demands``: demands in the score-matrix batch."""

    index_profiles: int
    index_reps: int
    small: int
    large: int
    latency_reps: int
    score_demands: int
    score_reps: int
    assign: tuple[int, ...]


QUICK = Sizes(index_profiles=10, index_reps=3, small=1000, large=10000, latency_reps=20,
              score_demands=64, score_reps=7, assign=(250, 1000))
FULL = Sizes(index_profiles=48, index_reps=3, small=1000, large=10000, latency_reps=40,
             score_demands=256, score_reps=7, assign=(250, 1000, 4000))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {loadavg()[0]:.1f}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- scorer plumbing


def with_cache(encoder, db_path: str | os.PathLike):
    """``encoder`` with its embedding cache replaced by a new one at ``db_path``: the
    same chain (a domain adapter stays above the cache, as ``make_scorer`` builds it)."""
    from xfd.matching.adapter import AdaptedEncoder
    from xfd.models.cache import CachedEncoder, EmbeddingCache

    if isinstance(encoder, CachedEncoder):
        return CachedEncoder(encoder.encoder, EmbeddingCache(db_path), memory=False)
    if isinstance(encoder, AdaptedEncoder):
        return AdaptedEncoder(with_cache(encoder.encoder, db_path), encoder.adapter)
    return CachedEncoder(encoder, EmbeddingCache(db_path), memory=False)


def fresh_copy(scorer, db_path: str | os.PathLike):
    """An unfitted copy of ``scorer`` whose encoders use a new embedding cache at
    ``db_path`` (same models, no in-memory vectors): what ``make_scorer`` returns
    on a machine whose cache file is ``db_path``, without reloading the model."""
    from sklearn.base import clone

    s = clone(scorer)  # settings only; tokenizer and models shared, not copied
    for attr in ("encoder", "english_encoder"):
        e = getattr(scorer, attr, None)
        if e is not None:
            s.set_params(**{attr: with_cache(e, db_path)})
    return s


class TimedEncoder:
    """An encoder proxy adding up the seconds spent in ``encode`` (to separate
    xfd's own work from the model's in the same measurement)."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.seconds = 0.0

    def encode(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        t = time.perf_counter()
        try:
            return self.encoder.encode(texts, role)
        finally:
            self.seconds += time.perf_counter() - t


def cache_layer(scorer):
    """The scorer's main :class:`CachedEncoder` (under a domain adapter, when there is one):
    its ``name`` keys the cache, its ``encoder`` is the model."""
    from xfd.models.bulk import cached_parts

    return cached_parts(scorer.encoder)


def instrument(scorer) -> TimedEncoder | None:
    """Put a :class:`TimedEncoder` between the scorer's cache and its main model."""
    if scorer.encoder is None:
        return None
    cached = cache_layer(scorer)
    if not isinstance(cached.encoder, TimedEncoder):
        cached.encoder = TimedEncoder(cached.encoder)
    return cached.encoder


def model_seconds(scorer) -> float:
    e = cache_layer(scorer).encoder
    return e.seconds if isinstance(e, TimedEncoder) else 0.0


def inner_encoder(scorer):
    """The wrapped (uncached) main encoder of a scorer."""
    e = cache_layer(scorer).encoder
    return e.encoder if isinstance(e, TimedEncoder) else e


def bare_encode_fn(encoder) -> Encode:
    """A bare ``SentenceTransformer.encode`` with the encoder's own prompts and batch
    size, when the encoder wraps one; otherwise the encoder's ``encode`` itself."""
    st = getattr(encoder, "model", None)
    if st is None or not hasattr(st, "encode"):
        return lambda texts, role: encoder.encode(list(texts), role)
    prompts = dict(getattr(encoder, "prompts", {}) or {})
    bs = int(getattr(encoder, "batch_size", 32))

    def enc(texts: Sequence[str], role: str) -> np.ndarray:
        return st.encode([prompts.get(role, "") + t for t in texts], batch_size=bs, convert_to_numpy=True,
                         normalize_embeddings=True, show_progress_bar=False)

    return enc


def encoded_count(scorer) -> int:
    """Texts really encoded so far by the scorer's main and English cached encoders."""
    en = scorer.english_encoder
    en = getattr(en, "_encoder", en)  # a LazyEncoder: what it loaded, if it did (never load it here)
    return int(cache_layer(scorer).encoded) + int(getattr(en, "encoded", 0) or 0)


def seed_cache(scorer, db: Path) -> float:
    """Encode the fixed, per-install texts (the discipline table) into ``db``
    by fitting a one-profile copy; returns the seconds it took."""
    s = fresh_copy(scorer, db)
    t, _ = timed(lambda: s.fit([Profile(id="warm", keywords=("预热",))]))
    return t


# --------------------------------------------------------------------------- measurements


@dataclass
class IndexResult:
    texts: int
    xfd_s: list[float]
    bare_s: list[float]
    encoded: int
    vectors: np.ndarray     # bare vectors of the texts (reused to pre-fill caches)
    overhead_s: list[float]  # xfd fit time outside the model's encode


def measure_indexing(scorer, bare: Encode, profiles: Sequence[Profile], reps: int, seed_db: Path,
                     work: Path) -> IndexResult:
    """Interleaved repetitions (order alternating) of a cold-cache ``fit`` and a bare
    encode of the same (distinct) texts.  Each xfd repetition starts from a new cache file
    holding only ``seed_db`` (the discipline table)."""
    # distinct texts: xfd's cache encodes a repeated text (e.g. the same discipline card) once,
    # so the bare baseline gets the same work, not the duplicates
    texts = list(dict.fromkeys(build_doc_table(profiles).texts))
    xs, bs, os_, vecs, enc = [], [], [], None, 0
    for r in range(reps):
        def run_bare():
            nonlocal vecs
            t, v = timed(lambda: bare(texts, "passage"))
            bs.append(t)
            vecs = np.asarray(v, dtype=np.float32)

        def run_xfd(r: int = r) -> None:
            nonlocal enc
            db = work / f"index-{r}.sqlite"
            copy_cache(seed_db, db)
            s = fresh_copy(scorer, db)
            instrument(s)
            t, _ = timed(lambda: s.fit(profiles))
            xs.append(t)
            os_.append(t - model_seconds(s))
            enc = encoded_count(s)

        for f in ((run_bare, run_xfd) if r % 2 == 0 else (run_xfd, run_bare)):
            f()
        log(f"index rep {r + 1}/{reps}: xfd {xs[-1]:.2f} s, bare {bs[-1]:.2f} s ({len(texts)} texts)")
    return IndexResult(len(texts), xs, bs, enc, vecs, os_)


@dataclass
class LatencyResult:
    profiles: int
    xfd_s: list[float]
    bare_s: list[float]
    overhead_s: Sequence[float] = ()  # rank time outside the model's encode


def measure_latency(scorer, bare: Encode, demands: Sequence[Demand], top_k: int = 10) -> LatencyResult:
    """For each new demand: ``scorer.rank([d], top_k)`` and one bare query encode of
    ``d.text`` (order alternating).  The scorer must be fitted; demand texts must be
    new to its cache, so ``rank`` really encodes the query."""
    xs, bs, os_ = [], [], []
    instrument(scorer)
    for i, d in enumerate(demands):
        def run_bare(d: Demand = d) -> None:
            bs.append(timed(lambda: bare([d.text], scorer.demand_role))[0])  # the role rank encodes it in

        def run_xfd(d: Demand = d) -> None:
            m0 = model_seconds(scorer)
            t, out = timed(lambda: scorer.rank([d], top_k=top_k))
            assert len(out) == 1 and len(out[0].matches) == min(top_k, len(scorer.profiles_))
            xs.append(t)
            os_.append(t - (model_seconds(scorer) - m0))

        for f in ((run_bare, run_xfd) if i % 2 == 0 else (run_xfd, run_bare)):
            f()
    return LatencyResult(len(scorer.profiles_), xs, bs, os_)


@dataclass
class ScoreResult:
    demands: int
    profiles: int
    docs: int
    score_s: list[float]
    fuse_s: list[float]
    matmul_s: list[float]  # the bare matmul on every core
    matmul_process_s: list[float]  # the same with the process's BLAS threads


def measure_score_matrix(scorer, demands: Sequence[Demand], reps: int) -> ScoreResult:
    """``scorer.score(demands)`` (cached vectors, tokenising included), the feature
    + fusion step alone (tokens given), and a bare float32 matmul
    (n_demands, dim) @ (dim, n_docs) of the same shapes.  Call after the demand
    vectors are in the scorer's cache; one untimed warm-up of each."""
    toks = [scorer.tokenizer(d.text) for d in demands]
    scorer.score(demands)
    if getattr(scorer, "dense_", None) is not None:
        docs = scorer.dense_.vectors_
    else:
        docs = np.random.default_rng(0).standard_normal((len(scorer.table_), 384)).astype(np.float32)
    q = np.random.default_rng(1).standard_normal((len(demands), docs.shape[1])).astype(np.float32)
    _ = q @ docs.T
    ss, fs, ms, m1 = [], [], [], []
    for _r in range(reps):
        ss.append(timed(lambda: scorer.score(demands))[0])
        fs.append(timed(lambda: scorer.fuse(scorer.features(demands, toks)))[0])
        m1.append(timed(lambda: q @ docs.T)[0])  # with the process's BLAS threads (XFD_BLAS_THREADS)
        with threadpool_limits(limits=os.cpu_count(), user_api="blas"):  # the machine's fastest matmul
            ms.append(timed(lambda: q @ docs.T)[0])
    return ScoreResult(len(demands), len(scorer.profiles_), len(scorer.table_), ss, fs, ms, m1)


@dataclass
class AssignResult:
    demands: int
    profiles: int
    wall_s: float
    solver_s: float | None
    staffed: int | None
    objective: float | None
    upper_bound: float | None
    gap: float | None
    status: str
    returncode: int


def measure_assign(n_demands: int, work: Path, seed: int = 0, extra: Sequence[str] = (),
                   texts: str = "assign_bench") -> AssignResult:
    """Wall time of ``python -m api.cli assign --model lexical`` (a new process, as a
    user runs it) on a generated instance (``_bench_util.write_assign_instance``),
    and the plan's gap to its bound."""
    pp, dp = write_assign_instance(n_demands, work, seed=seed, texts=texts)
    out = work / f"plan_{n_demands}.json"
    n_prof = sum(1 for _ in open(pp, encoding="utf-8"))
    cmd = [sys.executable, "-m", "xfd.api.cli", "assign", "--profiles", str(pp), "--demands", str(dp),
           "--out", str(out), "--model", "lexical", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t, proc = timed(lambda: subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True))
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [""]
        return AssignResult(n_demands, n_prof, t, None, None, None, None, None, f"failed: {tail[0]}",
                            proc.returncode)
    plan = json.loads(out.read_text(encoding="utf-8"))
    st = plan.get("stats", {}) or {}
    return AssignResult(n_demands, n_prof, t, st.get("seconds"), st.get("staffed"), plan.get("objective"),
                        plan.get("upper_bound"), st.get("gap"), str(st.get("status", "")), 0)


# --------------------------------------------------------------------------- the 10k child process


def rss_child(args: argparse.Namespace) -> int:
    """Run in a fresh process: load the model, index ``--n-profiles`` profiles from a
    pre-filled cache, record RSS, then time new-demand recommendations."""
    base = peak_rss_mb()
    from xfd.models.pipeline import make_scorer

    source = load_source()
    t_load, scorer = timed(lambda: make_scorer(args.model))
    rss_loaded = rss_mb()
    profiles = make_profiles(source, args.n_profiles)
    t_fit, _ = timed(lambda: scorer.fit(profiles))
    enc = encoded_count(scorer)
    rss_fit, peak_fit = rss_mb(), peak_rss_mb()
    lat = None
    if args.reps > 0 and scorer.encoder is not None:
        bare = bare_encode_fn(inner_encoder(scorer))
        scorer.rank(make_demands(source, 1, offset=0, tag="warm-"), top_k=10)
        lat = measure_latency(scorer, bare, make_demands(source, args.reps, offset=1, tag="L10k-"))
    out = {"profiles": len(profiles), "docs": len(scorer.table_), "encoded_during_fit": enc,
           "ru_maxrss_mb": inherited_peak_rss_mb(),
           "load_s": t_load, "fit_s": t_fit, "rss_start_mb": base, "rss_after_load_mb": rss_loaded,
           "rss_after_fit_mb": rss_fit, "peak_after_fit_mb": peak_fit, "peak_end_mb": peak_rss_mb(),
           "latency_xfd_s": lat.xfd_s if lat else [], "latency_bare_s": lat.bare_s if lat else [],
           "latency_overhead_s": list(lat.overhead_s) if lat else []}
    Path(args.child_out).write_text(json.dumps(out), encoding="utf-8")
    return 0


def prepare_large(scorer, source: Source, n: int, seed_db: Path, base_vecs: np.ndarray, cache_dir: Path) -> int:
    """Pre-fill ``cache_dir/embeddings.sqlite`` with vectors for ``n`` profiles."""
    db = cache_dir / "embeddings.sqlite"
    copy_cache(seed_db, db)
    texts = list(build_doc_table(make_profiles(source, n)).texts)
    return prefill_cache(db, cache_layer(scorer).name, "passage", texts, synthetic_vectors(texts, base_vecs, seed=n))


# --------------------------------------------------------------------------- figures


def index_figures(r: IndexResult) -> list[Figure]:
    x, b = float(np.median(r.xfd_s)), float(np.median(r.bare_s))
    ratio = b / x
    o = float(np.median(r.overhead_s))
    est = b / (b + o)
    return [Figure("indexing throughput, cold cache", r.texts / x, "texts/s", "bare ST.encode", r.texts / b,
                  ratio, "xfd/bare", f">= {INDEX_TARGET}", ratio >= INDEX_TARGET,
                  f"{r.texts} distinct texts (real abstracts + profile cards), median of {len(r.xfd_s)} interleaved reps; "
                  f"xfd {['%.2f' % v for v in r.xfd_s]} s, bare {['%.2f' % v for v in r.bare_s]} s; "
                  f"{r.encoded} texts encoded by xfd; discipline-table vectors pre-seeded (per-install, not per profile)"),
            Figure("indexing: xfd work outside the model", o / r.texts * 1000, "ms/text", "bare encode per text",
                   b / r.texts * 1000, est, "bare/(bare+overhead)", f">= {INDEX_TARGET}", est >= INDEX_TARGET,
                   f"fit time minus the time inside the model's encode (median {o:.2f} s of {x:.2f} s): "
                   "a load-robust estimate of the ratio above, since two encodes of the same texts vary with load")]


def latency_figures(r: LatencyResult, target: bool) -> list[Figure]:
    xp50, xp95 = percentile(r.xfd_s, 50), percentile(r.xfd_s, 95)
    bp50, bp95 = percentile(r.bare_s, 50), percentile(r.bare_s, 95)
    k = f"{r.profiles // 1000}k" if r.profiles >= 1000 else str(r.profiles)
    ratio = xp95 / bp50
    note = (f"{len(r.xfd_s)} new demands, rank(top_k=10) incl. query encode + cache write; "
            f"bare encode p95 {bp95 * 1000:.0f} ms, xfd p95 / bare p95 = {xp95 / bp95:.2f}")
    if len(r.overhead_s):
        note += (f"; xfd time outside the model p50 {percentile(r.overhead_s, 50) * 1000:.0f} ms, "
                 f"p95 {percentile(r.overhead_s, 95) * 1000:.0f} ms")
    return [
        Figure(f"recommend p50, {k} profiles", xp50 * 1000, "ms", "bare query encode p50", bp50 * 1000,
               xp50 / bp50, "xfd p50/bare p50"),
        Figure(f"recommend p95, {k} profiles", xp95 * 1000, "ms", "bare query encode p50", bp50 * 1000,
               ratio, "xfd p95/bare p50", f"<= {LATENCY_TARGET}" if target else "",
               (ratio <= LATENCY_TARGET) if target else None, note),
    ]


def _blas_threads() -> int:
    return min((d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"), default=0)


def score_figures(r: ScoreResult) -> list[Figure]:
    """The score path against a bare matmul run with the same BLAS threads as xfd's own
    (``XFD_BLAS_THREADS``); the notes give the ratio against a matmul on every core too."""
    pairs = r.demands * r.profiles
    s, f, m, m1 = (float(np.median(v)) for v in (r.score_s, r.fuse_s, r.matmul_s, r.matmul_process_s))
    shape = f"{r.demands} demands x {r.profiles} profiles ({r.docs} docs)"
    ref = f"numpy matmul (d,384)@(384,docs), {_blas_threads()} BLAS thread(s)"
    cores = f"against the matmul on {os.cpu_count()} BLAS threads"
    return [
        Figure("score matrix, scorer.score", pairs / s, "pairs/s", ref, pairs / m1, m1 / s, "matmul time/xfd time",
               note=f"{shape}; cached vectors, demand tokenising (jieba) included; median of {len(r.score_s)}; "
               f"{cores}: {m / s:.3f}"),
        Figure("score matrix, features+fuse", pairs / f, "pairs/s", ref, pairs / m1, m1 / f, "matmul time/xfd time",
               target=f">= {SCORE_TARGET}", ok=m1 / f >= SCORE_TARGET,
               note=f"{shape}; tokens given: lexical + dense + aggregation + fusion (the score path; "
               f"tokenising a demand is per demand, not per pair); median of {len(r.fuse_s)}; the matmul runs "
               f"with the BLAS threads xfd's own matmuls run with (XFD_BLAS_THREADS); {cores}: {m / f:.3f}"),
    ]


def assign_figures(rs: Sequence[AssignResult]) -> list[Figure]:
    out = []
    for r in rs:
        budget = ASSIGN_BUDGET_S * r.demands / 1000
        # the issue's target: 20 s at 1000 demands, near-linear beyond; below 1000 there is none
        has_target = r.demands >= 1000
        ok = (None if r.returncode else r.wall_s <= budget) if has_target else None
        tgt = ("<= 20 s" if r.demands == 1000 else f"<= {budget:g} s (linear from 20 s @1000)") if has_target else ""
        out.append(Figure(f"xfd assign {r.demands} demands", r.wall_s, "s", "20 s x n/1000" if has_target else "",
                          budget if has_target else None, r.wall_s / budget if has_target else None,
                          "wall/budget" if has_target else "", tgt, ok,
                          f"{r.profiles} profiles, lexical; wall = new process incl. reading + lexical scoring; solver {r.solver_s} s; staffed {r.staffed}/{r.demands}; "
                          f"objective {r.objective}; status {r.status}"))
        if r.gap is not None:
            out.append(Figure(f"assign gap to bound, {r.demands}", r.gap, "rel.", "LP upper bound", r.upper_bound,
                              note="(bound - value)/bound, value = objective + continuity bonus"))
    done = {r.demands: r.wall_s for r in rs if r.returncode == 0}
    if 1000 in done and 4000 in done:
        e = float(np.log(done[4000] / done[1000]) / np.log(4))
        out.append(Figure("assign growth exponent 1000->4000", e, "", ratio=e, ratio_of="log(t4000/t1000)/log 4",
                          target="~1 (near-linear; <= 1.2)", ok=e <= 1.2))
    return out


def rss_figures(c: dict) -> list[Figure]:
    peak = c["peak_end_mb"]
    figs = [Figure(f"peak RSS, {c['profiles'] // 1000}k profiles indexed", peak, "MiB", "limit 1.5 GiB", RSS_LIMIT_MB,
                   peak / RSS_LIMIT_MB, "peak/limit", "<= 1.0", peak <= RSS_LIMIT_MB,
                   f"separate process: model(s) loaded {c['rss_after_load_mb']:.0f} MiB, after fit "
                   f"{c['rss_after_fit_mb']:.0f} MiB (peak {c['peak_after_fit_mb']:.0f}), {c['docs']} docs; "
                   f"fit {c['fit_s']:.1f} s from pre-filled cache ({c['encoded_during_fit']} texts encoded for real: "
                   f"English documents, which also get the English model); "
                   f"load {c['load_s']:.1f} s; peak = the child's own VmHWM (getrusage's ru_maxrss, which "
                   f"includes the parent's peak inherited at exec: {c.get('ru_maxrss_mb', float('nan')):.0f} MiB)")]
    if c["latency_xfd_s"]:
        figs += latency_figures(LatencyResult(c["profiles"], c["latency_xfd_s"], c["latency_bare_s"],
                                              c.get("latency_overhead_s", [])), target=True)
    return figs


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions (< 10 min on 2 cores)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "last-run.json", help="write figures here")
    ap.add_argument("--model", default="e5-small", help="model for the encode/latency/RSS figures")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--assign-sizes", default=None, help="comma-separated demand counts (default by mode)")
    ap.add_argument("--large", type=int, default=None, help="profiles for the RSS/10k figures")
    ap.add_argument("--assign-texts", default="assign_bench", choices=("assign_bench", "keywords"),
                    help="texts of the assign instances: as benchmarks/assign_bench.py --cli writes them "
                         "(default) or sampled discipline keywords")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n-profiles", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "rss":
        return rss_child(args)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad:
        ap.error(f"--only: unknown part(s) {bad}; valid: {', '.join(PARTS)}")
    sizes = QUICK if args.quick else FULL
    if args.assign_sizes:
        sizes = Sizes(**{**sizes.__dict__, "assign": tuple(int(x) for x in args.assign_sizes.split(","))})
    if args.large:
        sizes = Sizes(**{**sizes.__dict__, "large": args.large})

    from xfd.models.loader import default_cache_dir

    t_start = time.time()
    info = machine_info()
    log(f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GiB; mode {'quick' if args.quick else 'full'}")
    real_cache = default_cache_dir()
    work = Path(tempfile.mkdtemp(prefix="xfd-bench-"))
    figures: list[Figure] = []
    meta: dict = {"mode": "quick" if args.quick else "full", "model": args.model, "sizes": sizes.__dict__,
                  "assign_texts": args.assign_texts,
                  "machine": info, "work_dir": str(work)}
    try:
        source = load_source()
        meta["texts"] = source.name
        need_model = any(p in parts for p in ("index", "latency", "score", "rss"))
        scorer = bare = None
        base_vecs = None
        seed_db = work / "seed.sqlite"
        if need_model:
            from xfd.models.pipeline import make_scorer

            main_cache = cache_dir_with_models(work / "cache", real_cache)
            os.environ["XFD_CACHE_DIR"] = str(main_cache)
            log(f"loading {args.model} …")
            t_load, scorer = timed(lambda: make_scorer(args.model, cache_dir=main_cache))
            meta["model_load_s"] = round(t_load, 2)
            if scorer.encoder is None:
                raise SystemExit(f"--model {args.model}: the encode figures need a dense model")
            bare = bare_encode_fn(inner_encoder(scorer))
            meta["encoder"] = cache_layer(scorer).name
            meta["seed_cache_s"] = round(seed_cache(scorer, seed_db), 2)
            log(f"model loaded in {t_load:.1f} s; discipline table encoded in {meta['seed_cache_s']} s")
            bare(["预热 warm-up"], "passage")
        if need_model:  # the index figure's vectors seed every pre-filled cache
            profs = make_profiles(source, sizes.index_profiles, offset=0)
            r = measure_indexing(scorer, bare, profs, sizes.index_reps, seed_db, work)
            base_vecs = r.vectors
            if "index" in parts:
                figures += index_figures(r)
        small = None
        if need_model and ("latency" in parts or "score" in parts):
            db = work / "small.sqlite"
            copy_cache(seed_db, db)
            profs = make_profiles(source, sizes.small)
            texts = list(build_doc_table(profs).texts)
            prefill_cache(db, cache_layer(scorer).name, "passage", texts, synthetic_vectors(texts, base_vecs, seed=1))
            small = fresh_copy(scorer, db)
            t_fit, _ = timed(lambda: small.fit(profs))
            meta[f"fit_{sizes.small}_s"] = round(t_fit, 2)
            meta[f"fit_{sizes.small}_encoded"] = encoded_count(small)
            log(f"fitted {sizes.small} profiles ({len(texts)} docs) from pre-filled cache in {t_fit:.1f} s, "
                f"{encoded_count(small)} encoded")
            small.rank(make_demands(source, 1, offset=0, tag="warm-"), top_k=10)
        if "latency" in parts:
            lat = measure_latency(small, bare, make_demands(source, sizes.latency_reps, offset=1, tag="L1k-"))
            figures += latency_figures(lat, target=True)
            log(f"latency {sizes.small}: p95 {percentile(lat.xfd_s, 95) * 1000:.0f} ms vs bare p50 "
                f"{percentile(lat.bare_s, 50) * 1000:.0f} ms")
        if "score" in parts:
            dem = make_demands(source, sizes.score_demands, offset=100, tag="S-")
            qt = [d.text for d in dem]
            prefill_cache(work / "small.sqlite", cache_layer(scorer).name, small.demand_role, qt,
                          synthetic_vectors(qt, base_vecs, seed=2))
            sr = measure_score_matrix(small, dem, sizes.score_reps)
            figures += score_figures(sr)
            log("score matrix done")
        if "rss" in parts:
            cdir = cache_dir_with_models(work / "large", real_cache)
            n = prepare_large(scorer, source, sizes.large, seed_db, base_vecs, cdir)
            log(f"pre-filled {n} vectors for {sizes.large} profiles; child process indexing them …")
            out = work / "rss.json"
            env = dict(os.environ, XFD_CACHE_DIR=str(cdir),
                       PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "rss", "--model", args.model,
                   "--n-profiles", str(sizes.large), "--reps", str(sizes.latency_reps), "--child-out", str(out)]
            proc = subprocess.run(cmd, env=env, cwd=ROOT)
            if proc.returncode == 0 and out.is_file():
                figures += rss_figures(json.loads(out.read_text(encoding="utf-8")))
            else:
                figures.append(Figure(f"peak RSS, {sizes.large} profiles", None, "MiB", ok=False,
                                      note=f"child process failed (exit {proc.returncode})"))
            log("rss done")
        small = scorer = None  # free the models and indexes before the solver figures
        if "assign" in parts:
            res = []
            for n in sizes.assign:
                log(f"xfd assign --model lexical, {n} demands …")
                r = measure_assign(n, work / "assign", texts=args.assign_texts)
                log(f"  {r.wall_s:.1f} s, gap {r.gap}, {r.status}")
                res.append(r)
            figures += assign_figures(res)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta["seconds"] = round(time.time() - t_start, 1)
    meta["loadavg_end"] = loadavg()
    print(f"xfd benchmarks ({meta['mode']}), {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GiB RAM; "
          f"load avg at start {info['loadavg']}, at end {meta['loadavg_end']}; {meta['seconds']} s")
    if "encoder" in meta:
        print(f"texts: {meta.get('texts')}; model {args.model} ({meta['encoder']}, load {meta['model_load_s']} s)")
        print("1k/10k profile vectors are pre-filled in the embedding cache (real vectors of the encoded texts "
              "with small perturbations): those figures time xfd's indexing/scoring path, not encoding.")
    if "assign" in parts:
        print(f"assign instances: matching.assign.synth.make_batch, texts {args.assign_texts!r}; xfd assign --model lexical")
    print()
    print(format_table(figures))
    if args.json:
        write_json(args.json, figures, **meta)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
