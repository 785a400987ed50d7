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
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

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

from .record_fields import (  # noqa: F401  (re-exported: the schema's public names)
    GRADE_RANGE,
    KIND_ALIASES,
    MAX_CAPACITY,
    MAX_DOCUMENTS,
    MAX_ID_CHARS,
    MAX_LIST_ITEMS,
    MAX_REQUIRED_DISCIPLINES,
    MAX_SHORT_CHARS,
    MAX_TEAM_SIZE,
    MAX_TEXT_CHARS,
    MISSING,
    YEAR_RANGE,
    Bounds,
    Capacity,
    DistinctGrades,
    Grade,
    Id,
    IdList,
    LongText,
    OptionalId,
    ProfileKind,
    RequiredDisciplines,
    ShortText,
    Students,
    TeamSize,
    Terms,
    Year,
    invalid,
    is_blank,
    lookup_id,
    normalize_id,
    number_in,
    show,
    text_validator,
    to_int,
)
from .types import (
    DEFAULT_CAPACITY,
    DEFAULT_DISTINCT_GRADES,
    DEFAULT_STUDENTS,
    DEFAULT_TEAM_SIZE,
    Demand,
    Document,
    Profile,
)


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
            data = {**data, "id": MISSING}
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
    return text_validator(MAX_SHORT_CHARS)(value) or "paper"


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
