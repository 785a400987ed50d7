"""Converting between request bodies, domain records and table rows.

Request bodies go through ``matching.readers.validate_profile`` /
``validate_demand`` — the same checks the CLI applies to files — which raise
``RecordError`` naming the field.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.matching.types import Demand, Document, Profile


def validate_profile(obj: dict[str, Any], where: str | None = None) -> Profile:
    from xfd.matching.readers import validate_profile as _validate  # noqa: PLC0415

    return _validate(obj, where=where)


def validate_demand(obj: dict[str, Any], where: str | None = None) -> Demand:
    from xfd.matching.readers import validate_demand as _validate  # noqa: PLC0415

    return _validate(obj, where=where)


def record_error_type() -> type[Exception]:
    """``matching.readers.RecordError`` (imported lazily)."""
    from xfd.matching.readers import RecordError  # noqa: PLC0415

    return RecordError


def _strs(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values]


# -- profiles -----------------------------------------------------------------
def profile_fields(p: Profile) -> dict[str, Any]:
    """Column values of a profile row."""
    return {
        "kind": p.kind,
        "name": p.name,
        "college": p.college,
        "title": p.title,
        "county": p.county,
        "capacity": int(p.capacity),
        "major": p.major,
        "grade": p.grade,
        "disciplines": _strs(p.disciplines),
        "keywords": _strs(p.keywords),
        "conflicts": _strs(p.conflicts),
        "skills": _strs(p.skills),
        "members": _strs(p.members),
        "documents": [dataclasses.asdict(d) for d in p.documents],
    }


def profile_from_row(row: ProfileRow) -> Profile:
    return Profile(
        id=row.id,
        kind=row.kind,
        name=row.name,
        college=row.college,
        title=row.title,
        disciplines=tuple(row.disciplines or ()),
        keywords=tuple(row.keywords or ()),
        county=row.county,
        capacity=row.capacity,
        conflicts=tuple(row.conflicts or ()),
        documents=tuple(
            Document(text=d.get("text", ""), kind=d.get("kind", "paper"), title=d.get("title", ""), year=d.get("year"))
            for d in (row.documents or ())
        ),
        major=row.major,
        grade=row.grade,
        skills=tuple(row.skills or ()),
        members=tuple(row.members or ()),
    )


def profile_public(row: ProfileRow) -> dict[str, Any]:
    out = {"id": row.id, **profile_fields(profile_from_row(row)), "updated_at": row.updated_at}
    return out


# -- demands ------------------------------------------------------------------
def demand_fields(d: Demand) -> dict[str, Any]:
    lo, hi = d.team_size
    return {
        "enterprise_id": d.enterprise,
        "title": d.title,
        "description": d.description,
        "county": d.county,
        "industry": d.industry,
        "disciplines": None if d.disciplines is None else _strs(d.disciplines),
        "team_size_min": int(lo),
        "team_size_max": int(hi),
        "students_min": int(d.students[0]),
        "students_max": int(d.students[1]),
        "distinct_grades": int(d.distinct_grades),
        "current_team": _strs(d.current_team),
    }


def demand_from_row(row: DemandRow) -> Demand:
    """The domain record; once a plan was accepted, its team is the current team
    (so the next reassignment rewards continuity with it)."""
    return Demand(
        id=row.id,
        title=row.title,
        description=row.description,
        enterprise=row.enterprise_id,
        county=row.county,
        industry=row.industry,
        disciplines=None if row.disciplines is None else tuple(row.disciplines),
        team_size=(row.team_size_min, row.team_size_max),
        current_team=tuple(row.assigned_team or row.current_team or ()),
        students=(row.students_min, row.students_max),
        distinct_grades=row.distinct_grades,
    )


def demand_public(row: DemandRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "enterprise": row.enterprise_id,
        "county": row.county,
        "industry": row.industry,
        "title": row.title,
        "description": row.description,
        "disciplines": None if row.disciplines is None else list(row.disciplines),
        "team_size": [row.team_size_min, row.team_size_max],
        "students": [row.students_min, row.students_max],
        "distinct_grades": row.distinct_grades,
        "current_team": list(row.current_team or ()),
        "status": row.status,
        "assigned_team": list(row.assigned_team or ()),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
