"""On a phone (``table.stack``) every cell shows its column name from ``data-label`` (the header row
is hidden there); a cell without one is a bare value nobody can place (the batch plan's moves
showed "D051" and "D030" with no 从/到)."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

from xfd.api.web.render import TEMPLATES


def _cells_without_label(html: str) -> list[str]:
    out = []
    for table in re.findall(r'<table class="stack">(.*?)</table>', html, flags=re.S):
        body = table.split("<tbody>", 1)[-1]
        out += [td for td in re.findall(r"<td(?![^>]*data-label)[^>]*>.*?</td>", body, flags=re.S)]
    return out


def test_every_cell_of_the_batch_plan_tables_names_its_column_on_a_phone() -> None:
    plan = SimpleNamespace(
        teams=[{"demand_id": "D001", "demand_title": "焊缝检测", "enterprise": "E001", "missing": [],
                "members": [{"profile_id": "T001", "name": "张伟", "kind": "teacher", "role": "lead", "covers": ["机械工程"]}]}],
        unassigned=[{"demand_id": "D002", "demand_title": "茶叶加工", "reason": "没有空闲的教师"}],
        moves=[{"profile_id": "S005", "name": "高欢雨", "from": "D051", "to": "D030", "why": "容量已满"}],
        objective=1.0)
    run = SimpleNamespace(id="r1", status="done", progress=1.0, accepted_at=dt.datetime(2026, 12, 3, tzinfo=dt.UTC),
                          phase="", cancel_requested_at=None, reason="")
    html = TEMPLATES.env.get_template("run.html").render(viewer=None, run=run, plan=plan, refresh=False, PHASE_LABELS={},
                                                          flash="")
    assert "D051" in html and "D030" in html
    assert _cells_without_label(html) == []
    assert '<td data-label="从">D051</td><td data-label="到">D030</td>' in html
