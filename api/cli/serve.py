"""``xfd serve``: the HTTP API (and pages) on one host and port, with its run worker processes.

``--workers N`` HTTP processes share the port (uvicorn workers; each loads the model and
follows the shared version counter, so they answer alike); ``--run-workers M`` (default
``$XFD_RUN_WORKERS`` = 1) worker processes execute the queued assignment runs outside the
request path (``xfd worker``; 0: this instance runs none, another instance's workers do).
"""
from __future__ import annotations

import argparse

from xfd.api.cli import server
from xfd.api.cli.common import CliError, Subparsers, add_database_argument, load_settings


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.database_url, args.model)
    if not 1 <= args.workers <= 32:
        raise CliError(f"--workers 应为 1–32 must be 1..32, got {args.workers}")
    if args.run_workers is not None:
        if not 0 <= args.run_workers <= 8:
            raise CliError(f"--run-workers 应为 0–8 must be 0..8, got {args.run_workers}")
        settings = settings.model_copy(update={"run_workers": args.run_workers})
    return server.run_server(settings, args.host, args.port, workers=args.workers)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="运行 HTTP 服务 run the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    add_database_argument(p)
    p.add_argument("--model", default=None, help="embedding model name or folder (default: $XFD_MODEL or e5-small)")
    p.add_argument("--workers", type=int, default=1, help="HTTP worker processes (default 1)")
    p.add_argument("--run-workers", type=int, default=None,
                   help="batch-run worker processes started beside the server (default: $XFD_RUN_WORKERS or 1; 0: none)")
    p.set_defaults(func=run)
