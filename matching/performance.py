"""绩效评估: report rows per team, teacher, college or county for one semester.

Input is a list of :class:`TeamFacts` (one per team of the semester: its
demand, members, activities, outcome and rating); output is one
:class:`ReportRow` per group with the fields of INTERFACES.md and a 0–100
``score`` and ``grade`` computed from the indicators and weights of a TOML
configuration (default ``corpora/performance.toml``, documented there).

Grouping (a team may count in several groups):

- ``team``: the team id;
- ``teacher``: every teacher member of the team (profile id);
- ``college``: every non-empty college among the team's members (teachers and students);
- ``county``: the demand's county (``""`` when unknown).

A row's figures are over its teams: ``demands`` distinct demands,
``solved`` those whose outcome (recorded against one of these teams) says
solved, ``enterprises`` distinct enterprises, ``activities`` / ``hours`` the
teams' activities and their hours, ``students`` distinct student members,
``grades`` the number of distinct grades among them, ``contract_amount`` the
sum of the outcomes' contract amounts (yuan), ``satisfaction_mean`` the mean
of the ratings (1–5) of these outcomes, None without any.

Pure: no database.
"""
from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

GROUP_BY: tuple[str, ...] = ("team", "teacher", "college", "county")
INDICATORS: tuple[str, ...] = ("satisfaction", "solved", "contract", "hours", "students", "grades")
#: indicators whose value is min(1, measure / target) (satisfaction is mean / 5)
TARGETED: tuple[str, ...] = ("contract", "hours", "students", "grades")


class ConfigError(ValueError):
    """The performance configuration is malformed (the message names the key)."""


class MemberFacts(NamedTuple):
    """One member of a team: ``kind`` teacher|student, ``role`` lead|member, ``grade`` 1–4 for students."""

    profile_id: str
    kind: str = "teacher"
    role: str = "member"
    college: str = ""
    grade: int | None = None


class TeamFacts(NamedTuple):
    """A team of the semester and what came of it.

    ``hours`` holds one entry per activity (hours, >= 0); ``solved`` is None
    while no outcome is recorded against this team; ``contract_amount`` in
    yuan; ``satisfaction`` the enterprise's rating 1–5 of that outcome or None.
    """

    team_id: str
    demand_id: str
    enterprise: str = ""
    county: str = ""
    members: tuple[MemberFacts, ...] = ()
    hours: tuple[float, ...] = ()
    solved: bool | None = None
    contract_amount: float = 0.0
    satisfaction: int | None = None


@dataclass(frozen=True)
class Indicator:
    """``weight`` in [0, 1]; ``target`` the measure giving the full value; ``unrated`` the
    satisfaction value of a row without ratings."""

    name: str
    weight: float
    target: float = 1.0
    unrated: float = 0.0
    description: str = ""


@dataclass(frozen=True)
class PerformanceConfig:
    """Indicators (weights summing to 1) and grades, best first (``min`` descending, last ``min`` 0)."""

    indicators: tuple[Indicator, ...]
    grades: tuple[tuple[str, float], ...]
    source: str = ""


class ReportRow(NamedTuple):
    """One group of a performance report (INTERFACES.md report fields, plus
    ``students_by_grade``: grade (1–4) -> number of distinct students)."""

    group: str
    demands: int
    solved: int
    enterprises: int
    activities: int
    hours: float
    students: int
    grades: int
    contract_amount: float
    satisfaction_mean: float | None
    score: float
    grade: str
    students_by_grade: dict[int, int]


def _number(raw: Mapping[str, Any], key: str, where: str, default: float | None = None,
            lo: float = 0.0, hi: float = math.inf) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key}: 应为数字 must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: 应在 must be in [{lo}, {hi}], got {value!r}")
    return float(value)


def parse_config(raw: Mapping[str, Any], source: str = "") -> PerformanceConfig:
    """Check a parsed TOML document and build the configuration; errors name the key."""
    inds = raw.get("indicators")
    if not isinstance(inds, dict) or not inds:
        raise ConfigError(f"{source}: [indicators] 缺失 missing")
    unknown = sorted(set(inds) - set(INDICATORS))
    if unknown:
        raise ConfigError(f"indicators.{unknown[0]}: 未知指标 unknown indicator; valid: {', '.join(INDICATORS)}")
    out = []
    for name, spec in inds.items():
        where = f"indicators.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: 应为表 must be a table")
        target = _number(spec, "target", where, 1.0, lo=1e-9) if name in TARGETED else 1.0
        unrated = _number(spec, "unrated", where, 0.0, hi=1.0) if name == "satisfaction" else 0.0
        out.append(Indicator(name, _number(spec, "weight", where, hi=1.0), target, unrated,
                             str(spec.get("description", ""))))
    total = sum(i.weight for i in out)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"indicators.*.weight: 权重之和应为 1 weights must sum to 1, got {total:g}")
    grades = raw.get("grades")
    if not isinstance(grades, list) or not grades:
        raise ConfigError("grades: 缺失 missing [[grades]]")
    parsed = [(str(g.get("name", "")), _number(g, "min", f"grades[{k}]", hi=100.0))
              for k, g in enumerate(grades) if isinstance(g, dict)]
    if len(parsed) != len(grades) or any(not n for n, _ in parsed):
        raise ConfigError("grades: 每项需要 name 和 min each grade needs a name and a min")
    parsed.sort(key=lambda g: -g[1])
    if parsed[-1][1] != 0.0:
        raise ConfigError(f"grades: 最低一档的 min 应为 0 the lowest grade needs min = 0, got {parsed[-1][1]:g}")
    return PerformanceConfig(tuple(out), tuple(parsed), source)


def load_config(path: str | Path | None = None) -> PerformanceConfig:
    """Read ``path`` (default: the shipped ``corpora/performance.toml``)."""
    if path is None:
        ref = resources.files("xfd.corpora").joinpath("performance.toml")
        text, source = ref.read_text(encoding="utf-8"), "corpora/performance.toml"
    else:
        try:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise ConfigError(f"{path}: 无法读取 cannot read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: TOML 格式错误 invalid TOML: {exc}") from None
    return parse_config(raw, source)


def group_keys(team: TeamFacts, by: str) -> list[str]:
    """The groups ``team`` counts in for ``by`` (see the module docstring)."""
    if by == "team":
        return [team.team_id]
    if by == "teacher":
        return list(dict.fromkeys(m.profile_id for m in team.members if m.kind == "teacher"))
    if by == "college":
        return list(dict.fromkeys(m.college for m in team.members if m.college))
    if by == "county":
        return [team.county]
    raise ValueError(f"by: 未知分组 unknown grouping {by!r}; valid: {', '.join(GROUP_BY)}")


def indicator_values(row: ReportRow, config: PerformanceConfig) -> dict[str, float]:
    """Each indicator's value in [0, 1] for ``row`` (see ``corpora/performance.toml``)."""
    n = max(row.demands, 1)
    measures = {
        "solved": row.solved / n,
        "contract": row.contract_amount / n,
        "hours": row.hours / n,
        "students": row.students / n,
        "grades": float(row.grades),
    }
    out: dict[str, float] = {}
    for ind in config.indicators:
        if ind.name == "satisfaction":
            out[ind.name] = ind.unrated if row.satisfaction_mean is None else row.satisfaction_mean / 5.0
        elif ind.name in TARGETED:
            out[ind.name] = min(1.0, measures[ind.name] / ind.target)
        else:
            out[ind.name] = min(1.0, measures[ind.name])
    return out


def score_row(row: ReportRow, config: PerformanceConfig) -> tuple[float, str]:
    """``(score, grade)``: 100 * sum(weight * value), rounded to 0.01, and the grade it reaches."""
    values = indicator_values(row, config)
    score = round(100.0 * sum(i.weight * values[i.name] for i in config.indicators), 2)
    grade = next(name for name, lo in config.grades if score >= lo)
    return score, grade


def _row(group: str, teams: Sequence[TeamFacts], config: PerformanceConfig) -> ReportRow:
    demands = {t.demand_id for t in teams}
    solved = {t.demand_id for t in teams if t.solved}
    students: dict[str, int | None] = {}
    for t in teams:
        for m in t.members:
            if m.kind == "student":
                students[m.profile_id] = m.grade
    by_grade: dict[int, int] = {}
    for g in students.values():
        if g is not None:
            by_grade[g] = by_grade.get(g, 0) + 1
    ratings = [t.satisfaction for t in teams if t.satisfaction is not None]
    row = ReportRow(
        group=group, demands=len(demands), solved=len(solved),
        enterprises=len({t.enterprise for t in teams if t.enterprise}),
        activities=sum(len(t.hours) for t in teams), hours=float(sum(sum(t.hours) for t in teams)),
        students=len(students), grades=len(by_grade),
        contract_amount=float(sum(t.contract_amount for t in teams)),
        satisfaction_mean=sum(ratings) / len(ratings) if ratings else None,
        score=0.0, grade="", students_by_grade=dict(sorted(by_grade.items())),
    )
    score, grade = score_row(row, config)
    return row._replace(score=score, grade=grade)


def performance_report(teams: Iterable[TeamFacts], by: str, config: PerformanceConfig | None = None) -> list[ReportRow]:
    """One row per group, sorted by group name; empty when there are no teams."""
    if by not in GROUP_BY:
        raise ValueError(f"by: 未知分组 unknown grouping {by!r}; valid: {', '.join(GROUP_BY)}")
    config = config or load_config()
    groups: dict[str, list[TeamFacts]] = {}
    for t in teams:
        for key in group_keys(t, by):
            groups.setdefault(key, []).append(t)
    return [_row(key, groups[key], config) for key in sorted(groups)]


def row_dict(row: ReportRow) -> dict[str, Any]:
    """The JSON shape of a row (``students_by_grade`` keys as strings)."""
    out = row._asdict()
    out["students_by_grade"] = {str(k): v for k, v in row.students_by_grade.items()}
    return out
