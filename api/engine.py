"""The warm index: one scorer loaded at start-up, refit when profiles change.

``MatchEngine`` loads the model once (``start``: ``models.pipeline.make_scorer``)
and keeps a *fitted copy* of it for the current profile set.  After a profile
write the route calls ``invalidate``; a background thread then fits a fresh
unfitted copy, ``sklearn.base.clone`` of the loaded scorer (sharing the loaded
tokenizer, encoder and its content-hash vector cache, which clone shares rather
than copies, so only new or changed documents are embedded) and swaps it in
atomically.

A recommendation only embeds its own demand.  If the index is stale it waits
up to ``stale_wait`` seconds for the refit, then answers from the previous
index (a large import can take minutes to embed); with no previous index
holding profiles it waits for the new one.  Batch runs always wait for the fresh index.
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


def default_scorer_factory(model: str) -> Callable[[], Scorer]:
    """A factory loading the named model through the scoring core."""

    def factory() -> Scorer:
        from xfd.models.pipeline import make_scorer  # noqa: PLC0415  (heavy: torch)

        return make_scorer(model)

    return factory


class MatchEngine:
    """Thread-safe holder of the fitted scorer and the profile list it was fit on.

    The profile list gives the column order of ``score``'s
    ``(n_demands, n_profiles)`` matrix.
    """

    def __init__(self, factory: Callable[[], Scorer], load_profiles: ProfileLoader, model_name: str = "",
                 stale_wait: float = 10.0) -> None:
        self.model_name = model_name
        self.stale_wait = stale_wait
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

    # -- life cycle ---------------------------------------------------------
    def start(self, warm: bool = True) -> None:
        """Load the model (slow, once); then fit on the stored profiles in the background."""
        with self._fit_lock:
            if self._base is None:
                self._base = self._factory()
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
                profiles = self._load_profiles()
                fresh = clone(self._base)
                if fusion is not None:
                    fresh.set_params(fusion=fusion)  # type: ignore[attr-defined]
                fitted = fresh.fit(profiles) if profiles else None
            except Exception as exc:
                with self._cond:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    self._failed_generation = generation
                    self._cond.notify_all()
                raise
            with self._cond:
                self._fitted, self._profiles, self._fit_generation = fitted, profiles, generation
                self.fit_count += 1 if profiles else 0
                self.last_error = None
                self._cond.notify_all()

    def _refresh(self) -> None:
        try:
            while not self.index_ready:
                self._refit_once()
        except Exception:
            log.exception("refitting the profile index failed")

    def _current(self, stale_ok: bool) -> tuple[Scorer | None, list[Profile]]:
        """The fitted scorer and its profiles; waits for a fresh one as described above."""
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

    def score(self, demands: Sequence[Demand]) -> tuple[list[Profile], np.ndarray, list[tuple[str, ...]]]:
        """``(profiles, scores (n_demands, n_profiles), required disciplines per demand)`` on the fresh index."""
        scorer, profiles = self._current(stale_ok=False)
        if scorer is None or not demands:
            return list(profiles), np.zeros((len(demands), len(profiles)), dtype=np.float64), [tuple(d.disciplines or ()) for d in demands]
        with self._query_lock:
            scores = np.asarray(scorer.score(list(demands)), dtype=np.float64)
            required = [tuple(r) for r in scorer.required_disciplines(list(demands))]
        return list(profiles), scores, required
