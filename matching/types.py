"""Domain records: profiles (teachers, students, teams), demands, matches.

All records are frozen dataclasses with tuples for list fields, so they are
hashable and safe to share between threads.  Field meanings follow
``../shared/INTERFACES.md``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

ProfileKind = Literal["teacher", "student", "team"]
PROFILE_KINDS: tuple[str, ...] = ("teacher", "student", "team")
DEFAULT_CAPACITY: dict[str, int] = {"teacher": 2, "student": 1, "team": 1}
DEFAULT_TEAM_SIZE: tuple[int, int] = (3, 5)
DEFAULT_STUDENTS: tuple[int, int] = (1, 3)
DEFAULT_DISTINCT_GRADES: int = 1


@dataclass(frozen=True)
class Document:
    """One text of a profile: a paper, patent, project, service record, statement…

    ``kind`` is free text (``paper``, ``patent``, ``project``, ``service``,
    ``statement`` or any other word); ``year`` is a calendar year or None.
    """

    text: str
    kind: str = "paper"
    title: str = ""
    year: int | None = None

    @property
    def full_text(self) -> str:
        """Title and text joined, the string that is embedded and tokenised."""
        if self.title and self.text:
            return f"{self.title}。{self.text}" if not self.title.endswith(("。", ".", "!", "?")) else f"{self.title} {self.text}"
        return self.title or self.text


@dataclass(frozen=True)
class Profile:
    """A teacher, a student or an existing team.

    ``capacity`` is how many demands it may serve at once (>= 0);
    ``conflicts`` are enterprise ids it must never be matched with;
    ``grade`` is 1..4 for students, None otherwise; ``members`` lists profile
    ids for a team.
    """

    id: str
    kind: str = "teacher"
    name: str = ""
    college: str = ""
    title: str = ""
    disciplines: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    county: str = ""
    capacity: int = 2
    conflicts: tuple[str, ...] = ()
    documents: tuple[Document, ...] = ()
    major: str = ""
    grade: int | None = None
    skills: tuple[str, ...] = ()
    members: tuple[str, ...] = ()

    @property
    def is_teacher(self) -> bool:
        return self.kind == "teacher"


@dataclass(frozen=True)
class Demand:
    """An enterprise's technical problem.

    ``team_size`` is an inclusive (min, max) bound on members;
    ``students`` an inclusive (min, max) bound on how many of them are
    students (``(0, 0)``: teachers only); ``distinct_grades`` (1..4): the
    team's students come from at least min(distinct_grades, number of its
    students) different grades.  ``disciplines`` None means "infer them",
    ``()`` means "no discipline required"; ``current_team`` holds last
    semester's member ids.
    """

    id: str
    title: str = ""
    description: str = ""
    enterprise: str = ""
    county: str = ""
    industry: str = ""
    disciplines: tuple[str, ...] | None = None
    team_size: tuple[int, int] = DEFAULT_TEAM_SIZE
    current_team: tuple[str, ...] = ()
    students: tuple[int, int] = DEFAULT_STUDENTS
    distinct_grades: int = DEFAULT_DISTINCT_GRADES

    @property
    def text(self) -> str:
        """Title and description joined: the query text."""
        if self.title and self.description:
            return f"{self.title}。{self.description}"
        return self.title or self.description


class Evidence(NamedTuple):
    """Why a profile matched: one of its documents and the terms it shares."""

    document: str
    terms: tuple[str, ...]


class Match(NamedTuple):
    """One ranked profile for a demand; ``score`` is calibrated to [0, 1]."""

    profile_id: str
    score: float
    evidence: tuple[Evidence, ...] = ()


class DemandMatches(NamedTuple):
    """All ranked matches of one demand, best first."""

    demand_id: str
    matches: tuple[Match, ...]
