"""The greedy baseline, the greedy team completion the other solvers repair
with, and the grade-mix post-pass.

``greedy``: demands in order of their best score; a lead, then the best free
member per uncovered discipline, then fill.  For comparison only (no
look-ahead, no optimality claim).
"""
from __future__ import annotations

import time

import numpy as np

from xfd.matching.assign.common import (
    eligible_mask,
    grade_rule_ok,
    individually_feasible,
    pair_weights,
    plan_value,
    staffed_count,
    team_feasible,
)
from xfd.matching.assign.options import Solution, SolveOptions, SolveStats, SolveStatus
from xfd.matching.assign.problem import TeamProblem


class _Team:
    """Demand d's team under construction: members, student count, grades.

    :meth:`can_add` keeps every rule that adding members cannot repair later:
    at most size_max members, at most ``students_max`` students (and a seat
    left for a teacher), seats left for the students still needed, and the
    grade rule after each student (any allowed team can be built in an order
    that keeps it: distinct grades first).
    """

    def __init__(self, problem: TeamProblem, d: int, start: list[int]) -> None:
        self.pb, self.d = problem, d
        self.members: list[int] = []
        self.n_s = 0
        self.grades: set[int] = set()
        self.has_teacher = False
        self.smax = int(problem.size_max[d])
        self.s_lo = int(problem.students_min[d])
        self.s_hi = min(int(problem.students_max[d]), self.smax - 1)
        self.G = int(problem.distinct_grades[d])
        for j in start:
            self.add(int(j))

    def add(self, j: int) -> None:
        self.members.append(j)
        if self.pb.is_teacher[j]:
            self.has_teacher = True
        else:
            self.n_s += 1
            if self.pb.grade[j] > 0:
                self.grades.add(int(self.pb.grade[j]))

    def can_add(self, j: int) -> bool:
        if len(self.members) >= self.smax:
            return False
        if self.pb.is_teacher[j]:
            return self.smax - len(self.members) - 1 >= self.s_lo - self.n_s
        if self.n_s + 1 > self.s_hi:
            return False
        g = int(self.pb.grade[j])
        ng = len(self.grades) + (1 if g > 0 and g not in self.grades else 0)
        return grade_rule_ok(self.n_s + 1, ng, self.G)

    def best(self, cand_mask: np.ndarray, wd: np.ndarray, tries: int = 64) -> int | None:
        """Add and return the best-weight candidate that :meth:`can_add` allows."""
        cand = np.nonzero(cand_mask)[0]
        if cand.size > tries:
            cand = cand[np.argpartition(-wd[cand], tries - 1)[:tries]]
        for j in cand[np.argsort(-wd[cand], kind="stable")].tolist():
            if self.can_add(j):
                self.add(j)
                return j
        return None

    def fill(self, avail: np.ndarray, wd: np.ndarray) -> None:
        """Up to size_max members: positive-weight candidates, and any until size_min."""
        smin = int(self.pb.size_min[self.d])
        k = 4 * self.smax + 16
        pools = [np.nonzero(avail & self.pb.is_teacher)[0], np.nonzero(avail & ~self.pb.is_teacher)[0]]
        ranked = []
        for c in pools:
            if c.size > k:
                c = c[np.argpartition(-wd[c], k - 1)[:k]]
            ranked.append(c)
        order = np.concatenate(ranked)
        order = order[np.argsort(-wd[order], kind="stable")].tolist()
        for _ in range(2):   # a second pass: a student blocked by the grade rule may fit now
            for j in order:
                if len(self.members) >= self.smax:
                    return
                if j in self.members or not (len(self.members) < smin or wd[j] > 0):
                    continue
                if self.can_add(j):
                    self.add(j)


def greedy_fill(problem: TeamProblem, w: np.ndarray, d: int, left: np.ndarray,
                start: list[int]) -> list[int] | None:
    """Complete team ``start`` of demand d from free capacity ``left``; None if impossible.

    A lead, then the best member per uncovered discipline (scarcest first),
    the students ``students_min`` asks for (new grades first where the grade
    rule needs them), then positive-weight members up to size_max.
    """
    avail = eligible_mask(problem, slice(d, d + 1))[0] & (left > 0)
    avail[list(start)] = False
    wd = w[d]
    team = _Team(problem, d, list(start))
    if len(team.members) > team.smax:
        return None
    if not team.has_teacher and team.best(avail & problem.is_teacher, wd) is None:
        return None
    avail[team.members] = False
    need = problem.required[d] & ~problem.covers[team.members].any(axis=0)
    for k in sorted(np.nonzero(need)[0], key=lambda k: int((avail & problem.covers[:, k]).sum())):
        if problem.covers[team.members, k].any():
            continue
        j = team.best(avail & problem.covers[:, k], wd)
        if j is None:
            return None
        avail[j] = False
    stud = ~problem.is_teacher
    while team.n_s < team.s_lo:
        mask = avail & stud
        if not grade_rule_ok(team.n_s + 1, len(team.grades), team.G):
            mask &= (problem.grade > 0) & ~np.isin(problem.grade, list(team.grades))
        j = team.best(mask, wd)
        if j is None:
            return None
        avail[j] = False
    team.fill(avail, wd)
    if not team_feasible(problem, d, np.array(sorted(team.members), dtype=np.int64)):
        return None
    return team.members


def top_up(problem: TeamProblem, w: np.ndarray, d: int, left: np.ndarray, start: list[int]) -> list[int]:
    """Feasible team ``start`` plus positive-weight free members where the rules allow."""
    avail = eligible_mask(problem, slice(d, d + 1))[0] & (left > 0)
    avail[list(start)] = False
    team = _Team(problem, d, list(start))
    team.fill(avail, w[d])
    return team.members


def solve_greedy(problem: TeamProblem, opts: SolveOptions) -> Solution:
    """Baseline: demands by best score, lead + coverage + fill, no look-ahead."""
    t0 = time.perf_counter()
    problem.validate()
    w = pair_weights(problem, opts)
    ok = individually_feasible(problem)
    left = problem.capacity.astype(np.int64).copy()
    members = [np.zeros(0, dtype=np.int64) for _ in range(problem.n_demands)]
    best = np.where(eligible_mask(problem), w, -1.0).max(axis=1, initial=-1.0)
    for d in np.argsort(-best, kind="stable"):
        if not ok[d]:
            continue
        team = greedy_fill(problem, w, int(d), left, [])
        if team is None:
            continue
        team_a = np.array(sorted(team), dtype=np.int64)
        members[d] = team_a
        left[team_a] -= 1
    st = SolveStats(solver="greedy", active_demands=int(ok.sum()))
    st.staffed = staffed_count(members)
    st.seconds = time.perf_counter() - t0
    st.status = SolveStatus.HEURISTIC
    return Solution(members, plan_value(problem, w, members, 0.0), None, st)


def grade_mix(problem: TeamProblem, w: np.ndarray, members: list[np.ndarray],
              gb: float, rounds: int = 3) -> tuple[list[np.ndarray], int]:
    """Tie-break towards students of several grades, after optimising.

    In a team where two students share a grade, swap the weaker of them for a
    free eligible student of a grade not yet in the team when that costs at
    most ``gb`` of weight and keeps every required discipline covered.
    Returns (new members, number of swaps); the objective moves by at most
    ``gb`` per swap.
    """
    left = problem.capacity.astype(np.int64).copy()
    for m in members:
        left[m] -= 1
    out = [m.copy() for m in members]
    stud_all = ~problem.is_teacher & (problem.grade > 0)
    swaps = 0
    for d, m in enumerate(out):
        for _ in range(rounds):
            if m.size == 0:
                break
            st_ = m[stud_all[m]]
            g = problem.grade[st_]
            vals, cnt = np.unique(g, return_counts=True)
            dup = st_[np.isin(g, vals[cnt > 1])]
            if dup.size == 0:
                break
            cand = stud_all & (left > 0) & ~problem.forbidden[d] & ~np.isin(problem.grade, vals)
            cand[m] = False
            ci = np.nonzero(cand)[0]
            if ci.size == 0:
                break
            c = int(ci[np.argmax(w[d, ci])])
            done = False
            for s_ in dup[np.argsort(w[d, dup])]:
                if w[d, c] < w[d, s_] - gb:
                    break
                new = np.sort(np.concatenate([m[m != s_], [c]]))
                if team_feasible(problem, d, new):
                    left[c] -= 1
                    left[s_] += 1
                    out[d] = m = new
                    swaps += 1
                    done = True
                    break
            if not done:
                break
    return out, swaps
