"""Fixtures of the service's tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head


@pytest.fixture()
def session(tmp_path) -> Iterator[Session]:
    """A session on a fresh, migrated SQLite file database (no HTTP, no app)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    upgrade_to_head(engine)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()
