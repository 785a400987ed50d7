"""Office pages (``xfd.api.web.office``): the profiles import lists every bad
line of an upload, also after a line that is not JSON, and stores nothing."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.api.web.conftest import form_token, login
from xfd.api.storage.models import ProfileRow

ROW = re.compile(r'<td data-label="行">(\d+)</td><td data-label="字段" class="mono">([^<]*)</td>')


def _upload(c, name: str, body: bytes):
    token = form_token(c, "/profiles/import")
    return c.post("/profiles/import", data={"csrf_token": token}, files={"file": (name, body, "application/octet-stream")})


def _profiles(app) -> int:
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(ProfileRow))


def test_import_lists_every_bad_line_after_a_line_that_is_not_json(client, app) -> None:
    login(client, "office1")
    before = _profiles(app)
    body = "\n".join([
        '{"id": "TW01", "name": "好老师", "keywords": ["焊接"]}',
        "broken",
        '{"id": "TW07", "kind": "student", "grade": 9, "skills": ["CAD"]}',
        '{"id": "TW08"}',
        '{"id": "TW09", "name": "也好", "keywords": ["铸造"]}',
    ]).encode()
    r = _upload(client, "people.jsonl", body)
    assert r.status_code == 422
    lines = [int(line) for line, _field in ROW.findall(r.text)]
    assert lines == [2, 3, 4], ROW.findall(r.text)
    assert dict(ROW.findall(r.text))["3"] == "grade"
    assert "JSON 有误" in r.text and "未导入任何记录" in r.text
    assert _profiles(app) == before


def test_a_json_array_with_a_syntax_error_still_stops_at_it(client, app) -> None:
    login(client, "office1")
    r = _upload(client, "people.json", b'[{"id": "TW01", "keywords": ["x"]},\n broken]')
    assert r.status_code == 422 and [line for line, _ in ROW.findall(r.text)] == ["2"]
