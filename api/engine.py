"""The warm index: one scorer loaded at start-up, refit when profiles change.

``MatchEngine`` loads the model once (``start``: ``models.pipeline.make_scorer``)
and keeps a *fitted copy* of it for the current profile set.  After a profile
write the route calls ``invalidate``; a background thread then fits a fresh
unfitted copy, ``sklearn.base.clone`` of the loaded scorer (sharing the loaded
tokenizer, encoder and its content-hash vector cache, which clone shares rather
than copies, so only new or changed documents are embedded) and swaps it in
atomically.

Refits are incremental where that changes no number (``memo=True``, the default): the fresh copy
gets the engine's memos (``matching.fit_memo``: a ``TokenMemo`` as its tokenizer and, with
``memo_vectors=True``, a ``VectorMemo`` under its encoders, set with ``set_params``), recorded around
``fit``, so a text fitted before is not tokenised (jieba) again (nor read back from the embedding
cache); each memo keeps the texts of the last fit only.  Scores equal a from-scratch fit's exactly
(tested).  ``memo_vectors`` is off by default: at 10,000 profiles it saved 0.3–0.5 s of a 4.3–4.8 s
CPU refit for +80 MiB RSS (``benchmarks/README.md``, "Propagation between instances, session 3").

A recommendation only embeds its own demand.  If the index is stale it waits
up to ``stale_wait`` seconds for the refit, then answers from the previous
index (a large import can take minutes to embed); with no previous index
holding profiles it waits for the new one.  Batch runs always wait for the fresh index.

Several processes on one database (``xfd.api.sync``): given ``version`` (a
reader of the shared counter every profile or calibration write bumps in its
own transaction), the engine compares it with the version its index was
fitted at, at most every ``check_interval`` seconds when a recommendation is
asked (every time for batch runs and features), and ``check_version`` is
also called by a background watcher; a different number schedules the same
coalesced refit as ``invalidate``.  A refit reads the counter *before* the
profiles (and the active calibration through ``load_fusion``), so the index
is never older than the version it records.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np
from sklearn.base import clone

from xfd.matching.fit_memo import TokenMemo, memo_encoder, recording
from xfd.matching.types import Demand, DemandMatches, Profile

log = logging.getLogger("xfd.engine")


class Scorer(Protocol):
    """What the service needs of ``models.pipeline.MatchScorer``: a
    scikit-learn estimator (``get_params``, so ``sklearn.base.clone`` works)."""

    def get_params(self, deep: bool = True) -> dict: ...

    def fit(self, profiles: Sequence[Profile]) -> "Scorer": ...

    def rank(self, demands: Sequence[Demand], top_k: int) -> list[DemandMatches]: ...

    def score(self, demands: Sequence[Demand]) -> np.ndarray: ...

    def required_disciplines(self, demands: Sequence[Demand]) -> list[tuple[str, ...]]: ...


ProfileLoader = Callable[[], list[Profile]]


class IndexUnavailable(RuntimeError):
    """Fitting the profile index failed; the message says why."""


def default_scorer_factory(model: str, embedding_cache: Callable[[], object | None] | None = None,
                           ) -> Callable[[], Scorer]:
    """A factory loading the named model through the scoring core.  ``embedding_cache`` gives the
    vector cache (an ``xfd.models.cache.EmbeddingStore``, e.g. ``xfd.api.sync.embedding_store``) when
    the model loads; None or a None result: the default file cache."""

    def factory() -> Scorer:
        from xfd.models.pipeline import make_scorer  # noqa: PLC0415  (heavy: torch)

        store = embedding_cache() if embedding_cache is not None else None
        return make_scorer(model, embedding_cache=store)  # type: ignore[arg-type]

    return factory


class MatchEngine:
    """Thread-safe holder of the fitted scorer and the profile list it was fit on.

    The profile list gives the column order of ``score``'s
    ``(n_demands, n_profiles)`` matrix.
    """

    def __init__(self, factory: Callable[[], Scorer], load_profiles: ProfileLoader, model_name: str = "",
                 stale_wait: float = 10.0, *, version: Callable[[], int] | None = None,
                 load_fusion: Callable[[], object | None] | None = None, check_interval: float = 1.0,
                 memo: bool = True, memo_vectors: bool = False) -> None:
        self.model_name = model_name
        self.stale_wait = stale_wait
        self.check_interval = check_interval
        self._version = version                     # reads the shared counter (None: one process only)
        self._load_fusion = load_fusion             # reads the active calibration's fusion at each refit
        self._known_version: int | None = None      # newest shared version seen or loaded
        self.fit_version: int | None = None         # shared version the fitted index reflects
        self._next_check = 0.0                      # monotonic time of the next lazy version check
        self.version_changes = 0                    # refits scheduled because the shared version moved
        self._factory = factory
        self._load_profiles = load_profiles
        self._base: Scorer | None = None            # loaded model, never fitted itself
        self._fitted: Scorer | None = None          # fitted copy (None when no profiles)
        self._profiles: list[Profile] = []
        self._fit_generation = -1                   # generation the fitted copy reflects
        self._generation = 0                        # bumped on every profile change
        self._failed_generation = -1
        self._cond = threading.Condition()          # guards the fields above
        self._fit_lock = threading.Lock()           # one fit at a time
        self._query_lock = threading.Lock()         # queries on a scorer run one at a time
        self._refitter: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        self.fit_count = 0
        self.last_error: str | None = None
        self._fusion: object | None = None          # a calibration's fusion (None: the model's default)
        self.memo = memo                            # keep tokens / vectors of fitted texts across refits
        self.memo_vectors = memo_vectors            # the vectors too: +80 MiB RSS for -0.4 s CPU at 10k (off)
        self._memo_params: dict | None = None       # set_params of a fresh copy: the memo-wrapped parts
        self._memos: tuple = ()                     # the memos, recorded around each fit

    # -- life cycle ---------------------------------------------------------
    def start(self, warm: bool = True) -> None:
        """Load the model (slow, once); then fit on the stored profiles in the background."""
        with self._fit_lock:
            if self._base is None:
                self._base = self._factory()
        if warm and self._version is not None:
            # the warm fit loads at least this version: a check before it reads the counter is no change
            self._note_version(self._version())
        with self._cond:
            if self._refitter is None:
                self._refitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xfd-refit")
            if warm:
                self._generation += 1
                self._schedule()

    def close(self) -> None:
        with self._cond:
            refitter, self._refitter = self._refitter, None
        if refitter is not None:
            refitter.shutdown(wait=False, cancel_futures=True)

    @property
    def loaded(self) -> bool:
        return self._base is not None

    def texts_encoded(self) -> int:
        """Texts the loaded model embedded in this process so far (misses of its vector caches,
        ``models.cache.CachedEncoder.encoded``); 0 before loading and for the lexical model."""
        if self._base is None:
            return 0
        params = self._base.get_params(deep=False)
        total = 0
        for name in ("encoder", "english_encoder"):
            enc = params.get(name)
            for _ in range(4):  # through wrappers (adapter, lazy loader) down to the cached encoder
                if enc is None or "encoded" in vars(enc):
                    break
                # instance attributes only: a LazyEncoder not loaded yet (``_encoder`` None) stays unloaded
                enc = vars(enc).get("encoder") or vars(enc).get("_encoder")
            total += int(vars(enc).get("encoded", 0)) if enc is not None else 0
        return total

    @property
    def index_ready(self) -> bool:
        """True when the index reflects the current profiles (no refit pending)."""
        return self._base is not None and self._fit_generation == self._generation

    # -- calibration --------------------------------------------------------
    def set_fusion(self, fusion: object | None) -> None:
        """Score with this fusion (a calibration's ``Fusion``; None: the model's default):
        the index is refit with it (``set_params(fusion=…)`` on the fresh copy)."""
        with self._cond:
            self._fusion = fusion
        self.invalidate()

    @property
    def fusion(self) -> object | None:
        """The calibration fusion in use (None: the model's default)."""
        return self._fusion

    def base_params(self) -> dict:
        """``get_params(deep=False)`` of the loaded (uncalibrated) model; loads it if needed."""
        with self._fit_lock:
            if self._base is None:
                self._base = self._factory()
            return self._base.get_params(deep=False)

    def features(self, demands: Sequence[Demand]) -> tuple[list[Profile], object]:
        """``(profiles, scorer.features(demands))`` on the fresh index (columns in ``profiles`` order);
        ``IndexUnavailable`` when no profiles are indexed."""
        scorer, profiles = self._current(stale_ok=False)
        if scorer is None:
            raise IndexUnavailable("没有已索引的人员 no profiles indexed")
        with self._query_lock:
            return list(profiles), scorer.features(list(demands))  # type: ignore[attr-defined]

    # -- freshness ----------------------------------------------------------
    def check_version(self) -> bool:
        """Read the shared version; when it differs from the newest one this process knows, schedule a
        refit (coalesced, as ``invalidate``) and return True.  No ``version`` reader: False."""
        if self._version is None:
            return False
        current = self._version()
        with self._cond:
            self._next_check = time.monotonic() + self.check_interval
            if current == self._known_version:
                return False
            self._known_version = current
            self.version_changes += 1
        self.invalidate()
        return True

    def _maybe_check_version(self, force: bool) -> None:
        """``check_version`` if ``force`` or ``check_interval`` seconds passed since the last check."""
        if self._version is None:
            return
        with self._cond:
            if not force and time.monotonic() < self._next_check:
                return
            self._next_check = time.monotonic() + self.check_interval
        self.check_version()

    def _note_version(self, version: int | None) -> None:
        """Remember ``version`` as known (a refit is loading it) unless a newer one was seen."""
        if version is None:
            return
        with self._cond:
            if self._known_version is None or version > self._known_version:
                self._known_version = version

    def invalidate(self) -> None:
        """Profiles changed: refit soon in the background (coalesced)."""
        with self._cond:
            self._generation += 1
            self._schedule()

    def _schedule(self) -> None:  # caller holds self._cond
        if self._refitter is None or (self._pending is not None and not self._pending.done()):
            return
        try:
            self._pending = self._refitter.submit(self._refresh)
        except RuntimeError:  # shut down
            self._pending = None

    def _refit_once(self) -> None:
        with self._fit_lock:
            if self._base is None:
                self._base = self._factory()
            with self._cond:
                generation, fusion = self._generation, self._fusion
                if self._fit_generation == generation:
                    return
            try:
                version = self._version() if self._version is not None else None  # before the profiles
                self._note_version(version)  # a check seeing it meanwhile needs no second refit
                if self._load_fusion is not None:
                    fusion = self._load_fusion()
                profiles = self._load_profiles()
                fresh = clone(self._base)
                if self.memo:
                    fresh.set_params(**self._memo_settings())  # type: ignore[attr-defined]
                if fusion is not None:  # a Fusion, or a calibration with .settings() (fusion + verdict memory)
                    settings = fusion.settings() if hasattr(fusion, "settings") else {"fusion": fusion}
                    fresh.set_params(**settings)  # type: ignore[attr-defined]
                with recording(*self._memos):
                    fitted = fresh.fit(profiles) if profiles else None
            except Exception as exc:
                with self._cond:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    self._failed_generation = generation
                    self._cond.notify_all()
                raise
            with self._cond:
                self._fitted, self._profiles, self._fit_generation = fitted, profiles, generation
                self.fit_version = version
                if self._load_fusion is not None:
                    self._fusion = fusion
                self.fit_count += 1 if profiles else 0
                self.last_error = None
                self._cond.notify_all()

    def _memo_settings(self) -> dict:  # caller holds self._fit_lock
        """``set_params`` giving a fresh copy the memos (made once per loaded model): a
        ``matching.fit_memo.TokenMemo`` for ``tokenizer``, a ``VectorMemo`` under ``encoder`` and
        ``english_encoder``; parameters the scorer does not have are left alone."""
        if self._memo_params is None:
            params = self._base.get_params(deep=False)  # type: ignore[union-attr]
            settings: dict = {}
            memos: list = []
            if callable(params.get("tokenizer")):
                settings["tokenizer"] = TokenMemo(params["tokenizer"])
                memos.append(settings["tokenizer"])
            for name in ("encoder", "english_encoder") if self.memo_vectors else ():
                if params.get(name) is not None:
                    settings[name], vmemo = memo_encoder(params[name])
                    memos.append(vmemo)
            self._memo_params, self._memos = settings, tuple(memos)
        return self._memo_params

    def memo_stats(self) -> dict[str, tuple[int, int]]:
        """``{parameter: (texts remembered, approximate bytes)}`` of the refit memos (empty before a fit)."""
        names = list(self._memo_params or {})
        return {n: (m.n_texts, m.nbytes()) for n, m in zip(names, self._memos)}

    def _refresh(self) -> None:
        try:
            while not self.index_ready:
                self._refit_once()
        except Exception:
            log.exception("refitting the profile index failed")

    def _current(self, stale_ok: bool) -> tuple[Scorer | None, list[Profile]]:
        """The fitted scorer and its profiles; waits for a fresh one as described above."""
        self._maybe_check_version(force=not stale_ok)
        with self._cond:
            if self.index_ready:
                return self._fitted, self._profiles
            if self._refitter is None:      # not started (no lifespan): fit here
                sync = True
            else:
                sync = False
                self._schedule()
        if sync:
            self._refit_once()
            with self._cond:
                return self._fitted, self._profiles
        deadline = time.monotonic() + (self.stale_wait if stale_ok else float("inf"))
        with self._cond:
            while not self.index_ready:
                if self._failed_generation == self._generation and (self._pending is None or self._pending.done()):
                    if stale_ok and self._fitted is not None:
                        break
                    raise IndexUnavailable(self.last_error or "index fit failed")
                remaining = deadline - time.monotonic()
                if remaining <= 0 and self._fitted is not None:
                    break                    # serve the previous index
                self._cond.wait(timeout=max(0.05, min(remaining, 1.0)))
            return self._fitted, self._profiles

    # -- queries ------------------------------------------------------------
    def recommend(self, demand: Demand, k: int) -> DemandMatches:
        """Top ``k`` profiles for one demand (``k`` = 0: all), best first."""
        scorer, profiles = self._current(stale_ok=True)
        if scorer is None:
            return DemandMatches(demand.id, ())
        top_k = len(profiles) if k <= 0 else min(k, len(profiles))
        with self._query_lock:
            return scorer.rank([demand], top_k=top_k)[0]

    def required_disciplines(self, demands: Sequence[Demand]) -> list[tuple[str, ...]]:
        """Each demand's required disciplines, its own or inferred (for display: the current
        index, stale allowed, as :meth:`recommend`).  Never waits for a first fit that a
        background refitter is still doing: until one exists nothing is inferred."""
        with self._cond:
            first_fit_pending = self._fitted is None and self._refitter is not None
        scorer = None if first_fit_pending else self._current(stale_ok=True)[0]
        if scorer is None:
            return [tuple(d.disciplines or ()) for d in demands]
        with self._query_lock:
            return [tuple(r) for r in scorer.required_disciplines(list(demands))]

    def score(self, demands: Sequence[Demand]) -> tuple[list[Profile], np.ndarray, list[tuple[str, ...]]]:
        """``(profiles, scores (n_demands, n_profiles), required disciplines per demand)`` on the fresh index."""
        scorer, profiles = self._current(stale_ok=False)
        if scorer is None or not demands:
            return list(profiles), np.zeros((len(demands), len(profiles)), dtype=np.float64), [tuple(d.disciplines or ()) for d in demands]
        with self._query_lock:
            scores = np.asarray(scorer.score(list(demands)), dtype=np.float64)
            required = [tuple(r) for r in scorer.required_disciplines(list(demands))]
        return list(profiles), scores, required
