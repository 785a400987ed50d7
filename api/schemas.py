"""Request and response bodies, in families: ``XCreate`` (in), ``XPublic`` (out).

Input models carry the size limits (characters, list lengths) and are then
passed to ``matching.readers.validate_*`` so the service and the CLI accept
exactly the same records.  Unknown fields are ignored (records may be extended).
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

#: ids appear in URL paths: no slash, ?, #, or whitespace
ID_PATTERN = r"^[^/?#\s]+$"



def _int_id_to_str(value: Any) -> Any:
    """Integer ids are accepted (as by ``matching.readers``) and stored as strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[str, BeforeValidator(_int_id_to_str), Field(min_length=1, max_length=200, pattern=ID_PATTERN)]
ShortText = Annotated[str, Field(max_length=2000)]
Term = Annotated[str, Field(min_length=1, max_length=2000)]
Terms = Annotated[list[Term], Field(max_length=500)]
IdList = Annotated[list[Id], Field(max_length=500)]


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
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_storable(cls, value: Any) -> Any:
        return _no_control_chars(value)


class DocumentCreate(_In):
    """One text of a profile: paper, patent, project, service, statement…"""

    kind: Annotated[str, Field(max_length=50)] = "paper"
    title: Annotated[str, Field(max_length=2000)] = ""
    text: Annotated[str, Field(max_length=100_000)] = ""
    year: Annotated[int, Field(ge=1900, le=2100)] | None = None


class ProfileCreate(_In):
    """A teacher, student or team record (INTERFACES profiles shape)."""

    id: Id
    name: ShortText = ""
    kind: Literal["teacher", "student", "team"] = "teacher"
    college: ShortText = ""
    title: ShortText = ""
    disciplines: Terms = []
    keywords: Terms = []
    county: ShortText = ""
    capacity: Annotated[int, Field(ge=0, le=1000)] | None = None
    conflicts: IdList = []
    documents: Annotated[list[DocumentCreate], Field(max_length=2000)] = []
    major: ShortText = ""
    grade: Annotated[int, Field(ge=1, le=4)] | None = None
    skills: Terms = []
    members: IdList = []


class DocumentPublic(BaseModel):
    kind: str
    title: str
    text: str
    year: int | None


class ProfilePublic(BaseModel):
    id: str
    name: str
    kind: str
    college: str
    title: str
    disciplines: list[str]
    keywords: list[str]
    county: str
    capacity: int
    conflicts: list[str]
    documents: list[DocumentPublic]
    major: str
    grade: int | None
    skills: list[str]
    members: list[str]
    updated_at: dt.datetime | None = None


class ProfilesUpserted(BaseModel):
    """Result of an upsert: ids in input order; ``created`` + ``updated`` = ``upserted``."""

    upserted: int
    created: int
    updated: int
    ids: list[str]


TeamSizeBound = Annotated[int, Field(ge=1, le=50)]


class DemandCreate(_In):
    """An enterprise's technical problem (INTERFACES demands shape).

    An enterprise key replaces ``enterprise`` with its own id.
    """

    id: Id
    enterprise: Annotated[str, Field(max_length=200, pattern=r"^[^/?#\s]*$")] | None = None
    county: ShortText = ""
    industry: ShortText = ""
    title: ShortText = ""
    description: Annotated[str, Field(max_length=100_000)] = ""
    disciplines: Annotated[list[Term], Field(max_length=50)] | None = None  # None: infer; []: none required
    team_size: tuple[TeamSizeBound, TeamSizeBound] | None = None  # [min, max]
    students: tuple[Annotated[int, Field(ge=0, le=50)], Annotated[int, Field(ge=0, le=50)]] | None = None
    distinct_grades: Annotated[int, Field(ge=1, le=4)] | None = None
    current_team: Annotated[list[Id], Field(max_length=100)] = []


DemandStatus = Literal["open", "assigned", "closed"]


class DemandUpdate(_In):
    """Change a demand's status: ``closed`` removes it from batch runs, ``open`` reopens it."""

    status: Literal["open", "closed"]


class DemandPublic(BaseModel):
    id: str
    enterprise: str
    county: str
    industry: str
    title: str
    description: str
    disciplines: list[str] | None
    team_size: tuple[int, int]
    students: tuple[int, int]
    distinct_grades: int
    current_team: list[str]
    status: DemandStatus
    assigned_team: list[str]
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
    continuity_bonus: Annotated[float, Field(ge=0.0, le=10.0)] | None = None


class ProposalCreate(_In):
    solver: Annotated[str, Field(min_length=1, max_length=50)] | None = None


RunStatus = Literal["running", "done", "failed"]


class RunStarted(BaseModel):
    id: str
    status: RunStatus


class RunPublic(BaseModel):
    """``progress`` in [0, 1]; ``plan`` is the INTERFACES plan shape once ``done``;
    ``reason`` says why a run ``failed``."""

    id: str
    status: RunStatus
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
    score: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class FeedbackPublic(BaseModel):
    id: int
    demand_id: str
    profile_id: str
    verdict: Verdict
    note: str
    score: float | None
    created_at: dt.datetime


class KeyCreate(_In):
    role: Literal["office", "enterprise", "admin"]
    enterprise: Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)] | None = None
    note: ShortText = ""


class KeyPublic(BaseModel):
    id: int
    prefix: str
    role: str
    enterprise: str | None
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
