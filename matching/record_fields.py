"""Field rules of the record schema (``matching.records``): limits, the id
normaliser and the annotated field types (lenient where files need it, strict
where it matters), each with a Chinese + English message naming the problem.

Every validator raises :func:`invalid` (a ``PydanticCustomError`` whose message
is exactly the reason), so pydantic reports it at the field's path.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from .types import PROFILE_KINDS

# ----------------------------------------------------------------------------- limits
MAX_TEXT_CHARS = 100_000
"""Longest accepted long text (a document's ``text``, a demand's ``description``)."""
MAX_SHORT_CHARS = 2_000
"""Longest accepted short text (names, titles, list items, counties…)."""
MAX_ID_CHARS = 200
"""Longest accepted id (after NFKC normalisation)."""
MAX_LIST_ITEMS = 1_000
"""Most items in one list field (keywords, conflicts, members, current_team…)."""
MAX_REQUIRED_DISCIPLINES = 50
"""Most disciplines one demand may require."""
MAX_DOCUMENTS = 2_000
"""Most documents in one profile."""
MAX_CAPACITY = 1_000
"""Largest accepted ``capacity``."""
MAX_TEAM_SIZE = 50
"""Largest accepted ``team_size`` (and ``students``) bound."""
YEAR_RANGE = (1900, 2100)
GRADE_RANGE = (1, 4)
"""Student grades (years of study) and the range of ``distinct_grades``."""

KIND_ALIASES: dict[str, str] = {
    "teacher": "teacher", "教师": "teacher", "老师": "teacher",
    "student": "student", "学生": "student",
    "team": "team", "团队": "team", "小分队": "team",
}
_SPLIT_RE = re.compile(r"[;；\r\n]+")
_RANGE_SPLIT_RE = re.compile(r"\s*(?:[-–—~～;；,，]|到|至)\s*")
_INT_RE = re.compile(r"[+-]?\d{1,18}(?:\.0*)?")
#: never in a text field: ASCII control characters but tab, line feed and carriage return
#: (no text needs them, Excel cannot hold them, PostgreSQL cannot store NUL) and lone surrogates
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_NOT_FINITE = "不允许 NaN/Infinity not allowed"


# ----------------------------------------------------------------------------- helpers
def show(value: Any, limit: int = 60) -> str:
    """A short one-line rendering of a bad value for an error message."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<{value.bit_length()}-bit integer>"
    if isinstance(value, str) and len(value) > 4 * limit:
        value = value[: 4 * limit]
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):
        try:
            text = repr(value)
        except (ValueError, RecursionError):
            text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def invalid(reason: str) -> PydanticCustomError:
    """The error every validator here raises: its message is exactly ``reason``."""
    return PydanticCustomError("xfd_invalid", "{reason}", {"reason": reason})


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise invalid(f"{_NOT_FINITE}, got {show(value)}")
    return value


def _check_chars(s: str, limit: int) -> str:
    if len(s) > limit:
        raise invalid(f"文本过长 text too long: {len(s)} 字符 characters, 上限 max {limit}")
    bad = _BAD_CHARS_RE.search(s)
    if bad:
        raise invalid(f"含有非法字符 contains an invalid character U+{ord(bad.group()):04X}")
    return s


def check_text(s: str, limit: int) -> str:
    """``s`` when it meets the rule of every text field here (at most ``limit`` characters; no
    control character but tab, line feed and carriage return; no lone surrogate), else
    :func:`invalid` with a Chinese + English reason.  For text bodies outside the records."""
    return _check_chars(s, limit)


def _scalar_str(value: Any, limit: int, what: str) -> str:
    """A str, int or finite float as (unstripped) text; ``what`` names the expectation."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(f"{what}, got {show(value)}")
    if isinstance(value, float):
        _finite(value)
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        raise invalid(f"文本过长 text too long, 上限 max {limit} 字符 characters")
    return str(value)


def to_int(value: Any, what: str) -> int:
    """An integer from an int, an integral float or a numeric string (never a boolean);
    ``what`` is the bilingual expectation, e.g. ``应为非负整数 must be a non-negative integer``."""
    if isinstance(value, bool):
        raise invalid(f"{what}, got {show(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        _finite(value)
        if value.is_integer():
            return int(value)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        raise invalid(f"{_NOT_FINITE}, got {show(value)}")
    raise invalid(f"{what}, got {show(value)}")


# ----------------------------------------------------------------------------- ids
def normalize_id(value: Any) -> str:
    """The one id rule of xfd (profiles, demands, enterprises, list items naming them).

    Accepts a string or an integer (``17`` -> ``"17"``); applies Unicode NFKC
    (full-width ``Ｔ００１`` -> ``T001``, NFD -> NFC) and strips surrounding
    whitespace.  Refuses (``PydanticCustomError`` with a Chinese + English
    message): empty ids, more than :data:`MAX_ID_CHARS` characters, control or
    format characters (zero-width, bidi marks…), whitespace, ``/ ? #``, and ids
    made only of dots (``.``, ``..``).
    """
    s = _scalar_str(value, MAX_ID_CHARS, "id 应为字符串或整数 must be a string or an integer")
    if isinstance(value, float) and not value.is_integer():
        raise invalid(f"id 应为字符串或整数 must be a string or an integer, got {show(value)}")
    if len(s) > 4 * MAX_ID_CHARS:
        raise invalid(f"id 过长 id too long: {len(s)} 字符 characters, 上限 max {MAX_ID_CHARS}")
    s = unicodedata.normalize("NFKC", s).strip()
    if not s:
        raise invalid("缺少 id missing id")
    if len(s) > MAX_ID_CHARS:
        raise invalid(f"id 过长 id too long: {len(s)} 字符 characters, 上限 max {MAX_ID_CHARS}")
    for ch in s:
        category = unicodedata.category(ch)
        if category[0] == "C":
            raise invalid(f"id 含有控制或格式字符 id contains a control or format character U+{ord(ch):04X}")
        if ch.isspace() or category[0] == "Z":
            raise invalid(f"id 不能含空白 id must not contain whitespace (U+{ord(ch):04X})")
        if ch in "/?#":
            raise invalid(f"id 不能含 / ? # id must not contain {ch!r}")
    if not s.strip("."):
        raise invalid(f"id 不能只由点组成 id must not be only dots, got {show(s)}")
    return s


def lookup_id(value: str) -> str:
    """An id as given in a URL path, normalised like stored ids (NFKC, stripped) so
    that look-alikes find the same record; an id the rule refuses is returned
    unchanged (it names no record, so the lookup answers "not found")."""
    try:
        return normalize_id(value)
    except PydanticCustomError:
        return value


class _Missing:
    """Stands for an absent required ``id`` so that its validator names the field."""


MISSING = _Missing()


def _id(value: Any) -> str:
    if value is MISSING or is_blank(value):
        raise invalid("缺少 id missing id")
    return normalize_id(value)


def _optional_id(value: Any) -> str:
    return "" if is_blank(value) else normalize_id(value)


def _id_item(value: Any) -> str | None:
    return None if is_blank(value) else normalize_id(value)


# ----------------------------------------------------------------------------- texts and lists
def text_validator(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        """Optional text: absent/null -> ""; numbers become text; stripped."""
        if value is None:
            return ""
        return _check_chars(_scalar_str(value, limit, "应为字符串 must be a string").strip(), limit)

    return check


def _term_item(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(f"应为字符串 must be a string, got {show(value)}")
    return _check_chars(_scalar_str(value, MAX_SHORT_CHARS, "应为字符串 must be a string").strip(),
                        MAX_SHORT_CHARS) or None


def _split_list(limit: int) -> Callable[[Any], list[Any]]:
    def split(value: Any) -> list[Any]:
        """A list, or one string split on ``;`` ``；`` or line breaks; at most ``limit`` items."""
        if value is None:
            return []
        if isinstance(value, str):
            items: Sequence[Any] = _SPLIT_RE.split(value)
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            raise invalid(f"应为字符串列表 must be a list of strings, got {show(value)}")
        if len(items) > limit:
            raise invalid(f"项数过多 too many items: {len(items)}, 上限 max {limit}")
        return list(items)

    return split


def _unique(items: list[str | None]) -> list[str]:
    """Drop empty items and repeats, keep the first occurrence's order."""
    return list(dict.fromkeys(i for i in items if i))


def _split_or_none(limit: int) -> Callable[[Any], list[Any] | None]:
    split = _split_list(limit)
    return lambda value: None if is_blank(value) else split(value)


def _bounds(floor: int) -> Callable[[Any], tuple[int, int] | None]:
    def parse(value: Any) -> tuple[int, int] | None:
        """Inclusive ``[min, max]``: a list, ``"3;5"``/``"3-5"``/``"3~5"``, or one number
        (an exact count), ``floor <= min <= max <= MAX_TEAM_SIZE``; blank -> None."""
        what = (f"应为两个整数 must be two integers [min, max] with {floor} <= min <= max <= {MAX_TEAM_SIZE}, "
                f"got {show(value)}")
        if is_blank(value):
            return None
        if isinstance(value, str):
            parts: list[Any] = _RANGE_SPLIT_RE.split(value.strip())
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            parts = [value]
        else:
            raise invalid(what)
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise invalid(what)
        if any(isinstance(x, float) and not math.isfinite(x) for x in parts):
            raise invalid(f"{_NOT_FINITE}, got {show(value)}")
        try:
            lo, hi = (to_int(x, what) for x in parts)
        except PydanticCustomError:
            raise invalid(what) from None
        if not floor <= lo <= hi <= MAX_TEAM_SIZE:
            raise invalid(what)
        return (lo, hi)

    return parse


def _int_in(lo: int, hi: int, what: str, too_large: bool = False) -> Callable[[Any], int | None]:
    def check(value: Any) -> int | None:
        """Optional integer in ``lo..hi``; blank -> None."""
        if is_blank(value):
            return None
        n = to_int(value, what)
        if too_large and n > hi:
            raise invalid(f"过大 too large: {n}, 上限 max {hi}")
        if not lo <= n <= hi:
            raise invalid(f"{what}, got {show(value)}")
        return n

    return check


def number_in(lo: float, hi: float, what: str) -> Callable[[Any], float | None]:
    """A validator for an optional real number in ``lo..hi``: never a boolean, never
    NaN/Infinity (with a message that says so); numeric strings are accepted."""

    def check(value: Any) -> float | None:
        if is_blank(value):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise invalid(f"{what}, got {show(value)}")
        try:
            x = float(value)
        except (ValueError, OverflowError):
            raise invalid(f"{what}, got {show(value)}") from None
        _finite(x)
        if not lo <= x <= hi:
            raise invalid(f"{what}, got {show(value)}")
        return x

    return check


def _kind(value: Any) -> str:
    raw = text_validator(MAX_SHORT_CHARS)(value)
    if not raw:
        return "teacher"
    kind = KIND_ALIASES.get(raw.lower())
    if kind is None:
        raise invalid(f"未知类型 unknown kind {show(raw)}; 可选 valid: {', '.join(PROFILE_KINDS)}")
    return kind


# ----------------------------------------------------------------------------- field types
Id = Annotated[str, BeforeValidator(_id), Field(max_length=MAX_ID_CHARS, description="NFKC id, no whitespace or / ? #")]
OptionalId = Annotated[str, BeforeValidator(_optional_id), Field(max_length=MAX_ID_CHARS)]
ShortText = Annotated[str, BeforeValidator(text_validator(MAX_SHORT_CHARS)), Field(max_length=MAX_SHORT_CHARS)]
LongText = Annotated[str, BeforeValidator(text_validator(MAX_TEXT_CHARS)), Field(max_length=MAX_TEXT_CHARS)]
_Term = Annotated[str | None, BeforeValidator(_term_item)]
_IdItem = Annotated[str | None, BeforeValidator(_id_item)]
Terms = Annotated[list[_Term], BeforeValidator(_split_list(MAX_LIST_ITEMS)), AfterValidator(_unique),
                  Field(max_length=MAX_LIST_ITEMS)]
IdList = Annotated[list[_IdItem], BeforeValidator(_split_list(MAX_LIST_ITEMS)), AfterValidator(_unique),
                   Field(max_length=MAX_LIST_ITEMS)]
RequiredDisciplines = Annotated[
    list[_Term] | None, BeforeValidator(_split_or_none(MAX_REQUIRED_DISCIPLINES)),
    AfterValidator(lambda v: None if v is None else _unique(v)),
    Field(description="null/absent: inferred; []: no discipline required")]
#: a pair [min, max]; its JSON Schema says "two integers" without ``prefixItems`` (both
#: positions are integers; validators that rewrite prefixItems for OpenAPI 3.0 read it alike)
Bounds = Annotated[tuple[int, int], WithJsonSchema({"type": "array", "items": {"type": "integer"},
                                                   "minItems": 2, "maxItems": 2})]
TeamSize = Annotated[Bounds | None, BeforeValidator(_bounds(1)), Field(description="[min, max] members")]
Students = Annotated[Bounds | None, BeforeValidator(_bounds(0)), Field(description="[min, max] students; [0, 0]: teachers only")]
Capacity = Annotated[int | None, BeforeValidator(_int_in(0, MAX_CAPACITY, "应为非负整数 must be a non-negative integer", True))]
Grade = Annotated[int | None, BeforeValidator(_int_in(*GRADE_RANGE, "应为 1–4 的整数 must be an integer 1..4"))]
DistinctGrades = Annotated[int | None, BeforeValidator(_int_in(*GRADE_RANGE, "应为 1–4 的整数 must be an integer 1..4"))]
Year = Annotated[int | None, BeforeValidator(_int_in(*YEAR_RANGE, f"应为 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 之间的年份 "
                                                              f"must be a year in {YEAR_RANGE[0]}..{YEAR_RANGE[1]}"))]
ProfileKind = Annotated[Literal["teacher", "student", "team"], BeforeValidator(_kind)]
