"""Reading profiles and demands from files (``../shared/INTERFACES.md``).

This module parses the formats; the record schema (``matching.records``)
decides what is a valid record, for the files here exactly as for the HTTP API.

Formats, chosen by file suffix:

* ``.jsonl`` / ``.ndjson`` — one JSON object per line; blank lines are skipped.
* ``.json`` — a JSON array of objects, a single object, or JSONL content.
* ``.csv`` (comma separated) / ``.tsv`` (tab separated) — a header row with
  the same column names as the JSON keys.
* ``.xlsx`` — the first worksheet, laid out like the CSV.

JSON is strict (``matching.strict_json``): a repeated key or NaN/Infinity is
an error naming its path.  In CSV/XLSX, list fields (``keywords``,
``disciplines``, ``skills``, ``conflicts``, ``members``, ``current_team``) are
separated by ``;``, the full-width ``；`` or a line break inside the cell
(commas are *not* separators, because they occur in text).  ``team_size`` and
``students`` are written ``3;5``, ``3-5``, ``3~5`` or a single number.
Documents come either from a ``documents`` column holding JSON (an array of
objects, or one object; plain text becomes one document) and/or from the flat
columns ``document_title``, ``document_text``, ``document_kind``,
``document_year`` giving one document.

Everything is all or nothing: the first bad record raises :class:`RecordError`
naming the file, the line (for CSV/XLSX the row number a spreadsheet shows,
header = row 1) and the field (``documents[2].year``); no partial list is ever
returned.

:func:`validate_profile` / :func:`validate_demand` check one already-parsed
JSON object; :func:`validate_profiles` / :func:`validate_demands` check a list
of them, including duplicate ids.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from .records import (
    MAX_CAPACITY,
    MAX_DOCUMENTS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_REQUIRED_DISCIPLINES,
    MAX_SHORT_CHARS,
    MAX_TEAM_SIZE,
    MAX_TEXT_CHARS,
    DemandCreate,
    ProfileCreate,
    duplicate_id_reason,
    first_duplicate_id,
    format_loc,
)
from .records import show as _show
from .strict_json import StrictDecoder, StrictJSONError
from .types import Demand, Profile

__all__ = [
    "RecordError",
    "Where",
    "read_profiles",
    "read_demands",
    "iter_raw_records",
    "validate_record",
    "validate_profile",
    "validate_demand",
    "validate_profiles",
    "validate_demands",
    "SUFFIXES",
    "MAX_TEXT_CHARS",
    "MAX_SHORT_CHARS",
    "MAX_ID_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_REQUIRED_DISCIPLINES",
    "MAX_DOCUMENTS",
    "MAX_CAPACITY",
    "MAX_TEAM_SIZE",
]

SUFFIXES: dict[str, str] = {
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
}

_DOC_FLAT_COLUMNS = ("document_title", "document_text", "document_kind", "document_year")
M = TypeVar("M", bound=BaseModel)


# ----------------------------------------------------------------------------- errors
class RecordError(ValueError):
    """A bad input record.

    Attributes:
        file: the file as given by the caller, or None (HTTP request bodies).
        line: 1-based line in the file; for CSV/XLSX the spreadsheet row
            number (header = 1).  None when not from a file or for whole-file
            problems (unreadable file, unknown suffix).
        field: dotted path of the bad field, e.g. ``documents[2].year``
            (for CSV/XLSX flat columns, the column name), or None for a
            whole-record problem.
        reason: what is wrong, Chinese with English alongside.

    ``str(err)`` is one line, e.g.
    ``profiles.jsonl 第 7 行 line 7, 字段 field "capacity": 应为非负整数 must be a
    non-negative integer, got "two"``.
    """

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.reason = " ".join(str(reason).split())
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self._message())

    def _message(self) -> str:
        head = self.file or ""
        if self.line is not None:
            head = f"{head} 第 {self.line} 行 line {self.line}".strip()
        if self.field is not None:
            head = f"{head}, 字段 field \"{self.field}\"" if head else f"字段 field \"{self.field}\""
        return f"{head}: {self.reason}" if head else self.reason

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self):  # keep attributes across pickling (multiprocessing, job queues)
        return (_rebuild_record_error, (self.reason, self.file, self.line, self.field))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for an HTTP 4xx body: file, line, field, reason, message."""
        return {"file": self.file, "line": self.line, "field": self.field,
                "reason": self.reason, "message": str(self)}


def _rebuild_record_error(reason: str, file: str | None, line: int | None,
                          field: str | None) -> RecordError:
    return RecordError(reason, file=file, line=line, field=field)


class Where(NamedTuple):
    """Where a record came from, for error messages.

    ``prefix`` is put before every field path, e.g. ``Where(prefix="[3]")``
    gives fields like ``[3].capacity`` for the 4th element of a request body.
    """

    file: str | None = None
    line: int | None = None
    prefix: str = ""

    def error(self, field: str | None, reason: str) -> RecordError:
        if self.prefix:
            field = f"{self.prefix}.{field}" if field else self.prefix
        return RecordError(reason, file=self.file, line=self.line, field=field)


def _where(where: Where | str | None) -> Where:
    """None -> no location; a string is taken as a field prefix (e.g. ``"body"``)."""
    if where is None:
        return Where()
    if isinstance(where, str):
        return Where(prefix=where)
    return where


# ----------------------------------------------------------------------------- validation
class _Flat(dict):
    """A document assembled from the flat CSV/XLSX columns: errors name those columns."""


def _field_of(obj: Any, loc: Sequence[str | int]) -> str | None:
    """The field path of a pydantic ``loc`` in ``obj``; a flat-column document's
    fields are named by their columns (``document_year``)."""
    if len(loc) >= 2 and loc[0] == "documents" and isinstance(loc[1], int) and isinstance(obj, dict):
        docs = obj.get("documents")
        if isinstance(docs, list) and loc[1] < len(docs) and isinstance(docs[loc[1]], _Flat):
            return f"document_{loc[2]}" if len(loc) > 2 else "documents"
    return format_loc(loc) or None


def validate_record(model: type[M], obj: Any, where: Where | str | None = None) -> M:
    """Validate one parsed record with a schema model (``ProfileCreate``, ``DemandCreate``…);
    the first problem raises :class:`RecordError` naming ``where`` and the field path."""
    where = _where(where)
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        raise where.error(_field_of(obj, first["loc"]), first["msg"]) from None


def validate_profile(obj: Any, where: Where | str | None = None) -> Profile:
    """Check one profile record (a parsed JSON object) and build a :class:`Profile`
    (rules: ``matching.records.ProfileBase``).  Raises :class:`RecordError`."""
    return validate_record(ProfileCreate, obj, where).to_profile()


def validate_demand(obj: Any, where: Where | str | None = None) -> Demand:
    """Check one demand record (a parsed JSON object) and build a :class:`Demand`
    (rules: ``matching.records.DemandBase``).  Raises :class:`RecordError`."""
    return validate_record(DemandCreate, obj, where).to_demand()


def _validate_many(objs: Any, validate: Callable[[Any, Where], Any], where: Where | str | None) -> list:
    where = _where(where)
    if not isinstance(objs, list):
        raise where.error(None, f"应为 JSON 数组 must be a JSON array, got {_show(objs)}")
    out = [validate(obj, where._replace(prefix=f"{where.prefix}[{i}]")) for i, obj in enumerate(objs)]
    dup = first_duplicate_id([r.id for r in out])
    if dup is not None:
        i, j = dup
        raise where._replace(prefix=f"{where.prefix}[{i}]").error("id", duplicate_id_reason(out[i].id, f"[{j}]"))
    return out


def validate_profiles(objs: Any, where: Where | str | None = None) -> list[Profile]:
    """Check a JSON array of profile records (e.g. an HTTP body); fields are named
    ``[i].field``; duplicate ids are an error naming both positions."""
    return _validate_many(objs, validate_profile, where)


def validate_demands(objs: Any, where: Where | str | None = None) -> list[Demand]:
    """Check a JSON array of demand records; see :func:`validate_profiles`."""
    return _validate_many(objs, validate_demand, where)


# ----------------------------------------------------------------------------- file formats
def _no_constant(name: str) -> Any:
    raise ValueError(f"不允许 NaN/Infinity not allowed: {name}")


def _decode_at(decoder: StrictDecoder, text: str, pos: int, file: str,
               line_of: Callable[[int], int]) -> tuple[Any, int]:
    """``raw_decode`` with every failure turned into a RecordError naming the line
    (and, for repeated keys and NaN/Infinity, the field path)."""
    try:
        obj, end = decoder.raw_decode(text, pos)
        decoder.check(obj)
        return obj, end
    except StrictJSONError as exc:
        raise RecordError(exc.reason, file=file, line=line_of(pos), field=format_loc(exc.loc) or None) from None
    except json.JSONDecodeError as exc:
        if not text[exc.pos:].strip():
            reason = "JSON 不完整 truncated JSON: 对象未结束 the record ends before it is complete"
        else:
            reason = f"JSON 有误 invalid JSON: {exc.msg} (第 {exc.colno} 列 column {exc.colno})"
        raise RecordError(reason, file=file, line=line_of(exc.pos)) from None
    except RecursionError:
        raise RecordError("JSON 嵌套过深 nested too deeply", file=file, line=line_of(pos)) from None


def _read_text(path: Path, file: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordError(f"无法读取文件 cannot read file: {exc.strerror or exc}", file=file) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RecordError("不是 UTF-8 编码 not UTF-8 text (在 Excel 中请另存为 save as “CSV UTF-8”)",
                          file=file, line=line) from None


def _iter_json(path: Path, file: str, line_errors: list[RecordError] | None = None) -> Iterator[tuple[int, Any]]:
    text = _read_text(path, file)
    decoder = StrictDecoder()
    stripped = text.lstrip()
    start = len(text) - len(stripped)

    mark = [0, 1]  # (position, its line): positions mostly increase, so count incrementally

    def line_of(pos: int) -> int:
        if pos < mark[0]:
            mark[0], mark[1] = 0, 1
        mark[1] += text.count("\n", mark[0], pos)
        mark[0] = pos
        return mark[1]

    if stripped.startswith("["):  # a JSON array of records
        pos = start + 1
        ws = re.compile(r"\s*")
        pos = ws.match(text, pos).end()
        if text.startswith("]", pos):
            pos += 1
        else:
            while True:
                obj, end = _decode_at(decoder, text, pos, file, line_of)
                yield line_of(pos), obj
                pos = ws.match(text, end).end()
                if text.startswith(",", pos):
                    pos = ws.match(text, pos + 1).end()
                    continue
                if text.startswith("]", pos):
                    pos += 1
                    break
                raise RecordError("JSON 数组不完整 invalid JSON array: 缺少 missing ',' or ']'",
                                  file=file, line=line_of(pos))
        rest = ws.match(text, pos).end()
        if rest != len(text):
            raise RecordError("JSON 数组后有多余内容 extra data after the array", file=file, line=line_of(rest))
        return

    if path.suffix.lower() == ".json" and stripped.startswith("{"):
        # One (possibly pretty-printed) object; otherwise fall through to JSONL.
        try:
            obj, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            if stripped.split("\n", 1)[0].strip() == "{":  # clearly one pretty-printed object
                _decode_at(decoder, text, start, file, line_of)  # raises, naming the right line
        else:
            if not text[end:].strip():
                _decode_at(decoder, text, start, file, line_of)  # raises on repeated keys / NaN
                yield line_of(start), obj
                return
            decoder.flagged = False

    for lineno, raw in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 is legal JSON
        line = raw.rstrip()
        if not line.strip():
            continue
        start = len(line) - len(line.lstrip())
        try:
            obj, end = _decode_at(decoder, line, start, file, lambda _pos, n=lineno: n)
            if line[end:].strip():
                raise RecordError("一行只能有一个 JSON 对象 extra data after the object "
                                  f"(第 {end + 1} 列 column {end + 1})", file=file, line=lineno)
        except RecordError as exc:
            if line_errors is None:
                raise
            line_errors.append(exc)  # one bad line of JSONL: note it and read on
            continue
        yield lineno, obj


class _CellError(str):
    """An Excel error value (#N/A, #DIV/0!…) read from a cell."""


def _cell_text(value: Any) -> str | None:
    """A spreadsheet cell as text (None when empty): 3.0 -> "3", dates -> ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    s = str(value).strip()
    return s or None


_JSONISH_COLUMNS = {"documents", "team_size", "students", "keywords", "disciplines", "skills", "conflicts",
                    "members", "current_team"}


def _row_to_record(header: list[str], cells: Sequence[str | None], where: Where) -> dict[str, Any] | None:
    """Turn one CSV/XLSX row into a JSON-like record; None for a blank row."""
    rec: dict[str, Any] = {}
    for name, value in zip(header, cells):
        if name and isinstance(value, _CellError):
            raise where.error(name, f"单元格是 Excel 错误值 the cell holds an Excel error {_show(str(value))}")
        if name and value is not None and value.strip():
            rec[name] = value.strip()
    if not rec:
        return None
    for name in _JSONISH_COLUMNS & rec.keys():
        value = rec[name]
        if value[:1] in "[{":
            try:
                parsed = json.loads(value, parse_constant=_no_constant)
            except (ValueError, RecursionError) as exc:
                if name == "documents":
                    msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                    raise where.error("documents", f"JSON 有误 invalid JSON: {msg}") from None
                continue  # a list cell that merely starts with "[": keep it as text
            if name == "documents" or isinstance(parsed, list):
                rec[name] = parsed
    flat = _Flat({k[len("document_"):]: rec.pop(k) for k in _DOC_FLAT_COLUMNS if k in rec})
    if flat:
        docs = rec.get("documents")
        if docs is None:
            docs = []
        elif not isinstance(docs, list):
            docs = [docs]
        rec["documents"] = [*docs, flat]
    return rec


def _header(cells: Sequence[str | None], file: str, line: int) -> list[str]:
    header = [(c or "").strip().lstrip("\ufeff").lower() for c in cells]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise RecordError(f"表头列名重复 duplicate column {_show(name)}", file=file, line=line, field=name)
        seen.add(name)
    if "id" not in seen:
        raise RecordError(f"表头缺少 id 列 header has no \"id\" column; 表头 header: {_show([h for h in header if h])}",
                          file=file, line=line, field="id")
    return header


def _iter_table(rows: Iterator[tuple[int, list[str | None]]], file: str) -> Iterator[tuple[int, Any]]:
    header: list[str] | None = None
    for rownum, cells in rows:
        if header is None:
            if any(c is not None and c.strip() for c in cells):
                header = _header(cells, file, rownum)
            continue
        rec = _row_to_record(header, cells, Where(file, rownum))
        if rec is not None:
            yield rownum, rec


def _csv_rows(path: Path, file: str, delimiter: str) -> Iterator[tuple[int, list[str | None]]]:
    text = _read_text(path, file)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rownum = 0
    try:
        for rownum, row in enumerate(reader, start=1):
            yield rownum, [c if c.strip() else None for c in row]
    except csv.Error as exc:
        raise RecordError(f"CSV 格式有误 malformed CSV: {exc}", file=file, line=rownum + 1) from None


def _xlsx_rows(path: Path, file: str) -> Iterator[tuple[int, list[str | None]]]:
    try:
        import openpyxl  # noqa: PLC0415
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise RecordError("读取 .xlsx 需要 openpyxl reading .xlsx needs openpyxl", file=file) from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise RecordError(f"无法读取文件 cannot read file: {exc.strerror or exc}", file=file) from None
    except Exception as exc:  # noqa: BLE001 - zip, XML and openpyxl errors all mean "not a usable xlsx"
        raise RecordError(f"不是有效的 .xlsx 文件 not a valid .xlsx file: {type(exc).__name__}: {exc}",
                          file=file) from None
    rownum = 0
    try:
        if not wb.worksheets:
            return
        rows = wb.worksheets[0].iter_rows(min_row=1)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - a corrupt sheet part
                raise RecordError(f"不是有效的 .xlsx 文件 not a valid .xlsx file: {type(exc).__name__}: {exc}",
                                  file=file, line=rownum + 1) from None
            rownum += 1
            out: list[str | None] = []
            for cell in row:
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "e" and value is not None:
                    out.append(_CellError(str(value)))
                else:
                    out.append(_cell_text(value))
            yield rownum, out
    finally:
        wb.close()


def _file_label(path: str | PathLike[str]) -> str:
    return str(path)


def iter_raw_records(path: str | PathLike[str],
                     line_errors: list[RecordError] | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, record)`` for each non-blank record of a file, the record being
    a parsed JSON value (normally a dict) or, for CSV/XLSX, a dict of the row's
    non-empty cells (list cells already parsed when they hold JSON, flat
    ``document_*`` columns folded into ``documents``).  Raises RecordError for
    unreadable files, unknown suffixes and malformed syntax; does not validate.

    With ``line_errors`` (a list), a JSON Lines line that is not valid JSON is
    appended there and reading goes on with the next line (a reader that lists
    every bad line); other syntax errors still raise.
    """
    p = Path(path)
    file = _file_label(path)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise RecordError(f"不支持的文件类型 unsupported file type {_show(p.suffix or p.name)}; "
                          f"可选 valid: {', '.join(SUFFIXES)}", file=file)
    if fmt == "json":
        yield from _iter_json(p, file, line_errors)
    elif fmt in ("csv", "tsv"):
        yield from _iter_table(_csv_rows(p, file, "," if fmt == "csv" else "\t"), file)
    else:
        yield from _iter_table(_xlsx_rows(p, file), file)


def _read(path: str | PathLike[str], validate: Callable[[Any, Where], Any]) -> list:
    file = _file_label(path)
    seen: dict[str, int] = {}
    out = []
    for line, obj in iter_raw_records(path):
        where = Where(file, line)
        rec = validate(obj, where)
        if rec.id in seen:
            raise where.error("id", f"id {_show(rec.id)} 重复 duplicate, 首次出现于第 {seen[rec.id]} 行 "
                                    f"first on line {seen[rec.id]}")
        seen[rec.id] = line
        out.append(rec)
    return out


def read_profiles(path: str | PathLike[str]) -> list[Profile]:
    """Read and validate every profile of a ``.jsonl``/``.ndjson``/``.json``/``.csv``/``.tsv``/``.xlsx`` file.

    Returns profiles in file order; an empty file gives ``[]``.  The first bad
    record raises :class:`RecordError` (file, line, field) and nothing is returned.
    """
    return _read(path, validate_profile)


def read_demands(path: str | PathLike[str]) -> list[Demand]:
    """Read and validate every demand of a file; see :func:`read_profiles`."""
    return _read(path, validate_demand)
