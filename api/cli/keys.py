"""``xfd keys create|list|revoke``: API keys, through the same data access as ``/v1/keys``."""
from __future__ import annotations

import argparse

from xfd.api.cli.common import CliError, Parser, Subparsers, add_database_argument, database_session, err, load_settings


def create(args: argparse.Namespace) -> int:
    """Print the new key once on stdout (the only place it is ever shown)."""
    from xfd.api import crud  # noqa: PLC0415
    from xfd.api.security import KeyError_  # noqa: PLC0415

    settings = load_settings(args.database_url)
    with database_session(settings.database_url) as session:
        try:
            row, plaintext = crud.create_key(session, args.role, args.enterprise, args.note or "", args.profile,
                                             known_teacher=True)
        except KeyError_ as exc:
            raise CliError(f"--{exc}") from None
        scope = f" enterprise={row.enterprise_id}" if row.enterprise_id else ""
        scope += f" profile={row.profile_id}" if row.profile_id else ""
        key_id, role = row.id, row.role
    print(plaintext)
    err(f"已创建密钥 key created: id={key_id} role={role}{scope} — 只显示这一次 shown only once")
    return 0


def list_(args: argparse.Namespace) -> int:
    """One tab-separated line per key: id, prefix…, role, enterprise (or a teacher key's profile) or -,
    active|revoked (the columns of ``xfd users list``)."""
    from xfd.api import crud  # noqa: PLC0415

    settings = load_settings(args.database_url)
    with database_session(settings.database_url, must_exist=True) as session:
        for k in crud.list_keys(session):
            state = "revoked" if k.revoked else "active"
            print(f"{k.id}\t{k.prefix}…\t{k.role}\t{k.enterprise_id or k.profile_id or '-'}\t{state}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    from xfd.api import crud  # noqa: PLC0415
    from xfd.api.errors import NotFound  # noqa: PLC0415

    settings = load_settings(args.database_url)
    with database_session(settings.database_url, must_exist=True) as session:
        try:
            crud.revoke_key(session, args.id)
        except NotFound:
            raise CliError(f"密钥不存在 no key with id {args.id}") from None
    err(f"已吊销 revoked key {args.id}")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("keys", help="API 密钥 manage API keys")
    ksub = p.add_subparsers(dest="keys_command", required=True, parser_class=Parser)
    c = ksub.add_parser("create", help="新建密钥并打印一次 create a key and print it once")
    c.add_argument("--role", required=True, choices=["office", "enterprise", "teacher", "admin"])
    c.add_argument("--enterprise", default=None, help="enterprise id (required for --role enterprise)")
    c.add_argument("--profile", default=None, help="the teacher's own profile id (required for --role teacher)")
    c.add_argument("--note", default="", help="free text kept with the key")
    add_database_argument(c)
    c.set_defaults(func=create)
    c = ksub.add_parser("list", help="列出密钥 list keys (no secrets)")
    add_database_argument(c)
    c.set_defaults(func=list_)
    c = ksub.add_parser("revoke", help="吊销密钥 revoke a key by id")
    c.add_argument("id", type=int)
    add_database_argument(c)
    c.set_defaults(func=revoke)
