"""Bodies of the lifecycle routes (``xfd.api.service_schemas``): the rules a body meets
before any data access, checked on the models and through ``POST /v1/teams/{id}/activities``."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.fakes import FakeScorer, greedy_planner
from xfd.api import crud
from xfd.api.app import create_app
from xfd.api.crud import lifecycle
from xfd.api.crud.teams import store_team
from xfd.api.security import create_key
from xfd.api.service_schemas import ActivityCreate, OutcomeCreate, RatingCreate
from xfd.api.settings import Settings
from xfd.matching.readers import validate_demand, validate_profile

ACTIVITY = {"date": "2026-10-09", "kind": "visit", "hours": 6, "participants": ["T001", "S004"], "note": "走访"}


def _problem(model: type, body: dict) -> tuple[tuple, str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    first = info.value.errors()[0]
    return first["loc"], first["msg"]


def test_an_activity_may_name_no_participant():
    for body in ({**ACTIVITY, "participants": []}, {k: v for k, v in ACTIVITY.items() if k != "participants"}):
        assert ActivityCreate.model_validate(body).participants == []


@pytest.mark.parametrize("ids", [["T001", "S004", "T001"], ["T001", "Ｔ００１"], ["T001", " T001 "]])
def test_a_repeated_participant_is_refused_by_name(ids):
    loc, msg = _problem(ActivityCreate, {**ACTIVITY, "participants": ids})
    assert loc[0] == "participants" and "T001" in msg and "重复" in msg and "twice" in msg


def test_distinct_participants_keep_their_order():
    assert ActivityCreate.model_validate({**ACTIVITY, "participants": ["S004", "T001"]}).participants == ["S004", "T001"]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    """A started app with demand W1 teamed (T001 lead, S004) and an office key's header."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", model="fake"), scorer_factory=FakeScorer,
                     planner=greedy_planner)
    with TestClient(app) as client:
        with app.state.sessions() as s:
            crud.commit_profiles(s, [validate_profile({"id": "T001", "name": "张伟", "keywords": ["机器视觉"]}),
                                     validate_profile({"id": "S004", "kind": "student", "grade": 2, "skills": ["Python"]})])
            row = crud.add_demand(s, validate_demand({"id": "W1", "enterprise": "E001", "title": "钢板缺陷检测"}))
            lifecycle.move(s, row, "accepted", None, "patch", actor="office")
            team = store_team(s, row, "2026秋", [{"profile_id": "T001", "role": "lead", "covers": []},
                                                  {"profile_id": "S004", "role": "member", "covers": []}], None)
            lifecycle.move(s, row, "teamed", None, "run", actor="office")
            _, key = create_key(s, "office", None)
            s.commit()
            team_id = team.id
        app.state.engine.invalidate()
        yield client, {"Authorization": f"Bearer {key}"}, team_id


def test_post_activity_refuses_a_repeated_participant(service):
    client, office, team_id = service
    url = f"/v1/teams/{team_id}/activities"
    r = client.post(url, json={**ACTIVITY, "participants": ["T001", "S004", "T001"]}, headers=office)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "participants"]
    assert "T001" in r.json()["detail"][0]["msg"]
    assert client.get(f"/v1/teams/{team_id}", headers=office).json()["activities"] == []
    r = client.post(url, json=ACTIVITY, headers=office)
    assert r.status_code in (200, 201), r.text
    assert r.json()["participants"] == ["T001", "S004"]


NOTES = [(OutcomeCreate, {"solved": True, "contract_amount": 150000}, "note"),
         (OutcomeCreate, {"solved": True}, "other"),
         (RatingCreate, {"satisfaction": 5}, "comment"),
         (ActivityCreate, ACTIVITY, "note")]


@pytest.mark.parametrize("model,body,field", NOTES)
@pytest.mark.parametrize("char", ["\x01", "\x07", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"])
def test_notes_refuse_control_characters(model, body, field, char):
    loc, msg = _problem(model, {**body, field: f"验收{char}通过"})
    assert loc == (field,) and msg == f"含有非法字符 contains an invalid character U+{ord(char):04X}"


@pytest.mark.parametrize("model,body,field", NOTES)
def test_notes_keep_line_breaks_and_tabs(model, body, field):
    text = "第一行\n第二行\r\n\t缩进 indented  "
    assert getattr(model.model_validate({**body, field: text}), field) == text


def test_outcome_and_rating_routes_name_the_field(service):
    client, office, team_id = service
    assert client.post(f"/v1/teams/{team_id}/activities", json=ACTIVITY, headers=office).status_code == 201
    r = client.post("/v1/demands/W1/outcome", json={"solved": True, "note": "验收\x1b[31m通过"}, headers=office)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "note"]
    assert "U+001B" in r.json()["detail"][0]["msg"] and r.json()["detail"][0]["msg"].startswith("含有非法字符")
    assert client.post("/v1/demands/W1/outcome", json={"solved": True, "note": "验收\n通过"}, headers=office).status_code == 201
