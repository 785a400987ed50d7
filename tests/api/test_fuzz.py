"""Schemathesis fuzzing of the OpenAPI schema, in process: no input gives a 5xx.

Bounded: ``XFD_FUZZ_EXAMPLES`` examples per operation and auth role (default 20).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.security import create_key
from xfd.api.settings import Settings

EXAMPLES = int(os.environ.get("XFD_FUZZ_EXAMPLES", "20"))
_DB = Path(tempfile.mkdtemp(prefix="xfd-fuzz-")) / "fuzz.db"  # removed by the fixture
APP = create_app(Settings(database_url=f"sqlite:///{_DB}", model="fake", max_body_bytes=64 << 10),
                 scorer_factory=FakeScorer, planner=greedy_planner)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
HEADERS: dict[str, dict[str, str]] = {}
CLIENT: list[TestClient] = []


def send(case, headers: dict[str, str]):
    """Send a generated case through one long-lived TestClient (one app lifespan)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers or None)
    kwargs.pop("cookies", None)
    data = kwargs.pop("data", None)
    if isinstance(data, (bytes, str)):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    if kwargs.get("files"):
        kwargs["files"] = [(name, _file(value)) for name, value in kwargs["files"]]
    return CLIENT[0].request(**kwargs)


def _file(value):
    """Multipart parts as bytes (the generator may produce ints or objects)."""
    if isinstance(value, tuple):
        return (value[0], _file(value[1]), *value[2:])
    if isinstance(value, (bytes, str)):
        return value
    return json.dumps(value, default=str).encode()


@pytest.fixture(scope="module", autouse=True)
def started_app():
    with TestClient(APP) as client:
        CLIENT.append(client)
        with APP.state.sessions() as s:
            for role, ent in (("office", None), ("enterprise", "E1"), ("admin", None)):
                _, key = create_key(s, role, ent)
                HEADERS[role] = {"Authorization": f"Bearer {key}"}
            s.commit()
        client.post("/v1/profiles", headers=HEADERS["office"], json=[
            {"id": "T1", "keywords": ["机器视觉"], "disciplines": ["机械工程"]},
            {"id": "T2", "keywords": ["冷链"], "disciplines": ["食品科学与工程"]},
            {"id": "S1", "kind": "student", "skills": ["Python"]},
        ])
        client.post("/v1/demands", headers=HEADERS["enterprise"], json={"id": "D1", "title": "缺陷检测"})
        yield client
        CLIENT.clear()
    shutil.rmtree(_DB.parent, ignore_errors=True)


@pytest.mark.parametrize("role", ["office", "enterprise", "none"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case, role):
    headers = dict(HEADERS.get(role, {}))
    response = send(case, headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    if role == "none" and case.path != "/healthz":
        assert response.status_code >= 400, f"{case.method} {case.formatted_path} answered without a key"
