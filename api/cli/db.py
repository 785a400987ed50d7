"""``xfd db upgrade``: migrate the database schema to head."""
from __future__ import annotations

import argparse

from xfd.api.cli.common import Parser, Subparsers, add_database_argument, err, load_settings, migrated_engine


def upgrade(args: argparse.Namespace) -> int:
    settings = load_settings(args.database_url)
    migrated_engine(settings.database_url).dispose()
    err(f"数据库已升级到最新版本 database schema at head: {settings.database_url}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("db", help="数据库 database maintenance")
    dsub = p.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    c = dsub.add_parser("upgrade", help="升级到最新结构 migrate the schema to head")
    add_database_argument(c)
    c.set_defaults(func=upgrade)
