"""Continuity seeded by team-kind profiles.

A profile of ``kind: team`` (a standing 小分队 with ``members``) is never
placed as a member itself.  It seeds continuity instead: a demand whose
``current_team`` names a team profile is planned as if its current team were
that team's members (so the solver keeps them together where the
constraints allow, and ``moves`` say who left).  Ids that are not team
profiles are kept as they are, in order; duplicates are dropped.

Pure: no I/O.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from xfd.matching.types import Demand, Profile


def team_members(profiles: Sequence[Profile]) -> dict[str, tuple[str, ...]]:
    """Team profile id -> its member ids, for every team-kind profile."""
    return {p.id: tuple(p.members) for p in profiles if p.kind == "team"}


def expand_current_team(current_team: Sequence[str], teams: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """``current_team`` with each team profile id replaced by its members (order kept, no duplicates)."""
    out: list[str] = []
    for pid in current_team:
        for member in teams.get(pid, (pid,)):
            if member not in out:
                out.append(member)
    return tuple(out)


def _replace(demand: Demand, current_team: tuple[str, ...]) -> Demand:
    if hasattr(demand, "model_copy"):
        return demand.model_copy(update={"current_team": current_team})
    return dataclasses.replace(demand, current_team=current_team)


def seed_continuity(demands: Sequence[Demand], profiles: Sequence[Profile]) -> list[Demand]:
    """``demands`` with team profiles in ``current_team`` expanded to their members."""
    teams = team_members(profiles)
    if not teams:
        return list(demands)
    out = []
    for d in demands:
        expanded = expand_current_team(d.current_team, teams)
        out.append(d if expanded == tuple(d.current_team) else _replace(d, expanded))
    return out
