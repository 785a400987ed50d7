"""Demand pages (``xfd.api.web.demands``): form errors stand beside their field
with the typed input kept and nothing stored, a teacher's way back from a
demand page, and the inferred disciplines shown by name."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.api.web.conftest import form_token, login
from tests.api.web.test_service_pages import teamed_demand
from tests.fakes import FakeScorer
from xfd.api.storage.models import DemandRow


def _field_error(html: str, field_id: str) -> str:
    """The text of the ``field-error`` that follows the input ``id=field_id`` before the next label ("" if none)."""
    at = html.find(f'id="{field_id}"')
    assert at >= 0, field_id
    err = html.find('class="field-error"', at)
    nxt = html.find("<label", at + 1)
    if err < 0 or (0 <= nxt < err):
        return ""
    return html[html.index(">", err) + 1: html.index("</p>", err)]


def _count(app) -> int:
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(DemandRow))


def _new(client, **fields: str):
    token = form_token(client, "/demands/new")
    return client.post("/demands/new", data={"title": "焊缝缺陷检测", "description": "焊接 机器视觉", "csrf_token": token,
                                             **fields})


@pytest.mark.parametrize(("field", "typed", "says"), [
    ("team_min", "abc", "应为整数"), ("team_min", "0", "不能小于 1"), ("team_min", "-2", "不能小于 1"),
    ("team_min", "2.5", "应为整数"), ("team_max", "999", "不能大于 50"),
])
def test_a_bad_team_size_is_a_field_error_with_the_input_kept(client, app, field, typed, says) -> None:
    login(client, "ent1")
    before = _count(app)
    r = _new(client, **{field: typed}, county="城关区")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "Input should" not in r.text
    assert _field_error(r.text, field).startswith(says), _field_error(r.text, field)
    assert f'id="{field}" name="{field}" min="1" max="50" value="{typed}"' in r.text
    assert 'value="焊缝缺陷检测"' in r.text and 'value="城关区"' in r.text
    assert _count(app) == before


def test_a_team_size_maximum_below_the_minimum_says_so_beside_the_maximum(client, app) -> None:
    """Not the record's "应为两个整数 must be two integers [min, max] … got [5, 3]" (both numbers are
    whole; what is wrong is their order)."""
    login(client, "ent1")
    before = _count(app)
    r = _new(client, team_min="5", team_max="3")
    assert r.status_code == 422
    assert _field_error(r.text, "team_max") == "不能小于下限 5 must be at least the minimum, 5"
    assert _field_error(r.text, "team_min") == ""
    assert "两个整数" not in r.text and 'value="5"' in r.text and 'value="3"' in r.text
    assert _count(app) == before


def test_every_field_error_of_the_demand_form_is_shown_at_once(client, app) -> None:
    """The form's own checks (title, team size) and the record's (the id) together, each beside its
    field, not only the first one."""
    login(client, "office1")
    before = _count(app)
    r = _new(client, title="", enterprise="", id="D 1", team_min="abc", team_max="60")
    assert r.status_code == 422
    assert _field_error(r.text, "title").startswith("请填写标题")
    assert _field_error(r.text, "enterprise").startswith("请填写企业编号")
    assert _field_error(r.text, "id").startswith("id 不能含空白") and "whitespace" in _field_error(r.text, "id")
    assert _field_error(r.text, "team_min").startswith("应为整数 must be a whole number")
    assert _field_error(r.text, "team_max").startswith("不能大于 50 must be at most 50")
    assert _count(app) == before


def test_record_errors_of_several_fields_are_all_shown(client, app) -> None:
    login(client, "ent1")
    r = _new(client, id="D 1", team_min="2", team_max="3", county="城关区\x00")
    assert r.status_code == 422
    assert _field_error(r.text, "id") != "" and _field_error(r.text, "county") != ""


def test_reusing_the_id_of_a_demand_past_review_is_a_field_error_naming_its_state(client, app) -> None:
    login(client, "ent1")
    r = _new(client, id="D001")
    assert r.status_code == 303
    login(client, "office1")
    token = form_token(client)
    assert client.post("/demands/D001/status", data={"status": "accepted", "csrf_token": token}).status_code == 303
    login(client, "ent1")
    r = _new(client, id="D001", title="改过的标题")
    assert r.status_code == 409 and "提交技术需求" in r.text
    message = _field_error(r.text, "id")
    assert message.startswith("需求 D001") and "已受理" in message, message
    assert 'value="改过的标题"' in r.text and 'value="D001"' in r.text
    with app.state.sessions() as s:
        assert s.scalar(select(DemandRow.title).where(DemandRow.ref == "D001")) == "焊缝缺陷检测"


def test_returning_without_a_reason_is_a_field_error_at_the_reason(client, app) -> None:
    login(client, "ent1")
    did = re.match(r"/demands/([^/?]+)", _new(client).headers["location"]).group(1)
    login(client, "office1")
    token = form_token(client)
    r = client.post(f"/demands/{did}/status", data={"status": "returned", "reason": "  ", "csrf_token": token})
    assert r.status_code == 422 and "焊缝缺陷检测" in r.text  # the demand page, not a bare error page
    returned_form = r.text[r.text.index('value="returned"'):]
    reason_id = re.search(r'id="(reason-\d+)"', returned_form).group(1)
    assert _field_error(r.text, reason_id).startswith("退回需求必须说明原因")
    with app.state.sessions() as s:
        assert s.get(DemandRow, did).status == "submitted"


def test_bad_disciplines_on_accept_keep_the_typed_text_and_change_nothing(client, app) -> None:
    login(client, "ent1")
    did = re.match(r"/demands/([^/?]+)", _new(client).headers["location"]).group(1)
    login(client, "office1")
    token = form_token(client)
    typed = "、".join(f"学科{i}" for i in range(60))  # more than a demand may require (50)
    r = client.post(f"/demands/{did}/status", data={"status": "accepted", "disciplines": typed, "csrf_token": token})
    assert r.status_code == 422
    accept_form = r.text[r.text.index('value="accepted"'):]
    disc_id = re.search(r'id="(disc-\d+)"', accept_form).group(1)
    assert _field_error(r.text, disc_id) != "" and f'value="{typed}"' in r.text
    with app.state.sessions() as s:
        row = s.get(DemandRow, did)
        assert row.status == "submitted" and row.disciplines is None


def test_a_teacher_goes_back_to_their_teams_not_to_the_demand_list(client, app) -> None:
    teamed_demand(app)
    login(client, "teacher1")
    page = client.get("/demands/W1")
    assert page.status_code == 200
    assert 'href="/teacher">← 返回我的团队' in page.text and 'href="/demands"' not in page.text
    assert client.get("/teacher").status_code == 200
    login(client, "ent1")
    assert 'href="/demands">← 返回需求列表' in client.get("/demands/W1").text


def test_the_teacher_page_links_each_team_to_its_team_page(client, app) -> None:
    """Activities are recorded on the team page: /teacher links there, not only to the demand."""
    team_id = teamed_demand(app)
    login(client, "teacher1")
    page = client.get("/teacher").text
    assert f'href="/teams/{team_id}"' in page
    assert client.get(f"/teams/{team_id}").status_code == 200


def test_inferred_disciplines_are_shown_by_name_after_review(client, app, monkeypatch) -> None:
    monkeypatch.setattr(FakeScorer, "required_disciplines",
                        lambda self, demands: [tuple(d.disciplines) if d.disciplines is not None else ("机械工程", "计算机科学与技术")
                                               for d in demands])
    login(client, "ent1")
    did = re.match(r"/demands/([^/?]+)", _new(client).headers["location"]).group(1)
    login(client, "office1")
    token = form_token(client)
    r = client.post(f"/demands/{did}/status", data={"status": "accepted", "disciplines": "", "csrf_token": token})
    assert r.status_code == 303
    with app.state.sessions() as s:
        assert s.get(DemandRow, did).disciplines is None  # left empty: still inferred
    facts = re.search(r"<dt>学科 Disciplines</dt><dd>(.*?)</dd>", client.get(f"/demands/{did}").text, re.S).group(1)
    assert "机械工程、计算机科学与技术" in facts and "由系统推断" in facts
    login(client, "ent1")
    facts = re.search(r"<dt>学科 Disciplines</dt><dd>(.*?)</dd>", client.get(f"/demands/{did}").text, re.S).group(1)
    assert "机械工程、计算机科学与技术" in facts


def test_own_disciplines_are_shown_as_given(client) -> None:
    login(client, "ent1")
    did = re.match(r"/demands/([^/?]+)", _new(client, disciplines="机械工程").headers["location"]).group(1)
    facts = re.search(r"<dt>学科 Disciplines</dt><dd>(.*?)</dd>", client.get(f"/demands/{did}").text, re.S).group(1)
    assert facts == "机械工程"
