"""``xfd serve``: the HTTP API (and pages) on one host and port."""
from __future__ import annotations

import argparse

from xfd.api.cli import server
from xfd.api.cli.common import Subparsers, add_database_argument, load_settings


def run(args: argparse.Namespace) -> int:
    return server.run_server(load_settings(args.database_url, args.model), args.host, args.port)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="运行 HTTP 服务 run the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    add_database_argument(p)
    p.add_argument("--model", default=None, help="embedding model name or folder (default: $XFD_MODEL or e5-small)")
    p.set_defaults(func=run)
