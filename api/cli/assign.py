"""``xfd assign``: staff every open demand with a team and write the plan (JSON, optional xlsx).

Scores and required disciplines come from the scoring core
(``xfd.api.cli.scoring.compute_scores``), so member scores equal what
``xfd score`` reports on the same inputs.
"""
from __future__ import annotations

import argparse
import math

from xfd.api.cli import scoring
from xfd.api.cli.common import CliError, Subparsers, add_input_arguments, check_not_input, check_out, err, write_outputs


def _check_options(args: argparse.Namespace) -> None:
    from xfd.matching.assign.solve import FAIRNESS_MODES, SOLVERS  # noqa: PLC0415

    if args.solver not in SOLVERS:
        raise CliError(f"--solver: 未知求解器 unknown solver {args.solver!r}; valid: {', '.join(sorted(SOLVERS))}")
    if args.fairness not in FAIRNESS_MODES:
        raise CliError(f"--fairness: unknown mode {args.fairness!r}; valid: {', '.join(FAIRNESS_MODES)}")
    for flag, v in (("--continuity-bonus", args.continuity_bonus), ("--jitter", args.jitter)):
        if not math.isfinite(v) or v < 0:
            raise CliError(f"{flag} 必须是 >= 0 的数 must be a number >= 0, got {v}")
    if args.time_limit is not None and not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise CliError(f"--time-limit 必须 > 0 must be > 0, got {args.time_limit}")


def run(args: argparse.Namespace) -> int:
    from xfd.matching.assign import plan_teams, plan_to_json, plan_xlsx_bytes  # noqa: PLC0415
    from xfd.matching.continuity import seed_continuity  # noqa: PLC0415
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415

    _check_options(args)
    out = check_out(args.out)
    xlsx = check_out(args.xlsx, "--xlsx") if args.xlsx else None
    if xlsx is not None and xlsx.resolve() == out.resolve():
        raise CliError(f"--xlsx {args.xlsx}: 与 --out 是同一文件 is the same file as --out")
    inputs = [("--profiles", args.profiles), ("--demands", args.demands), ("--calibration", args.calibration)]
    for flag, path in (("--out", out), ("--xlsx", xlsx)):
        if path is not None:
            check_not_input(path, flag, inputs)
    fusion = scoring.load_calibration(args.calibration, args.model)
    profiles, demands = scoring.load_inputs(args.profiles, args.demands, strict=args.strict)
    demands = seed_continuity(demands, profiles)  # a team-kind profile in current_team stands for its members
    result = scoring.compute_scores(profiles, demands, args.model, fusion)
    err(f"xfd: 正在组队 forming teams for {len(demands)} 个需求 demands …")
    try:
        plan = plan_teams(profiles, demands, result.scores, result.required, solver=args.solver,
                          continuity_bonus=args.continuity_bonus, fairness=args.fairness,
                          seed=args.seed, jitter=args.jitter, time_limit=args.time_limit)
    except UnknownNameError as exc:
        raise CliError(str(exc)) from None
    except ValueError as exc:
        raise CliError(f"输入无效 invalid input: {exc}") from None
    outputs = [("--out", out, lambda batch, path: batch.add_json(path, plan_to_json(plan)))]
    if xlsx is not None:
        outputs.append(("--xlsx", xlsx, lambda batch, path: batch.add_bytes(path, plan_xlsx_bytes(plan))))
    write_outputs(outputs)  # both or neither
    for line in plan.warnings:  # e.g. inferred disciplines no profile declares, dropped
        err(f"xfd: 警告 warning: {line}")
    st = plan.stats
    gap = "" if st.gap is None else f", gap {st.gap:.2e}"
    err(f"xfd: 已写出 wrote {out}: {st.staffed}/{st.demands} 个需求已组队 demands staffed, "
        f"objective {plan.objective:.6f}{gap}, {len(plan.unassigned)} unassigned, "
        f"{len(plan.moves)} moves")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("assign", help="为所有需求组建团队 form teams for all demands")
    add_input_arguments(p, "plan JSON to write")
    p.add_argument("--solver", default="exact", help="exact (default), greedy (baseline) or lsa")
    p.add_argument("--xlsx", default=None, help="also write an office workbook (teams/unassigned/moves)")
    p.add_argument("--continuity-bonus", type=float, default=0.1,
                   help="bonus per current member kept (default 0.1; reported apart from objective)")
    p.add_argument("--fairness", default="sum", help="sum (default) or maxmin (lift the worst team first)")
    p.add_argument("--seed", type=int, default=None, help="seed for --jitter")
    p.add_argument("--jitter", type=float, default=0.0,
                   help="perturb scores by at most this much to vary near-equal teams (default 0)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds; best plan and bound so far")
    p.add_argument("--calibration", default=None, metavar="CAL.json",
                   help="xfd calibrate 写出的校准 score with the fusion of a calibration written by xfd calibrate")
    p.set_defaults(func=run)
