"""Text the service refuses with a 4xx naming the field, never a 5xx: semesters with control
characters (the one ``xfd.api.schemas.Semester`` rule), record texts with ASCII control
characters (``matching.record_fields``); feedback ids normalised like stored ids."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.test_routes import DEMAND_A, PROFILES, add_key, make_app

BAD_SEMESTERS = ["\x00", "\x01", "2026春\x00", "2026春\x1f", "2026\x7f", "a/b", "2026 春", "x" * 51]


@pytest.fixture
def served(tmp_path):
    app = make_app(tmp_path / "xfd.db")
    with TestClient(app) as c:
        keys = {"office": add_key(app, "office"), "a": add_key(app, "enterprise", "E1")}
        assert c.post("/v1/profiles", json=PROFILES, headers=keys["office"]).status_code == 200
        yield c, keys


def _names(r, *loc: str) -> bool:
    return r.status_code == 422 and any(e["loc"][-len(loc):] == list(loc) for e in r.json()["detail"])


@pytest.mark.parametrize("semester", BAD_SEMESTERS)
def test_a_bad_semester_is_422_naming_semester(served, semester):
    c, keys = served
    q = quote(semester, safe="")
    assert _names(c.get(f"/v1/reports/performance?semester={q}&by=team", headers=keys["office"]), "query", "semester")
    assert _names(c.get(f"/v1/teams?semester={q}", headers=keys["office"]), "query", "semester")
    assert _names(c.post("/v1/assignment-runs", json={"semester": semester}, headers=keys["office"]), "body", "semester")


def test_a_good_semester_is_answered(served):
    c, keys = served
    r = c.get(f"/v1/reports/performance?semester={quote('2026春')}&by=team", headers=keys["office"])
    assert r.status_code == 200 and r.json() == []


@pytest.mark.parametrize(("field", "value"), [("title", "控制字符\x01标题"), ("description", "描述\x0c分页"),
                                              ("county", "城关区\x7f"), ("disciplines", ["机械\x1b工程"])])
def test_record_text_with_control_characters_is_422_naming_the_field(served, field, value):
    c, keys = served
    r = c.post("/v1/demands", json={**DEMAND_A, field: value}, headers=keys["a"])
    assert r.status_code == 422 and field in str(r.json()["detail"]), r.text
    assert c.get(f"/v1/demands/{DEMAND_A['id']}", headers=keys["a"]).status_code == 404


def test_tab_and_line_breaks_stay_allowed(served):
    c, keys = served
    r = c.post("/v1/demands", json={**DEMAND_A, "description": "第一行\r\n第二行\t完"}, headers=keys["a"])
    assert r.status_code == 201 and r.json()["description"] == "第一行\r\n第二行\t完"


def test_feedback_ids_are_normalised_in_storage_and_in_the_filter(served):
    c, keys = served
    assert c.post("/v1/demands", json=DEMAND_A, headers=keys["a"]).status_code == 201
    r = c.post("/v1/feedback", json={"demand_id": "ＤＡ１", "profile_id": "Ｔ００１", "verdict": "accepted"},
               headers=keys["office"])
    assert r.status_code == 201 and (r.json()["demand_id"], r.json()["profile_id"]) == ("DA1", "T001")
    listed = c.get(f"/v1/feedback?demand_id={quote('ＤＡ１')}", headers=keys["office"])
    assert listed.status_code == 200 and [f["demand_id"] for f in listed.json()] == ["DA1"]
