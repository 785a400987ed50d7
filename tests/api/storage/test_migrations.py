"""Migrations when several processes start at once on one fresh database (instances, a worker,
the CLI): each process waits for the one migrating, none fails, the schema ends at head.

Without the migration lock these fail nearly every time: SQLite "table ... already exists",
PostgreSQL ``UniqueViolation`` on ``pg_type_typname_nsp_index`` (two ``CREATE TABLE
alembic_version`` at once).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from tests.fakes import reset_database
from xfd.api.storage.db import MIGRATION_LOCK_KEY, alembic_config, make_engine, upgrade_to_head

PG_URL = os.environ.get("XFD_TEST_POSTGRES_URL", "")
needs_pg = pytest.mark.skipif(not PG_URL, reason="XFD_TEST_POSTGRES_URL not set (no PostgreSQL server)")
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    reset_database(PG_URL)
    return PG_URL


def _migrate(url: str, errors: mp.Queue) -> None:
    """One process: migrate ``url``; put the error text (or "" on success) on ``errors``."""
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        errors.put("")
    except sa.exc.SQLAlchemyError as e:
        errors.put(f"{type(e).__name__}: {e}"[:300])
    finally:
        engine.dispose()


def _version(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


@pytest.mark.parametrize("n", [6])
def test_processes_migrating_one_fresh_database_at_once_all_succeed(fresh_url: str, n: int) -> None:
    ctx = mp.get_context("spawn")
    errors = ctx.Queue()
    procs = [ctx.Process(target=_migrate, args=(fresh_url, errors)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * n
    assert [e for e in (errors.get(timeout=5) for _ in procs) if e] == []
    assert _version(fresh_url) == [HEAD]


def test_threads_migrating_at_once_take_turns(fresh_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        engine = make_engine(fresh_url)
        try:
            upgrade_to_head(engine)
        except sa.exc.SQLAlchemyError as e:
            errors.append(e)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads) and errors == []
    assert _version(fresh_url) == [HEAD]


@needs_pg
def test_a_migration_waits_for_the_postgresql_lock_holder() -> None:
    reset_database(PG_URL)
    holder = make_engine(PG_URL)
    engine = make_engine(PG_URL)
    done = threading.Event()
    try:
        with holder.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            th = threading.Thread(target=lambda: (upgrade_to_head(engine), done.set()))
            th.start()
            time.sleep(1.0)
            assert not done.is_set()  # blocked on the lock: nothing created yet
            assert not sa.inspect(conn).has_table("alembic_version")
        th.join(60)  # the holder's commit released the lock
        assert done.is_set() and _version(PG_URL) == [HEAD]
    finally:
        holder.dispose()
        engine.dispose()


def _to(engine: sa.Engine, revision: str, down: bool = False) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_0009_adds_a_unique_nullable_form_id_to_api_keys(tmp_path: Path) -> None:
    """Keys stored before 0009 keep working (form_id NULL, any number of them); one form id
    names at most one key; the downgrade drops the column."""
    engine = make_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    insert = ("INSERT INTO api_keys (key_hash, prefix, role, note, revoked, created_at{}) "
              "VALUES (:h, 'xfd_1', 'office', '', 0, CURRENT_TIMESTAMP{})")
    try:
        _to(engine, "0008")
        with engine.begin() as conn:
            conn.execute(sa.text(insert.format("", "")), {"h": "old"})
        _to(engine, "0009")
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT form_id FROM api_keys")).scalars().all() == [None]
            conn.execute(sa.text(insert.format("", "")), {"h": "cli"})  # a second NULL does not clash
            conn.execute(sa.text(insert.format(", form_id", ", :f")), {"h": "web1", "f": "form-a"})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(insert.format(", form_id", ", :f")), {"h": "web2", "f": "form-a"})
        _to(engine, "0008", down=True)
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("api_keys")}
            assert "form_id" not in columns
            assert conn.execute(sa.text("SELECT count(*) FROM api_keys")).scalar_one() == 3
    finally:
        engine.dispose()
