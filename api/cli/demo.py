"""``xfd demo``: (re)create a SQLite database from the demo corpus, print keys
and example calls, then serve it (``--no-serve``: stop after printing)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from xfd.api.cli import server
from xfd.api.cli.common import CliError, Subparsers, check_out, check_port, database_session, load_settings

DEMO_DB = "xfd-demo.db"


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


def _read_corpus() -> tuple[list[dict[str, Any]], list, list]:
    """(enterprises, profiles, demands) of the demo corpus; a missing or bad file is a CliError."""
    from xfd import corpora  # noqa: PLC0415
    from xfd.matching.readers import RecordError, read_demands, read_profiles  # noqa: PLC0415

    paths = {name: corpora.demo_path(name) for name in ("enterprises", "profiles", "demands")}
    for p in paths.values():
        if not Path(p).is_file():
            raise CliError(f"演示数据缺失 demo corpus file missing: {p}")
    try:
        profiles = read_profiles(paths["profiles"])
        demands = read_demands(paths["demands"])
    except RecordError as exc:
        raise CliError(str(exc)) from None
    return _read_enterprises(Path(paths["enterprises"])), profiles, demands


def _seed_previous_semester(session: Any) -> dict[str, int]:
    """The finished previous semester (``corpora/demo/teams.jsonl`` …), see ``xfd.api.crud.demo_service``."""
    from xfd import corpora  # noqa: PLC0415
    from xfd.api.crud.demo_service import FILES, read_service_files, seed_demo_service  # noqa: PLC0415
    from xfd.api.errors import FieldInvalid  # noqa: PLC0415

    try:
        return seed_demo_service(session, read_service_files({n: corpora.demo_path(n) for n in FILES}))
    except (FieldInvalid, FileNotFoundError) as exc:
        raise CliError(f"演示数据有误 bad demo corpus: {exc}") from None


def prepare_demo(db_path: Path) -> dict[str, Any]:
    """(Re)create ``db_path`` from the demo corpus; return keys and counts.

    Creates one office key and enterprise keys for the first two enterprises
    that have demands.
    """
    from xfd.api import accounts, crud  # noqa: PLC0415

    enterprises, profiles, demands = _read_corpus()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path.resolve()}"
    keys: dict[str, str] = {}
    with database_session(url) as session:
        for e in enterprises:
            crud.ensure_enterprise(session, str(e["id"]), name=str(e.get("name", "")), county=str(e.get("county", "")),
                                   industry=str(e.get("industry", "")))
        session.flush()
        known = {str(e["id"]) for e in enterprises}
        crud.upsert_profiles(session, profiles)
        for d in demands:
            if d.enterprise and d.enterprise not in known:
                crud.ensure_enterprise(session, d.enterprise, county=d.county, industry=d.industry)
                known.add(d.enterprise)
            crud.add_demand(session, d)
        session.flush()
        service = _seed_previous_semester(session)
        _, keys["office"] = crud.create_key(session, "office", note="demo")
        with_demands: list[str] = []
        for d in demands:
            if d.enterprise and d.enterprise not in with_demands:
                with_demands.append(d.enterprise)
        for ent in with_demands[:2]:
            _, keys[ent] = crud.create_key(session, "enterprise", ent, note="demo")
        logins = accounts.create_demo_accounts(session, with_demands[:2], accounts.demo_teacher(session))
        session.commit()
    return {"url": url, "keys": keys, "accounts": logins, "profiles": len(profiles), "demands": len(demands), "service": service,
            "enterprises": len(known), "demand_ids": {e: [d.id for d in demands if d.enterprise == e] for e in keys}}


def _print_demo(info: dict[str, Any], db_path: Path, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    keys = info["keys"]
    office = keys["office"]
    ents = [e for e in keys if e != "office"]
    print(f"演示数据库 demo database: {db_path}  "
          f"({info['profiles']} 名人员 profiles, {info['demands']} 个需求 demands, {info['enterprises']} 家企业 enterprises)")
    service = info.get("service") or {}
    if service:
        print(f"上学期 previous semester 2026春: {service.get('teams', 0)} 个小分队 teams, "
              f"{service.get('activities', 0)} 次活动 activities, {service.get('outcomes', 0)} 项成果 outcomes, "
              f"{service.get('ratings', 0)} 条评价 ratings  (xfd report --semester 2026春 --by college)")
    print()
    print(f"网页登录 log in with a browser: {base}/login")
    for a in info.get("accounts", []):
        print(f"  {a.role:<10} 用户名 username {a.username:<12} 密码 password {a.password:<16} {a.binding}")
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
    print(f"  curl -X POST -H \"Authorization: Bearer $OFFICE_KEY\" -H 'Content-Type: application/json' "
          f"-d '{{\"semester\": \"2026秋\"}}' {base}/v1/assignment-runs")
    print("  # 上学期绩效 last semester's performance report")
    print(f"  curl -H \"Authorization: Bearer $OFFICE_KEY\" '{base}/v1/reports/performance?semester=2026春&by=college'")
    print(f"  curl -H \"Authorization: Bearer $OFFICE_KEY\" {base}/v1/assignment-runs/<id>")
    print(f"  # API 文档 API docs: {base}/docs")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    db_path = check_out(args.db, "--db")  # a file that can be (re)created: not a folder, in a writable folder
    if not args.no_serve:  # before the database is made: a bad port or model is the only line
        check_port(args.host, args.port)
    server.check_model_name(load_settings(None, args.model).model)  # --no-serve too: never exit 0 on it
    info = prepare_demo(db_path)
    _print_demo(info, db_path, args.host, args.port)
    if args.no_serve:
        return 0
    return server.run_server(load_settings(info["url"], args.model), args.host, args.port)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="用演示数据运行服务 serve the demo corpus")
    p.add_argument("--db", default=DEMO_DB, help=f"SQLite file to (re)create (default {DEMO_DB})")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model", default=None, help="embedding model (default: $XFD_MODEL or e5-small)")
    p.add_argument("--no-serve", action="store_true", help="only prepare the database and print the keys")
    p.set_defaults(func=run)
