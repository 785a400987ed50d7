"""The file readers (``xfd score``'s input) and the HTTP API accept and refuse
exactly the same records, naming the same field: every case of
``tests/matching/record_cases.py`` goes through both.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import office_service
from tests.matching.record_cases import CASES, DEMAND_CASES, NFC_E, NFD_E, PROFILE_CASES, Case
from xfd.matching.readers import RecordError, read_demands, read_profiles
from xfd.matching.records import format_loc

Decision = tuple[int, str | None] | None


def _texts(case: Case) -> list[str]:
    return [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in case.records]


def through_reader(case: Case, tmp_path: Path) -> tuple[Decision, tuple[str, ...]]:
    """(error, accepted ids) of the case read from a JSONL file, one record per line."""
    path = tmp_path / f"{case.kind}s.jsonl"
    path.write_text("\n".join(_texts(case)) + "\n", encoding="utf-8")
    read = read_profiles if case.kind == "profile" else read_demands
    try:
        records = read(path)
    except RecordError as exc:
        assert exc.file == str(path) and exc.line is not None, str(exc)
        return (exc.line - 1, exc.field), ()
    return None, tuple(r.id for r in records)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    with office_service(tmp_path_factory.mktemp("parity") / "xfd.db") as (client, headers):
        yield client, {**headers, "Content-Type": "application/json"}


def _api_error(response: Any, prefix: int) -> tuple[list[Any], str]:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, response.text
    loc, msg = detail[0]["loc"], detail[0]["msg"]
    assert loc[0] == "body", response.text
    return loc[prefix:], msg


def through_api(case: Case, service: tuple[TestClient, dict[str, str]]) -> tuple[Decision, tuple[str, ...]]:
    """(error, stored ids) of the case posted as ``POST /v1/profiles`` (one array) or
    ``POST /v1/demands`` (one object)."""
    client, headers = service
    texts = _texts(case)
    if case.kind == "profile":
        r = client.post("/v1/profiles", content="[" + ",".join(texts) + "]", headers=headers)
        if r.status_code == 200:
            return None, tuple(r.json()["ids"])
        loc, _msg = _api_error(r, 1)
        return (loc[0], format_loc(loc[1:]) or None), ()
    assert len(texts) == 1
    r = client.post("/v1/demands", content=texts[0], headers=headers)
    if r.status_code == 201:
        return None, (r.json()["id"],)
    loc, _msg = _api_error(r, 1)
    return (0, format_loc(loc) or None), ()


def test_the_table_is_big_enough() -> None:
    good = [c for c in CASES if c.error is None]
    bad = [c for c in CASES if c.error is not None]
    assert len(CASES) >= 30 and len(good) >= 10 and len(bad) >= 20
    assert len(PROFILE_CASES) >= 15 and len(DEMAND_CASES) >= 15
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_and_api_agree(case: Case, tmp_path: Path, service) -> None:
    reader = through_reader(case, tmp_path)
    api = through_api(case, service)
    assert reader[0] == case.error, f"reader: {reader}"
    assert api[0] == case.error, f"api: {api}"
    if case.error is None:
        assert reader[1] == api[1] == case.ids


def test_api_messages_are_the_readers(tmp_path: Path, service) -> None:
    """Same reason text, not just the same field (Chinese + English)."""
    client, headers = service
    for case in [c for c in PROFILE_CASES if c.error is not None and len(c.records) == 1]:
        path = tmp_path / "p.jsonl"
        path.write_text(_texts(case)[0] + "\n", encoding="utf-8")
        with pytest.raises(RecordError) as ei:
            read_profiles(path)
        r = client.post("/v1/profiles", content="[" + _texts(case)[0] + "]", headers=headers)
        _loc, msg = _api_error(r, 1)
        assert msg == ei.value.reason, case.name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in msg), msg  # Chinese, English alongside


def test_refusals_say_why() -> None:
    from xfd.matching.readers import validate_demand, validate_profile

    def reason(fn, rec) -> str:
        with pytest.raises(RecordError) as ei:
            fn(rec)
        return ei.value.reason

    assert "too long" in reason(validate_profile, {"id": "x" * 10_000_000, "keywords": "k"})
    assert "NaN" in reason(validate_profile, {"id": "T", "keywords": "k", "capacity": float("nan")})
    assert "must be a non-negative integer, got true" in reason(validate_profile, {"id": "T", "keywords": "k",
                                                                                    "capacity": True})
    assert "U+200B" in reason(validate_profile, {"id": "T\u200b1", "keywords": "k"})
    assert "only dots" in reason(validate_demand, {"id": "...", "title": "t"})
    assert "exceeds team_size max" in reason(validate_demand, {"id": "D", "title": "t", "team_size": [1, 2],
                                                               "students": [1, 3]})


def test_api_stores_what_the_reader_builds(tmp_path: Path, service) -> None:
    """The accepted records come out of the API as the readers build them."""
    client, headers = service
    rec = {"id": "Ｄ－ｒｔ", "enterprise": "E9", "title": "保鲜", "team_size": "2~4", "students": "0;2",
           "distinct_grades": 2, "disciplines": []}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    (demand,) = read_demands(path)
    assert (demand.id, demand.team_size, demand.students, demand.distinct_grades, demand.disciplines) == (
        "D-rt", (2, 4), (0, 2), 2, ())
    body = client.post("/v1/demands", json=rec, headers=headers).json()
    assert (body["id"], body["team_size"], body["students"], body["distinct_grades"], body["disciplines"]) == (
        "D-rt", [2, 4], [0, 2], 2, [])
    rec.pop("disciplines")
    rec["id"] = "D-rt2"
    body = client.post("/v1/demands", json=rec, headers=headers).json()
    assert body["disciplines"] is None  # absent: inferred


# ----------------------------------------------------------------------------- the real CLI
def _xfd_score(tmp_path: Path, profiles: list[str], demands: list[str]) -> subprocess.CompletedProcess[str]:
    p, d, out = tmp_path / "p.jsonl", tmp_path / "d.jsonl", tmp_path / "s.jsonl"
    p.write_text("\n".join(profiles) + "\n", encoding="utf-8")
    d.write_text("\n".join(demands) + "\n", encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "xfd.api.cli", "score", "--profiles", str(p), "--demands", str(d),
                           "--out", str(out), "--model", "lexical"],
                          capture_output=True, text=True, timeout=300, env=_env())


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1"}


GOOD_PROFILE = json.dumps({"id": "T1", "keywords": ["机器视觉", "缺陷检测"]}, ensure_ascii=False)
GOOD_DEMAND = json.dumps({"id": "D1", "title": "机器视觉缺陷检测"}, ensure_ascii=False)
CLI_CASES = [c for c in CASES if c.name in (
    "capacity true", "repeated key inside a document", "duplicate ids", "students above team size",
    "distinct_grades true", "no discipline required")]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_xfd_score_cli(case: Case, tmp_path: Path) -> None:
    texts = _texts(case)
    profiles, demands = (texts, [GOOD_DEMAND]) if case.kind == "profile" else ([GOOD_PROFILE], texts)
    run = _xfd_score(tmp_path, profiles, demands)
    if case.error is None:
        assert run.returncode == 0, run.stderr
        assert (tmp_path / "s.jsonl").read_text(encoding="utf-8").count("\n") == 1
        return
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    line, field = case.error
    assert f"第 {line + 1} 行 line {line + 1}" in last, run.stderr
    if field is not None:
        assert f'字段 field "{field}"' in last, run.stderr
    assert not (tmp_path / "s.jsonl").exists()


def test_look_alike_ids_in_paths_name_the_same_record(service) -> None:
    client, headers = service
    assert client.post("/v1/demands", json={"id": "D-path1", "title": "保鲜"}, headers=headers).status_code == 201
    assert client.post("/v1/profiles", json=[{"id": NFC_E, "keywords": "k"}], headers=headers).status_code == 200
    for path, want in [("/v1/demands/Ｄ－ｐａｔｈ１", "D-path1"), ("/v1/demands/D-path1", "D-path1"),
                       (f"/v1/profiles/{NFD_E}", NFC_E), (f"/v1/profiles/{NFC_E}", NFC_E)]:
        r = client.get(path, headers=headers)
        assert r.status_code == 200 and r.json()["id"] == want, (path, r.text)
    assert client.get("/v1/demands/D-path1\u200b", headers=headers).status_code == 404


def test_stored_rows_outside_the_input_rules_are_still_answered(caplog) -> None:
    """A row an older version stored (here: values the rules now refuse) is sent as
    stored, with a warning, never a 500 from response validation."""
    import datetime as dt

    from xfd.api.schemas import DemandPublic, ProfilePublic

    now = dt.datetime.now(dt.UTC)
    demand = {"id": "D" * 250, "title": "t", "team_size": [3, 5], "students": [1, 3], "status": "submitted",
              "disciplines": [f"学科{i}" for i in range(60)], "created_at": now, "updated_at": now}
    out = DemandPublic.model_validate(demand)
    assert (len(out.id), out.team_size, out.students, len(out.disciplines)) == (250, (3, 5), (1, 3), 60)
    profile = {"id": "T1", "keywords": ["k"], "conflicts": ["E 1"], "documents": [{"text": "x", "kind": "paper"}],
               "updated_at": now}
    assert ProfilePublic.model_validate(profile).model_dump(mode="json")["documents"][0]["text"] == "x"
    assert "does not meet the input rules" in caplog.text
    assert DemandPublic.model_validate(dict(demand, disciplines=["学科"])).disciplines == ["学科"]  # valid: as usual
