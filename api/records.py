"""Mapping between the record schema, the engine's records and table rows.

Validation is the record schema's (``matching.records``, through
``matching.readers.validate_profile`` / ``validate_demand`` — the same checks
the CLI applies to files — which raise ``RecordError`` naming the field).
Here only the storage mapping lives: table columns carry the record's field
names, except the few renamed below (``_DEMAND_RENAMED``, ``_DEMAND_BOUNDS``),
so no field is listed twice.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError

from xfd.api.storage.models import DemandRow, ProfileRow
from xfd.matching.readers import RecordError, validate_demand, validate_profile
from xfd.matching.records import DemandCreate
from xfd.matching.types import Demand, Document, Profile

__all__ = [
    "validate_profile", "validate_demand", "record_error_type", "demand_errors",
    "profile_fields", "profile_from_row", "profile_public",
    "demand_fields", "demand_from_row", "demand_public",
]

#: demand fields stored under another column name
_DEMAND_RENAMED = {"enterprise": "enterprise_id"}
#: demand fields stored as two columns ``<field>_min`` / ``<field>_max``
_DEMAND_BOUNDS = ("team_size", "students")


def record_error_type() -> type[Exception]:
    """``matching.readers.RecordError``."""
    return RecordError


def demand_errors(obj: Any) -> list[dict[str, Any]]:
    """Every problem of a demand record at once (pydantic's errors: ``loc``, ``type``, ``msg``,
    ``ctx``), the checks of :func:`validate_demand`; ``[]`` when it is valid (a form shows them all)."""
    try:
        DemandCreate.model_validate(obj)
    except ValidationError as exc:
        return list(exc.errors(include_url=False, include_input=False))
    return []


def _thaw(value: Any) -> Any:
    """A domain value as a JSON column value: tuples -> lists, documents -> dicts."""
    if isinstance(value, Document):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _freeze(value: Any, field: dataclasses.Field) -> Any:
    """A JSON column value as a domain value: lists -> tuples, NULL lists -> the default."""
    if isinstance(value, list):
        return tuple(value)
    if value is None and isinstance(field.default, tuple):
        return field.default
    return value


# -- profiles -----------------------------------------------------------------
def profile_fields(p: Profile) -> dict[str, Any]:
    """Column values of a profile row (every field of ``Profile`` but ``id``)."""
    return {f.name: _thaw(getattr(p, f.name)) for f in dataclasses.fields(Profile) if f.name != "id"}


def profile_from_row(row: ProfileRow) -> Profile:
    values = {f.name: _freeze(getattr(row, f.name), f) for f in dataclasses.fields(Profile)}
    values["documents"] = tuple(Document(**{f.name: d[f.name] for f in dataclasses.fields(Document) if f.name in d})
                                for d in (row.documents or ()))
    return Profile(**values)


def profile_public(row: ProfileRow) -> dict[str, Any]:
    """The ``ProfilePublic`` body of a row."""
    return {"id": row.id, **profile_fields(profile_from_row(row)), "updated_at": row.updated_at}


# -- demands ------------------------------------------------------------------
def demand_fields(d: Demand) -> dict[str, Any]:
    """Column values of a demand row (every field of ``Demand`` but ``id``)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Demand):
        value = getattr(d, f.name)
        if f.name == "id":
            continue
        if f.name in _DEMAND_BOUNDS:
            out[f"{f.name}_min"], out[f"{f.name}_max"] = (int(v) for v in value)
        else:
            out[_DEMAND_RENAMED.get(f.name, f.name)] = _thaw(value)
    return out


def _demand_values(row: DemandRow) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Demand):
        if f.name in _DEMAND_BOUNDS:
            values[f.name] = (getattr(row, f"{f.name}_min"), getattr(row, f"{f.name}_max"))
        else:
            values[f.name] = _freeze(getattr(row, _DEMAND_RENAMED.get(f.name, f.name)), f)
    return values


def demand_from_row(row: DemandRow) -> Demand:
    """The domain record; once a plan was accepted, its team is the current team
    (so the next reassignment rewards continuity with it)."""
    values = _demand_values(row)
    values["current_team"] = tuple(row.assigned_team or row.current_team or ())
    return Demand(**values)


def demand_public(row: DemandRow) -> dict[str, Any]:
    """The ``DemandPublic`` body of a row."""
    values = {name: _thaw(value) for name, value in _demand_values(row).items()}
    return {**values, "status": row.status, "assigned_team": list(row.assigned_team or ()),
            "created_at": row.created_at, "updated_at": row.updated_at}
