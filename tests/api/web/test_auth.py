"""Accounts, sessions, CSRF, throttling and role checks of the web pages (TestClient)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.api.web.conftest import PASSWORD, csrf_of, form_token, login
from xfd.api import accounts
from xfd.api.storage.accounts import User, WebSecret, WebSession


def _submit(c, title: str = "生产线缺陷检测", token: str | None = None, **extra: str):
    token = form_token(c, "/demands/new") if token is None else token
    return c.post("/demands/new", data={"title": title, "description": "需要机器视觉缺陷检测与深度学习", "csrf_token": token, **extra})


def _demand_id(response) -> str:
    m = re.match(r"/demands/([^/?]+)", response.headers["location"])
    assert m, response.headers.get("location")
    return m.group(1)


# -- accounts -----------------------------------------------------------------------
def test_passwords_are_stored_as_argon2_hashes_only(client, app) -> None:
    with app.state.sessions() as s:
        users = list(s.scalars(select(User)))
    assert len(users) == 5
    for u in users:
        assert u.password_hash.startswith("$argon2id$") and PASSWORD not in u.password_hash
        assert accounts.verify_password(u.password_hash, PASSWORD)
        assert not accounts.verify_password(u.password_hash, PASSWORD + "x")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"role": "boss"}, "role"),
    ({"role": "enterprise"}, "enterprise"),
    ({"role": "office", "enterprise": "E001"}, "enterprise"),
    ({"role": "teacher"}, "profile"),
    ({"role": "teacher", "profile": "S001"}, "profile"),  # a student is not a teacher
    ({"role": "teacher", "profile": "NOPE"}, "profile"),
    ({"role": "office", "password": "short"}, "password"),
    ({"role": "office", "username": "office1"}, "username"),  # taken
    ({"role": "office", "username": "a b"}, "username"),
])
def test_bad_accounts_name_the_field(client, app, kwargs, field) -> None:
    args = {"username": "new-user", "password": "long-enough-1", **kwargs}
    with app.state.sessions() as s, pytest.raises(accounts.AccountError) as err:
        accounts.create_user(s, args.pop("role"), args.pop("username"), args.pop("password"), **args)
    assert err.value.field == field


# -- login, cookie, logout ------------------------------------------------------------
def test_login_sets_a_signed_httponly_lax_cookie_with_expiry(client) -> None:
    r = login(client, "ent1")
    assert r.status_code == 303 and r.headers["location"] == "/demands"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("xfd_session="))
    low = cookie.lower()
    assert "httponly" in low and "samesite=lax" in low and "max-age=28800" in low and "path=/" in low
    value = cookie.split(";")[0].split("=", 1)[1]
    assert value.count(".") == 2, "token.timestamp.signature (itsdangerous)"
    assert client.get("/demands").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(client) -> None:
    a = login(client, "ent1", "wrong-password")
    b = login(client, "nobody", "wrong-password")
    assert a.status_code == b.status_code == 401
    assert "用户名或密码错误" in a.text and "用户名或密码错误" in b.text
    assert not any(h.startswith("xfd_session=") for h in a.headers.get_list("set-cookie"))
    assert client.get("/demands").status_code == 303


def test_a_forged_or_tampered_cookie_is_not_a_session(client) -> None:
    login(client, "ent1")
    good = client.cookies.get("xfd_session")
    token, stamp, sig = good.split(".")
    for forged in (f"{token}x.{stamp}.{sig}", f"{token}.{stamp}.{sig[:-2]}AA", "anything"):
        client.cookies.clear()
        client.cookies.set("xfd_session", forged)
        r = client.get("/demands")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_logout_ends_the_session_for_good(client, app) -> None:
    login(client, "ent1")
    cookie = client.cookies.get("xfd_session")
    token = form_token(client)
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.set("xfd_session", cookie)  # replaying the old cookie
    assert client.get("/demands").status_code == 303
    with app.state.sessions() as s:
        assert s.scalars(select(WebSession)).all() == []


def test_disabling_an_account_ends_its_sessions(client, app) -> None:
    login(client, "ent1")
    assert client.get("/demands").status_code == 200
    with app.state.sessions() as s:
        accounts.set_disabled(s, "ent1")
        s.commit()
    assert client.get("/demands").status_code == 303
    assert login(client, "ent1").status_code == 401


def test_after_login_only_local_paths_are_followed(client) -> None:
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "ent1", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"})
    assert r.headers["location"] == "/demands"
    client.cookies.clear()
    r = client.get("/demands/new")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fdemands%2Fnew"
    token = csrf_of(client.get(r.headers["location"]).text)
    r = client.post("/login", data={"username": "ent1", "password": PASSWORD, "csrf_token": token, "next": "/demands/new"})
    assert r.headers["location"] == "/demands/new"


# -- throttling -----------------------------------------------------------------------
def test_five_failures_throttle_that_username_from_that_address(client) -> None:
    for _ in range(accounts.MAX_FAILURES):
        assert login(client, "ent2", "wrong-password").status_code == 401
    r = login(client, "ent2")  # the right password, but too late
    assert r.status_code == 429 and "登录失败次数过多" in r.text and int(r.headers["Retry-After"]) > 0
    assert login(client, "ent1").status_code == 303, "another username is not throttled"


def test_a_success_clears_earlier_failures(client) -> None:
    for _ in range(accounts.MAX_FAILURES - 1):
        login(client, "ent1", "wrong-password")
    assert login(client, "ent1").status_code == 303
    for _ in range(accounts.MAX_FAILURES - 1):
        login(client, "ent1", "wrong-password")
    assert login(client, "ent1").status_code == 303


# -- CSRF -----------------------------------------------------------------------------
def test_forms_without_or_with_a_wrong_csrf_token_are_refused(client) -> None:
    login(client, "ent1")
    for token in ("", "not-the-token"):
        r = _submit(client, token=token)
        assert r.status_code == 403 and "表单已失效" in r.text
    assert "生产线缺陷检测" not in client.get("/demands").text
    assert client.post("/logout", data={}).status_code == 403
    assert _submit(client).status_code == 303


def test_login_form_needs_its_own_token(client) -> None:
    client.cookies.clear()
    client.get("/login")
    r = client.post("/login", data={"username": "ent1", "password": PASSWORD, "csrf_token": "guess"})
    assert r.status_code == 403
    client.cookies.clear()
    r = client.post("/login", data={"username": "ent1", "password": PASSWORD})
    assert r.status_code == 403


def test_csrf_token_of_one_session_does_not_work_in_another(client) -> None:
    login(client, "ent1")
    stale = form_token(client)
    login(client, "ent1")  # a new session
    assert _submit(client, token=stale).status_code == 403


# -- isolation ------------------------------------------------------------------------
def test_another_enterprises_demand_is_a_404_page_and_not_listed(client) -> None:
    login(client, "ent1")
    did = _demand_id(_submit(client, title="企业一的秘密需求"))
    assert client.get(f"/demands/{did}").status_code == 200
    login(client, "ent2")
    r = client.get(f"/demands/{did}")
    missing = client.get("/demands/NO-SUCH-ID")
    assert r.status_code == missing.status_code == 404
    assert "企业一的秘密需求" not in r.text and "页面不存在" in r.text
    assert r.text.replace(did, "X") == missing.text.replace("NO-SUCH-ID", "X"), "the same page as for an id that does not exist"
    assert "企业一的秘密需求" not in client.get("/demands").text
    token = form_token(client)
    r = client.post(f"/demands/{did}/status", data={"status": "withdrawn", "csrf_token": token})
    assert r.status_code == 404
    login(client, "office1")
    assert "企业一的秘密需求" in client.get("/demands").text


def test_enterprise_submission_is_bound_to_its_own_enterprise(client) -> None:
    login(client, "ent1")
    did = _demand_id(_submit(client, title="只属于 E001", enterprise="E002"))
    login(client, "office1")
    page = client.get(f"/demands/{did}").text
    assert "E001" in page and "E002" not in page


def test_form_errors_are_shown_next_to_the_field(client) -> None:
    login(client, "ent1")
    token = form_token(client, "/demands/new")
    r = client.post("/demands/new", data={"title": "", "description": "x", "csrf_token": token})
    assert r.status_code == 422 and "请填写标题" in r.text
    r = client.post("/demands/new", data={"title": "t", "industry": "ZZ", "csrf_token": token})
    assert r.status_code == 422 and "未知行业门类" in r.text
    r = client.post("/demands/new", data={"title": "t", "team_min": "5", "team_max": "2", "csrf_token": token})
    assert r.status_code == 422 and 'class="field-error"' in r.text


def test_enterprise_withdraws_its_demand_with_history(client) -> None:
    login(client, "ent1")
    did = _demand_id(_submit(client))
    token = form_token(client)
    r = client.post(f"/demands/{did}/status", data={"status": "withdrawn", "csrf_token": token})
    assert r.status_code == 303
    page = client.get(f"/demands/{did}").text
    assert "已撤回" in page and "待审核" in page  # history: submitted, then withdrawn


def test_office_returns_a_demand_with_a_reason_the_enterprise_sees(client) -> None:
    login(client, "ent1")
    did = _demand_id(_submit(client))
    login(client, "office1")
    token = form_token(client)
    r = client.post(f"/demands/{did}/status", data={"status": "returned", "reason": "", "csrf_token": token})
    assert r.status_code == 422
    r = client.post(f"/demands/{did}/status", data={"status": "returned", "reason": "请补充产线数据", "csrf_token": token})
    assert r.status_code == 303
    r = client.post(f"/demands/{did}/status", data={"status": "accepted", "csrf_token": token})
    assert r.status_code == 409 and "returned" in r.text and "accepted" in r.text
    login(client, "ent1")
    assert "请补充产线数据" in client.get(f"/demands/{did}").text


# -- every page x every role ------------------------------------------------------------
OWN = "{own}"
PAGES = [  # path, roles that get 200 (others: 403; anonymous: 303 to /login)
    ("/demands", {"enterprise", "office", "admin"}),
    ("/demands/new", {"enterprise", "office", "admin"}),
    (f"/demands/{OWN}", {"enterprise", "office", "admin"}),
    ("/office/inbox", {"office", "admin"}),
    ("/runs", {"office", "admin"}),
    ("/directory", {"office", "admin"}),
    ("/profiles/import", {"office", "admin"}),
    ("/teacher", {"teacher"}),
    ("/admin/users", {"admin"}),
    ("/admin/keys", {"admin"}),
]
USERS = {"office": "office1", "admin": "admin1", "enterprise": "ent1", "teacher": "teacher1"}


@pytest.fixture
def own_demand(client) -> str:
    login(client, "ent1")
    return _demand_id(_submit(client, title="表格测试需求"))


@pytest.mark.parametrize(("path", "allowed"), PAGES)
def test_every_page_checks_the_role(client, own_demand, path, allowed) -> None:
    url = path.replace(OWN, own_demand)
    client.cookies.clear()
    r = client.get(url)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    for role, username in USERS.items():
        login(client, username)
        r = client.get(url)
        expected = 200 if role in allowed else (404 if OWN in path and role == "teacher" else 403)
        assert r.status_code == expected, (role, url, r.status_code)
        assert r.headers["content-type"].startswith("text/html")


POSTS = [  # path, form, the role allowed
    ("/demands/{own}/proposal", {}, "office"),
    ("/demands/{own}/team", {"member": "T001"}, "office"),
    ("/runs", {}, "office"),
    ("/admin/users", {"role": "office", "username": "x-user", "password": "long-enough-1"}, "admin"),
    ("/admin/keys", {"role": "office"}, "admin"),
]


@pytest.mark.parametrize(("path", "form", "allowed"), POSTS)
def test_every_action_checks_the_role(client, own_demand, path, form, allowed) -> None:
    url = path.replace(OWN, own_demand)
    for role, username in USERS.items():
        if role == allowed or (allowed == "office" and role == "admin"):
            continue
        login(client, username)
        token = form_token(client, "/teacher" if role == "teacher" else "/demands")
        r = client.post(url, data={**form, "csrf_token": token})
        assert r.status_code in (403, 404), (role, url, r.status_code)


def test_the_cookie_secret_is_created_once_and_kept(client, app) -> None:
    with app.state.sessions() as s:
        first = accounts.cookie_secret(s)
    with app.state.sessions() as s:
        assert accounts.cookie_secret(s) == first and len(first) >= 60
    with app.state.sessions() as s:  # another worker inserted it between our read and our insert
        real_get, calls = s.get, []

        def get_missing_once(cls, key):
            calls.append(key)
            return None if len(calls) == 1 else real_get(cls, key)

        s.get = get_missing_once
        assert accounts.cookie_secret(s) == first and len(calls) == 2
        assert s.scalar(select(WebSecret.value)) == first
