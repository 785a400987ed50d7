"""Admin pages (``xfd.api.web.admin``): API keys for every role ``xfd keys
create`` knows, a teacher key bound to its profile, errors beside the field."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.api.web.conftest import form_token, login
from xfd.api import accounts
from xfd.api.storage.models import ApiKey


def _keys(app) -> int:
    with app.state.sessions() as s:
        return s.scalar(select(func.count()).select_from(ApiKey))


def test_the_key_form_offers_every_role_and_a_profile_field(client) -> None:
    login(client, "admin1")
    page = client.get("/admin/keys").text
    assert re.findall(r'<option value="(\w+)"', page) == ["office", "enterprise", "teacher", "admin"]
    assert 'name="profile"' in page


def test_a_teacher_key_is_bound_to_its_profile_and_works(client, app) -> None:
    login(client, "admin1")
    token = form_token(client, "/admin/keys")
    r = client.post("/admin/keys", data={"csrf_token": token, "role": "teacher", "profile": "T001", "note": "张伟的程序"})
    assert r.status_code == 200
    key = re.search(r"<code>(xfd_[^<]+)</code>", r.text).group(1)
    with app.state.sessions() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.note == "张伟的程序"))
        assert row.role == "teacher" and row.profile_id == "T001" and row.enterprise_id is None
    assert "T001" in client.get("/admin/keys").text
    assert client.get("/v1/teams", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_refreshing_the_page_after_creating_a_key_creates_no_second_key(client, app) -> None:
    """The browser re-posts the form on a refresh: the form's single-use id finds the key it made."""
    login(client, "admin1")
    page = client.get("/admin/keys").text
    form = {"csrf_token": form_token(client, "/admin/keys"), "role": "office", "note": "刷新",
            "form_id": re.search(r'name="form_id" value="([^"]+)"', page).group(1)}
    before = _keys(app)
    first = client.post("/admin/keys", data=form)
    assert first.status_code == 200 and "<code>xfd_" in first.text and _keys(app) == before + 1
    again = client.post("/admin/keys", data=form)
    assert again.status_code == 409 and "<code>xfd_" not in again.text
    assert "此表单已提交" in again.text and "this form was already submitted" in again.text
    assert _keys(app) == before + 1
    with app.state.sessions() as s:
        assert s.scalar(select(ApiKey.form_id).where(ApiKey.note == "刷新")) == form["form_id"]
    fresh = re.search(r'name="form_id" value="([^"]+)"', first.text).group(1)  # the page after a key: a new form
    assert fresh != form["form_id"]
    assert client.post("/admin/keys", data={**form, "form_id": fresh}).status_code == 200 and _keys(app) == before + 2


@pytest.mark.parametrize(("form", "field", "says"), [
    ({"role": "teacher"}, "profile", "教师密钥需要"),
    ({"role": "teacher", "profile": "T 001"}, "profile", "人员编号无效"),
    ({"role": "teacher", "profile": "T999"}, "profile", "没有这位教师"),
    ({"role": "teacher", "profile": "S001"}, "profile", "不是教师"),
    ({"role": "office", "profile": "T001"}, "profile", "只有教师密钥带人员编号"),
    ({"role": "enterprise"}, "enterprise", "企业密钥需要"),
    ({"role": "teacher", "profile": "T001", "enterprise": "E001"}, "enterprise", "只有企业密钥带企业编号"),
    ({"role": "boss"}, "role", "角色必须是"),
])
def test_a_bad_key_form_is_a_field_error_with_the_input_kept(client, app, form, field, says) -> None:
    login(client, "admin1")
    token = form_token(client, "/admin/keys")
    before = _keys(app)
    r = client.post("/admin/keys", data={"csrf_token": token, "note": "备注丁", **form})
    assert r.status_code == 422 and "<code>xfd_" not in r.text
    at = r.text.index(f'id="{field}"')
    err = r.text[at: r.text.index("</div>", at)]
    assert '<p class="field-error">' in err and says in err, err
    assert 'value="备注丁"' in r.text
    for name, value in form.items():
        if name != "role":
            assert f'value="{value}"' in r.text
    assert _keys(app) == before


def _admin_field_error(client, page: str, form: dict, field: str) -> str:
    """The admin's ``form`` posted to ``page`` (422): the HTML from the field's input to its ``</div>``."""
    login(client, "admin1")
    token = form_token(client, page)
    r = client.post(page, data={"csrf_token": token, "password": "correct-horse-9", **form})
    assert r.status_code == 422
    at = r.text.index(f'id="{field}"')
    return r.text[at: r.text.index("</div>", at)]


@pytest.mark.parametrize(("page", "form", "field", "starts"), [
    ("/admin/keys", {"role": "enterprise"}, "enterprise", "企业密钥需要"),
    ("/admin/keys", {"role": "enterprise", "enterprise": "E/1"}, "enterprise", "企业编号无效"),
    ("/admin/keys", {"role": "teacher", "profile": "T999"}, "profile", "没有这位教师"),
    ("/admin/users", {"role": "enterprise", "username": "e9"}, "enterprise", "企业账号需要"),
    ("/admin/users", {"role": "teacher", "username": "t9", "profile": "NOPE"}, "profile", "没有这位教师"),
    ("/admin/users", {"role": "office", "username": "o9", "password": "short"}, "password", "密码长度"),
])
def test_an_admin_form_error_beside_its_field_starts_in_chinese(client, page, form, field, starts) -> None:
    """Not ``enterprise: 企业编号无效 …`` (the argument name of the CLI's message first, in English)."""
    err = _admin_field_error(client, page, form, field)
    text = err[err.index('<p class="field-error">') + len('<p class="field-error">'):]
    assert text.startswith(starts), text


@pytest.mark.parametrize(("page", "form", "field", "says"), [
    ("/admin/keys", {"role": "enterprise"}, "enterprise", "企业密钥需要填写“企业编号” (an enterprise key needs the “Enterprise id” field)"),
    ("/admin/keys", {"role": "teacher"}, "profile", "教师密钥需要填写“人员编号” (a teacher key needs the “Profile id” field)"),
    ("/admin/users", {"role": "enterprise", "username": "e9"}, "enterprise", "企业账号需要填写“企业编号”"),
    ("/admin/users", {"role": "teacher", "username": "t9"}, "profile", "教师账号需要填写“教师编号”"),
])
def test_an_admin_form_error_names_the_form_field_not_the_cli_flag(client, page, form, field, says) -> None:
    """The shared checks name ``--enterprise ID`` (the CLI's flag); on the page the field is named."""
    err = _admin_field_error(client, page, form, field)
    assert says in err and "--" not in err, err


def test_the_cli_messages_keep_naming_the_flags(client) -> None:
    with pytest.raises(accounts.AccountError, match="--enterprise ID"), client.app.state.sessions() as s:
        accounts.create_user(s, "enterprise", "e9", "correct-horse-9")


@pytest.mark.parametrize(("page", "form", "field", "says"), [
    ("/admin/keys", {"role": "enterprise", "enterprise": "E\x0001"}, "enterprise", "企业编号无效"),
    ("/admin/keys", {"role": "teacher", "profile": "T\x0001"}, "profile", "人员编号无效"),
    ("/admin/keys", {"role": "office", "note": "备注\x00"}, "note", "非法字符"),
    ("/admin/users", {"role": "office", "username": "wang\x00"}, "username", "用户名无效"),
    ("/admin/users", {"role": "enterprise", "username": "e9", "enterprise": "E\x0001"}, "enterprise", "企业编号无效"),
    ("/admin/users", {"role": "office", "username": "wang", "display_name": "王\x00"}, "display_name", "非法字符"),
])
def test_control_characters_in_an_admin_form_are_a_field_error_and_store_nothing(client, app, page, form, field,
                                                                                   says) -> None:
    """NUL (which PostgreSQL cannot store: a 500 there) and other control characters in an id, a
    username, a note or a display name: the form again with the error beside that field."""
    login(client, "admin1")
    token = form_token(client, page)
    with app.state.sessions() as s:
        before = (_keys(app), len(accounts.list_users(s)))
    r = client.post(page, data={"csrf_token": token, "password": "correct-horse-9", **form})
    assert r.status_code == 422 and "<code>xfd_" not in r.text
    at = r.text.index(f'id="{field}"')
    err = r.text[at: r.text.index("</div>", at)]
    assert '<p class="field-error">' in err and says in err, err
    with app.state.sessions() as s:
        assert (_keys(app), len(accounts.list_users(s))) == before


def test_an_admin_cannot_disable_their_own_account(client, app) -> None:
    """Disabling oneself ends one's session and, for the only admin, locks account management out."""
    login(client, "admin1")
    page = client.get("/admin/users").text
    assert 'action="/admin/users/admin1/disable"' not in page and "本人 you" in page  # no button on one's own row
    assert 'action="/admin/users/office1/disable"' in page
    token = form_token(client, "/admin/users")
    r = client.post("/admin/users/admin1/disable", data={"csrf_token": token})
    assert r.status_code == 409 and "不能停用自己的账号" in r.text and "cannot disable your own account" in r.text
    assert client.get("/admin/users").status_code == 200  # still signed in
    with app.state.sessions() as s:
        assert not next(u for u in accounts.list_users(s) if u.username == "admin1").disabled
    r = client.post("/admin/users/office1/disable", data={"csrf_token": token})
    assert r.status_code == 303
