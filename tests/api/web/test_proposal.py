"""The office's "propose a team for this demand" flow (``/demands/{id}/proposal``, ``/demands/{id}/team``)
with known answers: every hard constraint refused (422, the proposal page naming the constraint and
the member, nothing stored), a valid team stored with the scores, roles and covers a plan gives it,
the wrong state 409 with no run stored, and proposals that leave out profiles the semester's other
teams already fill.

Set-up (on top of ``conftest.PROFILES``): demand D1 of E001, ``accepted``, needs 机械工程 and
计算机科学与技术, team_size [2, 4], students [1, 3], distinct_grades 2.  In the current semester
three ``teamed`` demands of E002 hold T003 twice (capacity 2), T005 three times (capacity 3) and
S002 once (capacity 1); a ``solved`` demand's team holds S004 (finished: takes no capacity).
The app runs the fake scorer with the batch runs' real planner (``xfd.api.runs.default_planner``).
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.api.web.conftest import form_token, login
from tests.fakes import FakeScorer
from xfd.api import crud
from xfd.api.app import create_app
from xfd.api.crud.teams import default_semester, members_of, store_team
from xfd.api.records import demand_from_row
from xfd.api.security import create_key
from xfd.api.settings import Settings
from xfd.api.storage.models import AssignmentRun, DemandRow
from xfd.api.storage.service import Team
from xfd.matching.readers import validate_demand, validate_profile

EXTRA = [
    {"id": "T032", "name": "冲突者", "kind": "teacher", "disciplines": ["机械工程"], "conflicts": ["E001"],
     "keywords": ["机器视觉", "缺陷检测"]},
    {"id": "T005", "name": "忙碌者", "kind": "teacher", "capacity": 3, "disciplines": ["计算机科学与技术"],
     "keywords": ["图像识别", "深度学习"]},
    {"id": "S003", "name": "同年级", "kind": "student", "grade": 3, "disciplines": ["机械工程"], "skills": ["机器视觉"]},
    {"id": "S004", "name": "大一", "kind": "student", "grade": 1, "disciplines": ["计算机科学与技术"],
     "skills": ["深度学习"]},
    {"id": "G02", "name": "视觉小分队", "kind": "team", "members": ["T001", "S001"], "keywords": ["机器视觉", "缺陷检测"]},
]
D1 = {"id": "D1", "enterprise": "E001", "title": "机器视觉缺陷检测", "description": "机器视觉 缺陷检测 深度学习 图像识别",
      "disciplines": ["机械工程", "计算机科学与技术"], "team_size": [2, 4], "students": [1, 3], "distinct_grades": 2}
BUSY = {"X1": ("teamed", ["T003", "T005", "S002"]), "X2": ("teamed", ["T003", "T005"]), "X3": ("teamed", ["T005"]),
        "X4": ("solved", ["S004", "T002"])}
WRONG_STATES = ("submitted", "returned", "withdrawn", "solved")


@pytest.fixture
def app(tmp_path):
    """As ``conftest.app`` but with the planner batch runs use (team-kind profiles have no capacity)."""
    return create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}"), scorer_factory=FakeScorer)


def _add_demand(s, record: dict, status: str) -> DemandRow:
    row = crud.add_demand(s, validate_demand(record))
    crud.ensure_enterprise(s, record["enterprise"])
    row.status = status
    s.flush()
    return row


@pytest.fixture
def office(client, app):
    with app.state.sessions() as s:
        crud.commit_profiles(s, [validate_profile(p) for p in EXTRA])
        _add_demand(s, D1, "accepted")
        for did, (status, members) in BUSY.items():
            row = _add_demand(s, {"id": did, "enterprise": "E002", "title": "茶叶加工", "description": "茶叶 加工"}, status)
            store_team(s, row, default_semester(), [{"profile_id": m, "role": "member"} for m in members], None)
        for status in WRONG_STATES:
            _add_demand(s, {**D1, "id": f"W-{status}"}, status)
        s.commit()
    app.state.engine.invalidate()
    login(client, "office1")
    client.token = form_token(client)
    return client


def _post_team(c, did: str, members: list[str]):
    return c.post(f"/demands/{did}/team", data={"csrf_token": c.token, "member": members})


def _counts(app) -> tuple[int, int]:
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(AssignmentRun)), s.scalar(select(func.count()).select_from(Team))


def _expected_scores(app, did: str) -> dict[str, float]:
    """What the scorer (``xfd score``'s role here: the fake scorer) gives each (D1, profile) pair."""
    with app.state.sessions() as s:
        profiles = crud.load_profiles(s)
        demand = demand_from_row(s.get(DemandRow, did))
    scores = FakeScorer().fit(profiles).score([demand])[0]
    return {p.id: round(float(x), 6) for p, x in zip(profiles, scores)}


def test_a_valid_team_is_stored_with_real_scores_roles_and_covers(office, app) -> None:
    runs_before, teams_before = _counts(app)
    r = _post_team(office, "D1", ["S001", "T001", "T002"])
    assert r.status_code == 303 and r.headers["location"] == "/demands/D1?done=team"
    want = _expected_scores(app, "D1")
    assert want["T002"] > want["T001"] > want["S001"] > 0  # known order: T002 leads
    with app.state.sessions() as s:
        row = s.get(DemandRow, "D1")
        assert row.status == "teamed" and row.assigned_team == ["T002", "T001", "S001"]
        team = s.scalar(select(Team).where(Team.demand_id == "D1"))
        assert team.semester == default_semester()
        got = [(m.profile_id, m.role, m.score, m.covers) for m in members_of(s, [team.id])[team.id]]
        run = s.get(AssignmentRun, team.run_id)
        assert run.params["source"] == "web proposal" and run.accepted_at is not None and run.status == "done"
        plan_team = run.plan["teams"][0]
    assert got == [("T002", "lead", want["T002"], ["计算机科学与技术"]), ("T001", "member", want["T001"], ["机械工程"]),
                   ("S001", "student", want["S001"], ["机械工程"])]
    assert plan_team["missing_disciplines"] == [] and run.plan["objective"] == pytest.approx(sum(x[2] for x in got))
    assert _counts(app) == (runs_before + 1, teams_before + 1)
    # the demand's own team of the semester takes no capacity: accepting it again replaces it
    assert _post_team(office, "D1", ["S001", "T001", "T002", "S004"]).status_code == 303
    assert _counts(app) == (runs_before + 2, teams_before + 1)


@pytest.mark.parametrize(("members", "needles", "member"), [
    (["T032", "T002", "S001"], ["成员冲突 conflict: T032", "E001"], "T032"),
    (["T001", "T003", "S001"], ["容量已满 capacity: T003", "已在其他 2 个小分队，容量为 2"], "T003"),
    (["T001", "T005", "S001"], ["容量已满 capacity: T005", "already serves 3 other team(s)", "capacity 3"], "T005"),
    (["T001", "T002", "S002"], ["容量已满 capacity: S002", "capacity 1"], "S002"),
    (["S001"], ["缺少教师 no teacher", "人数不符 team_size: 小分队有 1 名成员，需求要求 2–4 人",
                "学科未覆盖 disciplines", "计算机科学与技术"], None),
    (["T001", "T002"], ["学生人数不符 students: 小分队有 0 名学生，需求要求 1–3 名"], None),
    (["T001", "T002", "S001", "S003"], ["年级不足 distinct_grades: 学生来自 1 个年级"], None),
    (["T001", "S001"], ["学科未覆盖 disciplines", "no member covers 计算机科学与技术"], None),
    (["G02", "T001", "T002", "S001"], ["团队档案不能作为成员 team-kind profile: G02"], "G02"),
    (["T001", "T002", "S001", "NOPE"], ["人员不存在 unknown profile", "NOPE"], "NOPE"),
    (["T001", "T002", "T002", "S001"], ["成员重复 duplicate: T002"], "T002"),
])
def test_each_broken_constraint_is_refused_on_the_proposal_page(office, app, members, needles, member) -> None:
    before = _counts(app)
    r = _post_team(office, "D1", members)
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "这个小分队不能采纳" in r.text and "采纳这个小分队" in r.text  # the proposal page, to fix and retry
    for needle in needles:
        assert needle in r.text, needle
    shown = re.findall(r'name="member" value="([^"]+)"', r.text)
    assert shown == list(dict.fromkeys(members))  # the posted team stays on the page
    if member is not None:  # the refusal also stands beside that member's row
        row = r.text[r.text.index(f'name="member" value="{member}"'):]
        assert needles[0] in row[:row.index("</tr>")]
    assert _counts(app) == before
    with app.state.sessions() as s:
        assert s.get(DemandRow, "D1").status == "accepted"


@pytest.mark.parametrize("status", WRONG_STATES)
def test_a_demand_in_another_state_is_409_naming_both_states_and_no_run_is_stored(office, app, status) -> None:
    before = _counts(app)
    r = _post_team(office, f"W-{status}", ["T001", "T002", "S001"])
    assert r.status_code == 409
    assert status in r.text and "teamed" in r.text and "小分队已确定" not in r.text
    assert _counts(app) == before
    with app.state.sessions() as s:
        assert s.get(DemandRow, f"W-{status}").status == status
    assert "web proposal" not in office.get("/runs").text


def test_the_proposal_leaves_out_profiles_the_semester_already_fills(office, app) -> None:
    r = office.post("/demands/D1/proposal", data={"csrf_token": office.token})
    assert r.status_code == 200
    proposed = re.findall(r'name="member" value="([^"]+)"', r.text)
    assert proposed and not {"T003", "T005", "S002", "G02", "T032"} & set(proposed), proposed
    assert "这个小分队不能采纳" not in r.text  # the solver's team meets every constraint
    # swapping in a full profile is flagged before accepting, naming it; accepting it is refused
    swap = ["T005", *[""] * (len(proposed) - 1)]
    r = office.post("/demands/D1/proposal", data={"csrf_token": office.token, "member": proposed, "swap": swap,
                                                  "action": "swap"})
    assert "容量已满 capacity: T005" in r.text
    assert _post_team(office, "D1", ["T005", *proposed[1:]]).status_code == 422
    # the proposal as the solver gave it is accepted
    assert _post_team(office, "D1", proposed).status_code == 303


def test_the_api_proposal_subtracts_the_same_load(office, app) -> None:
    with app.state.sessions() as s:
        assert crud.semester_load(s, default_semester(), exclude_demand="D1") == {"T003": 2, "T005": 3, "S002": 1}
        _, key = create_key(s, "office")  # X4 is solved: S004 and T002 are free again
        s.commit()
    r = office.post("/v1/demands/D1/team-proposal", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    placed = {m["profile_id"] for t in r.json()["teams"] for m in t["members"]}
    assert placed and not {"T003", "T005", "S002", "G02", "T032"} & placed, placed
