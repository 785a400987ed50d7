"""``xfd report``: the performance report (绩效评估) of a semester, grouped by team,
teacher, college or county — the same rows as ``GET /v1/reports/performance``
(``xfd.api.crud.service.performance_rows``)."""
from __future__ import annotations

import argparse

from xfd.api.cli.common import (
    CliError,
    Subparsers,
    add_database_argument,
    check_out,
    database_session,
    err,
    load_settings,
    write_outputs,
)

GROUP_BY = ("team", "teacher", "college", "county")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def report(args: argparse.Namespace) -> int:
    """Print the rows as a tab-separated table on stdout; ``--xlsx`` also writes a workbook."""
    from xfd.api.crud.service import group_names, performance_rows  # noqa: PLC0415
    from xfd.api.report_export import COLUMNS, report_workbook  # noqa: PLC0415
    from xfd.api.schemas import semester_problem  # noqa: PLC0415
    from xfd.matching.performance import ConfigError, load_config  # noqa: PLC0415

    semester = args.semester.strip()
    if not semester:
        raise CliError("--semester 不能为空 must not be empty")
    if (problem := semester_problem(semester)) is not None:
        raise CliError(f"--semester: {problem}")
    out = check_out(args.xlsx, "--xlsx") if args.xlsx else None
    settings = load_settings(args.database_url)
    try:
        config = load_config(args.config or settings.performance_config)
    except ConfigError as exc:
        raise CliError(f"--config: {exc}") from None
    with database_session(settings.database_url, must_exist=True) as session:
        rows = performance_rows(session, semester, args.by, config)
        names = group_names(session, args.by, [r["group"] for r in rows]) if out is not None else {}
    if out is not None:  # before the table: a failed write prints nothing on stdout
        write_outputs([("--xlsx", out, lambda batch, path: batch.add_bytes(path, report_workbook(
            rows, semester, args.by, config, names)))])
    if not rows:
        err(f"学期 {semester} 没有小分队 no teams in semester {semester}")
    print("\t".join(name for name, _ in COLUMNS))
    for row in rows:
        print("\t".join(_cell(row[name]) for name, _ in COLUMNS))
    if out is not None:
        err(f"已写入 wrote {out} ({len(rows)} 行 rows)")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="绩效评估 performance report of a semester")
    p.add_argument("--semester", required=True, help="semester name, e.g. 2026秋")
    p.add_argument("--by", required=True, choices=GROUP_BY, help="one row per team, teacher, college or county")
    p.add_argument("--xlsx", default=None, help="also write the report to this Excel file")
    p.add_argument("--config", default=None,
                   help="indicators and weights (TOML; default $XFD_PERFORMANCE_CONFIG or corpora/performance.toml)")
    add_database_argument(p)
    p.set_defaults(func=report)
