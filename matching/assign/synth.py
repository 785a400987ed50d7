"""Synthetic but structured batches for tests and benchmarks (no real data).

``make_batch(n_demands, seed)`` returns profiles, demands, a score matrix and
required disciplines shaped like the real thing: 12 disciplines, about three
profiles per demand (40 % teachers with capacity 2, 60 % students with
capacity 1 and grades 1..4), conflicts, current teams for a fifth of the
demands, and scores from topic vectors (pairs sharing disciplines score higher).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from xfd.matching.types import Demand, Profile

DISCIPLINES: tuple[str, ...] = (
    "机械工程", "计算机科学与技术", "控制科学与工程", "材料科学与工程", "化学工程与技术",
    "电气工程", "环境科学与工程", "食品科学与工程", "作物学", "土木工程", "海洋科学", "管理科学与工程",
)


class Batch(NamedTuple):
    profiles: list[Profile]
    demands: list[Demand]
    scores: np.ndarray            # (n_demands, n_profiles) in [0, 1]
    required: list[tuple[str, ...]]


def make_batch(n_demands: int, seed: int = 0, profiles_per_demand: float = 3.0,
               teacher_share: float = 0.4, conflict_rate: float = 0.1,
               continuity_share: float = 0.2) -> Batch:
    rng = np.random.default_rng(seed)
    K = len(DISCIPLINES)
    pop = rng.dirichlet(np.full(K, 2.0))            # some disciplines are popular
    topic = rng.normal(size=(K, 16))
    n_p = max(4, int(round(profiles_per_demand * n_demands)))
    n_ent = max(1, n_demands // 3)
    profiles: list[Profile] = []
    pvec = np.zeros((n_p, 16))
    n_t = int(round(teacher_share * n_p))
    for j in range(n_p):
        teacher = j < n_t
        nd = rng.integers(1, 3) if teacher else 1
        ds = rng.choice(K, size=nd, replace=False, p=pop)
        pvec[j] = topic[ds].sum(axis=0) + rng.normal(scale=0.8, size=16)
        conf = tuple(f"E{int(e):04d}" for e in rng.integers(0, n_ent, size=rng.poisson(conflict_rate * 3))) if teacher else ()
        if teacher:
            profiles.append(Profile(id=f"T{j:05d}", kind="teacher", capacity=2,
                                    disciplines=tuple(DISCIPLINES[k] for k in ds), conflicts=conf,
                                    keywords=("x",)))
        else:
            profiles.append(Profile(id=f"S{j:05d}", kind="student", capacity=1,
                                    grade=int(rng.integers(1, 5)),
                                    disciplines=tuple(DISCIPLINES[k] for k in ds), major=DISCIPLINES[ds[0]]))
    demands: list[Demand] = []
    required: list[tuple[str, ...]] = []
    dvec = np.zeros((n_demands, 16))
    for i in range(n_demands):
        nd = int(rng.choice([1, 2, 3], p=[0.3, 0.5, 0.2]))
        ds = rng.choice(K, size=nd, replace=False, p=pop)
        dvec[i] = topic[ds].sum(axis=0) + rng.normal(scale=0.8, size=16)
        req = tuple(DISCIPLINES[k] for k in ds)
        required.append(req)
        cur: tuple[str, ...] = ()
        if rng.random() < continuity_share:
            cur = tuple(profiles[int(j)].id for j in rng.choice(n_p, size=3, replace=False))
        demands.append(Demand(id=f"D{i:05d}", title=f"需求 {i}", enterprise=f"E{int(rng.integers(0, n_ent)):04d}",
                              disciplines=req, team_size=(3, 5), current_team=cur))
    pn = pvec / np.linalg.norm(pvec, axis=1, keepdims=True)
    dn = dvec / np.linalg.norm(dvec, axis=1, keepdims=True)
    cos = dn @ pn.T
    scores = 1.0 / (1.0 + np.exp(-4.0 * (cos - 0.2)))
    scores = np.clip(scores + rng.normal(scale=0.03, size=scores.shape), 0.0, 1.0)
    return Batch(profiles, demands, scores, required)
