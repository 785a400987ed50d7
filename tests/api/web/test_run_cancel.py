"""The cancel button of a batch run's page (office only, CSRF form), on a queued run (no local
worker: ``run_threads=0``) and on a finished one (the 409 page naming its state)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import form_token, login, seed
from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.settings import Settings


@pytest.fixture
def queued_client(tmp_path: Path) -> Iterator[tuple[TestClient, object]]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}"), scorer_factory=FakeScorer,
                     planner=greedy_planner, run_threads=0)
    with TestClient(app, follow_redirects=False) as c:
        seed(app)
        yield c, app


def test_cancel_button_on_a_queued_run(queued_client) -> None:
    client, app = queued_client
    login(client, "office1")
    token = form_token(client, "/runs")
    run_url = client.post("/runs", data={"csrf_token": token, "semester": "2026秋"}).headers["location"]
    page = client.get(run_url).text
    assert "排队中" in page and f'action="{run_url}/cancel"' in page and 'http-equiv="refresh"' in page
    assert client.post(f"{run_url}/cancel", data={}).status_code == 403                 # no CSRF token
    r = client.post(f"{run_url}/cancel", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == run_url
    page = client.get(run_url).text
    assert "运行已取消" in page and f'action="{run_url}/cancel"' not in page
    assert 'http-equiv="refresh"' not in page
    r = client.post(f"{run_url}/cancel", data={"csrf_token": token})
    assert r.status_code == 409 and "cancelled" in r.text
    login(client, "ent1")
    assert client.post(f"{run_url}/cancel", data={"csrf_token": form_token(client, "/demands")}).status_code in (403, 404)
    with app.state.sessions() as s:
        from xfd.api import crud

        assert crud.get_run(s, run_url.rsplit("/", 1)[1]).status == "cancelled"
