"""Decoding: a :class:`Solution` (arrays) -> :class:`Plan` (ids), JSON and xlsx."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from xfd.matching.assign.encode import Index
from xfd.matching.assign.options import Solution
from xfd.matching.assign.preflight import DisciplineBalance, Preflight, explain_unstaffed
from xfd.matching.assign.problem import TeamProblem
from xfd.matching.writers import write_bytes_atomic
from xfd.matching.xlsx import append_row, new_workbook, workbook_bytes

DECIMALS = 6


@dataclass(frozen=True)
class Member:
    """One placed profile: ``role`` is ``lead`` (the best-scoring teacher),
    ``member`` (other teachers) or ``student``; ``score`` in [0, 1] is the
    scoring core's score of this (demand, profile) pair, rounded to 6
    decimals; ``covers`` the demand's required disciplines it covers."""

    profile_id: str
    role: str
    score: float
    covers: tuple[str, ...]


@dataclass(frozen=True)
class TeamPlan:
    demand_id: str
    members: tuple[Member, ...]
    missing_disciplines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unassigned:
    demand_id: str
    reason: str


@dataclass(frozen=True)
class Move:
    """A change against ``current_team``: ``from_`` / ``to`` are demand ids or None."""

    profile_id: str
    from_: str | None
    to: str | None
    why: str


@dataclass
class PlanStats:
    """Figures about a plan.  ``gap`` = (upper_bound - value) / upper_bound where
    value = objective + continuity bonus (+ jitter), the quantity the bound is on."""

    solver: str
    seconds: float
    demands: int
    staffed: int
    staffed_upper_bound: int | None
    value: float
    gap: float | None
    optimal: bool
    status: str
    teams_with_students: int
    mixed_grade_teams: int
    grade_bonus: float
    min_team_score: float | None
    columns: int
    pricing_rounds: int
    balance: tuple[DisciplineBalance, ...] = ()
    phases: tuple[str, ...] = ()
    warm_start: bool = False
    path: str = ""


@dataclass
class Plan:
    """The decoded plan.  ``objective`` = sum of member scores (6 decimals);
    ``upper_bound`` bounds objective + continuity_bonus (+ jitter) over all
    plans staffing as many demands (None when not computed);
    ``dropped_disciplines`` {demand id: inferred disciplines not required
    because no profile declares them}; ``warnings`` one line each (Chinese,
    English alongside) about the batch as a whole."""

    objective: float
    upper_bound: float | None
    continuity_bonus: float
    teams: list[TeamPlan]
    unassigned: list[Unassigned]
    moves: list[Move]
    stats: PlanStats
    dropped_disciplines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _r(x: float) -> float:
    return float(round(float(x), DECIMALS))


def decode_plan(problem: TeamProblem, index: Index, sol: Solution, pre: Preflight,
                continuity_bonus: float, dropped: dict[str, tuple[str, ...]] | None = None) -> Plan:
    """Map a solution back to ids: roles, covers, reasons, moves."""
    D = problem.n_demands
    members = sol.members
    teams: list[TeamPlan] = []
    objective = 0.0
    kept = 0
    with_students = mixed = 0
    for d in range(D):
        m = members[d]
        if m.size == 0:
            continue
        sc = problem.scores[d, m]
        teach = problem.is_teacher[m]
        order = sorted(range(m.size), key=lambda i: (not teach[i], -sc[i], index.profile_ids[m[i]]))
        req = np.nonzero(problem.required[d])[0]
        out: list[Member] = []
        lead_done = False
        for i in order:
            j = int(m[i])
            if teach[i] and not lead_done:
                role, lead_done = "lead", True
            else:
                role = "member" if teach[i] else "student"
            covers = tuple(index.disciplines[k] for k in req if problem.covers[j, k])
            s = _r(sc[i])
            objective += s
            out.append(Member(index.profile_ids[j], role, s, covers))
        kept += int(problem.current[d, m].sum())
        g = problem.grade[m][~teach]
        if (~teach).any():
            with_students += 1
            if np.unique(g[g > 0]).size >= 2:
                mixed += 1
        missing = tuple(index.disciplines[k] for k in req if not problem.covers[m, k].any())
        teams.append(TeamPlan(index.demand_ids[d], tuple(out), missing))
    unassigned: list[Unassigned] = []
    for d in range(D):
        if members[d].size:
            continue
        reason = pre.reasons.get(d) or explain_unstaffed(problem, index, members, d, pre.balance)
        unassigned.append(Unassigned(index.demand_ids[d], reason))
    moves = compute_moves(problem, index, members, pre)
    cb = _r(continuity_bonus * kept)
    st = sol.stats
    ub = None if sol.upper_bound is None else _r(sol.upper_bound)
    gap = None
    if sol.upper_bound is not None:
        gap = max(0.0, (sol.upper_bound - sol.value) / max(abs(sol.upper_bound), 1e-12))
    stats = PlanStats(
        solver=st.solver, seconds=round(st.seconds, 3), demands=D, staffed=len(teams),
        staffed_upper_bound=st.count_upper_bound, value=_r(sol.value), gap=gap,
        optimal=st.optimal, status=str(st.status), teams_with_students=with_students,
        mixed_grade_teams=mixed, grade_bonus=_r(st.grade_bonus), min_team_score=st.min_team_score,
        columns=st.columns, pricing_rounds=st.pricing_rounds, balance=pre.balance,
        phases=tuple(st.phases), warm_start=st.warm_start, path=str(st.path))
    dropped = dict(dropped or {})
    return Plan(_r(objective), ub, cb, teams, unassigned, moves, stats, dropped,
                batch_warnings(D, len(teams), unassigned, dropped))


def batch_warnings(n_demands: int, staffed: int, unassigned: Sequence[Unassigned],
                   dropped: dict[str, tuple[str, ...]]) -> list[str]:
    """Lines about the whole batch: dropped inferred disciplines, nothing staffed."""
    out: list[str] = []
    if dropped:
        count: dict[str, int] = {}
        for ks in dropped.values():
            for k in ks:
                count[k] = count.get(k, 0) + 1
        top = "、".join(f"{k} ({n})" for k, n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
        out.append(f"{len(dropped)} 个需求推断出的学科无人声明，未作要求 "
                   f"inferred disciplines no profile declares were not required for {len(dropped)} demands: {top}")
    if n_demands and staffed == 0:
        reasons: dict[str, int] = {}
        for u in unassigned:
            reasons[u.reason] = reasons.get(u.reason, 0) + 1
        top_reason = max(reasons.items(), key=lambda kv: kv[1])[0] if reasons else ""
        out.append(f"没有任何需求组队成功 no demand could be staffed ({n_demands} demands); "
                   f"最常见原因 most common reason: {top_reason}")
    return out


def compute_moves(problem: TeamProblem, index: Index, members: Sequence[np.ndarray],
                  pre: Preflight) -> list[Move]:
    """Every member leaving or joining a demand that has a ``current_team``.

    A profile that leaves one demand and joins another is one move
    (``from`` -> ``to``); otherwise ``to`` or ``from`` is None.  Joining a demand
    without a current team is listed only when paired with a departure.
    """
    D, P = problem.n_demands, problem.n_profiles
    new = np.zeros((D, P), dtype=bool)
    for d, m in enumerate(members):
        new[d, m] = True
    cur = problem.current
    has_cur = cur.any(axis=1)
    used = new.sum(axis=0)
    left_d, left_p = np.nonzero(cur & ~new)
    join_d, join_p = np.nonzero(new & ~cur)
    involved = set(left_p.tolist())
    joins: dict[int, list[int]] = {}
    for d, p in zip(join_d.tolist(), join_p.tolist()):
        if has_cur[d] or p in involved:
            joins.setdefault(p, []).append(d)
    leaves: dict[int, list[int]] = {}
    for d, p in zip(left_d.tolist(), left_p.tolist()):
        leaves.setdefault(p, []).append(d)
    moves: list[Move] = []

    def covers_of(p: int, d: int) -> list[str]:
        return [index.disciplines[k] for k in np.nonzero(problem.required[d] & problem.covers[p])[0]]

    for p in sorted(set(leaves) | set(joins)):
        L, J = leaves.get(p, []), [d for d in joins.get(p, [])]
        pid = index.profile_ids[p]
        for i in range(max(len(L), len(J))):
            a = L[i] if i < len(L) else None
            b = J[i] if i < len(J) else None
            if a is None and b is not None and not has_cur[b]:
                continue
            moves.append(Move(pid, None if a is None else index.demand_ids[a],
                              None if b is None else index.demand_ids[b],
                              _why(problem, index, members, p, a, b, used, covers_of)))
    # profiles in current_team but absent from the profiles file
    for d, ids in enumerate(index.current_team):
        known = set(index.profile_ids)
        for pid in ids:
            if pid not in known:
                moves.append(Move(pid, index.demand_ids[d], None,
                                  "不在本次档案中，无法继续安排 not in the profiles of this run"))
    return moves


def _why(problem: TeamProblem, index: Index, members: Sequence[np.ndarray], p: int,
         a: int | None, b: int | None, used: np.ndarray,
         covers_of: Callable[[int, int], list[str]]) -> str:
    cap = int(problem.capacity[p])
    if a is not None:
        if members[a].size == 0:
            base = f"需求 {index.demand_ids[a]} 本次未能组队，成员释放"
            return base + (f"，调往 {index.demand_ids[b]}" if b is not None else "") + \
                " demand not staffed this time"
        if problem.forbidden[a, p]:
            return f"与企业 {index.enterprises[a]} 存在利益冲突，不能继续 conflict of interest"
        if cap == 0:
            return "容量为 0（团队档案或已停用），不再单独安排 capacity 0"
        if b is not None:
            cv = covers_of(p, b)
            full = "容量已满，" if used[p] >= cap else ""
            if cv:
                return f"{full}调往 {index.demand_ids[b]} 以覆盖 {'、'.join(cv)}"
            return (f"{full}调往 {index.demand_ids[b]}（匹配度 {problem.scores[b, p]:.2f}，"
                    f"原需求 {problem.scores[a, p]:.2f}）")
        if used[p] >= cap:
            return "容量已满，已安排到其他需求 at capacity in other teams"
        return (f"由匹配度更高的成员替换（本需求匹配度 {problem.scores[a, p]:.2f}）"
                " replaced by better-matching members")
    assert b is not None
    cv = covers_of(p, b)
    if cv:
        return f"加入以覆盖 {'、'.join(cv)} joins to cover {', '.join(cv)}"
    return f"加入补充团队（匹配度 {problem.scores[b, p]:.2f}） joins to strengthen the team"


def plan_to_json(plan: Plan) -> dict:
    """The plan in the INTERFACES shape (plus ``upper_bound``, ``continuity_bonus``,
    ``dropped_disciplines``, ``warnings``, ``stats``)."""
    st = asdict(plan.stats)
    st["balance"] = [asdict(b) for b in plan.stats.balance]
    st["phases"] = list(plan.stats.phases)
    return {
        "objective": plan.objective,
        "upper_bound": plan.upper_bound,
        "continuity_bonus": plan.continuity_bonus,
        "teams": [{"demand_id": t.demand_id,
                   "members": [{"profile_id": m.profile_id, "role": m.role, "score": m.score,
                                "covers": list(m.covers)} for m in t.members],
                   "missing_disciplines": list(t.missing_disciplines)} for t in plan.teams],
        "unassigned": [{"demand_id": u.demand_id, "reason": u.reason} for u in plan.unassigned],
        "moves": [{"profile_id": m.profile_id, "from": m.from_, "to": m.to, "why": m.why}
                  for m in plan.moves],
        "dropped_disciplines": [{"demand_id": d, "disciplines": list(ks)}
                                for d, ks in plan.dropped_disciplines.items()],
        "warnings": list(plan.warnings),
        "stats": st,
    }


def plan_xlsx_bytes(plan: Plan) -> bytes:
    """The plan as an ``.xlsx`` workbook: sheets 团队 teams / 未分配 unassigned / 调整 moves
    (any text, control characters included, is written as plain text; ``matching.xlsx``)."""
    wb = new_workbook("团队 teams")
    ws = wb.active
    append_row(ws, ["需求 demand_id", "成员 profile_id", "角色 role", "匹配度 score", "覆盖学科 covers"])
    for t in plan.teams:
        for m in t.members:
            append_row(ws, [t.demand_id, m.profile_id, m.role, m.score, "、".join(m.covers)])
    ws2 = wb.create_sheet("未分配 unassigned")
    append_row(ws2, ["需求 demand_id", "原因 reason"])
    for u in plan.unassigned:
        append_row(ws2, [u.demand_id, u.reason])
    ws3 = wb.create_sheet("调整 moves")
    append_row(ws3, ["成员 profile_id", "原需求 from", "新需求 to", "原因 why"])
    for m in plan.moves:
        append_row(ws3, [m.profile_id, m.from_ or "", m.to or "", m.why])
    return workbook_bytes(wb)


def write_plan_xlsx(plan: Plan, path: str | os.PathLike) -> None:
    """Write :func:`plan_xlsx_bytes` to ``path`` atomically."""
    write_bytes_atomic(path, plan_xlsx_bytes(plan))
