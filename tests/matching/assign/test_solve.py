"""Team solver: brute force beside the exact solver, one test per hard constraint,
hand-worked cases, preflight reasons, moves, maxmin, jitter, validation."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from xfd.matching.assign import TeamProblem, check_plan, encode_problem, plan_teams, plan_to_json, write_plan_xlsx
from xfd.matching.assign.solve import SolveOptions, solve
from xfd.matching.registry import UnknownNameError
from xfd.matching.types import Demand, Profile

EXACT = SolveOptions(grade_bonus=0.0, tie_break=0.0)


# ------------------------------------------------------------ brute force

def random_problem(seed: int) -> TeamProblem:
    rng = np.random.default_rng(seed)
    D = int(rng.integers(2, 4))
    P = int(rng.integers(5, 8))
    K = 3
    is_teacher = rng.random(P) < 0.45
    is_teacher[rng.integers(P)] = True
    capacity = rng.integers(1, 3, size=P) * (rng.random(P) < 0.95)
    size_min = rng.integers(1, 4, size=D)
    size_max = size_min + rng.integers(0, 3, size=D)
    return TeamProblem(
        scores=np.round(rng.random((D, P)), 3),
        is_teacher=is_teacher,
        capacity=capacity.astype(np.int64),
        forbidden=rng.random((D, P)) < 0.15,
        covers=rng.random((P, K)) < 0.4,
        required=rng.random((D, K)) < 0.35,
        size_min=size_min.astype(np.int64),
        size_max=size_max.astype(np.int64),
        grade=np.where(is_teacher, 0, rng.integers(1, 5, size=P)).astype(np.int64),
        current=rng.random((D, P)) < 0.2,
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


def test_exact_matches_brute_force_and_greedy_is_sometimes_worse():
    greedy_worse = 0
    for seed in range(100):
        pb = random_problem(seed)
        best = brute_force(pb, 0.1)
        sol = solve(pb, "exact", SolveOptions(grade_bonus=0.0, continuity_bonus=0.1, tie_break=0.0))
        assert check_plan(pb, sol.members) == [], seed
        got = solution_key(pb, sol.members, 0.1)
        assert got[0] == best[0], (seed, got, best)
        assert got[1] == pytest.approx(best[1], abs=1e-9), (seed, got, best)
        assert sol.stats.optimal, seed
        if sol.upper_bound is not None:
            assert sol.upper_bound >= got[1] - 1e-9
        g = solve(pb, "greedy", SolveOptions(grade_bonus=0.0, continuity_bonus=0.1))
        assert check_plan(pb, g.members) == [], seed
        gk = solution_key(pb, g.members, 0.1)
        assert gk <= (best[0], best[1] + 1e-9)
        greedy_worse += gk < (best[0], best[1] - 1e-9)
    assert greedy_worse > 0


#: One initial candidate per demand and one new column per pricing round: the
#: LP must recover every pruned column by pricing alone.
PRUNED_OPTS = SolveOptions(grade_bonus=0.0, tie_break=0.0, candidates=1, per_discipline=1, teachers=1,
                           per_profile=0, per_round=1, cg_tol=0.0)


def test_column_generation_recovers_pruned_columns():
    """With one initial candidate per demand, pricing must still reach the optimum."""
    opts = PRUNED_OPTS
    for seed in range(100, 130):
        pb = random_problem(seed)
        best = brute_force(pb, 0.1)
        sol = solve(pb, "exact", opts)
        got = solution_key(pb, sol.members, 0.1)
        assert got[0] == best[0] and got[1] == pytest.approx(best[1], abs=1e-9), seed


# ------------------------------------------------------------ hard constraints

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


def test_hand_worked_two_demands():
    # D0 needs both disciplines, D1 needs discipline 1; all capacities 1.
    # Best: D0 = {T0, S3, S4} (0.9+0.8+0.7=2.4 covers 0 and 1), D1 = {T1, S5, T2}
    # (0.9+0.9+0.3=2.1); total 4.5.  Alternatives are worse (e.g. T2 to D0 loses).
    sol = solve(small_problem(), "exact", EXACT)
    assert teams_of(sol) == [[0, 3, 4], [1, 2, 5]]
    assert sol.value == pytest.approx(4.5)
    assert sol.stats.optimal


@pytest.mark.parametrize("kind", ["capacity", "duplicate", "forbidden", "no_teacher", "size", "coverage"])
def test_checker_catches_each_violation(kind):
    pb = small_problem()
    good = [[0, 3, 4], [1, 2, 5]]
    assert check_plan(pb, good) == []
    bad = {
        "capacity": [[0, 3, 4], [0, 1, 5]],
        "duplicate": [[0, 3, 3], [1, 2, 5]],
        "forbidden": None,
        "no_teacher": [[0, 3, 4], [4, 5]],
        "size": [[0, 3, 4], [1]],
        "coverage": [[0, 3], [1, 2, 5]],
    }[kind]
    if kind == "forbidden":
        f = np.zeros((2, 6), dtype=bool)
        f[0, 4] = True
        pb = small_problem(forbidden=f)
        bad = good
    kinds = {v.kind for v in check_plan(pb, bad)}
    assert kind in kinds


def test_capacity_is_respected():
    # T1 is the best teacher for both; with capacity 1 only one team gets it
    sol = solve(small_problem(capacity=np.array([1, 1, 1, 1, 1, 1])), "exact", EXACT)
    assert sum(1 in m for m in teams_of(sol)) <= 1
    sol2 = solve(small_problem(capacity=np.array([1, 2, 1, 1, 1, 1])), "exact", EXACT)
    assert check_plan(small_problem(capacity=np.array([1, 2, 1, 1, 1, 1])), sol2.members) == []


def test_forbidden_pair_never_placed():
    f = np.zeros((2, 6), dtype=bool)
    f[0, 0] = f[0, 3] = True       # D0's two best are conflicted
    pb = small_problem(forbidden=f)
    sol = solve(pb, "exact", EXACT)
    assert 0 not in sol.members[0] and 3 not in sol.members[0]
    assert check_plan(pb, sol.members) == []


def test_team_needs_a_teacher():
    # only teacher T0 is forbidden for D0 and the other teachers have capacity 0
    f = np.zeros((2, 6), dtype=bool)
    f[0, 0] = True
    pb = small_problem(forbidden=f, capacity=np.array([1, 0, 0, 1, 1, 1]))
    sol = solve(pb, "exact", EXACT)
    assert sol.members[0].size == 0
    assert teams_of(sol)[1][:1] == [0]
    assert check_plan(pb, sol.members) == []


def test_size_bounds():
    pb = small_problem(size_min=np.array([3, 1]), size_max=np.array([3, 1]))
    sol = solve(pb, "exact", EXACT)
    assert len(sol.members[0]) == 3 and len(sol.members[1]) == 1
    assert check_plan(pb, sol.members) == []


def test_every_required_discipline_covered():
    # nobody covering discipline 0 is free for D0 -> D0 unstaffed, never half-staffed
    cov = np.array([[0, 0], [0, 1], [0, 1], [0, 0], [0, 1], [0, 0]], dtype=bool)
    pb = small_problem(covers=cov)
    sol = solve(pb, "exact", EXACT)
    assert sol.members[0].size == 0
    assert check_plan(pb, sol.members) == []


def test_staff_most_demands_before_score():
    # T0 is great for D0 but needed by D1 (the only teacher D1 may take)
    f = np.zeros((2, 6), dtype=bool)
    f[1, 1] = f[1, 2] = True
    pb = small_problem(forbidden=f, required=np.zeros((2, 2), dtype=bool))
    sol = solve(pb, "exact", EXACT)
    assert all(m.size for m in sol.members)
    assert 0 in sol.members[1]


def test_unknown_solver_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="exact.*greedy"):
        solve(small_problem(), "simplex")


# ------------------------------------------------------------ validation

def test_validation_names_both_values():
    pb = small_problem()
    with pytest.raises(ValueError, match="6 columns.*capacity has 5"):
        small_problem(capacity=np.array([1, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match="size_min 4 is greater than size_max 3"):
        small_problem(size_min=np.array([4, 1]))
    with pytest.raises(ValueError, match=r"scores must lie in \[0, 1\]"):
        small_problem(scores=pb.scores + 1)
    with pytest.raises(ValueError, match="covers has 2 disciplines but required has 3"):
        small_problem(required=np.zeros((2, 3), dtype=bool))


def test_encode_rejects_mismatched_scores():
    profiles = [Profile(id="T1"), Profile(id="T2")]
    demands = [Demand(id="D1", title="x")]
    with pytest.raises(ValueError, match=r"shape \(1, 3\).*1 demands and 2 profiles"):
        encode_problem(profiles, demands, np.zeros((1, 3)), [()])
    with pytest.raises(ValueError, match="required has 2 entries but there are 1 demands"):
        encode_problem(profiles, demands, np.zeros((1, 2)), [(), ()])


# ------------------------------------------------------------ records level

def records():
    profiles = [
        Profile(id="T1", kind="teacher", disciplines=("机械工程",), capacity=1, conflicts=("E9",)),
        Profile(id="T2", kind="teacher", disciplines=("计算机科学与技术",), capacity=1),
        Profile(id="T3", kind="teacher", disciplines=("机械工程", "海洋科学"), capacity=1),
        Profile(id="S1", kind="student", disciplines=("机械工程",), capacity=1, grade=1),
        Profile(id="S2", kind="student", disciplines=("计算机科学与技术",), capacity=1, grade=1),
        Profile(id="S3", kind="student", disciplines=("机械工程",), capacity=1, grade=3),
        Profile(id="G1", kind="team", members=("T1", "S1"), capacity=1),
    ]
    demands = [
        Demand(id="D1", title="a", enterprise="E1", disciplines=("机械工程",), team_size=(2, 3),
               current_team=("T3", "S1")),
        Demand(id="D2", title="b", enterprise="E9", disciplines=("计算机科学与技术",), team_size=(2, 3)),
        Demand(id="D3", title="c", enterprise="E3", disciplines=("化学",), team_size=(2, 3)),
    ]
    scores = np.array([
        [0.9, 0.2, 0.6, 0.7, 0.1, 0.65, 0.99],
        [0.8, 0.9, 0.3, 0.2, 0.8, 0.3, 0.99],
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.99],
    ])
    required = [d.disciplines for d in demands]
    return profiles, demands, scores, required


def test_plan_json_shape_roles_and_reasons(tmp_path):
    profiles, demands, scores, required = records()
    plan = plan_teams(profiles, demands, scores, required, continuity_bonus=0.0)
    js = plan_to_json(plan)
    json.dumps(js, ensure_ascii=False)
    teams = {t["demand_id"]: t for t in js["teams"]}
    assert set(teams) == {"D1", "D2"}
    # team-kind profile G1 is never placed; T1 conflicts with E9 (D2)
    placed = [m["profile_id"] for t in js["teams"] for m in t["members"]]
    assert "G1" not in placed
    assert "T1" not in [m["profile_id"] for m in teams["D2"]["members"]]
    for t in js["teams"]:
        roles = [m["role"] for m in t["members"]]
        assert roles.count("lead") == 1 and roles[0] == "lead"
        assert t["missing_disciplines"] == []
    lead1 = teams["D1"]["members"][0]
    assert lead1 == {"profile_id": "T1", "role": "lead", "score": 0.9, "covers": ["机械工程"]}
    # objective = sum of member scores
    assert js["objective"] == pytest.approx(sum(m["score"] for t in js["teams"] for m in t["members"]))
    (un,) = js["unassigned"]
    assert un["demand_id"] == "D3"
    assert "没有空闲的教师覆盖“化学”" in un["reason"] and "no free teacher covers 化学" in un["reason"]
    path = tmp_path / "plan.xlsx"
    write_plan_xlsx(plan, path)
    from openpyxl import load_workbook
    wb = load_workbook(path)
    assert wb.sheetnames == ["团队 teams", "未分配 unassigned", "调整 moves"]


def test_preflight_reasons():
    profiles, demands, scores, required = records()
    demands = demands + [
        Demand(id="D4", title="d", enterprise="E9", disciplines=(), team_size=(5, 6)),
        Demand(id="D5", title="e", enterprise="E9", disciplines=("机械工程",), team_size=(1, 2)),
    ]
    scores = np.vstack([scores, np.full((2, 7), 0.5)])
    required = [d.disciplines for d in demands]
    # every teacher conflicts with E9 except T2, who does not cover 机械工程
    profiles = [p if p.id != "T3" else Profile(id="T3", kind="teacher", disciplines=("机械工程",),
                                                 capacity=1, conflicts=("E9",)) for p in profiles]
    plan = plan_teams(profiles, demands, scores, required)
    reasons = {u.demand_id: u.reason for u in plan.unassigned}
    assert "可用成员不足 5 人 fewer than 5 eligible members" in reasons["D4"]
    assert "覆盖“机械工程”的空闲成员均与企业" not in reasons.get("D5", "")  # students still cover it
    only = [Profile(id="T1", kind="teacher", disciplines=("机械工程",), conflicts=("E9",))]
    p2 = plan_teams(only, [Demand(id="X", title="x", enterprise="E9", team_size=(1, 1))],
                    np.array([[0.5]]), [()])
    assert p2.unassigned[0].reason.startswith("所有候选人均与企业 E9 存在利益冲突")


def test_capacity_taken_reason_after_solving():
    profiles = [Profile(id="T1", kind="teacher", disciplines=("A",), capacity=1)]
    demands = [Demand(id="D1", title="x", disciplines=("A",), team_size=(1, 1)),
               Demand(id="D2", title="y", disciplines=("A",), team_size=(1, 1))]
    plan = plan_teams(profiles, demands, np.array([[0.9], [0.4]]), [("A",), ("A",)])
    assert [t.demand_id for t in plan.teams] == ["D1"]
    (u,) = plan.unassigned
    assert u.demand_id == "D2" and "容量已被其他需求占用" in u.reason
    assert "“A”的总容量少于需要它的需求数" in u.reason


def test_moves_and_continuity_bonus():
    profiles = [Profile(id="T1", kind="teacher", disciplines=("A",), capacity=1),
                Profile(id="T2", kind="teacher", disciplines=("B",), capacity=1),
                Profile(id="S1", kind="student", disciplines=("A",), capacity=1, grade=1)]
    demands = [Demand(id="D1", title="x", disciplines=("A",), team_size=(1, 2), current_team=("T1", "S1")),
               Demand(id="D2", title="y", disciplines=("B",), team_size=(1, 2), current_team=("T2",))]
    # S1 fits D2 slightly better; a bonus of 0.1 keeps it in D1, no bonus moves it
    scores = np.array([[0.9, 0.1, 0.50], [0.1, 0.9, 0.55]])
    req = [("A",), ("B",)]
    keep = plan_teams(profiles, demands, scores, req, continuity_bonus=0.1)
    assert keep.moves == [] and keep.continuity_bonus == pytest.approx(0.3)
    assert keep.objective == pytest.approx(0.9 + 0.5 + 0.9)
    move = plan_teams(profiles, demands, scores, req, continuity_bonus=0.0)
    assert move.continuity_bonus == 0.0
    (mv,) = move.moves
    assert (mv.profile_id, mv.from_, mv.to) == ("S1", "D1", "D2")
    assert "容量已满，调往 D2" in mv.why
    js = plan_to_json(move)
    assert js["moves"] == [{"profile_id": "S1", "from": "D1", "to": "D2", "why": mv.why}]


def test_maxmin_lifts_the_worst_team():
    # one star teacher; sum-mode gives it to D1 (bigger gain), maxmin to the weaker D2
    pb = TeamProblem(
        scores=np.array([[1.0, 0.3, 0.0], [0.7, 0.0, 0.1]]),
        is_teacher=np.array([True, True, True]), capacity=np.array([1, 1, 1]),
        forbidden=np.zeros((2, 3), dtype=bool), covers=np.zeros((3, 0), dtype=bool),
        required=np.zeros((2, 0), dtype=bool), size_min=np.array([1, 1]), size_max=np.array([1, 1]),
        grade=np.zeros(3, dtype=np.int64), current=np.zeros((2, 3), dtype=bool)).validate()
    s = solve(pb, "exact", EXACT)
    assert teams_of(s) == [[0], [2]]                 # 1.0 + 0.1 = 1.1 > 0.3 + 0.7
    m = solve(pb, "exact", SolveOptions(grade_bonus=0.0, fairness="maxmin"))
    assert teams_of(m) == [[1], [0]]                 # min 0.3 > min 0.1
    assert m.stats.min_team_score == pytest.approx(0.3)
    with pytest.raises(UnknownNameError, match="maxmin"):
        solve(pb, "exact", SolveOptions(fairness="fair"))


def test_seeded_jitter_is_reproducible_and_varies():
    # four equal teachers for one seat each in two demands: jitter picks among them
    pb = TeamProblem(
        scores=np.full((2, 4), 0.5), is_teacher=np.ones(4, dtype=bool), capacity=np.ones(4, dtype=np.int64),
        forbidden=np.zeros((2, 4), dtype=bool), covers=np.zeros((4, 0), dtype=bool),
        required=np.zeros((2, 0), dtype=bool), size_min=np.array([1, 1]), size_max=np.array([1, 1]),
        grade=np.zeros(4, dtype=np.int64), current=np.zeros((2, 4), dtype=bool)).validate()
    runs = {s: teams_of(solve(pb, "exact", SolveOptions(jitter=0.01, seed=s))) for s in range(8)}
    assert runs[3] == teams_of(solve(pb, "exact", SolveOptions(jitter=0.01, seed=3)))
    assert len({str(v) for v in runs.values()}) > 1
    with pytest.raises(ValueError, match="jitter must be"):
        solve(pb, "exact", SolveOptions(jitter=-1.0))


def test_grade_mix_preferred_when_free():
    # D needs 1 teacher + 2 students; S1 and S2 share grade 1, S3 (grade 2) scores a hair less
    pb = TeamProblem(
        scores=np.array([[0.9, 0.6, 0.6, 0.5995]]), is_teacher=np.array([True, False, False, False]),
        capacity=np.ones(4, dtype=np.int64), forbidden=np.zeros((1, 4), dtype=bool),
        covers=np.zeros((4, 0), dtype=bool), required=np.zeros((1, 0), dtype=bool),
        size_min=np.array([3]), size_max=np.array([3]), grade=np.array([0, 1, 1, 2]),
        current=np.zeros((1, 4), dtype=bool)).validate()
    assert teams_of(solve(pb, "exact", SolveOptions(grade_bonus=0.0))) == [[0, 1, 2]]
    mixed = solve(pb, "exact", SolveOptions(grade_bonus=0.002))
    assert teams_of(mixed) in ([[0, 1, 3]], [[0, 2, 3]])


# ------------------------------------------------------------ medium instances

@pytest.mark.parametrize("n", [40, 120])
def test_pruned_columns_match_full_ilp(n):
    """Default (pruned, column-generated) vs the MILP over every eligible pair."""
    from xfd.matching.assign.synth import make_batch

    b = make_batch(n, seed=n)
    pb, _ = encode_problem(b.profiles, b.demands, b.scores, b.required)
    fast = solve(pb, "exact", SolveOptions(grade_bonus=0.0))
    full = solve(pb, "exact", SolveOptions(grade_bonus=0.0, candidates=pb.n_profiles, per_profile=0))
    assert check_plan(pb, fast.members) == [] and check_plan(pb, full.members) == []
    assert fast.stats.staffed == full.stats.staffed
    assert fast.value >= full.value * (1 - 1e-4)          # acceptance asks 0.5 %
    assert fast.upper_bound >= full.value - 1e-6           # the bound really bounds
    greedy = solve(pb, "greedy", SolveOptions(grade_bonus=0.0))
    assert (greedy.stats.staffed, greedy.value) < (fast.stats.staffed, fast.value)


def test_time_limit_still_returns_a_valid_plan():
    from xfd.matching.assign.synth import make_batch

    b = make_batch(150, seed=5)
    plan = plan_teams(b.profiles, b.demands, b.scores, b.required, time_limit=0.01)
    pb, ix = encode_problem(b.profiles, b.demands, b.scores, b.required)
    row, col = ix.demand_row(), ix.profile_col()
    members = [[] for _ in range(pb.n_demands)]
    for t in plan.teams:
        members[row[t.demand_id]] = [col[m.profile_id] for m in t.members]
    assert check_plan(pb, members) == []
    assert len(plan.teams) + len(plan.unassigned) == pb.n_demands
