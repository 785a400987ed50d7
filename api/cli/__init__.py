"""The ``xfd`` command: a thin dispatcher over one module per command group.

Every subcommand exits 0 on success and, on bad input, prints one line
``xfd: 错误 error: <reason>`` to stderr and exits non-zero (never a traceback).

Layout
------
- ``common.py`` — ``CliError``, ``Parser``, argument helpers, the output-path
  check, progress bars, settings, the migrated database session;
- ``scoring.py`` — reading input files and scoring them (``score``, ``assign``);
- ``server.py`` — running the HTTP service (``serve``, ``demo``);
- one module per command group, listed in ``COMMANDS`` below: ``score``,
  ``assign``, ``calibrate``, ``index``, ``serve``, ``keys``, ``demo``, ``report``, ``db``.

Command modules import ``common`` / ``scoring`` / ``server`` and the product
packages (data access through ``xfd.api.crud``), **never each other**
(``tests/test_structure.py`` checks it).

Adding a command
----------------
1. Write ``api/cli/<name>.py`` with ``register(sub: common.Subparsers) -> None``
   that adds its parser(s) and ``set_defaults(func=<callable(args) -> int>)``;
   raise ``common.CliError("中文 English")`` for bad input.
2. Add ``"<name>"`` to ``COMMANDS`` (the order is the order of ``xfd --help``).
"""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from xfd.api.cli.common import CliError, Parser

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: command modules of ``xfd.api.cli``, each with ``register(subparsers)``
COMMANDS: list[str] = [
    "score",
    "assign",
    "calibrate",
    "index",
    "serve",
    "worker",
    "keys",
    "users",
    "demo",
    "report",
    "db",
]

__all__ = ["COMMANDS", "CliError", "Parser", "build_parser", "main"]


def build_parser() -> Parser:
    parser = Parser(prog="xfd", description="小分队匹配 xfd — demand–team matching")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"xfd.api.cli.{name}").register(sub)
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
