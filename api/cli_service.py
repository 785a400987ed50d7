"""``xfd serve``, ``xfd keys``, ``xfd demo`` and ``xfd db upgrade``.

Heavy imports (uvicorn, the app, torch through the scorer) happen inside the
command functions so ``xfd --help`` stays fast.
"""
from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from xfd.api.cli import CliError

DEMO_DB = "xfd-demo.db"


def _err(*lines: str) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _settings(database_url: str | None = None, model: str | None = None):  # noqa: ANN202
    from pydantic import ValidationError  # noqa: PLC0415

    from xfd.api.settings import Settings  # noqa: PLC0415

    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if model:
        overrides["model"] = model
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"配置错误 bad setting XFD_{str(first['loc'][0]).upper()}: {first['msg']}") from None


def _migrated_engine(url: str):  # noqa: ANN202
    """An engine on ``url`` with the schema at head; one-line errors."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415

    from xfd.api.storage.db import make_engine, upgrade_to_head  # noqa: PLC0415

    try:
        engine = make_engine(url)
    except (ArgumentError, ValueError) as exc:
        raise CliError(f"数据库地址无效 invalid XFD_DATABASE_URL {url!r}: {exc}") from None
    except ImportError as exc:
        raise CliError(f"缺少数据库驱动 missing database driver for {url!r}: {exc}") from None
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as exc:
        raise CliError(f"无法打开数据库 cannot open database {url!r}: {str(exc).splitlines()[0]}") from None
    return engine


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise CliError(f"--port 端口无效 invalid port {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CliError(f"--host 地址无效 invalid host {host!r}: {exc}") from None
    family, *_rest, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise CliError(f"端口不可用 cannot listen on {host}:{port}: {exc.strerror}") from None


def _load_scorer(model: str):  # noqa: ANN202
    from xfd.api.engine import default_scorer_factory  # noqa: PLC0415
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415

    _err(f"加载模型 loading model {model} …")
    try:
        return default_scorer_factory(model)()
    except UnknownNameError as exc:
        raise CliError(f"--model / XFD_MODEL: {exc}") from None
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise CliError(f"模型无法加载 cannot load model {model!r}: {exc}") from None


def serve(settings, host: str, port: int) -> int:  # noqa: ANN001
    """Migrate, load the model once, then run uvicorn until interrupted."""
    import uvicorn  # noqa: PLC0415

    from xfd.api.app import create_app  # noqa: PLC0415
    from xfd.api.http_limits import uvicorn_options  # noqa: PLC0415

    _check_port(host, port)
    _migrated_engine(settings.database_url).dispose()
    scorer = _load_scorer(settings.model)
    app = create_app(settings, scorer_factory=lambda: scorer)
    _err(f"服务地址 serving on http://{host}:{port}  (API 文档 docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5,
                **uvicorn_options(settings.max_header_bytes))  # h11, header buffer for the 431 (xfd.api.http_limits)
    return 0


# -- commands -------------------------------------------------------------------
def _cmd_serve(args: argparse.Namespace) -> int:
    return serve(_settings(args.database_url, args.model), args.host, args.port)


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args.database_url)
    _migrated_engine(settings.database_url).dispose()
    _err(f"数据库已升级到最新版本 database schema at head: {settings.database_url}")
    return 0


def _cmd_keys_create(args: argparse.Namespace) -> int:
    from xfd.api.security import KeyError_, create_key  # noqa: PLC0415
    from xfd.api.storage.db import make_session_factory  # noqa: PLC0415

    settings = _settings(args.database_url)
    engine = _migrated_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            try:
                row, plaintext = create_key(session, args.role, args.enterprise, args.note or "")
            except KeyError_ as exc:
                raise CliError(str(exc)) from None
            session.commit()
            scope = f" enterprise={row.enterprise_id}" if row.enterprise_id else ""
    finally:
        engine.dispose()
    print(plaintext)
    _err(f"已创建密钥 key created: id={row.id} role={row.role}{scope} — 只显示这一次 shown only once")
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select  # noqa: PLC0415

    from xfd.api.storage.db import make_session_factory  # noqa: PLC0415
    from xfd.api.storage.models import ApiKey  # noqa: PLC0415

    settings = _settings(args.database_url)
    engine = _migrated_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        for k in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if k.revoked else "active"
            print(f"{k.id}\t{k.prefix}…\t{k.role}\t{k.enterprise_id or '-'}\t{state}")
    engine.dispose()
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    from xfd.api.storage.db import make_session_factory  # noqa: PLC0415
    from xfd.api.storage.models import ApiKey  # noqa: PLC0415

    settings = _settings(args.database_url)
    engine = _migrated_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        row = session.get(ApiKey, args.id)
        if row is None:
            raise CliError(f"密钥不存在 no key with id {args.id}")
        row.revoked = True
        session.commit()
    engine.dispose()
    _err(f"已吊销 revoked key {args.id}")
    return 0


def _read_enterprises(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CliError(f"{path} 第 {n} 行 line {n}: {exc.msg}") from None
            if not isinstance(obj, dict) or not obj.get("id"):
                raise CliError(f"{path} 第 {n} 行 line {n}, 字段 field \"id\": 缺少 missing")
            out.append(obj)
    return out


def prepare_demo(db_path: Path) -> dict[str, Any]:
    """(Re)create ``db_path`` from the demo corpus; return keys and counts.

    Creates one office key and enterprise keys for the first two enterprises
    that have demands.
    """
    from xfd import corpora  # noqa: PLC0415
    from xfd.api.records import demand_fields  # noqa: PLC0415
    from xfd.api.crud import upsert_profiles  # noqa: PLC0415
    from xfd.api.security import create_key  # noqa: PLC0415
    from xfd.api.storage.db import make_session_factory  # noqa: PLC0415
    from xfd.api.storage.models import DemandRow, Enterprise  # noqa: PLC0415
    from xfd.matching.readers import RecordError, read_demands, read_profiles  # noqa: PLC0415

    paths = {name: corpora.demo_path(name) for name in ("enterprises", "profiles", "demands")}
    for name, p in paths.items():
        if not Path(p).is_file():
            raise CliError(f"演示数据缺失 demo corpus file missing: {p}")
    try:
        profiles = read_profiles(paths["profiles"])
        demands = read_demands(paths["demands"])
    except RecordError as exc:
        raise CliError(str(exc)) from None
    enterprises = _read_enterprises(Path(paths["enterprises"]))

    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path.resolve()}"
    engine = _migrated_engine(url)
    keys: dict[str, str] = {}
    with make_session_factory(engine)() as session:
        for e in enterprises:
            session.add(Enterprise(id=str(e["id"]), name=str(e.get("name", "")), county=str(e.get("county", "")),
                                   industry=str(e.get("industry", ""))))
        session.flush()
        known = {str(e["id"]) for e in enterprises}
        upsert_profiles(session, profiles)
        for d in demands:
            if d.enterprise and d.enterprise not in known:
                session.add(Enterprise(id=d.enterprise, county=d.county, industry=d.industry))
                known.add(d.enterprise)
            session.add(DemandRow(id=d.id, status="open", assigned_team=[], **demand_fields(d)))
        session.flush()
        _, keys["office"] = create_key(session, "office", note="demo")
        with_demands: list[str] = []
        for d in demands:
            if d.enterprise and d.enterprise not in with_demands:
                with_demands.append(d.enterprise)
        for ent in with_demands[:2]:
            _, keys[ent] = create_key(session, "enterprise", ent, note="demo")
        session.commit()
    engine.dispose()
    return {"url": url, "keys": keys, "profiles": len(profiles), "demands": len(demands),
            "enterprises": len(known), "demand_ids": {e: [d.id for d in demands if d.enterprise == e] for e in keys}}


def _print_demo(info: dict[str, Any], db_path: Path, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    keys = info["keys"]
    office = keys["office"]
    ents = [e for e in keys if e != "office"]
    print(f"演示数据库 demo database: {db_path}  "
          f"({info['profiles']} 名人员 profiles, {info['demands']} 个需求 demands, {info['enterprises']} 家企业 enterprises)")
    print()
    print("密钥（只显示这一次）keys (shown once):")
    print(f"  办公室 office:           {office}")
    for e in ents:
        print(f"  企业 enterprise {e}: {keys[e]}")
    print()
    print("示例 examples:")
    print(f"  export OFFICE_KEY={office}")
    for i, e in enumerate(ents, 1):
        print(f"  export ENTERPRISE{i}_KEY={keys[e]}    # {e}")
    first = (info["demand_ids"].get(ents[0]) or ["D001"])[0] if ents else "D001"
    print(f"  curl {base}/healthz")
    print("  # 企业只看到自己的需求 an enterprise sees only its own demands")
    print(f"  curl -H \"Authorization: Bearer $ENTERPRISE1_KEY\" {base}/v1/demands")
    print("  # 企业提交需求 an enterprise submits a demand")
    print(f"  curl -X POST -H \"Authorization: Bearer $ENTERPRISE1_KEY\" -H 'Content-Type: application/json' "
          f"-H 'Idempotency-Key: demo-1' -d '{{\"id\": \"DX01\", \"title\": \"生产线缺陷检测\", "
          f"\"description\": \"需要基于机器视觉的产品表面缺陷自动检测方案\"}}' {base}/v1/demands")
    print("  # 办公室查看推荐 the office asks for ranked profiles with evidence")
    print(f"  curl -H \"Authorization: Bearer $OFFICE_KEY\" '{base}/v1/demands/{first}/recommendations?k=5'")
    print("  # 批量分配 a batch team assignment run, then poll it")
    print(f"  curl -X POST -H \"Authorization: Bearer $OFFICE_KEY\" {base}/v1/assignment-runs")
    print(f"  curl -H \"Authorization: Bearer $OFFICE_KEY\" {base}/v1/assignment-runs/<id>")
    print(f"  # API 文档 API docs: {base}/docs")
    sys.stdout.flush()


def _cmd_demo(args: argparse.Namespace) -> int:
    db_path = Path(args.db)
    if db_path.exists() and db_path.is_dir():
        raise CliError(f"--db 是目录 is a directory: {db_path}")
    if not args.no_serve:
        _check_port(args.host, args.port)
    info = prepare_demo(db_path)
    _print_demo(info, db_path, args.host, args.port)
    if args.no_serve:
        return 0
    return serve(_settings(info["url"], args.model), args.host, args.port)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve``, ``keys``, ``demo`` and ``db`` to the ``xfd`` parser."""
    db_help = "SQLAlchemy URL (default: $XFD_DATABASE_URL or sqlite:///xfd.db)"

    p = subparsers.add_parser("serve", help="运行 HTTP 服务 run the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--database-url", default=None, help=db_help)
    p.add_argument("--model", default=None, help="embedding model name or folder (default: $XFD_MODEL or e5-small)")
    p.set_defaults(func=_cmd_serve)

    p = subparsers.add_parser("keys", help="API 密钥 manage API keys")
    ksub = p.add_subparsers(dest="keys_command", required=True, parser_class=type(p))
    c = ksub.add_parser("create", help="新建密钥并打印一次 create a key and print it once")
    c.add_argument("--role", required=True, choices=["office", "enterprise", "admin"])
    c.add_argument("--enterprise", default=None, help="enterprise id (required for --role enterprise)")
    c.add_argument("--note", default="", help="free text kept with the key")
    c.add_argument("--database-url", default=None, help=db_help)
    c.set_defaults(func=_cmd_keys_create)
    c = ksub.add_parser("list", help="列出密钥 list keys (no secrets)")
    c.add_argument("--database-url", default=None, help=db_help)
    c.set_defaults(func=_cmd_keys_list)
    c = ksub.add_parser("revoke", help="吊销密钥 revoke a key by id")
    c.add_argument("id", type=int)
    c.add_argument("--database-url", default=None, help=db_help)
    c.set_defaults(func=_cmd_keys_revoke)

    p = subparsers.add_parser("demo", help="用演示数据运行服务 serve the demo corpus")
    p.add_argument("--db", default=DEMO_DB, help=f"SQLite file to (re)create (default {DEMO_DB})")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default=None, help="embedding model (default: $XFD_MODEL or e5-small)")
    p.add_argument("--no-serve", action="store_true", help="only prepare the database and print the keys")
    p.set_defaults(func=_cmd_demo)

    p = subparsers.add_parser("db", help="数据库 database maintenance")
    dsub = p.add_subparsers(dest="db_command", required=True, parser_class=type(p))
    c = dsub.add_parser("upgrade", help="升级到最新结构 migrate the schema to head")
    c.add_argument("--database-url", default=None, help=db_help)
    c.set_defaults(func=_cmd_db_upgrade)
