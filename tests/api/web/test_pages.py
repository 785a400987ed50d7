"""Office and admin pages with known answers: import errors, directory search,
proposal pin/swap, batch plan Excel export, admin accounts and keys."""
from __future__ import annotations

import io
import json
import re
import time

from openpyxl import load_workbook
from sqlalchemy import select

from tests.api.web.conftest import form_token, login
from xfd.api import crud
from xfd.api.storage.models import ApiKey, ProfileRow
from xfd.matching.readers import validate_profile


def _upload(c, name: str, body: bytes):
    token = form_token(c, "/profiles/import")
    return c.post("/profiles/import", data={"csrf_token": token}, files={"file": (name, body, "application/octet-stream")})


def test_import_lists_every_error_with_line_and_field_and_stores_nothing(client, app) -> None:
    login(client, "office1")
    lines = [
        {"id": "N001", "name": "新老师", "keywords": ["焊接"]},
        {"id": "N002", "name": "坏容量", "keywords": ["焊接"], "capacity": "two"},
        {"id": "N003", "name": "好的", "keywords": ["铸造"]},
        {"id": "N004", "kind": "student", "grade": 9, "skills": ["CAD"]},
    ]
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()
    r = _upload(client, "people.jsonl", body)
    assert r.status_code == 422
    rows = re.findall(r'<td data-label="行">(\d+)</td><td data-label="字段" class="mono">([^<]+)</td>', r.text)
    assert rows == [("2", "capacity"), ("4", "grade")], rows
    assert "未导入任何记录" in r.text
    with app.state.sessions() as s:
        assert s.scalar(select(ProfileRow).where(ProfileRow.id.in_(["N001", "N003"]))) is None


def test_import_csv_upserts_and_the_directory_finds_it(client) -> None:
    login(client, "office1")
    csv = "id,name,kind,college,disciplines,keywords\nN010,焊接王,teacher,材料学院,材料科学与工程,激光焊接\nT001,张伟,teacher,机械工程学院,机械工程,机器视觉\n"
    r = _upload(client, "people.csv", csv.encode())
    assert r.status_code == 200 and "新增 1" in r.text and "更新 1" in r.text
    page = client.get("/directory", params={"q": "激光焊接"}).text
    assert "焊接王" in page and "张伟" not in page
    page = client.get("/directory", params={"kind": "student"}).text
    assert "赵敏" in page and "焊接王" not in page
    assert _upload(client, "people.pdf", b"%PDF").status_code == 422


def test_the_directory_sets_a_teams_members_apart_from_its_keywords(client, app) -> None:
    with app.state.sessions() as s:
        crud.commit_profiles(s, [validate_profile({"id": "G02", "name": "视觉小分队", "kind": "team",
                                                   "members": ["T001", "S001"], "keywords": ["机器视觉", "缺陷检测"]})])
        s.commit()
    login(client, "office1")
    page = client.get("/directory", params={"kind": "team"}).text
    cell = page[page.index("视觉小分队"):]
    cell = cell[cell.index('data-label="关键词"'): cell.index("</td>", cell.index('data-label="关键词"'))]
    assert "缺陷检测 成员" not in cell and "缺陷检测成员" not in cell
    assert "<div>机器视觉、缺陷检测</div>" in cell
    assert re.search(r'<div[^>]*>成员 <span class="en">Members</span>：T001、S001</div>', cell)


def test_proposal_pin_and_swap(client) -> None:
    login(client, "ent1")
    token = form_token(client, "/demands/new")
    r = client.post("/demands/new", data={"title": "机器视觉缺陷检测", "description": "机器视觉 缺陷检测 深度学习 图像识别",
                                          "csrf_token": token, "team_min": "2", "team_max": "3"})
    did = r.headers["location"].split("/")[2].split("?")[0]
    login(client, "office1")
    token = form_token(client)
    client.post(f"/demands/{did}/status", data={"status": "accepted", "csrf_token": token})
    r = client.post(f"/demands/{did}/proposal", data={"csrf_token": token})
    members = re.findall(r'name="member" value="([^"]+)"', r.text)
    assert members == ["T002", "T001", "S001"]  # the fake planner: best scores first
    out = "S002"  # another student: the swapped team still meets every constraint
    swap = [""] * len(members)
    swap[-1] = out
    r = client.post(f"/demands/{did}/proposal", data={"csrf_token": token, "member": members, "pin": [members[0]],
                                                      "swap": swap, "action": "swap"})
    after = re.findall(r'name="member" value="([^"]+)"', r.text)
    assert after == [*members[:-1], out], (members, after)
    r = client.post(f"/demands/{did}/team", data={"csrf_token": token, "member": after})
    assert r.status_code == 303
    page = client.get(f"/demands/{did}").text
    assert "已组队" in page
    login(client, "ent1")
    page = client.get(f"/demands/{did}").text
    for pid in after:
        assert pid in page


def test_batch_run_page_accept_and_excel(client) -> None:
    login(client, "ent1")
    token = form_token(client, "/demands/new")
    r = client.post("/demands/new", data={"title": "图像识别检测", "description": "机器视觉 图像识别 深度学习", "csrf_token": token})
    did = r.headers["location"].split("/")[2].split("?")[0]
    login(client, "office1")
    token = form_token(client)
    client.post(f"/demands/{did}/status", data={"status": "accepted", "csrf_token": token})
    r = client.post("/runs", data={"csrf_token": token, "semester": "2026秋"})
    run_url = r.headers["location"]
    for _ in range(100):
        page = client.get(run_url).text
        if "<progress" not in page:
            break
        assert 'http-equiv="refresh"' in page
        time.sleep(0.1)
    assert "采纳方案" in page and did in page
    r = client.get(f"{run_url}/plan.xlsx")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["小分队 teams", "未分配 unassigned", "调整 moves"]
    rows = list(wb["小分队 teams"].iter_rows(values_only=True))
    assert rows[0][0] == "需求编号 demand" and {row[0] for row in rows[1:]} == {did}
    r = client.post(f"{run_url}/accept", data={"csrf_token": token})
    assert r.status_code == 303 and "accepted=1" in r.headers["location"]
    assert "方案已采纳" in client.get(r.headers["location"]).text


def test_batch_run_with_a_bad_semester_shows_the_error_beside_the_field(client) -> None:
    login(client, "office1")
    token = form_token(client, "/runs")
    r = client.post("/runs", data={"csrf_token": token, "semester": "2026 秋"})
    assert r.status_code == 422
    field = re.search(r'name="semester" value="([^"]*)"[^>]*>\s*<p class="field-error">([^<]*)</p>', r.text)
    assert field, "the semester error is not beside the semester field"
    assert field.group(1) == "2026 秋" and "学期无效" in field.group(2) and "invalid semester" in field.group(2)
    assert "历次运行" in r.text and "还没有运行过" in r.text  # the runs page again, nothing started


def test_admin_creates_accounts_and_keys(client, app) -> None:
    login(client, "admin1")
    token = form_token(client, "/admin/users")
    r = client.post("/admin/users", data={"csrf_token": token, "role": "enterprise", "username": "e3", "password": "long-enough-1"})
    assert r.status_code == 422 and "enterprise" in r.text  # an enterprise account needs its enterprise
    r = client.post("/admin/users", data={"csrf_token": token, "role": "enterprise", "username": "e3", "password": "long-enough-1",
                                          "enterprise": "E003"})
    assert r.status_code == 303
    assert "e3" in client.get("/admin/users").text
    r = client.post("/admin/keys", data={"csrf_token": token, "role": "office", "note": "网页"})
    key = re.search(r"<code>(xfd_[^<]+)</code>", r.text).group(1)
    assert key not in client.get("/admin/keys").text, "a key is shown once"
    with app.state.sessions() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.note == "网页"))
        assert row is not None and key not in row.key_hash
    assert login(client, "e3", "long-enough-1").headers["location"] == "/demands"
