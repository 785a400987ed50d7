"""The ``xfd`` command: a thin dispatcher; each subcommand lives in its own module.

Every subcommand exits 0 on success and, on bad input, prints one line
``xfd: 错误 error: <reason>`` to stderr and exits non-zero (never a traceback).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class CliError(Exception):
    """A user-facing failure: its message is printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + traceback
        raise CliError(f"参数错误 bad arguments: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xfd", description="小分队匹配 xfd — demand–team matching")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    from xfd.api import cli_assign, cli_score, cli_service  # noqa: PLC0415  (light modules)

    cli_score.register(sub)
    cli_assign.register(sub)
    cli_service.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"xfd: 错误 error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xfd: 已中断 interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # ``python -m api.cli``: use the importable module's classes
    from xfd.api.cli import main as _main

    sys.exit(_main())
