"""Reading the input files and scoring them, shared by ``xfd score`` and
``xfd assign`` (so member scores in a plan equal what ``xfd score`` reports).

Scores are calibrated to [0, 1] and rounded to ``SCORE_DECIMALS``.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from xfd.api.cli.common import CliError, err, load_settings, progress
from xfd.matching.types import Demand, DemandMatches, Profile

SCORE_DECIMALS = 6


class ScoreResult(NamedTuple):
    """``scores`` (n_demands, n_profiles) rounded to SCORE_DECIMALS; ``required``
    per demand (explicit or inferred disciplines); ``scorer`` the fitted scorer."""

    scores: np.ndarray
    required: list[tuple[str, ...]]
    scorer: object


#: unknown ``current_team`` ids named in the warning before "…"
UNKNOWN_SHOWN = 5


def unknown_current_team(profiles: Sequence[Profile], demands: Sequence[Demand]) -> list[tuple[str, str]]:
    """``(demand id, profile id)`` for every ``current_team`` id that is not a profile, in input order."""
    known = {p.id for p in profiles}
    return [(d.id, pid) for d in demands for pid in d.current_team if pid not in known]


def check_current_team(profiles: Sequence[Profile], demands: Sequence[Demand], demands_path: str,
                       strict: bool) -> None:
    """One warning line on stderr naming ``current_team`` ids missing from the profiles file;
    with ``strict`` the same line is the CliError."""
    unknown = unknown_current_team(profiles, demands)
    if not unknown:
        return
    shown = ", ".join(f"{d} -> {p}" for d, p in unknown[:UNKNOWN_SHOWN]) + (" …" if len(unknown) > UNKNOWN_SHOWN else "")
    message = (f"{demands_path}: current_team 中有 {len(unknown)} 个编号不在人员文件中 "
               f"{len(unknown)} current_team id(s) not in the profiles file: {shown}")
    if strict:
        raise CliError(message)
    err(f"xfd: 警告 warning: {message} (--strict 使其成为错误 makes this an error)")


def load_inputs(profiles_path: str, demands_path: str, strict: bool = False) -> tuple[list[Profile], list[Demand]]:
    """Read and validate both files; any problem becomes a one-line CliError.

    ``current_team`` ids that are not in the profiles file: one warning line on
    stderr, or (``strict``) a CliError."""
    from xfd.matching.readers import RecordError, read_demands, read_profiles  # noqa: PLC0415

    try:
        profiles = read_profiles(Path(profiles_path))
        demands = read_demands(Path(demands_path))
    except RecordError as exc:
        raise CliError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CliError(f"文件不存在 file not found: {exc.filename or exc}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise CliError(f"无法读取 cannot read input: {exc}") from None
    if not profiles:
        raise CliError(f"{profiles_path}: 没有人员档案 no profiles")
    if not demands:
        raise CliError(f"{demands_path}: 没有需求 no demands")
    check_current_team(profiles, demands, demands_path, strict)
    return profiles, demands


def resolve_model(model: str | None) -> str:
    """The model name to use: ``model``, else the configured ``XFD_MODEL``."""
    return model or load_settings().model


def load_calibration(path: str | None, model: str | None) -> Any:
    """The fusion of the calibration file at ``path`` (``xfd calibrate`` output) for ``model``,
    or None without a path; a missing, unreadable, malformed or other-model file is a one-line CliError."""
    import json  # noqa: PLC0415

    from xfd.matching.calibration import fusion_from_json  # noqa: PLC0415

    if path is None:
        return None
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"--calibration {path}: 文件不存在 file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"--calibration {path}: 无法读取 cannot read: {' '.join(str(exc).split())}") from None
    try:
        return fusion_from_json(doc, resolve_model(model))
    except ValueError as exc:
        raise CliError(f"--calibration {path}: {exc}") from None


def fitted_scorer(profiles: Sequence[Profile], model: str | None, fusion: Any = None) -> Any:
    """Load the model by name (None: the configured ``XFD_MODEL``; one-line error for an unknown one)
    and index the profiles; ``fusion`` (from :func:`load_calibration`) replaces the default weights."""
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415
    from xfd.models.pipeline import make_scorer  # noqa: PLC0415

    try:
        scorer = make_scorer(resolve_model(model), **({} if fusion is None else {"fusion": fusion}))
    except UnknownNameError as exc:
        raise CliError(str(exc)) from None
    err(f"xfd: 正在索引 indexing {len(profiles)} 份档案 profiles …")
    return scorer.fit(profiles)


def compute_scores(profiles: Sequence[Profile], demands: Sequence[Demand], model: str | None = None,
                   fusion: Any = None) -> ScoreResult:
    """Scores and required disciplines, exactly as ``xfd score`` reports them (``fusion``: a calibration's)."""
    scorer = fitted_scorer(profiles, model, fusion)
    with progress("评分 scoring", len(demands)) as bar:
        raw = scorer.score(demands, progress=bar.update)
    scores = np.round(raw, SCORE_DECIMALS)
    return ScoreResult(scores, scorer.required_disciplines(demands, raw), scorer)


def matches_to_json(dm: DemandMatches, disciplines: Sequence[str] = ()) -> dict:
    """One output line of the scores file."""
    return {
        "demand_id": dm.demand_id,
        "matches": [
            {
                "profile_id": m.profile_id,
                "score": round(m.score, SCORE_DECIMALS),
                "evidence": [{"document": e.document, "terms": list(e.terms)} for e in m.evidence],
            }
            for m in dm.matches
        ],
        "disciplines": list(disciplines),
    }
