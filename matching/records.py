"""The record schema: one pydantic family per record, limits defined once.

Every way a profile or a demand enters xfd goes through these models: the
file readers (``matching.readers``, after parsing JSONL/JSON/CSV/TSV/XLSX), the
HTTP API (request bodies) and the storage mapping (``api/records.py``).  So the
CLI and the service accept and refuse exactly the same records, with the same
message naming the same field.

Families (in the style of the FastAPI full-stack template's ``UserBase`` /
``UserCreate`` / ``UserPublic``):

* :class:`DocumentBase` — one text of a profile (``DocumentCreate``, ``DocumentPublic``);
* :class:`ProfileBase` — a teacher, student or team (``ProfileCreate``; the
  service's ``ProfilePublic`` in ``api/schemas.py`` adds ``updated_at``);
* :class:`DemandBase` — an enterprise's technical problem (``DemandCreate``;
  ``DemandPublic`` / ``DemandUpdate`` in ``api/schemas.py`` add the status).

Input is lenient where files need it (numbers written as text, ``;``-separated
lists, ``team_size`` as ``"3-5"``, kind aliases such as ``教师``) and strict
where it matters: ``true`` is never a number or a string, NaN/Infinity are
refused with a message that says so, ids go through one normaliser
(:func:`normalize_id`).  Messages are Chinese with English alongside.

The engine works on the frozen dataclasses of ``matching.types``; a validated
model becomes one with :meth:`ProfileBase.to_profile` /
:meth:`DemandBase.to_demand` (one generic function, :func:`to_domain`, driven by
the dataclass's own fields).
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
_BAD_CHARS_RE = re.compile("[\x00\ud800-\udfff]")
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


_MISSING = _Missing()


def _id(value: Any) -> str:
    if value is _MISSING or is_blank(value):
        raise invalid("缺少 id missing id")
    return normalize_id(value)


def _optional_id(value: Any) -> str:
    return "" if is_blank(value) else normalize_id(value)


def _id_item(value: Any) -> str | None:
    return None if is_blank(value) else normalize_id(value)


# ----------------------------------------------------------------------------- texts and lists
def _text(limit: int) -> Callable[[Any], str]:
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
    raw = _text(MAX_SHORT_CHARS)(value)
    if not raw:
        return "teacher"
    kind = KIND_ALIASES.get(raw.lower())
    if kind is None:
        raise invalid(f"未知类型 unknown kind {show(raw)}; 可选 valid: {', '.join(PROFILE_KINDS)}")
    return kind


# ----------------------------------------------------------------------------- field types
Id = Annotated[str, BeforeValidator(_id), Field(max_length=MAX_ID_CHARS, description="NFKC id, no whitespace or / ? #")]
OptionalId = Annotated[str, BeforeValidator(_optional_id), Field(max_length=MAX_ID_CHARS)]
ShortText = Annotated[str, BeforeValidator(_text(MAX_SHORT_CHARS)), Field(max_length=MAX_SHORT_CHARS)]
LongText = Annotated[str, BeforeValidator(_text(MAX_TEXT_CHARS)), Field(max_length=MAX_TEXT_CHARS)]
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
Bounds = tuple[int, int]
TeamSize = Annotated[Bounds | None, BeforeValidator(_bounds(1)), Field(description="[min, max] members")]
Students = Annotated[Bounds | None, BeforeValidator(_bounds(0)), Field(description="[min, max] students; [0, 0]: teachers only")]
Capacity = Annotated[int | None, BeforeValidator(_int_in(0, MAX_CAPACITY, "应为非负整数 must be a non-negative integer", True))]
Grade = Annotated[int | None, BeforeValidator(_int_in(*GRADE_RANGE, "应为 1–4 的整数 must be an integer 1..4"))]
DistinctGrades = Annotated[int | None, BeforeValidator(_int_in(*GRADE_RANGE, "应为 1–4 的整数 must be an integer 1..4"))]
Year = Annotated[int | None, BeforeValidator(_int_in(*YEAR_RANGE, f"应为 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 之间的年份 "
                                                              f"must be a year in {YEAR_RANGE[0]}..{YEAR_RANGE[1]}"))]
ProfileKind = Annotated[Literal["teacher", "student", "team"], BeforeValidator(_kind)]


class _Record(BaseModel):
    """Common configuration: unknown keys are ignored (records may be extended)."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _object(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        if not isinstance(data, Mapping):
            raise invalid(f"应为 JSON 对象 must be a JSON object, got {show(data)}")
        if "id" in cls.model_fields and data.get("id") is None:
            data = {**data, "id": _MISSING}
        return data


# ----------------------------------------------------------------------------- documents
def _document_item(value: Any) -> Any:
    if is_blank(value):
        return None  # blank entries are skipped
    if isinstance(value, str):
        return {"text": value}
    if not isinstance(value, (Mapping, BaseModel)):
        raise invalid(f"应为对象 must be an object with text/title, got {show(value)}")
    return value


def _documents(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (Mapping, str)):
        return [value]  # one object, or plain text, is one document
    if not isinstance(value, (list, tuple)):
        raise invalid(f"应为对象列表 must be a list of objects, got {show(value)}")
    if len(value) > MAX_DOCUMENTS:
        raise invalid(f"文档过多 too many documents: {len(value)}, 上限 max {MAX_DOCUMENTS}")
    return list(value)


def _doc_kind(value: Any) -> str:
    return _text(MAX_SHORT_CHARS)(value) or "paper"


class DocumentBase(BaseModel):
    """One text of a profile: ``kind`` is ``paper``, ``patent``, ``project``, ``service``,
    ``statement`` or any other word (default ``paper``); ``year`` 1900..2100 or null;
    ``text`` or ``title`` must be non-empty."""

    model_config = ConfigDict(extra="ignore")

    kind: Annotated[str, BeforeValidator(_doc_kind), Field(max_length=MAX_SHORT_CHARS)] = "paper"
    title: ShortText = ""
    text: Annotated[LongText, Field(validate_default=True)] = ""
    year: Year = None

    @field_validator("text", mode="after")
    @classmethod
    def _has_text(cls, text: str, info: ValidationInfo) -> str:
        if not text and not info.data.get("title"):
            raise invalid("文档缺少 text 或 title a document needs a non-empty text or title")
        return text


DocumentCreate = DocumentBase
DocumentPublic = DocumentBase
Documents = Annotated[list[Annotated[DocumentBase | None, BeforeValidator(_document_item)]],
                      BeforeValidator(_documents), AfterValidator(lambda docs: [d for d in docs if d is not None]),
                      Field(max_length=MAX_DOCUMENTS)]


# ----------------------------------------------------------------------------- domain records
T = TypeVar("T")


def to_domain(model: BaseModel, cls: type[T]) -> T:
    """The frozen dataclass ``cls`` from a validated model, field by field of ``cls``:
    lists become tuples, nested documents become :class:`~matching.types.Document`."""

    def freeze(value: Any) -> Any:
        if isinstance(value, DocumentBase):
            return to_domain(value, Document)
        if isinstance(value, list):
            return tuple(freeze(v) for v in value)
        return value

    return cls(**{f.name: freeze(getattr(model, f.name)) for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- profiles
class ProfileBase(_Record):
    """A teacher, a student or an existing team (``../shared/INTERFACES.md`` profiles).

    ``capacity`` defaults by kind (``DEFAULT_CAPACITY``); ``grade`` is checked
    whenever given but kept for students only; some text to match on is
    required (documents or keywords; for students also major or skills).
    """

    id: Id
    kind: ProfileKind = "teacher"
    name: ShortText = ""
    college: ShortText = ""
    title: ShortText = ""
    county: ShortText = ""
    capacity: Capacity = None
    grade: Grade = None
    major: ShortText = ""
    documents: Documents = []
    keywords: Terms = []
    skills: Terms = []
    disciplines: Terms = []
    conflicts: IdList = []
    members: IdList = []

    @model_validator(mode="after")
    def _complete(self) -> ProfileBase:
        if self.capacity is None:
            self.capacity = DEFAULT_CAPACITY[self.kind]
        if self.kind != "student":
            self.grade = None
        student = self.kind == "student"
        if not self.documents and not self.keywords and not (student and (self.major or self.skills)):
            need = "documents, keywords" + (", major, skills" if student else "")
            raise invalid(f"缺少可匹配的文本 no text to match on: 需要 needs one of {need}")
        return self

    def to_profile(self) -> Profile:
        """The engine's frozen record."""
        return to_domain(self, Profile)


class ProfileCreate(ProfileBase):
    """A profile as posted (``POST /v1/profiles`` items) or read from a file."""


# ----------------------------------------------------------------------------- demands
class DemandBase(_Record):
    """An enterprise's technical problem (``../shared/INTERFACES.md`` demands).

    ``team_size`` defaults to ``DEFAULT_TEAM_SIZE``; ``students`` to
    ``DEFAULT_STUDENTS`` capped at the team's maximum size (given bounds must
    not exceed ``team_size``'s maximum); ``distinct_grades`` to 1;
    ``disciplines`` null means "infer them", ``[]`` "none required".  Needs a
    title or a description.
    """

    id: Id
    title: ShortText = ""
    description: LongText = ""
    enterprise: OptionalId = ""
    county: ShortText = ""
    industry: ShortText = ""
    disciplines: RequiredDisciplines = None
    team_size: TeamSize = DEFAULT_TEAM_SIZE
    students: Students = None
    distinct_grades: DistinctGrades = DEFAULT_DISTINCT_GRADES
    current_team: IdList = []

    @field_validator("students", mode="after")
    @classmethod
    def _students_fit(cls, students: Bounds | None, info: ValidationInfo) -> Bounds | None:
        team = info.data.get("team_size") or DEFAULT_TEAM_SIZE
        if students is not None and students[1] > team[1]:
            raise invalid(f"学生人数上限 {students[1]} 超过团队人数上限 {team[1]} "
                          f"students max {students[1]} exceeds team_size max {team[1]}")
        return students

    @model_validator(mode="after")
    def _complete(self) -> DemandBase:
        if self.team_size is None:
            self.team_size = DEFAULT_TEAM_SIZE
        if self.students is None:
            hi = self.team_size[1]
            self.students = (min(DEFAULT_STUDENTS[0], hi), min(DEFAULT_STUDENTS[1], hi))
        if self.distinct_grades is None:
            self.distinct_grades = DEFAULT_DISTINCT_GRADES
        if not self.title and not self.description:
            raise invalid("缺少 title 或 description no text to match on: needs title or description")
        return self

    def to_demand(self) -> Demand:
        """The engine's frozen record."""
        return to_domain(self, Demand)


class DemandCreate(DemandBase):
    """A demand as posted (``POST /v1/demands``) or read from a file; an
    enterprise key replaces ``enterprise`` with its own id."""


# ----------------------------------------------------------------------------- batches
def first_duplicate_id(ids: Sequence[str]) -> tuple[int, int] | None:
    """``(i, j)`` for the first id at position ``i`` already seen at ``j < i``, else None."""
    seen: dict[str, int] = {}
    for i, rid in enumerate(ids):
        if rid in seen:
            return i, seen[rid]
        seen[rid] = i
    return None


def duplicate_id_reason(rid: str, first: str) -> str:
    """The message for a repeated id; ``first`` says where it first appeared."""
    return f"id {show(rid)} 重复 duplicate, 首次出现于 first at {first}"


def format_loc(loc: Sequence[str | int]) -> str:
    """A field path from a pydantic ``loc``: ``("documents", 2, "year")`` -> ``documents[2].year``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
