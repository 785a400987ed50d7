"""Fixtures of the service's tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.security import create_key
from xfd.api.settings import Settings
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head


@pytest.fixture()
def session(tmp_path) -> Iterator[Session]:
    """A session on a fresh, migrated SQLite file database (no HTTP, no app)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_to_head(engine)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


@contextmanager
def office_service(db: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A started app on the SQLite file ``db`` (fake scorer, greedy planner) and an office key's header."""
    app = create_app(Settings(database_url=f"sqlite:///{db}", model="fake"), scorer_factory=FakeScorer,
                     planner=greedy_planner)
    with TestClient(app) as client:
        with app.state.sessions() as s:
            _, key = create_key(s, "office", None)
            s.commit()
        yield client, {"Authorization": f"Bearer {key}"}
