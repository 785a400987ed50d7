"""``xfd users create|list|disable|enable``: people's accounts for the web UI,
through the same functions as the admin pages (``xfd.api.accounts``).

The password is read from standard input (``--password-stdin``: the first
line, without its line break), never from the command line, and never printed.
"""
from __future__ import annotations

import argparse
import sys

from xfd.api.cli.common import CliError, Parser, Subparsers, add_database_argument, database_session, err, load_settings

ROLES = ["office", "enterprise", "teacher", "admin"]


def read_password(stream: object = None) -> str:
    """The first line of ``stream`` (default stdin) without its line break; CliError when empty."""
    line = (stream or sys.stdin).readline()  # type: ignore[union-attr]
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("--password-stdin: 标准输入中没有密码 no password on standard input")
    return password


def create(args: argparse.Namespace) -> int:
    from xfd.api import accounts  # noqa: PLC0415

    if not args.password_stdin:
        raise CliError("--password-stdin: 密码只能从标准输入读取 the password is read from standard input only "
                       "(echo … | xfd users create … --password-stdin)")
    password = read_password()
    settings = load_settings(args.database_url)
    with database_session(settings.database_url) as session:
        try:
            user = accounts.create_user(session, args.role, args.username, password, enterprise=args.enterprise,
                                        profile=args.profile, display_name=args.name or "")
        except accounts.AccountError as exc:
            raise CliError(f"--{exc}") from None
        session.commit()
        binding = f" enterprise={user.enterprise_id}" if user.enterprise_id else ""
        binding += f" profile={user.profile_id}" if user.profile_id else ""
        err(f"已创建账号 account created: {user.username} role={user.role}{binding}")
    return 0


def list_(args: argparse.Namespace) -> int:
    """One tab-separated line per account: id, username, role, binding or -, active|disabled."""
    from xfd.api import accounts  # noqa: PLC0415

    settings = load_settings(args.database_url)
    with database_session(settings.database_url, must_exist=True) as session:
        for u in accounts.list_users(session):
            state = "disabled" if u.disabled else "active"
            print(f"{u.id}\t{u.username}\t{u.role}\t{u.enterprise_id or u.profile_id or '-'}\t{state}")
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from xfd.api import accounts  # noqa: PLC0415

    settings = load_settings(args.database_url)
    with database_session(settings.database_url, must_exist=True) as session:
        try:
            accounts.set_disabled(session, args.username, disabled)
        except accounts.AccountError as exc:
            raise CliError(str(exc)) from None
        session.commit()
    err(f"{'已停用 disabled' if disabled else '已启用 enabled'}: {args.username}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("users", help="网页账号 people's accounts for the web UI")
    usub = p.add_subparsers(dest="users_command", required=True, parser_class=Parser)
    c = usub.add_parser("create", help="新建账号 create an account (password from stdin)")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--username", required=True)
    c.add_argument("--enterprise", default=None, help="enterprise id (required for --role enterprise)")
    c.add_argument("--profile", default=None, help="the teacher's profile id (required for --role teacher)")
    c.add_argument("--name", default="", help="display name shown on the pages")
    c.add_argument("--password-stdin", action="store_true", help="read the password from standard input (required)")
    add_database_argument(c)
    c.set_defaults(func=create)
    c = usub.add_parser("list", help="列出账号 list accounts (no passwords)")
    add_database_argument(c)
    c.set_defaults(func=list_)
    c = usub.add_parser("disable", help="停用账号并结束其会话 disable an account and end its sessions")
    c.add_argument("username")
    add_database_argument(c)
    c.set_defaults(func=lambda a: _set_disabled(a, True))
    c = usub.add_parser("enable", help="重新启用账号 enable an account again")
    c.add_argument("username")
    add_database_argument(c)
    c.set_defaults(func=lambda a: _set_disabled(a, False))
