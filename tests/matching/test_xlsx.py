"""``matching.xlsx``: any text can go into a workbook, which then opens again."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from xfd.matching.xlsx import append_row, cell_text, new_workbook, workbook_bytes


@pytest.mark.parametrize(("text", "kept"), [
    ("控制字符\x01标题", "控制字符标题"),
    ("a\x00b\x08c\x0bd\x0ce\x1ff", "abcdef"),
    ("tab\tlf\ncr\r", "tab\tlf\ncr\r"),
    ("lone \ud800 surrogate", "lone  surrogate"),
    ("non\ufffechar\uffff", "nonchar"),
    ("2026春", "2026春"),
])
def test_cell_text(text, kept):
    assert cell_text(text) == kept


def test_rows_with_any_text_round_trip():
    wb = new_workbook("表 sheet")
    append_row(wb.active, ["控制字符\x01标题", "=HYPERLINK(\"http://x\", \"点我\")", "=((", 0.5, None, 3])
    append_row(wb.active, [])
    append_row(wb.active, ["\ud800\ufffe", "末行"])
    ws = load_workbook(io.BytesIO(workbook_bytes(wb))).active
    assert ws.title == "表 sheet"
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("控制字符标题", '=HYPERLINK("http://x", "点我")', "=((", 0.5, None, 3)
    assert [c.data_type for c in ws[1][:3]] == ["s", "s", "s"]  # text, never a formula
    assert rows[-1][:2] == (None, "末行")  # an emptied string is an empty cell
