"""Shared fixtures of the team-solver tests: random small problems, a brute
force by dynamic programming over capacity states, a hand-sized problem."""
from __future__ import annotations

import itertools

import numpy as np

from xfd.matching.assign import TeamProblem
from xfd.matching.assign.solve import SolveOptions

EXACT = SolveOptions(grade_bonus=0.0, tie_break=0.0)


def random_problem(seed: int, rules: bool = False) -> TeamProblem:
    """2-3 demands, 5-7 profiles, 3 disciplines; ``rules`` adds random student
    bounds and grade rules (and some students without a grade)."""
    rng = np.random.default_rng(seed)
    D = int(rng.integers(2, 4))
    P = int(rng.integers(5, 8))
    K = 3
    is_teacher = rng.random(P) < 0.45
    is_teacher[rng.integers(P)] = True
    capacity = rng.integers(1, 3, size=P) * (rng.random(P) < 0.95)
    size_min = rng.integers(1, 4, size=D)
    size_max = size_min + rng.integers(0, 3, size=D)
    grade = np.where(is_teacher, 0, rng.integers(1, 5, size=P)).astype(np.int64)
    extra = {}
    if rules:
        grade = np.where(is_teacher, 0, rng.integers(0 if seed % 3 == 0 else 1, 4, size=P)).astype(np.int64)
        s_min = rng.integers(0, 3, size=D)
        extra = dict(students_min=s_min.astype(np.int64),
                     students_max=(s_min + rng.integers(0, 3, size=D)).astype(np.int64),
                     distinct_grades=rng.integers(0, 4, size=D).astype(np.int64))
    return TeamProblem(
        scores=np.round(rng.random((D, P)), 3),
        is_teacher=is_teacher,
        capacity=capacity.astype(np.int64),
        forbidden=rng.random((D, P)) < 0.15,
        covers=rng.random((P, K)) < 0.4,
        required=rng.random((D, K)) < 0.35,
        size_min=size_min.astype(np.int64),
        size_max=size_max.astype(np.int64),
        grade=grade,
        current=rng.random((D, P)) < 0.2,
        **extra,
    ).validate()


def feasible_teams(pb: TeamProblem, d: int) -> list[tuple[int, ...]]:
    ok = [j for j in range(pb.n_profiles) if not pb.forbidden[d, j] and pb.capacity[j] > 0]
    out: list[tuple[int, ...]] = [()]
    for r in range(max(1, pb.size_min[d]), pb.size_max[d] + 1):
        for t in itertools.combinations(ok, r):
            if not pb.is_teacher[list(t)].any():
                continue
            if not pb.covers[list(t)][:, pb.required[d]].any(axis=0).all():
                continue
            studs = [j for j in t if not pb.is_teacher[j]]
            if not pb.students_min[d] <= len(studs) <= pb.students_max[d]:
                continue
            if len({pb.grade[j] for j in studs if pb.grade[j] > 0}) < min(pb.distinct_grades[d], len(studs)):
                continue
            out.append(t)
    return out


def brute_force(pb: TeamProblem, bonus: float) -> tuple[int, float]:
    """(most demands staffed, best sum of score + bonus*current) by DP over capacity states."""
    w = pb.scores + bonus * pb.current
    states: dict[tuple[int, ...], tuple[int, float]] = {tuple(int(c) for c in pb.capacity): (0, 0.0)}
    for d in range(pb.n_demands):
        nxt: dict[tuple[int, ...], tuple[int, float]] = {}
        teams = feasible_teams(pb, d)
        for cap, (n, v) in states.items():
            for t in teams:
                if any(cap[j] == 0 for j in t):
                    continue
                c2 = list(cap)
                for j in t:
                    c2[j] -= 1
                key = tuple(c2)
                val = (n + (1 if t else 0), v + float(sum(w[d, j] for j in t)))
                old = nxt.get(key)
                if old is None or val > old:
                    nxt[key] = val
        states = nxt
    return max(states.values())


def solution_key(pb: TeamProblem, members, bonus: float) -> tuple[int, float]:
    w = pb.scores + bonus * pb.current
    return (sum(m.size > 0 for m in members), float(sum(w[d, m].sum() for d, m in enumerate(members))))


#: One initial candidate per demand and one new column per pricing round: the
#: LP must recover every pruned column by pricing alone.
PRUNED_OPTS = SolveOptions(grade_bonus=0.0, tie_break=0.0, candidates=1, per_discipline=1, teachers=1,
                           per_profile=0, per_round=1, cg_tol=0.0)


def small_problem(**over) -> TeamProblem:
    """2 demands, 6 profiles (T0..T2 teachers, S3..S5 students), 2 disciplines."""
    base = dict(
        scores=np.array([[0.9, 0.5, 0.4, 0.8, 0.7, 0.2],
                         [0.6, 0.9, 0.3, 0.1, 0.5, 0.9]]),
        is_teacher=np.array([True, True, True, False, False, False]),
        capacity=np.array([1, 1, 1, 1, 1, 1]),
        forbidden=np.zeros((2, 6), dtype=bool),
        covers=np.array([[1, 0], [0, 1], [1, 1], [1, 0], [0, 1], [0, 0]], dtype=bool),
        required=np.array([[1, 1], [0, 1]], dtype=bool),
        size_min=np.array([2, 2]), size_max=np.array([3, 3]),
        grade=np.array([0, 0, 0, 1, 2, 3]),
        current=np.zeros((2, 6), dtype=bool),
    )
    base.update(over)
    return TeamProblem(**base).validate()


def teams_of(sol):
    return [sorted(m.tolist()) for m in sol.members]
