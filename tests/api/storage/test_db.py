"""Engines: an in-memory SQLite database is one database per engine, with real transactions."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from xfd.api.storage.db import is_in_memory, make_engine


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite://", True), ("sqlite:///:memory:", True), ("sqlite:///file:x?mode=memory&uri=true", True),
    ("sqlite:///xfd.db", False), ("postgresql+psycopg://u:p@h/db", False),
])
def test_is_in_memory(url: str, expected: bool) -> None:
    assert is_in_memory(url) is expected


def test_in_memory_engine_is_shared_by_its_connections_only() -> None:
    a, b = make_engine("sqlite://"), make_engine("sqlite://")
    with a.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with a.connect() as c1, a.connect() as c2:  # two pooled connections, one database
        assert c1.connection.dbapi_connection is not c2.connection.dbapi_connection
        assert c2.execute(text("SELECT x FROM t")).scalar_one() == 1
    with b.connect() as conn:  # another engine: another database
        assert conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar_one() == 0


def test_a_rollback_on_one_connection_keeps_anothers_insert() -> None:
    """Thread B rolls back while thread A's insert is not yet committed.  With one shared
    connection (the old StaticPool) B's rollback discarded A's insert; each connection now has
    its own transaction."""
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    began, inserted, rolled_back = threading.Event(), threading.Event(), threading.Event()

    def other() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar_one()  # B is inside a transaction
            began.set()
            inserted.wait(5)
            conn.rollback()
            rolled_back.set()

    th = threading.Thread(target=other)
    th.start()
    assert began.wait(5)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (7)"))
        inserted.set()
        assert rolled_back.wait(5)
    th.join(5)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [7]


def test_the_database_lives_while_the_pool_is_empty() -> None:
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (3)"))
    engine.pool.dispose()  # every pooled connection closed; the anchor keeps the database
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalar_one() == 3
