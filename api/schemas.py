"""Request and response bodies, in families: ``XCreate`` (in), ``XPublic`` (out).

Profiles, demands and documents are the record schema of ``matching.records``
(one family per record, shared with the file readers, so the service and the
CLI accept exactly the same records): ``ProfileCreate`` / ``DemandCreate`` /
``DocumentCreate`` are those models, and the ``Public`` variants here extend the
same ``Base`` with what the service adds (timestamps, status).  Unknown fields
are ignored (records may be extended).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from xfd.api.errors import FieldInvalid
from xfd.matching.record_fields import show
from xfd.matching.records import (
    MAX_SHORT_CHARS,
    DemandBase,
    DemandCreate,
    DocumentBase,
    DocumentCreate,
    DocumentPublic,
    Id,
    ProfileBase,
    ProfileCreate,
    format_loc,
    number_in,
)

log = logging.getLogger("xfd.api")

__all__ = [
    "DemandBase", "DemandCreate", "DemandPublic", "DemandStatus", "DemandUpdate",
    "DocumentBase", "DocumentCreate", "DocumentPublic",
    "ProfileBase", "ProfileCreate", "ProfilePublic", "ProfilesUpserted",
]

#: ids appear in URL paths: no slash, ?, #, or whitespace (``matching.records.normalize_id``)
ID_PATTERN = r"^[^/?#\s]+$"
#: a semester name such as ``2026秋``: it appears in URLs, pages and workbooks, so no / ? #,
#: whitespace or control characters
SEMESTER_PATTERN = r"^[^/?#\s\x00-\x1f\x7f-\x9f]+$"
Semester = Annotated[str, Field(min_length=1, max_length=50, pattern=SEMESTER_PATTERN,
                                description="a semester such as 2026秋")]
_SEMESTER: TypeAdapter[str] = TypeAdapter(Semester)


def semester_problem(value: str) -> str | None:
    """Why ``value`` is not a semester by the :data:`Semester` rule (the one the API's
    ``semester`` fields and query parameters use), or None when it is one.  The pages and
    ``xfd report`` check their semesters with it."""
    try:
        _SEMESTER.validate_python(value)
    except ValidationError:
        return (f"学期无效 invalid semester {show(value)}: 应为 1–50 个字符，不含 / ? #、空白或控制字符 "
                "must be 1–50 characters without / ? #, whitespace or control characters")
    return None


def checked_semester(value: str, loc: Sequence[str]) -> str:
    """``value`` when it is a semester (:func:`semester_problem`), else a ``FieldInvalid`` at ``loc``
    (``["query", "semester"]``, ``["form", "semester"]``): a 422 naming ``semester``."""
    problem = semester_problem(value)
    if problem is not None:
        raise FieldInvalid(list(loc), f"{loc[-1]}: {problem}")
    return value


def _no_control_chars(value: Any) -> Any:
    """Reject NUL anywhere in a string (PostgreSQL cannot store it; no text needs it)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("含有非法字符 contains an invalid character U+0000")
    elif isinstance(value, (list, tuple)):
        for item in value:
            _no_control_chars(item)
    return value


class _In(BaseModel):
    """Bodies other than the records (runs, feedback, keys)."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_storable(cls, value: Any) -> Any:
        return _no_control_chars(value)


class _Stored(BaseModel):
    """A stored record on its way out.  Everything stored went through the record
    schema, so validating it again passes; should a row not meet today's input
    rules (written by an older version, or an internal id longer than a posted
    one), the response carries it as stored, with a warning in the log, rather
    than failing the request with a 500."""

    @model_validator(mode="wrap")
    @classmethod
    def _as_stored(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            if not isinstance(data, Mapping):
                raise
            first = exc.errors(include_url=False, include_input=False)[0]
            log.warning("stored %s %r does not meet the input rules (%s: %s); sent as stored",
                        cls.__name__, data.get("id"), format_loc(first["loc"]), first["msg"])
            values = {k: v for k, v in data.items() if k in cls.model_fields}
            if isinstance(values.get("documents"), list):
                values["documents"] = [DocumentBase.model_construct(**d) if isinstance(d, Mapping) else d
                                       for d in values["documents"]]
            for name in ("team_size", "students"):  # Bounds fields are tuples
                if isinstance(values.get(name), list):
                    values[name] = tuple(values[name])
            return cls.model_construct(**values)


class ProfilePublic(_Stored, ProfileBase):
    """A stored profile: the record plus when it was last written."""

    id: str  # as stored
    updated_at: dt.datetime | None = None


class ProfilesUpserted(BaseModel):
    """Result of an upsert: ids in input order; ``created`` + ``updated`` = ``upserted``."""

    upserted: int
    created: int
    updated: int
    ids: list[str]


#: ``xfd.matching.lifecycle.STATUSES``
DemandStatus = Literal["submitted", "accepted", "returned", "teamed", "in_service", "solved", "unsolved", "withdrawn"]


class DemandUpdate(_In):
    """``PATCH /v1/demands/{id}``: move the demand to ``status`` (a lifecycle status; the
    transition is checked by ``xfd.matching.lifecycle``); ``reason`` is required to return it."""

    status: Annotated[str, Field(min_length=1, max_length=20)]
    reason: Annotated[str, Field(max_length=2000)] = ""


class DemandPublic(_Stored, DemandBase):
    """A stored demand: the record plus its status, accepted team and timestamps."""

    id: str  # as stored (an internal key may be longer than a posted id)
    status: DemandStatus
    assigned_team: list[str] = []
    created_at: dt.datetime
    updated_at: dt.datetime


class EvidencePublic(BaseModel):
    document: str
    terms: list[str]


class MatchPublic(BaseModel):
    profile_id: str
    score: float
    evidence: list[EvidencePublic]
    name: str = ""
    kind: str = ""


class RecommendationsPublic(BaseModel):
    """Ranked profiles for one demand, best first (the scores-file line shape)."""

    demand_id: str
    matches: list[MatchPublic]


class RunCreate(_In):
    """Options of a batch reassignment; all optional.

    ``demand_ids`` restricts the run (default: every demand not closed).
    """

    demand_ids: Annotated[list[Id], Field(max_length=10_000)] | None = None
    solver: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    continuity_bonus: Annotated[float | None, BeforeValidator(number_in(0.0, 10.0, "应为 0–10 之间的数 must be a number in 0..10"))] = None
    #: the semester whose teams accepting the run creates (default: the current one, e.g. 2026秋)
    semester: Semester | None = None


class ProposalCreate(_In):
    solver: Annotated[str, Field(min_length=1, max_length=50)] | None = None


RunStatus = Literal["running", "done", "failed", "cancelled"]
#: the stored state: ``status`` answers ``running`` for ``queued`` too (INTERFACES)
RunState = Literal["queued", "running", "done", "failed", "cancelled"]


class RunStarted(BaseModel):
    id: str
    status: RunStatus
    state: RunState = "queued"


class RunPublic(BaseModel):
    """``progress`` in [0, 1]; ``plan`` is the INTERFACES plan shape once ``done``;
    ``reason`` says why a run ``failed`` (or that it was ``cancelled``).  ``status`` is
    ``running`` until the run ends (queued or executing: ``state`` tells which);
    ``phase`` is what the worker does (scoring, solving, storing); ``cancel_requested``
    turns true when the office asked to cancel a running run (it stops at the next phase)."""

    id: str
    status: RunStatus
    state: RunState
    phase: str | None = None
    cancel_requested: bool = False
    progress: float
    plan: dict[str, Any] | None
    reason: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    accepted_at: dt.datetime | None


class RunAccepted(BaseModel):
    id: str
    accepted_at: dt.datetime
    assigned: list[str]


Verdict = Literal["accepted", "rejected", "outcome"]


class FeedbackCreate(_In):
    """A verdict on one match; ``score`` optionally records an outcome rating in [0, 1]."""

    demand_id: Id
    profile_id: Id
    verdict: Verdict
    note: Annotated[str, Field(max_length=5000)] = ""
    score: Annotated[float | None, BeforeValidator(number_in(0.0, 1.0, "应为 0–1 之间的数 must be a number in 0..1"))] = None


class FeedbackPublic(BaseModel):
    id: int
    demand_id: str
    profile_id: str
    verdict: Verdict
    note: str
    score: float | None
    created_at: dt.datetime


class KeyCreate(_In):
    role: Literal["office", "enterprise", "teacher", "admin"]
    enterprise: Id | None = None
    #: a teacher key's own profile id
    profile: Id | None = None
    note: Annotated[str, Field(max_length=MAX_SHORT_CHARS)] = ""


class KeyPublic(BaseModel):
    id: int
    prefix: str
    role: str
    enterprise: str | None
    profile: str | None = None
    note: str
    revoked: bool
    created_at: dt.datetime


class KeyCreated(KeyPublic):
    """``key`` is shown once and never stored."""

    key: str


class Health(BaseModel):
    """``index_ready`` is false while profiles are being (re)embedded after a change;
    recommendations requested meanwhile wait for it."""

    status: Literal["ok"]
    model: str
    profiles: int
    index_ready: bool
    #: the shared version (``xfd.api.sync``) the index was fitted at; processes with the same number
    #: recommend from the same profiles and calibration (None before the first fit)
    index_version: int | None = None
    #: texts this process embedded itself (vector cache misses) since it started; 0 for the lexical model
    texts_encoded: int = 0
