"""The team-formation problem as arrays only (no ids, no strings).

Encoding (ids -> rows/cols) lives in :mod:`matching.assign.encode`; solvers in
:mod:`matching.assign.exact`, ``greedy``, ``lsa`` (chosen by name in ``solve``) see a
:class:`TeamProblem` and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TeamProblem:
    """All demands and profiles of one batch, as arrays.

    Shapes: D demands, P profiles, K disciplines.

    - ``scores`` float (D, P) in [0, 1]: calibrated match score of each pair
      (the numbers ``xfd score`` reports).
    - ``is_teacher`` bool (P,): teachers may lead; everyone else is a student.
    - ``capacity`` int (P,) >= 0: how many teams a profile may join.
    - ``forbidden`` bool (D, P): the pair may never be placed (conflict of interest).
    - ``covers`` bool (P, K): the profile covers discipline k.
    - ``required`` bool (D, K): the demand's team must cover discipline k.
    - ``size_min``, ``size_max`` int (D,): inclusive bounds on team members,
      0 <= size_min <= size_max.
    - ``grade`` int (P,): 1..4 for students, 0 for teachers/unknown.
    - ``current`` bool (D, P): last semester's members (continuity).
    - ``students_min``, ``students_max`` int (D,): inclusive bounds on the
      number of students (non-teachers) in a staffed team; default no bound
      (0 and ``size_max``).  ``[0, 0]`` = teachers only.
    - ``distinct_grades`` int (D,) in 0..4: a staffed team's students come from
      at least min(distinct_grades, number of its students) different grades
      1..4 (a student with grade 0 adds no grade); 0 = no rule (default).
    """

    scores: np.ndarray
    is_teacher: np.ndarray
    capacity: np.ndarray
    forbidden: np.ndarray
    covers: np.ndarray
    required: np.ndarray
    size_min: np.ndarray
    size_max: np.ndarray
    grade: np.ndarray
    current: np.ndarray
    students_min: np.ndarray = field(default=None)  # type: ignore[assignment]
    students_max: np.ndarray = field(default=None)  # type: ignore[assignment]
    distinct_grades: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n_d = np.asarray(self.size_max).shape[0] if np.asarray(self.size_max).ndim == 1 else 0
        if self.students_min is None:
            self.students_min = np.zeros(n_d, dtype=np.int64)
        if self.students_max is None:
            self.students_max = np.asarray(self.size_max, dtype=np.int64).copy() if n_d else np.zeros(0, np.int64)
        if self.distinct_grades is None:
            self.distinct_grades = np.zeros(n_d, dtype=np.int64)

    @property
    def n_demands(self) -> int:
        return int(self.scores.shape[0])

    @property
    def n_profiles(self) -> int:
        return int(self.scores.shape[1])

    @property
    def n_disciplines(self) -> int:
        return int(self.covers.shape[1])

    def validate(self) -> "TeamProblem":
        """Check shapes, dtypes and ranges; raise ValueError naming both values.

        Returns ``self`` so calls can be chained.
        """
        s = np.asarray(self.scores)
        if s.ndim != 2:
            raise ValueError(f"scores must be 2-D (demands, profiles) but has {s.ndim} dimensions")
        n_d, n_p = s.shape
        if not np.issubdtype(s.dtype, np.floating) and not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"scores must be numeric but has dtype {s.dtype}")
        if s.size and (not np.all(np.isfinite(s))):
            raise ValueError("scores contains NaN or infinite values")
        if s.size and (s.min() < 0 or s.max() > 1):
            raise ValueError(f"scores must lie in [0, 1] but range over [{s.min():g}, {s.max():g}]")

        def vec(name: str, n: int, what: str) -> None:
            a = np.asarray(getattr(self, name))
            if a.ndim != 1 or a.shape[0] != n:
                got = a.shape[0] if a.ndim == 1 else f"shape {a.shape}"
                raise ValueError(f"scores has {n} {what} but {name} has {got} entries")

        def mat(name: str, shape: tuple[int, int], what: str) -> None:
            a = np.asarray(getattr(self, name))
            if a.shape != shape:
                raise ValueError(f"{name} has shape {a.shape} but {what} implies {shape}")

        vec("is_teacher", n_p, "columns (profiles)")
        vec("capacity", n_p, "columns (profiles)")
        vec("grade", n_p, "columns (profiles)")
        for name in ("size_min", "size_max", "students_min", "students_max", "distinct_grades"):
            vec(name, n_d, "rows (demands)")
        mat("forbidden", (n_d, n_p), "scores shape")
        mat("current", (n_d, n_p), "scores shape")
        cov = np.asarray(self.covers)
        if cov.ndim != 2 or cov.shape[0] != n_p:
            raise ValueError(f"scores has {n_p} columns (profiles) but covers has shape {cov.shape}")
        req = np.asarray(self.required)
        if req.ndim != 2 or req.shape[0] != n_d:
            raise ValueError(f"scores has {n_d} rows (demands) but required has shape {req.shape}")
        if req.shape[1] != cov.shape[1]:
            raise ValueError(
                f"covers has {cov.shape[1]} disciplines but required has {req.shape[1]}")
        for name in ("is_teacher", "forbidden", "current", "covers", "required"):
            a = np.asarray(getattr(self, name))
            if a.dtype != bool:
                raise ValueError(f"{name} must have dtype bool but has {a.dtype}")
        for name in ("capacity", "grade", "size_min", "size_max", "students_min", "students_max", "distinct_grades"):
            a = np.asarray(getattr(self, name))
            if not np.issubdtype(a.dtype, np.integer):
                raise ValueError(f"{name} must have an integer dtype but has {a.dtype}")
        cap = np.asarray(self.capacity)
        if cap.size and cap.min() < 0:
            j = int(np.argmin(cap))
            raise ValueError(f"capacity must be >= 0 but profile column {j} has {int(cap[j])}")
        _check_bounds(self.size_min, self.size_max, "size")
        _check_bounds(self.students_min, self.students_max, "students")
        dg = np.asarray(self.distinct_grades)
        bad = np.nonzero((dg < 0) | (dg > 4))[0]
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"demand row {i}: distinct_grades must lie in 0..4 but is {int(dg[i])}")
        g = np.asarray(self.grade)
        if g.size and (g.min() < 0 or g.max() > 4):
            raise ValueError(f"grade must lie in 0..4 but ranges over [{int(g.min())}, {int(g.max())}]")
        return self


def _check_bounds(lo: np.ndarray, hi: np.ndarray, name: str) -> None:
    """Per-demand inclusive bounds ``{name}_min``/``{name}_max`` (D,): both >= 0 and min <= max."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    if lo.size and lo.min() < 0:
        i = int(np.argmin(lo))
        raise ValueError(f"{name}_min must be >= 0 but demand row {i} has {int(lo[i])}")
    bad = np.nonzero(lo > hi)[0]
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"demand row {i}: {name}_min {int(lo[i])} is greater than {name}_max {int(hi[i])}")
