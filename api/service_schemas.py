"""Bodies of the lifecycle routes (status changes, teams, activities, outcomes,
ratings, performance reports), in the families of ``xfd.api.schemas``:
``XCreate`` (in, strict: no ``true`` for a number, no string for a boolean)
and ``XPublic`` (out).  Field meanings: INTERFACES.md "Lifecycle of a demand,
teams and outcomes"; units: hours, yuan, satisfaction 1–5.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, get_type_hints

from pydantic import AfterValidator, BaseModel, Field, create_model

from xfd.api.schemas import Id, _In
from xfd.matching.performance import ReportRow
from xfd.matching.record_fields import check_text, invalid, show

NOTE_CHARS = 5000
_C1_RE = re.compile("[\x80-\x9f]")


def _note(value: str) -> str:
    """A note, comment or other text typed by a person: the text rule of the records
    (``matching.record_fields.check_text``: line breaks and tabs are fine, other C0 control
    characters and DEL are not) and no C1 control character (U+0080–U+009F) either."""
    check_text(value, NOTE_CHARS)
    bad = _C1_RE.search(value)
    if bad:
        raise invalid(f"含有非法字符 contains an invalid character U+{ord(bad.group()):04X}")
    return value


Note = Annotated[str, Field(max_length=NOTE_CHARS), AfterValidator(_note)]


def _participants(ids: list[str]) -> list[str]:
    """No participant named twice (ids as normalised, so ``Ｔ001`` repeats ``T001``); none at all is
    allowed (an office call, a remote consultation recorded by the office)."""
    seen: set[str] = set()
    for k, pid in enumerate(ids):
        if pid in seen:
            raise invalid(f"参加人员重复 participant {show(pid)} is listed twice (item {k})")
        seen.add(pid)
    return ids


Participants = Annotated[list[Id], Field(max_length=100), AfterValidator(_participants)]
ActivityKind = Literal["visit", "on-site", "training", "online", "other"]
ACTIVITY_KINDS: tuple[str, ...] = ("visit", "on-site", "training", "online", "other")
GroupBy = Literal["team", "teacher", "college", "county"]


class HistoryPublic(BaseModel):
    """One status change: ``from`` is None for the creation."""

    id: int
    from_: str | None = Field(alias="from", serialization_alias="from")
    to: str
    status: str
    reason: str
    by: str
    by_key: int | None
    by_user: int | None
    at: dt.datetime

    model_config = {"populate_by_name": True}


class MemberPublic(BaseModel):
    profile_id: str
    role: str
    score: float
    covers: list[str]


class ActivityCreate(_In):
    """One service activity of a team; ``participants`` (each once) must be members of the team."""

    date: dt.date
    kind: ActivityKind
    hours: Annotated[float, Field(strict=True, ge=0.0, le=1000.0, allow_inf_nan=False)]
    participants: Participants = []
    note: Note = ""


class ActivityPublic(BaseModel):
    id: int
    team_id: str
    date: dt.date
    kind: str
    hours: float
    participants: list[str]
    note: str
    by: str
    at: dt.datetime


class OutcomeCreate(_In):
    """What came of a demand: ``contract_amount`` in yuan (technology contracts signed)."""

    solved: Annotated[bool, Field(strict=True)]
    contract_amount: Annotated[float, Field(strict=True, ge=0.0, le=1e12, allow_inf_nan=False)] = 0.0
    patents: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    papers: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    other: Note = ""
    note: Note = ""


class OutcomePublic(BaseModel):
    demand_id: str
    team_id: str
    solved: bool
    contract_amount: float
    patents: int
    papers: int
    other: str
    note: str
    by: str
    at: dt.datetime


class RatingCreate(_In):
    """The enterprise's satisfaction with a closed demand, 1 (poor) to 5 (very satisfied)."""

    satisfaction: Annotated[int, Field(strict=True, ge=1, le=5)]
    comment: Note = ""


class RatingPublic(BaseModel):
    demand_id: str
    team_id: str
    satisfaction: int
    comment: str
    by: str
    at: dt.datetime


class TeamPublic(BaseModel):
    """A standing team: its demand (as the caller knows it), semester and members (as in
    the plan), the demand's status, activities, and the outcome/rating recorded against it."""

    id: str
    demand_id: str
    semester: str
    members: list[MemberPublic]
    status: str
    run_id: str | None
    created_at: dt.datetime
    activities: list[ActivityPublic]
    outcome: OutcomePublic | None
    rating: RatingPublic | None


#: One group of a performance report: the fields of ``matching.performance.ReportRow``, written
#: there once (see ``corpora/performance.toml`` for ``score``); grade keys are strings in JSON.
ReportRowPublic = create_model(
    "ReportRowPublic",
    __doc__=ReportRow.__doc__,
    **{name: (dict[str, int] if name == "students_by_grade" else hint, ...)
       for name, hint in get_type_hints(ReportRow).items()},
)
