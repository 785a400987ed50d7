"""The app's handlers (``xfd.api.app``): how a failed request is answered."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import office_service
from xfd.api.app import BODY_NOT_JSON

RAW = b'{"id": "D1", "enterprise": "E1", "title": "\xe6\xa3\x80\xe6\xb5\x8b", "description": "d"}'


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with office_service(tmp_path / "x.db") as started:
        yield started


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("path", ["/v1/demands", "/v1/profiles", "/v1/assignment-runs"])
def test_a_body_not_sent_as_json_is_named_plainly(service, path, content_type):
    client, office = service
    headers = {**office, **({"Content-Type": content_type} if content_type else {})}
    r = client.post(path, content=RAW, headers=headers)
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["loc"] == ["body"] and item["msg"] == BODY_NOT_JSON
    assert "b'" not in r.text and "\\\\x" not in r.text
    assert BODY_NOT_JSON == "请求体应为 JSON 对象 body must be a JSON object (Content-Type: application/json)"


def test_a_json_body_of_the_wrong_shape_still_says_what_it_got(service):
    client, office = service
    r = client.post("/v1/demands", json=[1], headers=office)
    assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "应为 JSON 对象 must be a JSON object, got [1]"
    r = client.post("/v1/demands", content=RAW, headers={**office, "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
