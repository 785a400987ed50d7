"""``xfd score``: rank every profile for every demand, with evidence (scores JSONL).

Output: one line per demand in input order,
``{"demand_id", "matches": [{"profile_id", "score", "evidence": [{"document", "terms"}]}],
"disciplines": [...]}`` with matches sorted by score descending; scores are
calibrated to [0, 1] and rounded to ``SCORE_DECIMALS`` (the plan of
``xfd assign`` uses the same rounding, so its member scores equal these).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from xfd.api.cli import CliError
from xfd.matching.types import Demand, DemandMatches, Profile

SCORE_DECIMALS = 6


class ScoreResult(NamedTuple):
    """``scores`` (n_demands, n_profiles) rounded to SCORE_DECIMALS; ``required``
    per demand (explicit or inferred disciplines); ``scorer`` the fitted scorer."""

    scores: np.ndarray
    required: list[tuple[str, ...]]
    scorer: object


def _progress(desc: str, total: int):
    from tqdm import tqdm  # noqa: PLC0415

    return tqdm(total=total, desc=desc, unit="条", file=sys.stderr, disable=None, leave=False)


def load_inputs(profiles_path: str, demands_path: str) -> tuple[list[Profile], list[Demand]]:
    """Read and validate both files; any problem becomes a one-line CliError."""
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
    return profiles, demands


def fitted_scorer(profiles: Sequence[Profile], model: str | None):
    """Load the model by name (one-line error for an unknown one) and index the profiles."""
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415
    from xfd.models.pipeline import make_scorer  # noqa: PLC0415

    try:
        scorer = make_scorer(model)
    except UnknownNameError as exc:
        raise CliError(str(exc)) from None
    print(f"xfd: 正在索引 indexing {len(profiles)} 份档案 profiles …", file=sys.stderr)
    return scorer.fit(profiles)


def compute_scores(profiles: Sequence[Profile], demands: Sequence[Demand], model: str | None = None) -> ScoreResult:
    """Scores and required disciplines, exactly as ``xfd score`` reports them."""
    scorer = fitted_scorer(profiles, model)
    with _progress("评分 scoring", len(demands)) as bar:
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


def check_out(path: str, flag: str = "--out") -> Path:
    """An output path whose folder exists and that is not a folder itself (else a CliError naming ``flag``)."""
    out = Path(path)
    if out.is_dir():
        raise CliError(f"{flag} {path}: 是目录 is a directory")
    if not out.parent.exists():
        raise CliError(f"{flag} {path}: 目录不存在 directory does not exist: {out.parent}")
    return out


def add_input_arguments(p: argparse.ArgumentParser, out_help: str) -> None:
    """The arguments ``xfd score`` and ``xfd assign`` share: --profiles, --demands, --out, --model."""
    p.add_argument("--profiles", required=True, help="profiles file (.jsonl/.csv/.xlsx)")
    p.add_argument("--demands", required=True, help="demands file (.jsonl/.csv/.xlsx)")
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--model", default=None, help="e5-small (default), lexical, minilm, or a SentenceTransformer folder")


def run(args: argparse.Namespace) -> int:
    from xfd.matching.writers import write_jsonl_atomic  # noqa: PLC0415

    if args.top_k < 0:
        raise CliError(f"--top-k 必须 >= 0 must be >= 0, got {args.top_k}")
    out = check_out(args.out)
    profiles, demands = load_inputs(args.profiles, args.demands)
    scorer = fitted_scorer(profiles, args.model)
    raw = np.empty((len(demands), len(profiles)))
    with _progress("评分 scoring", len(demands)) as bar:
        ranked = scorer.rank(demands, top_k=args.top_k, progress=bar.update, scores_out=raw)
    required = scorer.required_disciplines(demands, raw)
    write_jsonl_atomic(out, (matches_to_json(dm, req) for dm, req in zip(ranked, required)))
    print(f"xfd: 已写出 wrote {len(ranked)} 条需求 demands -> {out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="为每个需求排序人员 rank profiles for each demand")
    add_input_arguments(p, "scores JSONL to write")
    p.add_argument("--top-k", type=int, default=50, help="matches per demand (default 50); 0 lists every profile")
    p.set_defaults(func=run)
