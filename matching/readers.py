"""Reading and validating profiles and demands (``../shared/INTERFACES.md``).

Formats, chosen by file suffix:

* ``.jsonl`` / ``.ndjson`` — one JSON object per line; blank lines are skipped.
* ``.json`` — a JSON array of objects, a single object, or JSONL content.
* ``.csv`` (comma separated) / ``.tsv`` (tab separated) — a header row with
  the same column names as the JSON keys.
* ``.xlsx`` — the first worksheet, laid out like the CSV.

In CSV/XLSX, list fields (``keywords``, ``disciplines``, ``skills``,
``conflicts``, ``members``, ``current_team``) are separated by ``;``, the
full-width ``；`` or a line break inside the cell (commas are *not*
separators, because they occur in text).  ``team_size`` is written ``3;5``,
``3-5``, ``3~5`` or a single number.  Documents come either from a
``documents`` column holding JSON (an array of objects, or one object; plain
text becomes one document) and/or from the flat columns ``document_title``,
``document_text``, ``document_kind``, ``document_year`` giving one document.

Everything is all or nothing: the first bad record raises :class:`RecordError`
naming the file, the line (for CSV/XLSX the row number a spreadsheet shows,
header = row 1) and the field; no partial list is ever returned.

:func:`validate_profile` / :func:`validate_demand` check one already-parsed
JSON object (the HTTP API reuses them for request bodies);
:func:`validate_profiles` / :func:`validate_demands` check a list of them,
including duplicate ids.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

from .types import (
    DEFAULT_CAPACITY,
    DEFAULT_DISTINCT_GRADES,
    DEFAULT_STUDENTS,
    DEFAULT_TEAM_SIZE,
    PROFILE_KINDS,
    Demand,
    Document,
    Profile,
)

__all__ = [
    "RecordError",
    "Where",
    "read_profiles",
    "read_demands",
    "iter_raw_records",
    "validate_profile",
    "validate_demand",
    "validate_profiles",
    "validate_demands",
    "SUFFIXES",
    "MAX_TEXT_CHARS",
    "MAX_SHORT_CHARS",
    "MAX_ID_CHARS",
    "MAX_LIST_ITEMS",
    "MAX_DOCUMENTS",
    "MAX_CAPACITY",
    "MAX_TEAM_SIZE",
]

# ----------------------------------------------------------------------------- limits
MAX_TEXT_CHARS = 100_000
"""Longest accepted long text (a document's ``text``, a demand's ``description``)."""
MAX_SHORT_CHARS = 2_000
"""Longest accepted short text (names, titles, list items, counties…)."""
MAX_ID_CHARS = 200
"""Longest accepted id."""
MAX_LIST_ITEMS = 1_000
"""Most items in one list field (keywords, disciplines, members…)."""
MAX_DOCUMENTS = 2_000
"""Most documents in one profile."""
MAX_CAPACITY = 1_000
"""Largest accepted ``capacity``."""
MAX_TEAM_SIZE = 50
"""Largest accepted ``team_size`` bound."""
YEAR_RANGE = (1900, 2100)

SUFFIXES: dict[str, str] = {
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".xlsx": "xlsx",
}

_KIND_ALIASES: dict[str, str] = {
    "teacher": "teacher", "教师": "teacher", "老师": "teacher",
    "student": "student", "学生": "student",
    "team": "team", "团队": "team", "小分队": "team",
}
_SPLIT_RE = re.compile(r"[;；\r\n]+")
_RANGE_SPLIT_RE = re.compile(r"\s*(?:[-–—~～;；,，]|到|至)\s*")
_INT_RE = re.compile(r"[+-]?\d{1,18}(?:\.0*)?")
_BAD_CHARS_RE = re.compile("[\x00\ud800-\udfff]")
_DOC_FLAT_COLUMNS = ("document_title", "document_text", "document_kind", "document_year")


# ----------------------------------------------------------------------------- errors
def _show(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of a bad value for an error message."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # e.g. an int too long to print
            text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


# ----------------------------------------------------------------------------- scalar checks
class _Flat(dict):
    """A document assembled from the flat CSV/XLSX columns: errors name those columns."""


def _path_of(doc: Any, index: int) -> Callable[[str], str]:
    if isinstance(doc, _Flat):
        return lambda key: f"document_{key}"
    return lambda key: f"documents[{index}].{key}" if key else f"documents[{index}]"


def _check_chars(s: str, where: Where, field: str, limit: int) -> str:
    if len(s) > limit:
        raise where.error(field, f"文本过长 text too long: {len(s)} 字符 characters, 上限 max {limit}")
    bad = _BAD_CHARS_RE.search(s)
    if bad:
        raise where.error(field, f"含有非法字符 contains an invalid character U+{ord(bad.group()):04X}")
    return s


def _text(obj: Mapping[str, Any], key: str, where: Where, *, limit: int = MAX_SHORT_CHARS,
          field: str | None = None) -> str:
    """Optional string field: absent/null -> ""; numbers become strings; stripped."""
    field = field or key
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(field, f"应为字符串 must be a string, got {_show(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise where.error(field, f"不允许 NaN/Infinity not allowed, got {_show(value)}")
        value = str(int(value)) if value.is_integer() else repr(value)
    return _check_chars(str(value).strip(), where, field, limit)


def _int(value: Any, where: Where, field: str, what: str) -> int:
    """An integer from an int, an integral float or a numeric string; ``what`` is the
    bilingual expectation, e.g. ``应为非负整数 must be a non-negative integer``."""
    if isinstance(value, bool):
        raise where.error(field, f"{what}, got {_show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    raise where.error(field, f"{what}, got {_show(value)}")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _str_list(obj: Mapping[str, Any], key: str, where: Where) -> tuple[str, ...]:
    """Optional list of strings: a list, or one string split on ``;`` ``；`` or line breaks.

    Items are stripped; empty items and repeats are dropped (order kept); integer
    items become strings (ids such as ``17``).  A number, an object or a boolean
    where the list should be is an error.
    """
    value = obj.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        items: Sequence[Any] = _SPLIT_RE.split(value)
    elif isinstance(value, list):
        items = value
    else:
        raise where.error(key, f"应为字符串列表 must be a list of strings, got {_show(value)}")
    if len(items) > MAX_LIST_ITEMS:
        raise where.error(key, f"项数过多 too many items: {len(items)}, 上限 max {MAX_LIST_ITEMS}")
    out: dict[str, None] = {}
    for i, item in enumerate(items):
        field = f"{key}[{i}]" if isinstance(value, list) else key
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise where.error(field, f"应为字符串 must be a string, got {_show(item)}")
        s = _check_chars(str(item).strip(), where, field, MAX_SHORT_CHARS)
        if s:
            out[s] = None
    return tuple(out)


def _id(obj: Mapping[str, Any], where: Where) -> str:
    value = obj.get("id")
    if _is_blank(value):
        raise where.error("id", "缺少 id missing id")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error("id", f"id 应为字符串或整数 must be a string or an integer, got {_show(value)}")
    if isinstance(value, float):
        if not (math.isfinite(value) and value.is_integer()):
            raise where.error("id", f"id 应为字符串或整数 must be a string or an integer, got {_show(value)}")
        value = int(value)
    return _check_chars(str(value).strip(), where, "id", MAX_ID_CHARS)


def _require_mapping(obj: Any, where: Where) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise where.error(None, f"应为 JSON 对象 must be a JSON object, got {_show(obj)}")
    return obj


# ----------------------------------------------------------------------------- documents
def _document(doc: Any, where: Where, path: Callable[[str], str]) -> Document:
    if isinstance(doc, str):
        doc = {"text": doc}
    if not isinstance(doc, Mapping):
        raise where.error(path(""), f"应为对象 must be an object with text/title, got {_show(doc)}")
    text = _text(doc, "text", where, limit=MAX_TEXT_CHARS, field=path("text"))
    title = _text(doc, "title", where, field=path("title"))
    if not text and not title:
        raise where.error(path("text"), "文档缺少 text 或 title a document needs a non-empty text or title")
    kind = _text(doc, "kind", where, field=path("kind")) or "paper"
    year_raw = doc.get("year")
    year: int | None = None
    if not _is_blank(year_raw):
        lo, hi = YEAR_RANGE
        what = f"应为 {lo}–{hi} 之间的年份 must be a year in {lo}..{hi}"
        year = _int(year_raw, where, path("year"), what)
        if not lo <= year <= hi:
            raise where.error(path("year"), f"{what}, got {_show(year_raw)}")
    return Document(text=text, kind=kind, title=title, year=year)


def _documents(obj: Mapping[str, Any], where: Where) -> tuple[Document, ...]:
    value = obj.get("documents")
    if value is None:
        return ()
    if isinstance(value, (Mapping, str)):
        value = [value]  # one object, or plain text, is one document
    if not isinstance(value, list):
        raise where.error("documents", f"应为对象列表 must be a list of objects, got {_show(value)}")
    if len(value) > MAX_DOCUMENTS:
        raise where.error("documents", f"文档过多 too many documents: {len(value)}, 上限 max {MAX_DOCUMENTS}")
    return tuple(_document(doc, where, _path_of(doc, i)) for i, doc in enumerate(value)
                 if not _is_blank(doc))


# ----------------------------------------------------------------------------- records
def validate_profile(obj: Any, where: Where | str | None = None) -> Profile:
    """Check one profile record (a parsed JSON object) and build a :class:`Profile`.

    Applies defaults (``kind`` teacher, ``capacity`` by kind from
    ``DEFAULT_CAPACITY``), strips strings, ignores unknown keys.  ``grade`` is
    checked whenever given but kept only for students.
    Raises :class:`RecordError` naming ``where`` and the field.
    """
    where = _where(where)
    obj = _require_mapping(obj, where)
    pid = _id(obj, where)

    kind_raw = _text(obj, "kind", where)
    kind = _KIND_ALIASES.get(kind_raw.lower(), None) if kind_raw else "teacher"
    if kind is None:
        raise where.error("kind", f"未知类型 unknown kind {_show(kind_raw)}; 可选 valid: {', '.join(PROFILE_KINDS)}")

    capacity = DEFAULT_CAPACITY[kind]
    if not _is_blank(obj.get("capacity")):
        what = "应为非负整数 must be a non-negative integer"
        capacity = _int(obj["capacity"], where, "capacity", what)
        if capacity < 0:
            raise where.error("capacity", f"{what}, got {_show(obj['capacity'])}")
        if capacity > MAX_CAPACITY:
            raise where.error("capacity", f"过大 too large: {capacity}, 上限 max {MAX_CAPACITY}")

    grade: int | None = None
    if not _is_blank(obj.get("grade")):
        what = "应为 1–4 的整数 must be an integer 1..4"
        grade = _int(obj["grade"], where, "grade", what)
        if not 1 <= grade <= 4:
            raise where.error("grade", f"{what}, got {_show(obj['grade'])}")
    if kind != "student":
        grade = None

    documents = _documents(obj, where)
    keywords = _str_list(obj, "keywords", where)
    major = _text(obj, "major", where)
    skills = _str_list(obj, "skills", where)
    if not documents and not keywords and not (kind == "student" and (major or skills)):
        need = "documents, keywords" + (", major, skills" if kind == "student" else "")
        raise where.error(None, f"缺少可匹配的文本 no text to match on: 需要 needs one of {need}")

    return Profile(
        id=pid,
        kind=kind,
        name=_text(obj, "name", where),
        college=_text(obj, "college", where),
        title=_text(obj, "title", where),
        disciplines=_str_list(obj, "disciplines", where),
        keywords=keywords,
        county=_text(obj, "county", where),
        capacity=capacity,
        conflicts=_str_list(obj, "conflicts", where),
        documents=documents,
        major=major,
        grade=grade,
        skills=skills,
        members=_str_list(obj, "members", where),
    )


def _bounds(value: Any, where: Where, field: str, floor: int, default: tuple[int, int]) -> tuple[int, int]:
    """Inclusive ``[min, max]`` bounds: a list, ``"3;5"``/``"3-5"``/``"3~5"``, or one number
    (an exact count); ``floor <= min <= max <= MAX_TEAM_SIZE``."""
    what = (f"应为两个整数 must be two integers [min, max] with {floor} <= min <= max <= {MAX_TEAM_SIZE}, "
            f"got {_show(value)}")
    if _is_blank(value):
        return default
    if isinstance(value, str):
        parts: list[Any] = _RANGE_SPLIT_RE.split(value.strip())
    elif isinstance(value, list):
        parts = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parts = [value]  # one number: an exact size
    else:
        raise where.error(field, what)
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise where.error(field, what)
    try:
        lo, hi = (_int(x, where, field, what) for x in parts)
    except RecordError:
        raise where.error(field, what) from None
    if not floor <= lo <= hi <= MAX_TEAM_SIZE:
        raise where.error(field, what)
    return (lo, hi)


def _team_size(value: Any, where: Where) -> tuple[int, int]:
    return _bounds(value, where, "team_size", 1, DEFAULT_TEAM_SIZE)


def _students(value: Any, team_size: tuple[int, int], where: Where) -> tuple[int, int]:
    """``students`` bounds; absent -> ``DEFAULT_STUDENTS`` capped at the team's maximum size."""
    if _is_blank(value):
        return (min(DEFAULT_STUDENTS[0], team_size[1]), min(DEFAULT_STUDENTS[1], team_size[1]))
    lo, hi = _bounds(value, where, "students", 0, DEFAULT_STUDENTS)
    if hi > team_size[1]:
        raise where.error("students", f"学生人数上限 {hi} 超过团队人数上限 {team_size[1]} "
                                      f"students max {hi} exceeds team_size max {team_size[1]}")
    return (lo, hi)


def _distinct_grades(value: Any, where: Where) -> int:
    if _is_blank(value):
        return DEFAULT_DISTINCT_GRADES
    what = "应为 1–4 的整数 must be an integer 1..4"
    n = _int(value, where, "distinct_grades", what)
    if not 1 <= n <= 4:
        raise where.error("distinct_grades", f"{what}, got {_show(value)}")
    return n


def validate_demand(obj: Any, where: Where | str | None = None) -> Demand:
    """Check one demand record (a parsed JSON object) and build a :class:`Demand`.

    ``team_size`` defaults to ``DEFAULT_TEAM_SIZE``; strings are stripped;
    unknown keys are ignored.  Raises :class:`RecordError` naming the field.
    """
    where = _where(where)
    obj = _require_mapping(obj, where)
    did = _id(obj, where)
    title = _text(obj, "title", where)
    description = _text(obj, "description", where, limit=MAX_TEXT_CHARS)
    if not title and not description:
        raise where.error(None, "缺少 title 或 description no text to match on: needs title or description")
    team_size = _team_size(obj.get("team_size"), where)
    return Demand(
        id=did,
        title=title,
        description=description,
        enterprise=_text(obj, "enterprise", where),
        county=_text(obj, "county", where),
        industry=_text(obj, "industry", where),
        disciplines=None if _is_blank(obj.get("disciplines")) else _str_list(obj, "disciplines", where),
        team_size=team_size,
        current_team=_str_list(obj, "current_team", where),
        students=_students(obj.get("students"), team_size, where),
        distinct_grades=_distinct_grades(obj.get("distinct_grades"), where),
    )


def _validate_many(objs: Any, validate: Callable[[Any, Where], Any], where: Where | str | None) -> list:
    where = _where(where)
    if not isinstance(objs, list):
        raise where.error(None, f"应为 JSON 数组 must be a JSON array, got {_show(objs)}")
    seen: dict[str, int] = {}
    out = []
    for i, obj in enumerate(objs):
        rec = validate(obj, where._replace(prefix=f"{where.prefix}[{i}]"))
        if rec.id in seen:
            raise where._replace(prefix=f"{where.prefix}[{i}]").error(
                "id", f"id {_show(rec.id)} 重复 duplicate, 首次出现于 first at [{seen[rec.id]}]")
        seen[rec.id] = i
        out.append(rec)
    return out


def validate_profiles(objs: Any, where: Where | str | None = None) -> list[Profile]:
    """Check a JSON array of profile records (e.g. an HTTP body); fields are named
    ``[i].field``; duplicate ids are an error naming both positions."""
    return _validate_many(objs, validate_profile, where)


def validate_demands(objs: Any, where: Where | str | None = None) -> list[Demand]:
    """Check a JSON array of demand records; see :func:`validate_profiles`."""
    return _validate_many(objs, validate_demand, where)


# ----------------------------------------------------------------------------- file formats
class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_constant(name: str) -> Any:
    raise ValueError(f"不允许 NaN/Infinity not allowed: {name}")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _decoder() -> json.JSONDecoder:
    """A strict decoder: no NaN/Infinity, no repeated keys (one per read: no shared state)."""
    return json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_pairs)


def _decode_at(decoder: json.JSONDecoder, text: str, pos: int, file: str,
               line_of: Callable[[int], int]) -> tuple[Any, int]:
    """``raw_decode`` with every failure turned into a RecordError naming the line."""
    try:
        return decoder.raw_decode(text, pos)
    except _DuplicateKey as exc:
        raise RecordError(f"重复的键 duplicate key {_show(exc.key)}", file=file, line=line_of(pos),
                          field=exc.key) from None
    except json.JSONDecodeError as exc:
        if not text[exc.pos:].strip():
            reason = "JSON 不完整 truncated JSON: 对象未结束 the record ends before it is complete"
        else:
            reason = f"JSON 有误 invalid JSON: {exc.msg} (第 {exc.colno} 列 column {exc.colno})"
        raise RecordError(reason, file=file, line=line_of(exc.pos)) from None
    except RecursionError:
        raise RecordError("JSON 嵌套过深 nested too deeply", file=file, line=line_of(pos)) from None
    except ValueError as exc:  # NaN / Infinity
        raise RecordError(str(exc), file=file, line=line_of(pos)) from None


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


def _iter_json(path: Path, file: str) -> Iterator[tuple[int, Any]]:
    text = _read_text(path, file)
    decoder = _decoder()
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
                yield line_of(start), obj
                return

    for lineno, raw in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 is legal JSON
        line = raw.rstrip()
        if not line.strip():
            continue
        start = len(line) - len(line.lstrip())
        obj, end = _decode_at(decoder, line, start, file, lambda _pos, n=lineno: n)
        if line[end:].strip():
            raise RecordError("一行只能有一个 JSON 对象 extra data after the object "
                              f"(第 {end + 1} 列 column {end + 1})", file=file, line=lineno)
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


def iter_raw_records(path: str | PathLike[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, record)`` for each non-blank record of a file, the record being
    a parsed JSON value (normally a dict) or, for CSV/XLSX, a dict of the row's
    non-empty cells (list cells already parsed when they hold JSON, flat
    ``document_*`` columns folded into ``documents``).  Raises RecordError for
    unreadable files, unknown suffixes and malformed syntax; does not validate.
    """
    p = Path(path)
    file = _file_label(path)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise RecordError(f"不支持的文件类型 unsupported file type {_show(p.suffix or p.name)}; "
                          f"可选 valid: {', '.join(SUFFIXES)}", file=file)
    if fmt == "json":
        yield from _iter_json(p, file)
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
