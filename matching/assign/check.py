"""Independent checker of the hard constraints (used by tests and benchmarks)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from xfd.matching.assign.problem import TeamProblem


class Violation(NamedTuple):
    """One broken hard constraint.  ``demand``/``profile`` are row/col or -1."""

    kind: str   # capacity | duplicate | forbidden | no_teacher | size | students | grades | coverage | index
    demand: int
    profile: int
    detail: str


def check_plan(problem: TeamProblem, members: Sequence[Sequence[int]]) -> list[Violation]:
    """All violations of the INTERFACES hard constraints by ``members``
    (``members[i]``: profile columns of demand i's team, empty when unstaffed)."""
    out: list[Violation] = []
    D, P = problem.n_demands, problem.n_profiles
    if len(members) != D:
        return [Violation("index", -1, -1, f"{len(members)} teams for {D} demands")]
    used = np.zeros(P, dtype=np.int64)
    for d, m in enumerate(members):
        m = [int(j) for j in m]
        if not m:
            continue
        bad = [j for j in m if not 0 <= j < P]
        if bad:
            out.append(Violation("index", d, bad[0], f"profile column {bad[0]} out of range"))
            continue
        if len(set(m)) != len(m):
            dup = next(j for j in m if m.count(j) > 1)
            out.append(Violation("duplicate", d, dup, "profile placed twice in one team"))
        u = sorted(set(m))
        used[u] += 1
        for j in u:
            if problem.forbidden[d, j]:
                out.append(Violation("forbidden", d, j, "conflict of interest"))
        if not problem.is_teacher[u].any():
            out.append(Violation("no_teacher", d, -1, "team has no teacher"))
        if not problem.size_min[d] <= len(m) <= problem.size_max[d]:
            out.append(Violation("size", d, -1, f"size {len(m)} outside "
                                 f"[{problem.size_min[d]}, {problem.size_max[d]}]"))
        stud = [j for j in u if not problem.is_teacher[j]]
        lo, hi = int(problem.students_min[d]), int(problem.students_max[d])
        if not lo <= len(stud) <= hi:
            out.append(Violation("students", d, -1, f"{len(stud)} students outside [{lo}, {hi}]"))
        n_g = len({int(problem.grade[j]) for j in stud if problem.grade[j] > 0})
        want = min(int(problem.distinct_grades[d]), len(stud))
        if n_g < want:
            out.append(Violation("grades", d, -1, f"students from {n_g} grades, at least {want} asked"))
        for k in np.nonzero(problem.required[d])[0]:
            if not problem.covers[u, k].any():
                out.append(Violation("coverage", d, -1, f"discipline column {k} not covered"))
    for j in np.nonzero(used > problem.capacity)[0]:
        out.append(Violation("capacity", -1, int(j),
                             f"serves {used[j]} teams, capacity {problem.capacity[j]}"))
    return out
