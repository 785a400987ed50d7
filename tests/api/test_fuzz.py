"""Schemathesis fuzzing of the whole OpenAPI document, in process: for every
operation (including those other modules add) and every role, no input gives a
5xx and every documented answer matches its response schema.

Bounded: ``XFD_FUZZ_EXAMPLES`` examples per operation (default 10) plus schemathesis' coverage
cases, each sent with the office, enterprise and admin keys, every fourth also without a key.
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
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import select

from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.security import create_key
from xfd.api.settings import Settings
from xfd.api.storage.models import ApiKey

EXAMPLES = int(os.environ.get("XFD_FUZZ_EXAMPLES", "10"))
_DB = Path(tempfile.mkdtemp(prefix="xfd-fuzz-")) / "fuzz.db"  # removed by the fixture
APP = create_app(Settings(database_url=f"sqlite:///{_DB}", model="fake", max_body_bytes=64 << 10,
                          rate_limit="10000000/minute", rate_limit_per_address="10000000/minute", index_stale_wait=0.0),
                 scorer_factory=FakeScorer, planner=greedy_planner)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
HEADERS: dict[str, dict[str, str]] = {}
CLIENT: list[TestClient] = []
#: every case is sent with each of these keys, and without one
ROLES = ("office", "enterprise", "admin", "none")
SENT = [0]  # cases generated so far
KEY_IDS: list[int] = []


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
                row, key = create_key(s, role, ent)
                HEADERS[role] = {"Authorization": f"Bearer {key}"}
                KEY_IDS.append(row.id)
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


def _unrevoke_fixture_keys() -> None:
    """The admin role may revoke the other roles' keys (DELETE /v1/keys/{id}): undo it."""
    with APP.state.sessions() as s:
        for row in s.scalars(select(ApiKey).where(ApiKey.id.in_(KEY_IDS), ApiKey.revoked.is_(True))):
            row.revoked = False
        s.commit()


def _check(case, role: str) -> None:
    headers = dict(HEADERS.get(role, {}))
    response = send(case, headers)
    if case.method == "DELETE":
        _unrevoke_fixture_keys()
    where = f"[{role}] {case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:300]}"
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    if role == "none" and case.path != "/healthz" and case.method != "OPTIONS":  # OPTIONS: the Allow header, to anyone
        assert response.status_code >= 400, f"{where} answered without a key"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case):
    """Each generated case is sent with each key; every fourth one also without a key
    (authentication is checked before anything else, so fewer cases suffice)."""
    SENT[0] += 1
    for role in ROLES:
        if role != "none" or SENT[0] % 4 == 0 or case.path == "/healthz":
            _check(case, role)
