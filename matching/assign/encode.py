"""Encoding: profiles/demands/scores (ids, strings) -> :class:`TeamProblem` arrays.

Team-kind profiles (``kind="team"``) are not placed as individual members in
v1: they stay in the arrays (so columns line up with the score matrix) but get
capacity 0.  Their member profiles, when listed separately as teachers and
students, are placed individually.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xfd.matching.assign.problem import TeamProblem
from xfd.matching.types import Demand, Profile


@dataclass(frozen=True)
class Index:
    """Maps array rows/cols back to ids and strings.

    ``demand_ids[i]`` is row i, ``profile_ids[j]`` column j,
    ``disciplines[k]`` discipline column k; ``enterprises[i]`` the enterprise
    of demand i; ``required[i]`` the required disciplines of demand i in
    input order; ``kinds[j]`` the profile kind; ``current_team[i]`` the ids of
    demand i's current team as given (ids absent from the profiles are kept).
    """

    demand_ids: tuple[str, ...]
    profile_ids: tuple[str, ...]
    disciplines: tuple[str, ...]
    enterprises: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...]
    current_team: tuple[tuple[str, ...], ...]

    def demand_row(self) -> dict[str, int]:
        return {d: i for i, d in enumerate(self.demand_ids)}

    def profile_col(self) -> dict[str, int]:
        return {p: j for j, p in enumerate(self.profile_ids)}


def encode_problem(
    profiles: Sequence[Profile],
    demands: Sequence[Demand],
    scores: np.ndarray,
    required: Sequence[tuple[str, ...]],
) -> tuple[TeamProblem, Index]:
    """Build the arrays of one batch.

    ``scores`` is (len(demands), len(profiles)) in [0, 1], rows in demand
    order, columns in profile order; ``required[i]`` the disciplines demand i
    must cover (explicit or inferred); each demand's ``students`` and
    ``distinct_grades`` become hard bounds.  Discipline columns are the union of
    all required disciplines (sorted); a profile covers one when it is listed
    verbatim in its own ``disciplines``.  Raises ValueError naming both
    values when sizes disagree or ids repeat.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_d, n_p = len(demands), len(profiles)
    if scores.ndim != 2 or scores.shape != (n_d, n_p):
        raise ValueError(
            f"scores has shape {scores.shape} but there are {n_d} demands and {n_p} profiles")
    if len(required) != n_d:
        raise ValueError(f"required has {len(required)} entries but there are {n_d} demands")
    pids = [p.id for p in profiles]
    dids = [d.id for d in demands]
    for what, ids in (("profile", pids), ("demand", dids)):
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise ValueError(f"duplicate {what} id {i!r}")
            seen.add(i)
    req_t = tuple(tuple(dict.fromkeys(str(x) for x in r)) for r in required)
    disc = tuple(sorted({k for r in req_t for k in r}))
    kcol = {k: i for i, k in enumerate(disc)}
    pcol = {p: j for j, p in enumerate(pids)}

    covers = np.zeros((n_p, len(disc)), dtype=bool)
    is_teacher = np.zeros(n_p, dtype=bool)
    capacity = np.zeros(n_p, dtype=np.int64)
    grade = np.zeros(n_p, dtype=np.int64)
    conflicts: dict[str, list[int]] = {}
    for j, p in enumerate(profiles):
        for k in p.disciplines:
            c = kcol.get(k)
            if c is not None:
                covers[j, c] = True
        is_teacher[j] = p.kind == "teacher"
        capacity[j] = 0 if p.kind == "team" else max(0, int(p.capacity))
        if p.kind == "student" and p.grade is not None:
            grade[j] = min(max(int(p.grade), 0), 4)
        for e in p.conflicts:
            conflicts.setdefault(e, []).append(j)

    requiredm = np.zeros((n_d, len(disc)), dtype=bool)
    forbidden = np.zeros((n_d, n_p), dtype=bool)
    current = np.zeros((n_d, n_p), dtype=bool)
    size_min = np.zeros(n_d, dtype=np.int64)
    size_max = np.zeros(n_d, dtype=np.int64)
    st_min = np.zeros(n_d, dtype=np.int64)
    st_max = np.zeros(n_d, dtype=np.int64)
    grades_min = np.zeros(n_d, dtype=np.int64)
    for i, d in enumerate(demands):
        for k in req_t[i]:
            requiredm[i, kcol[k]] = True
        if d.enterprise and d.enterprise in conflicts:
            forbidden[i, conflicts[d.enterprise]] = True
        for m in d.current_team:
            j = pcol.get(m)
            if j is not None:
                current[i, j] = True
        lo, hi = d.team_size
        size_min[i], size_max[i] = int(lo), int(hi)
        st_min[i], st_max[i] = (int(x) for x in d.students)
        grades_min[i] = int(d.distinct_grades)

    problem = TeamProblem(
        scores=scores, is_teacher=is_teacher, capacity=capacity, forbidden=forbidden,
        covers=covers, required=requiredm, size_min=size_min, size_max=size_max,
        grade=grade, current=current, students_min=st_min, students_max=st_max,
        distinct_grades=grades_min,
    ).validate()
    index = Index(
        demand_ids=tuple(dids), profile_ids=tuple(pids), disciplines=disc,
        enterprises=tuple(d.enterprise for d in demands), required=req_t,
        kinds=tuple(p.kind for p in profiles),
        current_team=tuple(tuple(d.current_team) for d in demands),
    )
    return problem, index


def drop_uncoverable_inferred(profiles: Sequence[Profile], demands: Sequence[Demand],
                              required: Sequence[tuple[str, ...]]
                              ) -> tuple[list[tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Inferred requirements only where some profile can cover them.

    A demand whose ``disciplines`` is None had its ``required[i]`` inferred
    from its text; an inferred discipline that no placeable profile (teacher
    or student with capacity > 0) declares could never be covered, so it is
    not required.  Explicit disciplines (including ``()``: none required) are
    kept as given.  Returns (the requirements to use, {demand id: the
    disciplines dropped}).
    """
    declared = {k for p in profiles if p.kind != "team" and p.capacity > 0 for k in p.disciplines}
    out: list[tuple[str, ...]] = []
    dropped: dict[str, tuple[str, ...]] = {}
    for d, r in zip(demands, required, strict=True):
        r = tuple(r)
        if d.disciplines is None:
            gone = tuple(k for k in r if k not in declared)
            if gone:
                dropped[d.id] = gone
                r = tuple(k for k in r if k in declared)
        out.append(r)
    return out, dropped

