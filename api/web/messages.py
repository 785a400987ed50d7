"""Form messages in Chinese first, English alongside, for every page.

Pydantic reports problems in English only (``Input should be greater than or
equal to 0``); :func:`error_text` gives the common error types (number parsing,
bounds, missing, choices, dates, lengths) a Chinese + English text, and
:func:`parse` turns a failed check into a ``FieldInvalid`` naming the form
field, which the pages show beside that field; a form checked as a whole
record shows every field's problem at once (:func:`all_errors` ->
:class:`FormInvalid`).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from xfd.api.errors import FieldInvalid

#: ``loc`` parts that name where a value came from, not which field
SOURCES = ("body", "form", "query", "path", "header", "cookie")
_DATE = "应为日期，格式 YYYY-MM-DD must be a date as YYYY-MM-DD"
_DATETIME = "应为日期时间 must be a date and time (YYYY-MM-DD HH:MM)"
#: error type -> text; ``{name}`` is filled from the error's ``ctx``
TEXTS = {
    "missing": "必填 this field is required",
    "int_parsing": "应为整数 must be a whole number",
    "int_type": "应为整数 must be a whole number",
    "int_from_float": "应为整数 must be a whole number",
    "float_parsing": "应为数字 must be a number",
    "float_type": "应为数字 must be a number",
    "finite_number": "应为有限的数字 must be a finite number",
    "greater_than_equal": "不能小于 {ge} must be at least {ge}",
    "less_than_equal": "不能大于 {le} must be at most {le}",
    "greater_than": "应大于 {gt} must be greater than {gt}",
    "less_than": "应小于 {lt} must be less than {lt}",
    "multiple_of": "应为 {multiple_of} 的倍数 must be a multiple of {multiple_of}",
    "literal_error": "应为以下之一 must be one of: {expected}",
    "enum": "应为以下之一 must be one of: {expected}",
    "bool_parsing": "应为是或否 must be yes or no",
    "bool_type": "应为是或否 must be yes or no",
    "date_parsing": _DATE,
    "date_type": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "string_type": "应为文字 must be text",
    "string_too_short": "至少 {min_length} 个字符 must have at least {min_length} characters",
    "string_too_long": "最多 {max_length} 个字符 must have at most {max_length} characters",
    "string_pattern_mismatch": "格式不正确 has the wrong format",
    "too_short": "至少 {min_length} 项 must have at least {min_length} items",
    "too_long": "最多 {max_length} 项 must have at most {max_length} items",
    "list_type": "应为列表 must be a list",
    "extra_forbidden": "不认识的字段 unknown field",
    # the form's own checks (no pydantic type): a range typed as two fields
    "range_order": "不能小于下限 {low} must be at least the minimum, {low}",
}


def _number(value: Any) -> Any:
    """``0.0`` -> ``0``, ``1e12`` -> ``1000000000000`` (bounds read as people write them)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return int(value)
    return value


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def error_text(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as Chinese + English text."""
    kind = str(error.get("type", ""))
    ctx = {k: _number(v) for k, v in (error.get("ctx") or {}).items()}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "不能为空 must not be empty"
    template = TEXTS.get(kind)
    if template is not None:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError, ValueError):
            pass
    msg = str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if _has_chinese(msg):  # the project's own validators already speak Chinese first
        return msg
    return f"输入有误 invalid input: {msg}" if msg else "输入有误 invalid input"


def field_of(error: Mapping[str, Any]) -> str:
    """The form field an error is about: the first part of its ``loc`` that is not a source."""
    names = [str(x) for x in error.get("loc", ()) if str(x) not in SOURCES]
    return names[0] if names else ""


class FormInvalid(FieldInvalid):
    """Every problem of a form checked as a whole record: ``fields`` maps each form field to its
    text (the first problem of each); ``loc``/``message`` are the first problem's, as ``FieldInvalid``'s."""

    def __init__(self, fields: Mapping[str, str], loc_prefix: tuple[str, ...] = ("form",)) -> None:
        self.fields = dict(fields)
        first = next(iter(self.fields.items()), ("", "输入有误 invalid input"))
        super().__init__([*loc_prefix, first[0]] if first[0] else list(loc_prefix), first[1])


def field_path(error: Mapping[str, Any]) -> str:
    """The field an error is about with its item index: ``team_size[0]``, ``participants[1]``, ``title``."""
    names = [x for x in error.get("loc", ()) if str(x) not in SOURCES]
    if not names:
        return ""
    return f"{names[0]}[{names[1]}]" if len(names) > 1 and isinstance(names[1], int) else str(names[0])


def all_errors(errors: list[Mapping[str, Any]], fields: Mapping[str, str] | None = None, default: str = "") -> dict[str, str]:
    """Every field's problem at once: form field -> Chinese + English text (the first problem of each).

    ``fields`` renames record fields to the form fields they are typed in (``team_size[0]`` ->
    ``team_min``; an unindexed name is tried as well); a whole-record problem (no field) goes to
    ``default``."""
    fields = fields or {}
    out: dict[str, str] = {}
    for error in errors:
        base = field_of(error)
        name = fields.get(field_path(error)) or fields.get(base) or base or default
        out.setdefault(name, error_text(error))
    return out


def summary(errors: list[Mapping[str, Any]], limit: int = 5) -> str:
    """Several errors on one line, each ``field: text`` (for the error page of a malformed request)."""
    parts = [f"{'.'.join(str(x) for x in e.get('loc', ()) if str(x) not in SOURCES) or '?'}: {error_text(e)}"
             for e in errors[:limit]]
    return "输入有误 invalid input — " + "; ".join(parts)


def parse(adapter: TypeAdapter[Any], raw: Any, field: str) -> Any:
    """``raw`` (a form value) checked by ``adapter``; a ``FieldInvalid`` at ``["form", field]`` otherwise."""
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        raise FieldInvalid(["form", field], error_text(exc.errors()[0])) from None
