"""Excel workbooks that never fail on text (plan and report exports).

An ``.xlsx`` cell cannot hold every string: openpyxl refuses the ASCII control
characters XML 1.0 forbids (``IllegalCharacterError``), and lone surrogates or
U+FFFE/U+FFFF are written but make a file no reader opens.  Text also must not
turn into a formula: a demand titled ``=HYPERLINK(…)`` stays text.  Every row of
an export goes through :func:`append_row`, so what people typed, or what an
older version stored, can never break the export.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["append_row", "cell_text", "new_workbook", "workbook_bytes"]

#: what openpyxl's ILLEGAL_CHARACTERS_RE leaves but XML 1.0 (hence Excel) still cannot hold
_NOT_XML_RE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def cell_text(value: str) -> str:
    """``value`` without the characters an Excel cell cannot hold (control characters but
    tab, line feed and carriage return; lone surrogates; U+FFFE, U+FFFF)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: PLC0415  (openpyxl loads on export only)

    return _NOT_XML_RE.sub("", ILLEGAL_CHARACTERS_RE.sub("", value))


def append_row(ws: Any, values: Iterable[Any]) -> None:
    """Append one row to the worksheet ``ws``: strings cleaned by :func:`cell_text` and kept as
    text (never a formula); numbers, None and the rest as openpyxl stores them."""
    row = [cell_text(v) if isinstance(v, str) else v for v in values]
    ws.append(row)
    for cell, value in zip(ws[ws.max_row], row):
        if isinstance(value, str) and cell.data_type == "f":
            cell.data_type = "s"


def new_workbook(first_sheet: str) -> Any:
    """A new openpyxl ``Workbook`` whose first sheet is titled ``first_sheet``."""
    from openpyxl import Workbook  # noqa: PLC0415

    wb = Workbook()
    wb.active.title = first_sheet
    return wb


def workbook_bytes(wb: Any) -> bytes:
    """The workbook as ``.xlsx`` bytes."""
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
