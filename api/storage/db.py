"""Engine and session set-up, and Alembic migrations run from code.

SQLite (the default) is opened with ``journal_mode=WAL`` and
``synchronous=FULL``: a commit returns only after its WAL frame is fsync'ed,
so every write the service acknowledged survives ``kill -9`` and power loss.
Each request commits before its response is sent.
"""
from __future__ import annotations

import sqlite3
import threading
import uuid
import weakref
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_in_memory(url: str) -> bool:
    """True for an in-memory SQLite URL (``sqlite://``, ``:memory:``, ``mode=memory``)."""
    database = make_url(url).database
    return is_sqlite(url) and (not database or database == ":memory:" or "mode=memory" in url)


def _memory_engine(url: str) -> Engine:
    """An in-memory SQLite database shared by every connection of this engine (and only it).

    SQLite's ``memdb`` VFS names the database, so each pooled connection opens the same one
    with its own transactions (a writer's lock makes the others wait, as on a file); an anchor
    connection held as long as the engine keeps the database alive while the pool is empty.
    A named ``mode=memory`` URL gets a database of its own too: two engines never share one.
    """
    name = f"file:/xfd-{uuid.uuid4().hex}?vfs=memdb"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(name, uri=True, check_same_thread=False, timeout=30)

    anchor = connect()
    engine = create_engine(url, creator=connect, poolclass=QueuePool)  # not SQLAlchemy's one-per-thread default
    weakref.finalize(engine, anchor.close)
    return engine


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, synchronous=FULL, a busy timeout, FKs on."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    in_memory = is_in_memory(url)
    engine = (_memory_engine(url) if in_memory
              else create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        cur = dbapi_conn.cursor()
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None):  # noqa: ANN201  (alembic.config.Config)
    """An Alembic Config pointing at the migrations shipped inside the ``api`` package."""
    from alembic.config import Config  # noqa: PLC0415

    cfg = Config(str(ALEMBIC_DIR.parent / "alembic.ini"))
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


#: the PostgreSQL advisory-lock key serialising migrations (any constant shared by every xfd process)
MIGRATION_LOCK_KEY = 0x78666401  # "xfd" 01
_IN_PROCESS = threading.Lock()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision (idempotent).

    Safe when several processes start at once on one database (instances behind a load
    balancer, a worker, the CLI): the whole upgrade is one transaction holding a database-wide
    lock, so the others wait for it and then find the schema at head (threads of one process
    take turns on a process lock first: alembic's migration context is process-global). PostgreSQL takes
    ``pg_advisory_xact_lock(MIGRATION_LOCK_KEY)``; SQLite opens the transaction with
    ``BEGIN IMMEDIATE`` (the write lock, waited for up to the 30 s busy timeout).
    """
    from alembic import command  # noqa: PLC0415

    cfg = alembic_config()
    with _IN_PROCESS, engine.begin() as conn:  # alembic's ``context`` is one per process
        _lock_for_migration(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _lock_for_migration(conn: Connection) -> None:
    """Take the database-wide migration lock held until ``conn``'s transaction ends."""
    backend = conn.dialect.name
    if backend == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif backend == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
