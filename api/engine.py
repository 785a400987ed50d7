"""The warm index: one scorer loaded at start-up, refit when profiles change.

``MatchEngine`` owns a single ``MatchScorer`` (``models.pipeline.make_scorer``).
The model is loaded once (``start``); after a profile write the route calls
``invalidate`` and a background thread refits the scorer on the full profile
set (cheap: the scoring core caches vectors by content hash, so only new or
changed documents are embedded).  A recommendation only embeds its demand;
if the index is stale it waits for (or performs) the refit first, under the
same lock, so it never sees a half-fitted scorer.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np

from matching.types import Demand, DemandMatches, Profile

log = logging.getLogger("xfd.engine")


class Scorer(Protocol):
    """What the service needs of ``models.pipeline.MatchScorer``."""

    def fit(self, profiles: Sequence[Profile]) -> "Scorer": ...

    def rank(self, demands: Sequence[Demand], top_k: int) -> list[DemandMatches]: ...

    def score(self, demands: Sequence[Demand]) -> np.ndarray: ...

    def required_disciplines(self, demands: Sequence[Demand]) -> list[tuple[str, ...]]: ...


ProfileLoader = Callable[[], list[Profile]]


def default_scorer_factory(model: str) -> Callable[[], Scorer]:
    """A factory loading the named model through the scoring core."""

    def factory() -> Scorer:
        from models.pipeline import make_scorer  # noqa: PLC0415  (heavy: torch)

        return make_scorer(model)

    return factory


class MatchEngine:
    """Thread-safe holder of the fitted scorer and the profile list it was fit on.

    ``profiles_fit`` (the list passed to ``fit``) gives the column order of
    ``score``'s ``(n_demands, n_profiles)`` matrix.
    """

    def __init__(self, factory: Callable[[], Scorer], load_profiles: ProfileLoader, model_name: str = "") -> None:
        self.model_name = model_name
        self._factory = factory
        self._load_profiles = load_profiles
        self._scorer: Scorer | None = None
        self._profiles: list[Profile] = []
        self._generation = 0          # bumped on every profile change
        self._fit_generation = -1     # generation the scorer was fit on
        self._lock = threading.RLock()
        self._refitter: ThreadPoolExecutor | None = None
        self._pending: Future | None = None
        self.last_error: str | None = None

    # -- life cycle ---------------------------------------------------------
    def start(self, warm: bool = True) -> None:
        """Load the model (slow, once); then fit on the stored profiles in the background."""
        with self._lock:
            if self._refitter is None:
                self._refitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xfd-refit")
            if self._scorer is None:
                self._scorer = self._factory()
        if warm:
            self.invalidate()

    def close(self) -> None:
        with self._lock:
            refitter, self._refitter = self._refitter, None
        if refitter is not None:
            refitter.shutdown(wait=False, cancel_futures=True)

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    # -- freshness ----------------------------------------------------------
    def invalidate(self) -> None:
        """Profiles changed: refit soon in the background (coalesced)."""
        with self._lock:
            self._generation += 1
            if self._refitter is None or (self._pending is not None and not self._pending.done()):
                return  # not started (the next query refits) or a refit is already queued
            try:
                self._pending = self._refitter.submit(self._refresh_quietly)
            except RuntimeError:  # shut down
                self._pending = None

    def _refresh_quietly(self) -> None:
        try:
            self._ensure_fitted()
        except Exception as exc:  # noqa: BLE001  (kept; the next request retries and reports)
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("refit failed")

    def _ensure_fitted(self) -> tuple[Scorer | None, list[Profile]]:
        with self._lock:
            if self._scorer is None:
                self._scorer = self._factory()
            while self._fit_generation != self._generation:
                generation = self._generation
                profiles = self._load_profiles()
                if profiles:
                    self._scorer.fit(profiles)
                self._profiles = profiles
                self._fit_generation = generation
                self.last_error = None
            return (self._scorer if self._profiles else None), self._profiles

    # -- queries ------------------------------------------------------------
    def recommend(self, demand: Demand, k: int) -> DemandMatches:
        """Top ``k`` profiles for one demand (``k`` = 0: all), best first."""
        with self._lock:
            scorer, profiles = self._ensure_fitted()
            if scorer is None:
                return DemandMatches(demand.id, ())
            top_k = len(profiles) if k <= 0 else min(k, len(profiles))
            return scorer.rank([demand], top_k=top_k)[0]

    def score(self, demands: Sequence[Demand]) -> tuple[list[Profile], np.ndarray, list[tuple[str, ...]]]:
        """``(profiles, scores (n_demands, n_profiles), required disciplines per demand)``."""
        with self._lock:
            scorer, profiles = self._ensure_fitted()
            if scorer is None or not demands:
                return profiles, np.zeros((len(demands), len(profiles)), dtype=np.float64), [tuple(d.disciplines) for d in demands]
            scores = np.asarray(scorer.score(list(demands)), dtype=np.float64)
            required = [tuple(r) for r in scorer.required_disciplines(list(demands))]
            return list(profiles), scores, required
