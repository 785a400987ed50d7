"""The performance report as an Excel workbook (``xfd report --xlsx`` and the
report page's export): sheet 绩效 with one row per group and a bar chart of
the scores, sheet 指标 with the indicators and weights used.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from xfd.matching.performance import PerformanceConfig
from xfd.matching.writers import write_bytes_atomic
from xfd.matching.xlsx import append_row, cell_text, new_workbook, workbook_bytes

#: (field, column title) of the report sheet, in order
COLUMNS: tuple[tuple[str, str], ...] = (
    ("group", "分组 group"), ("demands", "需求数 demands"), ("solved", "已解决 solved"),
    ("enterprises", "服务企业 enterprises"), ("activities", "活动次数 activities"), ("hours", "服务时长 hours"),
    ("students", "学生人数 students"), ("grades", "学生年级数 grades"), ("contract_amount", "合同金额(元) contract_amount"),
    ("satisfaction_mean", "满意度 satisfaction_mean"), ("score", "得分 score"), ("grade", "等级 grade"),
)

#: groupings whose ``group`` is an id people know by a name (a teacher, a team)
NAMED_BY = ("teacher", "team")


def report_workbook(rows: Sequence[dict[str, Any]], semester: str, by: str, config: PerformanceConfig,
                    names: Mapping[str, str] | None = None) -> bytes:
    """The workbook as ``.xlsx`` bytes (any text is written as plain text, ``xfd.matching.xlsx``).
    ``names`` (group id -> what people call it, ``crud.service.group_names``): given for a grouping
    by id (``NAMED_BY``), a column 名称 name follows the group column."""
    from openpyxl.chart import BarChart, Reference  # noqa: PLC0415

    wb = new_workbook("绩效 report")
    ws = wb.active
    append_row(ws, [f"学期 semester: {semester}", f"分组 by: {by}"])
    columns = COLUMNS if names is None or by not in NAMED_BY else (COLUMNS[0], ("name", "名称 name"), *COLUMNS[1:])
    append_row(ws, [title for _, title in columns])
    for row in rows:
        append_row(ws, [(names or {}).get(row.get("group"), "") if name == "name" else row.get(name)
                        for name, _ in columns])
    if rows:
        chart = BarChart()
        chart.title = cell_text(f"{semester} 绩效得分 score by {by}")
        chart.y_axis.title = "score"
        score_col = [name for name, _ in columns].index("score") + 1
        chart.add_data(Reference(ws, min_col=score_col, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=len(rows) + 2))
        ws.add_chart(chart, f"A{len(rows) + 5}")
    wc = wb.create_sheet("指标 indicators")
    append_row(wc, ["指标 indicator", "权重 weight", "目标 target", "说明 description"])
    for ind in config.indicators:
        append_row(wc, [ind.name, ind.weight, ind.target, ind.description])
    append_row(wc, [])
    append_row(wc, ["等级 grade", "最低分 min score"])
    for name, lo in config.grades:
        append_row(wc, [name, lo])
    return workbook_bytes(wb)


def write_report_xlsx(path: str | os.PathLike[str], rows: Sequence[dict[str, Any]], semester: str, by: str,
                      config: PerformanceConfig) -> None:
    """Write the workbook to ``path`` atomically (a temp file in the same folder, then rename)."""
    write_bytes_atomic(path, report_workbook(rows, semester, by, config))
