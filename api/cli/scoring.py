"""Reading the input files and scoring them, shared by ``xfd score`` and
``xfd assign`` (so member scores in a plan equal what ``xfd score`` reports).

Scores are calibrated to [0, 1] and rounded to ``SCORE_DECIMALS``.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from xfd.api.cli.common import CliError, err, load_settings, progress
from xfd.matching.types import Demand, DemandMatches, Evidence, Profile

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


def read_records(reader: Callable[[Path], list], path: str) -> list:
    """``reader(path)`` (``matching.readers.read_profiles`` / ``read_demands``) with every problem of
    the file as a one-line CliError (the reader's own message names file, line and field)."""
    from xfd.matching.readers import RecordError  # noqa: PLC0415

    try:
        return reader(Path(path))
    except RecordError as exc:
        raise CliError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CliError(f"文件不存在 file not found: {exc.filename or exc}") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise CliError(f"无法读取 cannot read input: {exc}") from None


def load_inputs(profiles_path: str, demands_path: str, strict: bool = False) -> tuple[list[Profile], list[Demand]]:
    """Read and validate both files; any problem becomes a one-line CliError.

    ``current_team`` ids that are not in the profiles file: one warning line on
    stderr, or (``strict``) a CliError."""
    from xfd.matching.readers import read_demands, read_profiles  # noqa: PLC0415

    profiles = read_records(read_profiles, profiles_path)
    demands = read_records(read_demands, demands_path)
    if not profiles:
        raise CliError(f"{profiles_path}: 没有人员档案 no profiles")
    if not demands:
        raise CliError(f"{demands_path}: 没有需求 no demands")
    check_current_team(profiles, demands, demands_path, strict)
    return profiles, demands


def resolve_model(model: str | None) -> str:
    """The model name to use: ``model``, else the configured ``XFD_MODEL``.  The settings are
    read either way, so a bad ``XFD_*`` value (say ``XFD_BLAS_THREADS``) is a one-line error."""
    configured = load_settings().model
    return model or configured


def load_calibration(path: str | None, model: str | None) -> Any:
    """The ``ScorerCalibration`` (fusion and verdict memory) of the calibration file at ``path``
    (``xfd calibrate`` output) for ``model``, or None without a path; a missing, unreadable,
    malformed or other-model file is a one-line CliError."""
    if path is None:
        return None
    from xfd.matching.calibration import calibration_from_json  # noqa: PLC0415

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"--calibration {path}: 文件不存在 file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"--calibration {path}: 无法读取 cannot read: {' '.join(str(exc).split())}") from None
    try:
        return calibration_from_json(doc, resolve_model(model))
    except ValueError as exc:
        raise CliError(f"--calibration {path}: {exc}") from None


def fitted_scorer(profiles: Sequence[Profile], model: str | None, fusion: Any = None) -> Any:
    """Load the model by name (None: the configured ``XFD_MODEL``; one-line error for an unknown one)
    and index the profiles; ``fusion`` (a ``ScorerCalibration`` from :func:`load_calibration`, or a bare
    ``Fusion``) replaces the default weights and adds the calibration's verdict memory."""
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415
    from xfd.models.pipeline import make_scorer  # noqa: PLC0415

    try:
        settings = {} if fusion is None else fusion.settings() if hasattr(fusion, "settings") else {"fusion": fusion}
        scorer = make_scorer(resolve_model(model), **settings)
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


#: The end of a match without evidence in a scores line.
_NO_EVIDENCE = ', "evidence": []}'


def _dumps(obj: Any) -> str:
    """JSON text exactly as ``matching.writers`` writes it (UTF-8 characters kept, no NaN)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def score_texts(scores: np.ndarray) -> list[str]:
    """JSON text of each score of a 1-d array rounded to SCORE_DECIMALS, exactly
    ``json.dumps(round(float(s), SCORE_DECIMALS))`` element by element, vectorised.

    ``rint(s * 10**6) / 10**6`` is the same double as Python's correctly rounded
    ``round`` except where ``s * 10**6`` lies within 1e-6 of a half (the
    product's own rounding could tip it) or ``|s|`` is large; those few go
    through ``round`` itself.  A NaN or infinite score raises ValueError.
    """
    x = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("Out of range float values are not JSON compliant")
    scale = 10.0**SCORE_DECIMALS
    scaled = x * scale
    values = np.rint(scaled) / scale
    near = np.flatnonzero((np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6) | (np.abs(x) >= 1e3))
    if near.size:
        values[near] = [round(v, SCORE_DECIMALS) for v in x[near].tolist()]
    return list(map(float.__repr__, values.tolist()))


def _evidence_end(evidence: Sequence[Evidence]) -> str:
    if not evidence:
        return _NO_EVIDENCE
    return ', "evidence": ' + _dumps([{"document": e.document, "terms": list(e.terms)} for e in evidence]) + "}"


def score_lines(ranked: Sequence[DemandMatches], scores: np.ndarray, profile_ids: Sequence[str],
                required: Sequence[Sequence[str]], top_k: int,
                progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The scores-file lines (JSON text, no newline), byte for byte what
    ``json.dumps(matches_to_json(dm, req), ensure_ascii=False)`` gives for the full ranking.

    ``scores`` (n_demands, n_profiles): the calibrated scores ``rank`` computed
    (its ``scores_out``); each line lists the ``top_k`` best profiles (<= 0: all)
    in ``rank``'s order (score descending, ties by profile order).  ``ranked``:
    ``rank``'s matches for the first few of each demand, which carry the evidence;
    every later match has ``"evidence": []``.  ``progress(1)`` after each line.
    """
    heads = ['{"profile_id": ' + _dumps(pid) + ', "score": ' for pid in profile_ids]
    n_p = len(profile_ids)
    kk = n_p if top_k <= 0 else min(top_k, n_p)
    for i, (dm, req) in enumerate(zip(ranked, required)):
        order = np.argsort(-scores[i], kind="stable")[:kk].tolist()  # = rank's lexsort((cols, -scores))
        texts = score_texts(scores[i, order])
        h = min(len(dm.matches), kk)
        explained = [heads[j] + t + _evidence_end(m.evidence) for j, t, m in zip(order[:h], texts[:h], dm.matches)]
        rest = [heads[j] + t + _NO_EVIDENCE for j, t in zip(order[h:], texts[h:])]
        yield ('{"demand_id": ' + _dumps(dm.demand_id) + ', "matches": [' + ", ".join(explained + rest)
               + '], "disciplines": ' + _dumps(list(req)) + "}")
        if progress is not None:
            progress(1)
