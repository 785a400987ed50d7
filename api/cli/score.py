"""``xfd score``: rank every profile for every demand, with evidence (scores JSONL).

Output: one line per demand in input order,
``{"demand_id", "matches": [{"profile_id", "score", "evidence": [{"document", "terms"}]}],
"disciplines": [...]}`` with matches sorted by score descending; scores are
calibrated to [0, 1] and rounded to ``scoring.SCORE_DECIMALS`` (the plan of
``xfd assign`` uses the same rounding, so its member scores equal these).
"""
from __future__ import annotations

import argparse

import numpy as np

from xfd.api.cli import scoring
from xfd.api.cli.common import CliError, Subparsers, add_input_arguments, check_not_input, check_out, err, progress, write_outputs

#: Matches per demand that carry evidence by default (``--evidence``); later ones have ``"evidence": []``.
DEFAULT_EVIDENCE = 10


def run(args: argparse.Namespace) -> int:
    if args.top_k < 0:
        raise CliError(f"--top-k 必须 >= 0 must be >= 0, got {args.top_k}")
    if args.evidence < 0:
        raise CliError(f"--evidence 必须 >= 0 must be >= 0, got {args.evidence}")
    out = check_out(args.out)
    check_not_input(out, "--out", [("--profiles", args.profiles), ("--demands", args.demands),
                                   ("--calibration", args.calibration)])
    profiles, demands = scoring.load_inputs(args.profiles, args.demands, strict=args.strict)
    fusion = scoring.load_calibration(args.calibration, args.model)
    scorer = scoring.fitted_scorer(profiles, args.model, fusion)
    raw = np.empty((len(demands), len(profiles)))
    listed = len(profiles) if args.top_k == 0 else min(args.top_k, len(profiles))
    # rank builds (and explains) only the matches that carry evidence; the rest of
    # each line is written from the score matrix (scoring.score_lines, same order)
    with progress("评分 scoring", len(demands)) as bar:
        ranked = scorer.rank(demands, top_k=max(1, min(listed, args.evidence)), progress=bar.update,
                             scores_out=raw, evidence=args.evidence)
    required = scorer.required_disciplines(demands, raw)
    with progress("写出 writing", len(demands)) as bar:
        lines = scoring.score_lines(ranked, raw, [p.id for p in profiles], required, args.top_k, bar.update)
        write_outputs([("--out", out, lambda batch, path: batch.add_lines(path, lines))])
    err(f"xfd: 已写出 wrote {len(ranked)} 条需求 demands -> {out}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("score", help="为每个需求排序人员 rank profiles for each demand")
    add_input_arguments(p, "scores JSONL to write")
    p.add_argument("--top-k", type=int, default=50, help="matches per demand (default 50); 0 lists every profile")
    p.add_argument("--evidence", type=int, default=DEFAULT_EVIDENCE, metavar="N",
                   help=f"证据只给每个需求的前 N 个匹配 evidence for the first N matches of each demand "
                        f"(default {DEFAULT_EVIDENCE}); later matches have an empty evidence list")
    p.add_argument("--calibration", default=None, metavar="CAL.json",
                   help="xfd calibrate 写出的校准 use the fusion of a calibration written by xfd calibrate")
    p.set_defaults(func=run)
