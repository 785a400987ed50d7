"""The data-access layer on its own (no HTTP): known answers, and domain errors
(``xfd.api.errors``) instead of HTTP exceptions; then the app's handlers turn
each domain error into its HTTP status with the same message."""
from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from xfd.api import crud
from xfd.api.app import install_domain_error_handlers
from xfd.api.errors import Conflict, DomainError, FieldInvalid, Forbidden, NotFound
from xfd.api.security import Principal
from xfd.matching.types import Demand, Profile


def _profile(pid: str, name: str = "") -> Profile:
    return Profile(id=pid, kind="teacher", name=name or pid)


def test_upsert_counts_created_and_updated_and_last_one_wins(session):
    r = crud.commit_profiles(session, [_profile("T1", "甲"), _profile("T2", "乙"), _profile("T1", "丙")])
    assert (r.upserted, r.created, r.updated, r.ids) == (2, 2, 0, ["T1", "T2"])
    r = crud.commit_profiles(session, [_profile("T2", "丁"), _profile("T3")])
    assert (r.upserted, r.created, r.updated) == (2, 1, 1)
    assert [(p.id, p.name) for p in crud.load_profiles(session)] == [("T1", "丙"), ("T2", "丁"), ("T3", "T3")]
    assert crud.count_profiles(session) == 3
    assert crud.profile_labels(session, ["T2", "nobody"]) == {"T2": ("丁", "teacher")}
    with pytest.raises(NotFound) as exc:
        crud.get_profile(session, "T9")
    assert str(exc.value) == "人员不存在 profile not found: T9"


def test_an_enterprise_sees_only_its_own_demands(session):
    crud.ensure_enterprise(session, "E1")
    crud.ensure_enterprise(session, "E2")
    crud.add_demand(session, Demand(id="D1", title="t", description="d", enterprise="E1"))
    session.commit()
    office = Principal(key_id=1, role="office", enterprise_id=None)
    e1 = Principal(key_id=2, role="enterprise", enterprise_id="E1")
    e2 = Principal(key_id=3, role="enterprise", enterprise_id="E2")
    assert crud.visible_demand(session, office, "D1").id == "D1"
    assert crud.visible_demand(session, e1, "D1").id == "D1"
    with pytest.raises(NotFound) as other:
        crud.visible_demand(session, e2, "D1")
    with pytest.raises(NotFound) as missing:
        crud.visible_demand(session, e2, "D404")
    # the same answer shape for someone else's id and for no id at all
    assert str(other.value) == str(missing.value) and "demand not found" in str(other.value)
    assert [d.id for d in crud.list_demands(session, e2)] == []
    assert [d.id for d in crud.list_demands(session, e1)] == ["D1"]


def test_keys_create_list_revoke(session):
    row, plaintext = crud.create_key(session, "office", note="n")
    assert plaintext.startswith("xfd_") and row.key_hash != plaintext
    assert [(k.id, k.revoked) for k in crud.list_keys(session)] == [(row.id, False)]
    assert crud.revoke_key(session, row.id).revoked is True
    with pytest.raises(NotFound) as exc:
        crud.revoke_key(session, 999)
    assert str(exc.value) == "密钥不存在 key not found: 999"


def test_runs_get_and_accept_only_when_done(session):
    run = crud.create_run(session, {"demand_ids": None, "solver": "greedy", "continuity_bonus": 0.1}, None)
    assert crud.get_run(session, run.id).status == "queued"   # the API answers "running" (state "queued")
    with pytest.raises(Conflict) as exc:
        crud.accept_run(session, run.id)
    assert "run is running" in str(exc.value)
    with pytest.raises(NotFound):
        crud.get_run(session, "nope")
    assert crud.fail_interrupted_runs(session) == 1
    assert crud.get_run(session, run.id).status == "failed"


def test_crud_raises_domain_errors_only():
    assert all(issubclass(e, DomainError) for e in (NotFound, Conflict, FieldInvalid, Forbidden))
    assert not issubclass(DomainError, __import__("fastapi").HTTPException)


@pytest.mark.parametrize(("error", "status", "detail"), [
    (NotFound("demand", "D9"), 404, "需求不存在 demand not found: D9"),
    (Conflict("需求编号已被占用 demand id already in use: D1"), 409, "需求编号已被占用 demand id already in use: D1"),
    (Forbidden("office"), 403, "无权限：需要 office 角色 forbidden: this needs the office role"),
    (FieldInvalid(["header", "Idempotency-Key"], "reused"), 422,
     [{"loc": ["header", "Idempotency-Key"], "msg": "reused", "type": "value_error"}]),
])
def test_the_edge_turns_domain_errors_into_http_answers(error, status, detail):
    app = FastAPI()
    install_domain_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    r = TestClient(app).get("/boom")
    assert (r.status_code, r.json()) == (status, {"detail": detail})
