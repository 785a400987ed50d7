"""Test doubles for the service: a tiny lexical scorer and a greedy planner.

They follow the interfaces of ``models.pipeline.MatchScorer`` and
``matching.assign.plan_teams``/``plan_to_json`` closely enough to exercise
every route without loading a neural model.  Not used in production.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from xfd.matching.encoders import HashingEncoder
from xfd.matching.types import Demand, DemandMatches, Evidence, Match, Profile

_TOKEN = re.compile(r"[A-Za-z0-9]+|[\u4e00-\u9fff]")


def _bigrams(text: str) -> set[str]:
    toks = _TOKEN.findall(text.lower())
    return {a + b for a, b in zip(toks, toks[1:])} | {t for t in toks if len(t) > 1}


class FakeScorer(BaseEstimator):
    """Scores = share of the demand's character bigrams found in a profile's texts.

    An estimator like the real scorer: the service fits ``sklearn.base.clone`` copies."""

    def __init__(self) -> None:
        self.fit_calls = 0

    def fit(self, profiles: Sequence[Profile]) -> "FakeScorer":
        self.fit_calls += 1
        self.profiles_ = list(profiles)
        self.docs_ = [
            [(d.title or d.text[:30], _bigrams(d.full_text)) for d in p.documents]
            + [("keywords", _bigrams(" ".join(p.keywords + p.skills + (p.major,))))]
            for p in self.profiles_
        ]
        return self

    def score(self, demands: Sequence[Demand]) -> np.ndarray:
        out = np.zeros((len(demands), len(self.profiles_)))
        for i, d in enumerate(demands):
            q = _bigrams(d.text)
            for j, docs in enumerate(self.docs_):
                best = max((len(q & grams) for _, grams in docs), default=0)
                out[i, j] = best / (len(q) or 1)
        return out

    def rank(self, demands: Sequence[Demand], top_k: int) -> list[DemandMatches]:
        scores = self.score(demands)
        result = []
        for i, d in enumerate(demands):
            q = _bigrams(d.text)
            order = np.argsort(-scores[i], kind="stable")[: top_k if top_k > 0 else None]
            matches = []
            for j in order:
                ev = tuple(
                    Evidence(title, tuple(sorted(q & grams))[:5]) for title, grams in self.docs_[j] if q & grams
                )[:2]
                matches.append(Match(self.profiles_[j].id, float(scores[i, j]), ev))
            result.append(DemandMatches(d.id, tuple(matches)))
        return result

    def required_disciplines(self, demands: Sequence[Demand]) -> list[tuple[str, ...]]:
        return [tuple(d.disciplines or ()) for d in demands]


def greedy_planner(profiles: Sequence[Profile], demands: Sequence[Demand], scores: np.ndarray,
                   required: Sequence[tuple[str, ...]], solver: str = "greedy", continuity_bonus: float = 0.0) -> dict[str, Any]:
    """A feasible (not optimal) plan in the INTERFACES plan shape."""
    load = {p.id: 0 for p in profiles}
    teams, unassigned, objective = [], [], 0.0
    for i, d in enumerate(demands):
        lo, hi = d.team_size
        order = [j for j in np.argsort(-scores[i], kind="stable")
                 if load[profiles[j].id] < profiles[j].capacity and d.enterprise not in profiles[j].conflicts]
        chosen = order[:hi]
        if len(chosen) < lo or not any(profiles[j].is_teacher for j in chosen):
            unassigned.append({"demand_id": d.id, "reason": "not enough free profiles"})
            continue
        members = []
        for rank, j in enumerate(chosen):
            load[profiles[j].id] += 1
            objective += float(scores[i, j])
            members.append({"profile_id": profiles[j].id, "role": "lead" if rank == 0 else "member",
                            "score": float(scores[i, j]), "covers": [x for x in profiles[j].disciplines if x in required[i]]})
        teams.append({"demand_id": d.id, "members": members, "missing_disciplines": []})
    return {"objective": objective, "teams": teams, "unassigned": unassigned, "moves": []}


class RecordingEncoder(HashingEncoder):
    """A HashingEncoder that records every (role, text) it is asked to encode (``seen``)."""

    def __init__(self, dim: int = 32, name: str = "rec") -> None:
        super().__init__(dim, name)
        self.seen: list[tuple[str, str]] = []

    def encode(self, texts, role="passage"):
        self.seen.extend((role, t) for t in texts)
        return super().encode(texts, role)


def reset_database(url: str) -> None:
    """Drop every table of ``url`` (a throw-away test database)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()
