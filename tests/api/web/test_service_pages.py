"""Pages of the service work: teams, activities, outcome and rating forms, the
report with its charts and Excel export — each through the same data access
and role rules as the API."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api.web.conftest import PROFILES, form_token, login
from xfd.api import crud
from xfd.api.crud import lifecycle
from xfd.api.crud.teams import store_team
from xfd.api.storage.models import DemandRow
from xfd.matching.readers import validate_demand

SEMESTER = "2026春"
PROFILE_NAMES = {p["id"]: p.get("name", "") for p in PROFILES}


def teamed_demand(app) -> str:
    """E001's demand W1, accepted and teamed (T001 lead, S001) in 2026春; returns the team id."""
    with app.state.sessions() as s:
        row = crud.add_demand(s, validate_demand({"id": "W1", "enterprise": "E001", "title": "钢板缺陷机器视觉检测",
                                                  "county": "城关区"}))
        lifecycle.move(s, row, "accepted", None, "patch", actor="office")
        team = store_team(s, row, SEMESTER, [{"profile_id": "T001", "role": "lead", "covers": ["机械工程"]},
                                             {"profile_id": "S001", "role": "member", "covers": []}], None)
        lifecycle.move(s, row, "teamed", None, "run", actor="office")
        s.commit()
        return team.id


def status(app) -> str:
    with app.state.sessions() as s:
        return s.get(DemandRow, "W1").status


def test_team_pages_activity_outcome_rating_and_report(app, client):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    assert "钢板缺陷机器视觉检测" in client.get("/teams").text
    page = client.get(f"/teams/{team_id}")
    assert page.status_code == 200 and "记录服务活动" in page.text and "Record the outcome" not in page.text
    token = form_token(client, f"/teams/{team_id}")
    bad = client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "2026-04-01", "kind": "visit",
                                                            "hours": "6", "participant": ["T001", "T003"]})
    assert bad.status_code == 422 and "T003" in bad.text and status(app) == "teamed"
    r = client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "2026-04-01", "kind": "visit",
                                                          "hours": "6", "participant": ["T001", "S001"], "note": "走访"})
    assert r.status_code == 303 and status(app) == "in_service"
    assert client.post(f"/teams/{team_id}/activities", data={"date": "2026-04-02", "kind": "visit", "hours": "1"}).status_code == 403
    page = client.get(f"/teams/{team_id}").text
    assert "走访" in page and "Record the outcome" in page
    r = client.post(f"/teams/{team_id}/outcome", data={"csrf_token": token, "solved": "yes", "contract_amount": "150000",
                                                       "patents": "1", "papers": "0"})
    assert r.status_code == 303 and status(app) == "solved"

    login(client, "ent2")
    assert client.get(f"/teams/{team_id}").status_code == 404
    login(client, "ent1")
    assert "提交评价" in client.get(f"/teams/{team_id}").text
    token = form_token(client, f"/teams/{team_id}")
    assert client.post(f"/teams/{team_id}/rating", data={"csrf_token": token, "satisfaction": "7"}).status_code == 422
    assert client.post(f"/teams/{team_id}/rating", data={"csrf_token": token, "satisfaction": "4",
                                                         "comment": "很好"}).status_code == 303
    assert client.post(f"/teams/{team_id}/rating", data={"csrf_token": token, "satisfaction": "5"}).status_code == 409
    assert client.get("/reports").status_code == 403

    login(client, "office1")
    page = client.get(f"/reports?semester={SEMESTER}&by=college")
    assert page.status_code == 200 and "机械工程学院" in page.text and page.text.count("<svg") == 3
    xlsx = client.get(f"/reports/performance.xlsx?semester={SEMESTER}&by=teacher")
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    header = [c.value for c in ws[2]]
    row = dict(zip(header, [c.value for c in ws[3]], strict=True))
    assert row["分组 group"] == "T001" and row["名称 name"] == PROFILE_NAMES["T001"]
    assert row["需求数 demands"] == 1 and row["已解决 solved"] == 1
    assert xlsx.headers["content-disposition"] == "attachment; filename*=UTF-8''xfd-report-2026%E6%98%A5-teacher.xlsx"
    assert row["服务时长 hours"] == 6 and row["合同金额(元) contract_amount"] == 150000 and row["满意度 satisfaction_mean"] == 4
    assert client.get(f"/reports?semester={SEMESTER}&by=province").status_code == 422


def _field_error_after(html: str, field_id: str) -> str:
    """The text of the first ``field-error`` after the input with ``id=field_id`` (``""`` if none)."""
    at = html.find(f'id="{field_id}"')
    assert at >= 0, field_id
    err = html.find('class="field-error"', at)
    nxt = html.find("<label", at)
    if err < 0 or (0 <= nxt < err):
        return ""
    return html[html.index(">", err) + 1 : html.index("</p>", err)]


def test_team_form_errors_stand_beside_their_field_and_keep_the_values(app, client):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    token = form_token(client, f"/teams/{team_id}")
    bad = client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "2026-04-01", "kind": "visit",
                                                            "hours": "abc", "participant": ["T001"], "note": "记录甲"})
    assert bad.status_code == 422 and status(app) == "teamed"
    assert _field_error_after(bad.text, "a-hours").startswith("应为数字") and _field_error_after(bad.text, "a-date") == ""
    assert 'value="2026-04-01"' in bad.text and "记录甲</textarea>" in bad.text and 'value="abc"' in bad.text
    outsider = client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "2026-04-01",
                                                                 "kind": "visit", "hours": "2", "participant": ["T003"]})
    assert outsider.status_code == 422 and "T003" in outsider.text and 'class="field-error"' in outsider.text
    client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "2026-04-01", "kind": "visit",
                                                      "hours": "6", "participant": ["T001", "S001"]})
    bad = client.post(f"/teams/{team_id}/outcome", data={"csrf_token": token, "solved": "yes", "contract_amount": "-5",
                                                         "patents": "1", "papers": "0", "note": "备注乙"})
    assert bad.status_code == 422 and status(app) == "in_service"
    assert _field_error_after(bad.text, "o-amount").startswith("不能小于 0") and "备注乙</textarea>" in bad.text
    assert 'value="yes" required checked' in bad.text


def _logged_activity(client, team_id: str) -> str:
    token = form_token(client, f"/teams/{team_id}")
    client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "2026-04-01", "kind": "visit",
                                                      "hours": "6", "participant": ["T001", "S001"]})
    return token


def test_activity_errors_are_chinese_first_beside_their_field(app, client):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    token = form_token(client, f"/teams/{team_id}")
    good = {"csrf_token": token, "date": "2026-04-01", "kind": "visit", "hours": "2", "participant": ["T001"]}
    for change, field_id, says in [
        ({"hours": "-3"}, "a-hours", "不能小于 0 must be at least 0"),
        ({"hours": "100000"}, "a-hours", "不能大于 1000 must be at most 1000"),
        ({"kind": "party"}, "a-kind", "应为以下之一 must be one of"),
        ({"date": "2026-13-40"}, "a-date", "应为日期"),
        ({"date": ""}, "a-date", "必填"),
    ]:
        bad = client.post(f"/teams/{team_id}/activities", data={**good, **change})
        assert bad.status_code == 422, change
        assert _field_error_after(bad.text, field_id).startswith(says), (change, _field_error_after(bad.text, field_id))
        assert "Input should" not in bad.text
    assert status(app) == "teamed"


@pytest.mark.parametrize("solved", [None, "maybe"])
def test_an_outcome_without_a_yes_or_no_is_a_field_error(app, client, solved):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    token = _logged_activity(client, team_id)
    form = {"csrf_token": token, "contract_amount": "1200", "patents": "1", "papers": "0", "note": "备注丙"}
    if solved is not None:
        form["solved"] = solved
    bad = client.post(f"/teams/{team_id}/outcome", data=form)
    assert bad.status_code == 422 and "登记成果" in bad.text  # the team page with its form, not a bare error page
    at = bad.text.index("问题是否解决")
    err = bad.text[at: bad.text.index("</fieldset>", at)]
    assert '<p class="field-error">请选择' in err
    assert 'value="1200"' in bad.text and "备注丙</textarea>" in bad.text
    assert status(app) == "in_service"


def test_report_groups_by_team_and_teacher_show_names_beside_ids(app, client):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    _logged_activity(client, team_id)
    login(client, "office1")
    page = client.get(f"/reports?semester={SEMESTER}&by=teacher").text
    assert re.search(r"张伟 <span[^>]*>T001</span>", page)
    page = client.get(f"/reports?semester={SEMESTER}&by=team").text
    assert re.search(rf"钢板缺陷机器视觉检测 <span[^>]*>{re.escape(team_id)}</span>", page)
    page = client.get(f"/reports?semester={SEMESTER}&by=county").text
    assert "城关区" in page


def _errors_in(html: str, start: str, end: str) -> list[str]:
    at = html.index(start)
    return re.findall(r'<p class="field-error">([^<]*)</p>', html[at: html.index(end, at)])


def test_every_field_error_of_a_team_form_is_shown_at_once(app, client):
    """A blank date and unreadable hours: both errors beside their fields, not only the first."""
    team_id = teamed_demand(app)
    login(client, "teacher1")
    token = form_token(client, f"/teams/{team_id}")
    r = client.post(f"/teams/{team_id}/activities", data={"csrf_token": token, "date": "", "kind": "visit",
                                                          "hours": "abc", "note": "记录甲"})
    assert r.status_code == 422
    html = r.text
    assert re.search(r'id="a-date"[^>]*>\s*<p class="field-error">必填', html)
    assert re.search(r'id="a-hours"[^>]*>\s*<p class="field-error">应为数字', html)
    assert len(_errors_in(html, 'id="a-date"', 'id="a-note"')) == 2, _errors_in(html, 'id="a-date"', 'id="a-note"')
    assert "记录甲</textarea>" in html and status(app) == "teamed"


def test_every_field_error_of_the_outcome_form_is_shown_at_once(app, client):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    _logged_activity(client, team_id)
    token = form_token(client, f"/teams/{team_id}")
    r = client.post(f"/teams/{team_id}/outcome", data={"csrf_token": token, "contract_amount": "-5", "patents": "x",
                                                       "papers": "0"})
    assert r.status_code == 422
    errs = _errors_in(r.text, "问题是否解决", 'id="o-note"')
    assert len(errs) == 3 and errs[0].startswith("请选择") and errs[1].startswith("不能小于 0") and errs[2].startswith("应为整数"), errs
    assert status(app) == "in_service"


def test_report_table_headers_are_chinese_with_english(app, client):
    team_id = teamed_demand(app)
    login(client, "teacher1")
    _logged_activity(client, team_id)
    login(client, "office1")
    page = client.get(f"/reports?semester={SEMESTER}&by=college").text
    head = page[page.index("<thead>"): page.index("</thead>")]
    headers = re.findall(r"<th>(.*?)</th>", head)
    assert len(headers) == 12
    for th in headers:
        assert re.search(r'[\u4e00-\u9fff].* <span class="en">[A-Za-z]', th), th
    assert '学院 <span class="en">College</span>' in head and '得分 <span class="en">Score</span>' in head
