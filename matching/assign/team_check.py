"""One proposed team for one demand, checked against every hard constraint of a plan.

The office picks a team by hand (``/demands/{id}/proposal``: swaps, pins); before it
is stored it must meet exactly what a solved plan meets (``../shared/INTERFACES.md``,
plan): capacity (counting the profile's ``used`` teams of other demands in the same
semester), at most once per team, no conflict with the demand's enterprise, at least
one teacher, ``team_size``, ``students``, ``distinct_grades`` and exact-string coverage
of the required disciplines.  Team-kind profiles and ids absent from the profiles are
never members.  The arrays and the checker are the solvers' own
(:func:`~xfd.matching.assign.encode.encode_problem`,
:func:`~xfd.matching.assign.check.check_plan`); an accepted team is decoded by
:func:`~xfd.matching.assign.plan.decode_plan`, so its roles, scores, covers,
``missing_disciplines`` and moves are those a batch plan would give the same members.

Pure: no database, no web framework.  Messages are Chinese first, English alongside.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from xfd.matching.assign.check import check_plan
from xfd.matching.assign.encode import drop_uncoverable_inferred, encode_problem
from xfd.matching.assign.options import Solution, SolveStats, SolveStatus
from xfd.matching.assign.plan import decode_plan, plan_to_json
from xfd.matching.assign.preflight import preflight
from xfd.matching.types import Demand, Profile

#: every refusal kind, in the order refusals are listed
KINDS = ("empty", "unknown", "team_kind", "duplicate", "conflict", "capacity", "no_teacher", "size",
         "students", "grades", "coverage")


NO_TEACHER = "缺少教师 no teacher: 小分队至少需要一名教师 a team needs at least one teacher"


def _size_message(n: int, lo: int, hi: int) -> str:
    return f"人数不符 team_size: 小分队有 {n} 名成员，需求要求 {lo}–{hi} 人 the team has {n} members, team_size asks {lo}–{hi}"


class Refusal(NamedTuple):
    """One broken constraint: ``kind`` (one of :data:`KINDS`), the member it is about
    (``""`` for the team as a whole) and a one-line message naming both."""

    kind: str
    profile_id: str
    message: str


class TeamCheck(NamedTuple):
    """``refusals`` (empty when the team may be stored) and, when there are none, the
    one-team plan in the INTERFACES shape (``plan_to_json``)."""

    refusals: tuple[Refusal, ...]
    plan: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return not self.refusals


def with_capacity_left(profiles: Sequence[Profile], used: Mapping[str, int]) -> list[Profile]:
    """``profiles`` with each capacity reduced by ``used[id]`` (teams it already serves), never below 0."""
    out = []
    for p in profiles:
        n = int(used.get(p.id, 0))
        out.append(dataclasses.replace(p, capacity=max(0, int(p.capacity) - n)) if n else p)
    return out


def check_team(profiles: Sequence[Profile], demand: Demand, scores: np.ndarray, required: Sequence[str],
               members: Sequence[str], used: Mapping[str, int] | None = None, semester: str = "") -> TeamCheck:
    """Check ``members`` (profile ids, in the order given) as ``demand``'s team.

    ``profiles`` and ``scores`` (one score per profile, in [0, 1]: what ``xfd score``
    gives each (demand, profile) pair) are the scoring index; ``required`` the
    demand's required disciplines (its own, or inferred: inferred ones no profile
    declares are dropped as in :func:`~xfd.matching.assign.plan_teams`); ``used[id]``
    the number of teams of *other* demands the profile already serves in
    ``semester`` (named in the capacity message).  Every broken constraint is a
    :class:`Refusal`; with none, ``plan`` holds the team as a batch plan would.
    """
    used = dict(used or {})
    scores = np.asarray(scores, dtype=np.float64).reshape(1, -1)
    col = {p.id: j for j, p in enumerate(profiles)}
    out: list[Refusal] = []
    cols: list[int] = []
    seen: set[str] = set()
    if not members:
        return TeamCheck((Refusal("empty", "", "小分队没有成员 member: a team needs members"),), None)
    for pid in members:
        j = col.get(pid)
        if pid in seen:
            out.append(Refusal("duplicate", pid, f"成员重复 duplicate: {pid} 在小分队中出现了不止一次 "
                                                 f"{pid} is listed more than once"))
            continue
        seen.add(pid)
        if j is None:
            out.append(Refusal("unknown", pid, f"人员不存在 unknown profile: 没有编号为 {pid} 的教师或学生 "
                                               f"no profile has id {pid}"))
        elif profiles[j].kind == "team":
            out.append(Refusal("team_kind", pid, f"团队档案不能作为成员 team-kind profile: {pid} 是团队档案，"
                                                 f"请改选它的成员 {pid} is a team; its members are placed, never the team"))
        else:
            cols.append(j)
    req, dropped = drop_uncoverable_inferred(profiles, [demand], [tuple(required)])
    problem, index = encode_problem(profiles, [demand], scores, req)
    left = np.array([max(0, int(problem.capacity[j]) - int(used.get(p.id, 0))) for j, p in enumerate(profiles)],
                    dtype=np.int64)
    problem = dataclasses.replace(problem, capacity=left)
    where = f"本学期 {semester} " if semester else "本学期"
    in_sem = f" in {semester}" if semester else " this semester"
    lo, hi = (int(x) for x in demand.team_size)
    s_lo, s_hi = (int(x) for x in demand.students)
    stud = [j for j in cols if not problem.is_teacher[j]]
    kind_of = {"forbidden": "conflict"}
    for v in check_plan(problem, [cols]) if cols else []:
        pid = index.profile_ids[v.profile] if v.profile >= 0 else ""
        if v.kind == "forbidden":
            msg = (f"成员冲突 conflict: {pid} 不能与企业 {demand.enterprise} 组队（其 conflicts 列有该企业） "
                   f"{pid} lists enterprise {demand.enterprise} in its conflicts")
        elif v.kind == "capacity":
            n, cap = int(used.get(pid, 0)), int(profiles[v.profile].capacity)
            msg = (f"容量已满 capacity: {pid} {where}已在其他 {n} 个小分队，容量为 {cap} "
                   f"{pid} already serves {n} other team(s){in_sem}, capacity {cap}")
        elif v.kind == "no_teacher":
            msg = NO_TEACHER
        elif v.kind == "size":
            msg = _size_message(len(cols), lo, hi)
        elif v.kind == "students":
            msg = (f"学生人数不符 students: 小分队有 {len(stud)} 名学生，需求要求 {s_lo}–{s_hi} 名 "
                   f"the team has {len(stud)} students, students asks {s_lo}–{s_hi}")
        elif v.kind == "grades":
            grades = sorted({int(problem.grade[j]) for j in stud if problem.grade[j] > 0})
            want = min(int(demand.distinct_grades), len(stud))
            msg = (f"年级不足 distinct_grades: 学生来自 {len(grades)} 个年级（{'、'.join(map(str, grades)) or '—'}），"
                   f"需求要求至少 {want} 个 the students come from {len(grades)} grade(s), at least {want} asked")
        elif v.kind == "coverage":
            continue  # named one discipline at a time below
        else:  # "duplicate" / "index" cannot happen: ids were mapped and de-duplicated above
            msg = f"{v.kind}: {v.detail}"
        out.append(Refusal(kind_of.get(v.kind, v.kind), pid, msg))
    if members and not cols:  # nothing placeable was posted: check_plan sees an unstaffed demand
        out.append(Refusal("no_teacher", "", NO_TEACHER))
        if lo > 0:
            out.append(Refusal("size", "", _size_message(0, lo, hi)))
    for k in np.nonzero(problem.required[0])[0]:
        if not cols or not problem.covers[cols, k].any():
            name = index.disciplines[k]
            out.append(Refusal("coverage", "", f"学科未覆盖 disciplines: 没有成员的学科包含“{name}” "
                                               f"no member covers {name}"))
    rank = {k: i for i, k in enumerate(KINDS)}
    out.sort(key=lambda r: rank.get(r.kind, len(KINDS)))  # stable: members in the order given
    if out:
        return TeamCheck(tuple(out), None)
    m = np.array(sorted(cols), dtype=np.int64)
    value = float(problem.scores[0, m].sum())
    sol = Solution([m], value, None, SolveStats(solver="office", staffed=1, status=SolveStatus.HEURISTIC))
    plan = decode_plan(problem, index, sol, preflight(problem, index), 0.0, dropped)
    return TeamCheck((), plan_to_json(plan))
