"""The Excel exports of the pages never fail on text (a demand title with a control character
stored by an older version), and the pages refuse a semester with control characters with a 422
naming ``semester`` (the API's own rule, ``xfd.api.schemas.checked_semester``)."""
from __future__ import annotations

import io
import time
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from tests.api.web.conftest import form_token, login
from xfd.api.storage.models import DemandRow

BAD_SEMESTERS = ["\x00", "\x01", "2026春\x00", "2026/春"]


def test_a_title_with_a_control_character_is_refused_by_the_form(app, client):
    login(client, "ent1")
    token = form_token(client, "/demands/new")
    r = client.post("/demands/new", data={"title": "控制字符\x01标题", "description": "机器视觉", "csrf_token": token})
    assert r.status_code == 422 and "U+0001" in r.text
    with app.state.sessions() as s:
        assert s.query(DemandRow).count() == 0


def test_the_plan_workbook_holds_a_stored_control_character(app, client):
    login(client, "ent1")
    token = form_token(client, "/demands/new")
    r = client.post("/demands/new", data={"title": "图像识别检测", "description": "机器视觉 图像识别 深度学习",
                                          "csrf_token": token})
    did = r.headers["location"].split("/")[2].split("?")[0]
    with app.state.sessions() as s:  # as an older version, before the text rule, could store it
        s.get(DemandRow, did).title = "控制字符\x01标题=1+1"
        s.commit()
    login(client, "office1")
    token = form_token(client)
    client.post(f"/demands/{did}/status", data={"status": "accepted", "csrf_token": token})
    run_url = client.post("/runs", data={"csrf_token": token, "semester": "2026秋"}).headers["location"]
    for _ in range(100):
        if "<progress" not in client.get(run_url).text:
            break
        time.sleep(0.1)
    r = client.get(f"{run_url}/plan.xlsx")
    assert r.status_code == 200, r.text
    rows = list(load_workbook(io.BytesIO(r.content))["小分队 teams"].iter_rows(values_only=True))
    assert {row[1] for row in rows[1:]} == {"控制字符标题=1+1"}


@pytest.mark.parametrize("semester", BAD_SEMESTERS)
def test_a_bad_semester_is_422_naming_semester_on_every_page(client, semester):
    login(client, "office1")
    q = quote(semester, safe="")
    for path in (f"/reports/performance.xlsx?semester={q}&by=team", f"/reports?semester={q}", f"/teams?semester={q}"):
        r = client.get(path)
        assert r.status_code == 422 and "semester" in r.text and "学期无效" in r.text, (path, r.status_code)
    r = client.post("/runs", data={"csrf_token": form_token(client, "/runs"), "semester": semester})
    assert r.status_code == 422 and "semester" in r.text


def test_a_good_semester_exports(client):
    login(client, "office1")
    r = client.get(f"/reports/performance.xlsx?semester={quote('2026春')}&by=team")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert ws["A1"].value == "学期 semester: 2026春"


def test_the_runs_form_takes_a_semester_up_to_the_rule_of_50_characters(client):
    """The runs form checks the semester by the API's rule (1–50 characters), with the error beside the field."""
    login(client, "office1")
    r = client.post("/runs", data={"csrf_token": form_token(client, "/runs"), "semester": "学" * 51})
    assert r.status_code == 422 and "学期无效" in r.text and 'value="' + "学" * 51 + '"' in r.text
    r = client.post("/runs", data={"csrf_token": form_token(client, "/runs"), "semester": "学" * 50},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/runs/")
