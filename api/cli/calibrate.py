"""``xfd calibrate``: learn from the office's verdicts (calibration JSON).

``--feedback F.jsonl``: one ``{"demand_id", "profile_id", "verdict": "accepted"|"rejected"}``
per line (ids from ``--demands`` / ``--profiles``).  The calibration is a verdict
memory (``xfd.matching.memory``: the judged demands' texts, kept in the file, lift
the accepted and lower the rejected profiles of similar new demands) over the
default fusion, validated on held-out demands inside the command
(``xfd.matching.calibration``): the file says ``"source": "memory"`` (or
``"refit"``) only when it orders the held-out and the given verdicts better than
the default, else ``"source": "default"`` with the default weights and no memory;
either way with the figures before/after.  Use it with
``xfd score --calibration`` / ``xfd assign --calibration``.
"""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from xfd.api.cli import scoring
from xfd.api.cli.common import CliError, Subparsers, add_input_arguments, check_not_input, check_out, err, write_outputs


def _read_feedback(path: str, demand_ids: list[str], profile_ids: list[str]) -> list:
    from xfd.matching.calibration import parse_feedback  # noqa: PLC0415
    from xfd.matching.readers import RecordError, iter_raw_records  # noqa: PLC0415

    try:
        verdicts = parse_feedback(iter_raw_records(path), path, demand_ids, profile_ids)
    except RecordError as exc:
        raise CliError(str(exc)) from None
    except FileNotFoundError:
        raise CliError(f"--feedback {path}: 文件不存在 file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise CliError(f"--feedback {path}: 无法读取 cannot read: {exc}") from None
    if not verdicts:
        raise CliError(f"--feedback {path}: 没有反馈 no verdicts")
    return verdicts


def _pairs(scorer: Any, demands: list, profiles: list, verdicts: list) -> tuple[np.ndarray, np.ndarray]:
    """(n_verdicts, 3) pair features and the (n_demands_with_verdicts, n_profiles) default logits
    (full rankings), computed only for the demands that have verdicts."""
    from xfd.matching.calibration import pair_features  # noqa: PLC0415

    used = list(dict.fromkeys(v.demand_id for v in verdicts))
    by_id = {d.id: d for d in demands}
    row = {d: i for i, d in enumerate(used)}
    col = {p.id: j for j, p in enumerate(profiles)}
    x = np.empty((len(verdicts), 3))
    base = np.empty((len(used), len(profiles)))
    rows = np.array([row[v.demand_id] for v in verdicts])
    cols = np.array([col[v.profile_id] for v in verdicts])
    for s in range(0, len(used), scorer.batch):
        f = scorer.features([by_id[d] for d in used[s : s + scorer.batch]])
        m = (rows >= s) & (rows < s + scorer.batch)
        x[m] = pair_features(f, rows[m] - s, cols[m])
        base[s : s + scorer.batch] = scorer.fusion_.bias + scorer.fusion_.terms(f)
    return x, base


def memory_inputs(scorer: Any, demands: list, verdicts: list, base: np.ndarray) -> Any:
    """``MemoryInputs`` of the demands with verdicts: texts and vectors as the scorer embeds queries,
    ``base`` their default logits of every profile."""
    from xfd.matching.calibration import MemoryInputs  # noqa: PLC0415
    from xfd.matching.memory import memory_vectors  # noqa: PLC0415

    used = list(dict.fromkeys(v.demand_id for v in verdicts))
    by_id = {d.id: d for d in demands}
    texts = [by_id[d].text for d in used]
    vectors = memory_vectors(texts, scorer.encoder, None if scorer.encoder is not None else scorer.tokenizer,
                             getattr(scorer, "demand_role", "query"))
    return MemoryInputs(used, texts, vectors, [v.profile_id for v in verdicts], base,
                        [p.id for p in scorer.profiles_])


def run(args: argparse.Namespace) -> int:
    from xfd.matching.calibration import calibration_to_json, fit_calibration  # noqa: PLC0415

    out = check_out(args.out)
    check_not_input(out, "--out", [("--profiles", args.profiles), ("--demands", args.demands),
                                   ("--feedback", args.feedback)])
    profiles, demands = scoring.load_inputs(args.profiles, args.demands, strict=args.strict)
    verdicts = _read_feedback(args.feedback, [d.id for d in demands], [p.id for p in profiles])
    model = scoring.resolve_model(args.model)
    scorer = scoring.fitted_scorer(profiles, model)
    err(f"xfd: 正在学习 learning from {len(verdicts)} 条反馈 verdicts …")
    x, base = _pairs(scorer, demands, profiles, verdicts)
    cal = fit_calibration(x, np.array([v.accepted for v in verdicts]), [v.demand_id for v in verdicts],
                          scorer.fusion_, model, memory_inputs(scorer, demands, verdicts, base))
    doc = calibration_to_json(cal)
    write_outputs([("--out", out, lambda batch, path: batch.add_json(path, doc))])
    fig = doc["figures"].get("held_out", doc["figures"]["all"])

    def show(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.4f}"

    err(f"xfd: 已写出 wrote {out}: source {cal.source}; held-out pairwise "
        f"{show(fig['before']['pairwise'])} -> {show(fig['after']['pairwise'])}, AUC "
        f"{show(fig['before']['auc'])} -> {show(fig['after']['auc'])} ({cal.reason})")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("calibrate", help="从办公室的反馈学习评分融合 learn the fusion from the office's verdicts")
    add_input_arguments(p, "calibration JSON to write")
    p.add_argument("--feedback", required=True,
                   help='verdicts JSONL: {"demand_id", "profile_id", "verdict": "accepted"|"rejected"} per line')
    p.set_defaults(func=run)
