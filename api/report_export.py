"""The performance report as an Excel workbook (``xfd report --xlsx`` and the
report page's export): sheet 绩效 with one row per group and a bar chart of
the scores, sheet 指标 with the indicators and weights used.
"""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xfd.matching.performance import PerformanceConfig

#: (field, column title) of the report sheet, in order
COLUMNS: tuple[tuple[str, str], ...] = (
    ("group", "分组 group"), ("demands", "需求数 demands"), ("solved", "已解决 solved"),
    ("enterprises", "服务企业 enterprises"), ("activities", "活动次数 activities"), ("hours", "服务时长 hours"),
    ("students", "学生人数 students"), ("grades", "学生年级数 grades"), ("contract_amount", "合同金额(元) contract_amount"),
    ("satisfaction_mean", "满意度 satisfaction_mean"), ("score", "得分 score"), ("grade", "等级 grade"),
)


def report_workbook(rows: Sequence[dict[str, Any]], semester: str, by: str, config: PerformanceConfig) -> bytes:
    """The workbook as ``.xlsx`` bytes."""
    from openpyxl import Workbook  # noqa: PLC0415
    from openpyxl.chart import BarChart, Reference  # noqa: PLC0415

    wb = Workbook()
    ws = wb.active
    ws.title = "绩效 report"
    ws.append([f"学期 semester: {semester}", f"分组 by: {by}"])
    ws.append([title for _, title in COLUMNS])
    for row in rows:
        ws.append([row.get(name) for name, _ in COLUMNS])
    if rows:
        chart = BarChart()
        chart.title = f"{semester} 绩效得分 score by {by}"
        chart.y_axis.title = "score"
        score_col = [name for name, _ in COLUMNS].index("score") + 1
        chart.add_data(Reference(ws, min_col=score_col, min_row=2, max_row=len(rows) + 2), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=len(rows) + 2))
        ws.add_chart(chart, f"A{len(rows) + 5}")
    wc = wb.create_sheet("指标 indicators")
    wc.append(["指标 indicator", "权重 weight", "目标 target", "说明 description"])
    for ind in config.indicators:
        wc.append([ind.name, ind.weight, ind.target, ind.description])
    wc.append([])
    wc.append(["等级 grade", "最低分 min score"])
    for name, lo in config.grades:
        wc.append([name, lo])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_report_xlsx(path: str | os.PathLike[str], rows: Sequence[dict[str, Any]], semester: str, by: str,
                      config: PerformanceConfig) -> None:
    """Write the workbook to ``path`` atomically (a temp file in the same folder, then rename)."""
    data = report_workbook(rows, semester, by, config)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".xlsx", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
