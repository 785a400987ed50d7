"""Why a demand cannot be staffed: before solving (pool vs. needs) and after.

Messages are Chinese with English alongside, one line each.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xfd.matching.assign.common import eligible_mask, individually_feasible, students_cap
from xfd.matching.assign.encode import Index
from xfd.matching.assign.problem import TeamProblem


@dataclass(frozen=True)
class DisciplineBalance:
    """Supply and need of one discipline: profiles covering it with capacity > 0,
    their total capacity (team seats), and how many demands require it."""

    discipline: str
    teachers: int
    students: int
    free_capacity: int
    demands_needing: int

    @property
    def short(self) -> bool:
        return self.free_capacity < self.demands_needing


@dataclass(frozen=True)
class Preflight:
    """``reasons[i]``: why demand row i cannot be staffed even with the whole
    pool to itself (absent when it could)."""

    balance: tuple[DisciplineBalance, ...]
    reasons: dict[int, str]


def discipline_balance(problem: TeamProblem, index: Index) -> tuple[DisciplineBalance, ...]:
    cap = problem.capacity
    live = cap > 0
    cov = problem.covers & live[:, None]
    t = (cov & problem.is_teacher[:, None]).sum(axis=0)
    s = (cov & ~problem.is_teacher[:, None]).sum(axis=0)
    fc = (cov * cap[:, None]).sum(axis=0)
    need = problem.required.sum(axis=0)
    return tuple(DisciplineBalance(k, int(t[i]), int(s[i]), int(fc[i]), int(need[i]))
                 for i, k in enumerate(index.disciplines))


def _reasons_for(problem: TeamProblem, index: Index, d: int, left: np.ndarray,
                 after: bool) -> list[str]:
    """Reasons demand d cannot be staffed from free capacity ``left`` (P,)."""
    ent = index.enterprises[d] or "?"
    live = left > 0
    elig = eligible_mask(problem, slice(d, d + 1))[0] & live
    forb = problem.forbidden[d] & live
    out: list[str] = []
    taken = "，容量已被其他需求占用 (capacity taken by other demands)" if after else ""
    if problem.size_max[d] < 1:
        return ["团队人数上限为 0 team_size upper bound is 0"]
    if not elig.any():
        if forb.any():
            return [f"所有候选人均与企业 {ent} 存在利益冲突 every candidate has a conflict of interest with {ent}"]
        return ["没有空闲的教师或学生" + taken + " no free teacher or student"]
    if not (elig & problem.is_teacher).any():
        if (forb & problem.is_teacher).any():
            out.append(f"所有空闲教师均与企业 {ent} 存在利益冲突 every free teacher has a conflict of interest with {ent}")
        else:
            out.append("没有空闲的教师" + taken + " no free teacher")
    for k in np.nonzero(problem.required[d])[0]:
        name = index.disciplines[k]
        if not (elig & problem.covers[:, k]).any():
            if (forb & problem.covers[:, k]).any():
                out.append(f"覆盖“{name}”的空闲成员均与企业 {ent} 存在利益冲突 "
                           f"every free member covering {name} has a conflict of interest with {ent}")
            else:
                out.append(f"没有空闲的教师覆盖“{name}”{taken} no free teacher covers {name}")
    out += _student_reasons(problem, d, elig, taken)
    n_t = int((elig & problem.is_teacher).sum())
    n_s = int((elig & ~problem.is_teacher).sum())
    n = n_t + min(n_s, int(students_cap(problem)[d]))
    need = max(int(problem.size_min[d]), 1)
    if n < need:
        out.append(f"可用成员不足 {need} 人 fewer than {need} eligible members")
    return out


def _student_reasons(problem: TeamProblem, d: int, elig: np.ndarray, taken: str) -> list[str]:
    """Reasons from ``students`` and ``distinct_grades`` (eligible members ``elig``)."""
    s_min, size_max = int(problem.students_min[d]), int(problem.size_max[d])
    if s_min > size_max - 1:
        return [f"团队人数上限 {size_max} 容纳不下 1 名教师和 {s_min} 名学生 "
                f"team_size upper bound {size_max} leaves no room for a teacher and {s_min} students"]
    stud = elig & ~problem.is_teacher
    n_s = int(stud.sum())
    if n_s < s_min:
        return [f"没有足够的空闲学生（需要 {s_min} 名，可用 {n_s} 名）{taken} "
                f"not enough free students (need {s_min}, {n_s} free)"]
    n_t = int((elig & problem.is_teacher).sum())
    lo = max(s_min, int(problem.size_min[d]) - n_t, 0)
    G = int(problem.distinct_grades[d])
    n_g = np.unique(problem.grade[stud & (problem.grade > 0)]).size
    need = lo if lo <= G else G
    if lo > 0 and n_g < need:
        return [f"空闲学生的年级不足 {need} 个（只有 {n_g} 个）{taken} "
                f"fewer than {need} distinct grades among free students ({n_g})"]
    return []


def preflight(problem: TeamProblem, index: Index) -> Preflight:
    """Compare the pool with what demands need; reasons for hopeless demands."""
    reasons: dict[int, str] = {}
    cap = problem.capacity.astype(np.int64)
    ok = individually_feasible(problem)
    for d in np.nonzero(~ok)[0]:
        r = _reasons_for(problem, index, int(d), cap, after=False)
        reasons[int(d)] = "；".join(r) if r else "无法组队 cannot be staffed"
    return Preflight(discipline_balance(problem, index), reasons)


def explain_unstaffed(problem: TeamProblem, index: Index, members: Sequence[np.ndarray],
                      d: int, balance: Sequence[DisciplineBalance] = ()) -> str:
    """Why demand d (which passed preflight) was left out of the plan ``members``."""
    used = np.zeros(problem.n_profiles, dtype=np.int64)
    for m in members:
        used[m] += 1
    left = problem.capacity.astype(np.int64) - used
    r = _reasons_for(problem, index, d, left, after=True)
    short = {b.discipline for b in balance if b.short}
    for k in np.nonzero(problem.required[d])[0]:
        name = index.disciplines[k]
        if name in short:
            r.append(f"“{name}”的总容量少于需要它的需求数 total capacity covering {name} "
                     f"is below the number of demands needing it")
    if not r:
        r = ["与其他需求争用同一批成员，容量已被更高价值的需求占用 capacity taken by higher-value "
             "demands: staffing it would leave another demand unstaffed"]
    return "；".join(r)
