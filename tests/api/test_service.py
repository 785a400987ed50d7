"""The service as a process and its commands: migrations, keys, demo, and
durability under ``kill -9`` (a real uvicorn server on a loopback port)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from xfd import corpora
from xfd.api.cli import build_parser
from xfd.api.cli.common import CliError
from xfd.api.security import create_key, hash_key
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
from xfd.api.storage.models import ApiKey

ROOT = Path(__file__).resolve().parents[2]

SERVER_SCRIPT = """
import sys, uvicorn
from xfd.api.app import create_app
from xfd.api.settings import Settings
from tests.fakes import FakeScorer, greedy_planner
app = create_app(Settings(database_url=sys.argv[1]), scorer_factory=FakeScorer, planner=greedy_planner)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def run_cli(argv: list[str]) -> int:
    """Run a subcommand through the real parser (``xfd.api.cli.build_parser``)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 180.0) -> None:  # a loaded 2-core box
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become healthy")


# -- migrations -------------------------------------------------------------------------
def test_migrations_match_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from xfd.api.storage.models import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_to_head(engine)
    upgrade_to_head(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    engine.dispose()


def test_alembic_files_are_package_data():
    api_dir = ROOT / "api"
    assert (api_dir / "alembic.ini").is_file()
    assert (api_dir / "alembic" / "env.py").is_file() and (api_dir / "alembic" / "script.py.mako").is_file()
    assert (api_dir / "alembic" / "__init__.py").is_file() and (api_dir / "alembic" / "versions" / "__init__.py").is_file()


# -- keys ---------------------------------------------------------------------------------
def test_keys_create_prints_once_and_stores_only_a_hash(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    monkeypatch.setenv("XFD_DATABASE_URL", url)
    assert run_cli(["keys", "create", "--role", "enterprise", "--enterprise", "E17"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("xfd_") and "\n" not in key
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        rows = list(s.scalars(select(ApiKey)))
        assert len(rows) == 1 and rows[0].key_hash == hash_key(key) and rows[0].enterprise_id == "E17"
        assert key not in repr([(r.key_hash, r.prefix) for r in rows]) and rows[0].role == "enterprise"
    engine.dispose()
    assert run_cli(["keys", "create", "--role", "office"]) == 0
    assert run_cli(["keys", "list"]) == 0


@pytest.mark.parametrize("argv", [["keys", "create", "--role", "enterprise"],
                                  ["keys", "create", "--role", "office", "--enterprise", "E1"],
                                  ["keys", "create", "--role", "boss"]])
def test_keys_create_bad_arguments_are_one_line_errors(tmp_path, monkeypatch, argv):
    monkeypatch.setenv("XFD_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    with pytest.raises(CliError) as err:
        run_cli(argv)
    assert "\n" not in str(err.value)


def test_bad_database_url_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("XFD_DATABASE_URL", "nonsense://")
    with pytest.raises(CliError):
        run_cli(["db", "upgrade"])


def test_serve_refuses_a_busy_port(tmp_path, monkeypatch):
    monkeypatch.setenv("XFD_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(CliError, match="cannot listen"):
            run_cli(["serve", "--port", str(s.getsockname()[1])])


# -- demo -----------------------------------------------------------------------------------
def test_demo_no_serve(tmp_path, capsys):
    assert all(Path(corpora.demo_path(n)).is_file() for n in ("enterprises", "profiles", "demands"))
    db = tmp_path / "demo.db"
    assert run_cli(["demo", "--db", str(db), "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "curl" in out and "office" in out
    keys = [w for w in out.split() if w.startswith("xfd_") and len(w) > 30]
    assert len(set(keys)) >= 3
    engine = make_engine(f"sqlite:///{db}")
    with make_session_factory(engine)() as s:
        assert len(list(s.scalars(select(ApiKey)))) == 3
    engine.dispose()
    # running it again refreshes the file instead of piling up keys
    assert run_cli(["demo", "--db", str(db), "--no-serve"]) == 0
    engine = make_engine(f"sqlite:///{db}")
    with make_session_factory(engine)() as s:
        assert len(list(s.scalars(select(ApiKey)))) == 3
    engine.dispose()


# -- kill -9 --------------------------------------------------------------------------------
def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _server_commands(kind: str, url: str, port: int) -> list[str]:
    if kind == "script":
        return [sys.executable, "-c", SERVER_SCRIPT, url, str(port)]
    return [sys.executable, "-m", "xfd.api.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--model", "lexical"]


def _migrated_db_with_keys(path) -> tuple[str, str, str]:
    """A migrated SQLite file with an office key and an enterprise key for E1: (url, office, enterprise)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as s:
        _, office = create_key(s, "office")
        _, ent = create_key(s, "enterprise", "E1")
        s.commit()
    engine.dispose()
    return url, office, ent


@pytest.mark.parametrize("kind", ["script", "xfd serve"])
def test_kill_9_loses_no_acknowledged_demand(tmp_path, kind):
    db = tmp_path / "durable.db"
    url, office, ent = _migrated_db_with_keys(db)
    env = dict(os.environ, XFD_DATABASE_URL=url, XFD_MODEL="lexical", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(_server_commands(kind, url, port), env)
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w: int) -> None:
        # a generous timeout: one slow answer on a loaded box must not end a writer before the kill
        # (after the kill every request fails at once: the connection is reset)
        with httpx.Client(base_url=base, timeout=60.0, headers={"Authorization": f"Bearer {ent}"}) as c:
            for i in range(400):
                if stop.is_set():
                    return
                did = f"W{w}-{i:03d}"
                try:
                    r = c.post("/v1/demands", json={"id": did, "title": f"需求 {did}", "description": "表面缺陷检测"})
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    with lock:
                        acked.append(did)

    try:
        wait_healthy(base, proc)
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 120  # a failure bound, not a speed requirement
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 60:
                    break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)   # mid-write: writers are still posting
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert len(acked) >= 60
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(_server_commands(kind, url, port), env)
    try:
        wait_healthy(base, proc)
        r = httpx.get(f"{base}/v1/demands", params={"limit": 1000}, headers={"Authorization": f"Bearer {office}"}, timeout=10)
        stored = {d["id"] for d in r.json()}
        lost = set(acked) - stored
        assert not lost, f"{len(lost)} acknowledged demands lost: {sorted(lost)[:5]}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_migration_renders_for_postgresql():
    import io

    from alembic import command

    from xfd.api.storage.db import alembic_config

    cfg = alembic_config("postgresql://user:pw@localhost/xfd")
    cfg.output_buffer = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    sql = cfg.output_buffer.getvalue()
    assert sql.count("CREATE TABLE") == 23 and "TIMESTAMP WITH TIME ZONE" in sql  # 0008: shared_versions, embeddings


def test_concurrent_duplicate_writes_never_5xx(tmp_path):
    db = tmp_path / "race.db"
    url, office, ent = _migrated_db_with_keys(db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start([sys.executable, "-c", SERVER_SCRIPT, url, str(port)], dict(os.environ, PYTHONPATH=str(ROOT)))
    statuses: list[int] = []
    bodies: list[dict] = []
    lock = threading.Lock()

    def post(path: str, json: object, headers: dict[str, str]) -> None:
        r = httpx.post(f"{base}{path}", json=json, headers=headers, timeout=30)
        with lock:
            statuses.append(r.status_code)
            if path == "/v1/demands" and "Idempotency-Key" in headers and r.status_code == 201:
                bodies.append(r.json())

    try:
        wait_healthy(base, proc)
        e, o = {"Authorization": f"Bearer {ent}"}, {"Authorization": f"Bearer {office}"}
        jobs = []
        for i in range(6):
            jobs.append(("/v1/demands", {"id": "SAME", "title": "同一需求"}, dict(e, **{"Idempotency-Key": "race"})))
            jobs.append(("/v1/demands", {"id": f"NEW{i % 2}", "title": "并发写"}, e))
            jobs.append(("/v1/profiles", [{"id": f"P{j}", "keywords": ["并发"]} for j in range(20)], o))
        threads = [threading.Thread(target=post, args=job) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert statuses and max(statuses) < 500, statuses
        assert all(s in (200, 201) for s in statuses), statuses
        assert len({json_id(b) for b in bodies}) == 1            # every replay is the same response
        listed = httpx.get(f"{base}/v1/demands", headers=o, timeout=10).json()
        assert sorted(d["id"] for d in listed) == ["NEW0", "NEW1", "SAME"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def json_id(body: dict) -> str:
    return f"{body['id']}|{body['created_at']}"
