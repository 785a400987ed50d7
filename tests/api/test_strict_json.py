"""``xfd.api.strict_json``: a JSON body the service cannot decode strictly is a 422 naming
``body`` (or the repeated key / NaN), Chinese with English alongside, and nothing is stored;
FastAPI alone answered a non-UTF-8 or too deeply nested body with a bare 400 naming nothing,
and decoded UTF-16 past the repeated-key check."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import office_service

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def service(tmp_path: Path):
    with office_service(tmp_path / "x.db") as (client, headers):
        yield client, headers


@pytest.mark.parametrize("raw,loc,words", [
    ('{"id": "L1", "title": "caf\xe9"}'.encode("latin-1"), ["body"], "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, ["body"], "too deeply"),
    ('{"id": "U1", "title": "a", "title": "b"}'.encode("utf-16"), ["body"], "not UTF-8"),
    (b'{"id": "D1", "title": "a", "title": "b"}', ["body", "title"], "duplicate key"),
    (b'{"id": "D1", "title": "a", "distinct_grades": NaN}', ["body", "distinct_grades"], "NaN"),
], ids=["latin-1", "deep", "utf-16", "repeated key", "NaN"])
@pytest.mark.parametrize("path", ["/v1/demands", "/v1/profiles", "/v1/assignment-runs"])
def test_undecodable_json_is_422_naming_body(service, raw: bytes, loc: list, words: str, path: str) -> None:
    client, office = service
    r = client.post(path, content=raw, headers={**office, **JSON})
    assert r.status_code == 422, r.text
    (item,) = r.json()["detail"]
    assert item["loc"] == loc and words in item["msg"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in item["msg"]), item
    assert client.get("/v1/demands", headers=office).json() == []
    assert client.get("/v1/profiles", headers=office).json() == []
    assert client.get("/v1/assignment-runs", headers=office).json() == []


def test_good_bodies_still_reach_the_route(service) -> None:
    client, office = service
    r = client.post("/v1/demands", content=b'\xef\xbb\xbf{"id": "D1", "title": "\xe6\x9c\xba\xe5\x99\xa8"}',
                    headers={**office, "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201 and r.json()["title"] == "机器"
    assert client.post("/v1/demands", content=b"{", headers={**office, **JSON}).status_code == 422
    r = client.patch("/v1/demands/D1", json={"status": "accepted"}, headers=office)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
