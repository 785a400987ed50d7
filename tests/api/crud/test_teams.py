"""``xfd.api.crud.teams.team_views``: the teams list (``GET /v1/teams``, ``/teams``)
reads its teams' demands, members, activities, outcomes and ratings in a fixed
number of SQL statements, not a few per team."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from xfd.api import crud
from xfd.api.crud import service as crud_service
from xfd.api.crud import teams as crud_teams
from xfd.api.crud.lifecycle import change_demand_status
from xfd.api.security import Principal
from xfd.matching.types import Demand, Profile

SEMESTER = "2026春"


def _seed(session, n: int) -> Principal:
    crud.upsert_profiles(session, [Profile(id="T1", kind="teacher", name="T1"), Profile(id="S1", kind="student", name="S1")])
    crud.ensure_enterprise(session, "E1")
    session.flush()
    for k in range(n):
        crud.add_demand(session, Demand(id=f"D{k}", enterprise="E1", title=f"需求{k}", description="机器视觉"))
    row, _ = crud.create_key(session, "office")
    session.commit()
    office = Principal(row.id, "office", None)
    for k in range(n):
        change_demand_status(session, office, f"D{k}", "accepted")
    plan = {"teams": [{"demand_id": f"D{k}", "members": [{"profile_id": "T1", "role": "lead"},
                                                         {"profile_id": "S1", "role": "member"}]} for k in range(n)]}
    crud_teams.teams_from_plan(session, plan, SEMESTER, office)
    session.commit()
    for k, team in enumerate(crud_teams.list_teams(session, office, SEMESTER)):
        crud_service.add_activity(session, office, team.id, dt.date(2026, 3, 9), "visit", 4, ["T1"])
        if k % 2:
            crud_service.add_outcome(session, office, team.demand_id, True, contract_amount=1000)
            crud_service.add_rating(session, Principal(0, "enterprise", "E1"), team.demand_id, 5)
    return office


def _statements(session, office: Principal) -> tuple[int, list[dict]]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    session.expunge_all()  # nothing cached in the identity map
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        views = crud_teams.team_views(session, crud_teams.list_teams(session, office, SEMESTER), office)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), views


def test_the_teams_list_takes_a_fixed_number_of_statements_not_some_per_team(session):
    office = _seed(session, 16)
    n16, views = _statements(session, office)
    assert len(views) == 16
    assert n16 <= 8, f"{n16} SQL statements for 16 teams (one query per kind of record expected)"
    assert all(len(v["activities"]) == 1 for v in views)
    assert sum(v["outcome"] is not None for v in views) == 8 == sum(v["rating"] is not None for v in views)


def test_team_views_equal_team_public_one_by_one(session):
    office = _seed(session, 4)
    teams = crud_teams.list_teams(session, office, SEMESTER)
    batch = crud_teams.team_views(session, teams, office)
    assert batch == [crud_teams.team_public(session, t, office) for t in teams]
    assert [v["demand_id"] for v in batch] == ["D0", "D1", "D2", "D3"]
    assert batch[1]["outcome"]["contract_amount"] == 1000.0 and batch[1]["rating"]["satisfaction"] == 5
    assert batch[0]["outcome"] is None and batch[0]["members"][0] == {"profile_id": "T1", "role": "lead", "score": 0.0,
                                                                     "covers": []}
