"""Role checks of every ``/v1`` route against the "who" column of INTERFACES.md.

One table (``ROUTES``) names, for each route, the roles that may call it. For
every route and every role: no key (or an unknown key) is 401; a role not in
the row is 403 — on an existing id *and* on a missing one, since the role check
comes before any lookup; a role in the row is neither 401 nor 403 (nor 5xx).
``admin`` passes every office row (``xfd.api.security``). Another enterprise's
demand stays a 404 with the same body as a missing id.

The world: enterprise E1 owns demand D1, which is ``in_service`` with team
TEAM1 (teacher T1 its lead, student S1); E2 is the other enterprise; a queued
run (no worker threads) and a spare key to revoke; a real scorer with the
hashing test encoder (as ``test_calibrations``), no neural model.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from fastapi.testclient import TestClient

from tests.fakes import greedy_planner
from xfd.api.app import create_app
from xfd.api.crud.lifecycle import move
from xfd.api.crud.teams import store_team
from xfd.api.security import create_key
from xfd.api.settings import Settings
from xfd.api.storage.models import DemandRow
from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import Tokenizer

ROLES = ("admin", "office", "enterprise", "teacher")
OFFICE = frozenset({"admin", "office"})  # admin may do all office does (api/security.py)
ENTERPRISE_OFFICE = OFFICE | {"enterprise"}
OFFICE_TEACHER = OFFICE | {"teacher"}
EVERYONE = frozenset(ROLES)
ADMIN = frozenset({"admin"})
ENTERPRISE = frozenset({"enterprise"})

PROFILES = [
    {"id": "T1", "name": "张伟", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"]},
    {"id": "S1", "kind": "student", "major": "机械电子", "grade": 2, "skills": ["机器视觉"],
     "disciplines": ["机械工程"]},
]
ACTIVITY = {"date": "2026-04-09", "kind": "visit", "hours": 2, "participants": ["T1"], "note": "回访"}
OUTCOME = {"solved": True, "contract_amount": 1000, "patents": 0, "papers": 0, "note": "验收"}


class Route(NamedTuple):
    """``path`` has ``{demand}``, ``{team}``, ``{run}``, ``{key}`` placeholders (an existing id,
    or a missing one); ``body`` a JSON body, or ``files`` a multipart upload."""

    method: str
    path: str
    who: frozenset[str]
    body: Any = None
    files: bool = False


# INTERFACES.md's "who" column (and README's for the routes INTERFACES does not list)
ROUTES: list[Route] = [
    Route("POST", "/v1/profiles", OFFICE, PROFILES),
    Route("POST", "/v1/profiles/import", OFFICE, files=True),
    Route("GET", "/v1/profiles", OFFICE),
    Route("GET", "/v1/profiles/T1", OFFICE),
    Route("POST", "/v1/demands", ENTERPRISE_OFFICE, {"id": "DNEW", "title": "新需求 钢板缺陷检测"}),
    Route("GET", "/v1/demands", ENTERPRISE_OFFICE),
    Route("GET", "/v1/demands/{demand}", ENTERPRISE_OFFICE),
    # office: a step off the path (409); the enterprise: a withdrawal (409 once in service)
    Route("PATCH", "/v1/demands/{demand}", ENTERPRISE_OFFICE, {"status": "withdrawn", "reason": "x"}),
    Route("GET", "/v1/demands/{demand}/recommendations?k=3", OFFICE),
    Route("POST", "/v1/demands/{demand}/team-proposal", OFFICE, {}),
    Route("GET", "/v1/demands/{demand}/history", ENTERPRISE_OFFICE),
    Route("POST", "/v1/demands/{demand}/outcome", OFFICE_TEACHER, OUTCOME),  # teacher: the lead of its team
    Route("POST", "/v1/demands/{demand}/rating", ENTERPRISE, {"satisfaction": 4, "comment": "好"}),
    Route("GET", "/v1/teams?semester=2026春", EVERYONE),
    Route("GET", "/v1/teams/{team}", EVERYONE),
    Route("GET", "/v1/teams/{team}/activities", EVERYONE),
    Route("POST", "/v1/teams/{team}/activities", OFFICE_TEACHER, ACTIVITY),  # teacher: of that team
    Route("GET", "/v1/reports/performance?semester=2026春&by=team", OFFICE),
    Route("POST", "/v1/assignment-runs", OFFICE, {"semester": "2026秋"}),
    Route("GET", "/v1/assignment-runs", OFFICE),
    Route("GET", "/v1/assignment-runs/{run}", OFFICE),
    Route("POST", "/v1/assignment-runs/{run}/accept", OFFICE),
    Route("POST", "/v1/assignment-runs/{run}/cancel", OFFICE),
    Route("POST", "/v1/feedback", ENTERPRISE_OFFICE, {"demand_id": "{demand}", "profile_id": "T1", "verdict": "accepted"}),
    Route("GET", "/v1/feedback", ENTERPRISE_OFFICE),
    Route("POST", "/v1/keys", ADMIN, {"role": "office", "note": "role test"}),
    Route("GET", "/v1/keys", ADMIN),
    Route("DELETE", "/v1/keys/{key}", ADMIN),
    Route("GET", "/v1/audit", ADMIN),
    Route("POST", "/v1/calibrations", OFFICE),
    Route("GET", "/v1/calibrations", OFFICE),
    Route("POST", "/v1/calibrations/0/activate", OFFICE),
]

EXISTING = {"demand": "D1", "team": "TEAM1", "run": "", "key": ""}  # run and key: filled in by the fixture
MISSING = {"demand": "NOPE", "team": "NOPE", "run": "nope", "key": "999999"}


class World(NamedTuple):
    client: TestClient
    keys: dict[str, dict[str, str]]
    ids: dict[str, str]


def _scorer() -> MatchScorer:
    """A real scorer (calibrations need its features) with the hashing test encoder: no model."""
    return MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder())


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    db = tmp_path_factory.mktemp("roles") / "x.db"
    settings = Settings(database_url=f"sqlite:///{db}", model="hashing-test", rate_limit="100000/minute",
                        rate_limit_per_address="100000/minute")
    app = create_app(settings, scorer_factory=_scorer, planner=greedy_planner, run_threads=0)
    with TestClient(app) as client:
        keys: dict[str, dict[str, str]] = {}
        with app.state.sessions() as s:
            for name, role, ent, prof in [("admin", "admin", None, None), ("office", "office", None, None),
                                          ("enterprise", "enterprise", "E1", None),
                                          ("other_enterprise", "enterprise", "E2", None),
                                          ("teacher", "teacher", None, "T1"), ("spare", "office", None, None)]:
                row, key = create_key(s, role, ent, profile=prof)
                keys[name] = _bearer(key)
                if name == "spare":
                    spare_id = row.id
            s.commit()
        office, e1 = keys["office"], keys["enterprise"]
        assert client.post("/v1/profiles", json=PROFILES, headers=office).status_code in (200, 201)
        assert client.post("/v1/demands", json={"id": "D1", "title": "钢板表面缺陷机器视觉检测",
                                                "team_size": [2, 3], "students": [1, 2]}, headers=e1).status_code == 201
        assert client.patch("/v1/demands/D1", json={"status": "accepted"}, headers=office).status_code == 200
        with app.state.sessions() as s:
            row = s.get(DemandRow, "D1")
            store_team(s, row, "2026春", [{"profile_id": "T1", "role": "lead", "covers": ["机械工程"]},
                                                    {"profile_id": "S1", "role": "member"}], None, team_id="TEAM1")
            move(s, row, "teamed", None, "run", actor="office")
            s.commit()
        r = client.post("/v1/teams/TEAM1/activities", json=ACTIVITY, headers=office)
        assert r.status_code == 201, r.text
        assert client.get("/v1/demands/D1", headers=office).json()["status"] == "in_service"
        r = client.post("/v1/assignment-runs", json={"semester": "2026秋"}, headers=office)
        assert r.status_code == 202, r.text
        yield World(client, keys, {**EXISTING, "run": r.json()["id"], "key": str(spare_id)})


def _call(client: TestClient, route: Route, ids: dict[str, str], headers: dict[str, str]):
    path = route.path.format(**ids)
    kwargs: dict[str, Any] = {"headers": headers}
    if route.files:
        line = json.dumps(PROFILES[0], ensure_ascii=False) + "\n"
        kwargs["files"] = {"file": ("profiles.jsonl", line.encode("utf-8"), "application/x-ndjson")}
    elif route.body is not None:
        kwargs["content"] = json.dumps(route.body, ensure_ascii=False).replace("{demand}", ids["demand"]).encode()
        kwargs["headers"] = {**headers, "Content-Type": "application/json"}
    return client.request(route.method, path, **kwargs)


def _name(route: Route) -> str:
    return f"{route.method} {route.path}"


def test_the_table_covers_every_v1_route(world: World) -> None:
    served = {(m.upper(), p) for p, ops in world.client.app.openapi()["paths"].items() for m in ops
              if p.startswith("/v1")}
    placeholders = {"{demand}": "{demand_id}", "{team}": "{team_id}", "{run}": "{run_id}", "{key}": "{key_id}",
                    "/T1": "/{profile_id}", "/0/": "/{calibration_id}/"}
    listed = set()
    for route in ROUTES:
        path = route.path.split("?")[0]
        for ours, theirs in placeholders.items():
            path = path.replace(ours, theirs)
        listed.add((route.method, path))
    assert served - listed == set(), "routes without a row in ROUTES"
    assert listed - served == set(), "rows of ROUTES the service does not serve"


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_no_key_or_an_unknown_key_is_401(world: World, route: Route) -> None:
    for headers in ({}, _bearer("xfd_00000000_not-a-key"), {"Authorization": "Basic Zm9vOmJhcg=="}):
        r = _call(world.client, route, world.ids, headers)
        assert r.status_code == 401, (headers, r.status_code, r.text)
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["detail"].startswith("未认证")


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_a_role_not_in_who_is_403_whether_or_not_the_id_exists(world: World, route: Route) -> None:
    for role in sorted(set(ROLES) - route.who):
        for ids in (world.ids, MISSING):
            r = _call(world.client, route, ids, world.keys[role])
            assert r.status_code == 403, (role, route.path.format(**ids), r.status_code, r.text)
            assert r.json()["detail"].startswith("无权限") and "forbidden" in r.json()["detail"]


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_a_role_in_who_is_not_refused_for_its_role(world: World, route: Route) -> None:
    for role in sorted(route.who):
        r = _call(world.client, route, world.ids, world.keys[role])
        assert r.status_code not in (401, 403) and r.status_code < 500, (role, r.status_code, r.text)


def test_healthz_needs_no_key(world: World) -> None:
    assert world.client.get("/healthz").status_code == 200


def test_teacher_listing_demands_is_403_not_an_empty_list(world: World) -> None:
    r = world.client.get("/v1/demands", headers=world.keys["teacher"])
    assert r.status_code == 403
    assert r.json()["detail"] == "无权限：需要 enterprise / office 角色 forbidden: this needs the enterprise / office role"


@pytest.mark.parametrize("route", [r for r in ROUTES if "{demand}" in r.path and "enterprise" in r.who], ids=_name)
def test_another_enterprises_demand_answers_the_404_of_a_missing_id(world: World, route: Route) -> None:
    other = world.keys["other_enterprise"]
    theirs = _call(world.client, route, world.ids, other)
    missing = _call(world.client, route, MISSING, other)
    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())


def test_another_enterprises_team_answers_the_404_of_a_missing_id(world: World) -> None:
    other = world.keys["other_enterprise"]
    for path in ("/v1/teams/{team}", "/v1/teams/{team}/activities"):
        theirs = world.client.get(path.format(**world.ids), headers=other)
        missing = world.client.get(path.format(**MISSING), headers=other)
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json()) == (404, missing.json())
