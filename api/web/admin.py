"""Admin pages: people's accounts (create, disable, enable) and API keys
(create — the key is shown once —, revoke).  Through ``xfd.api.accounts`` and
``xfd.api.crud``, the same functions ``xfd users`` and ``xfd keys`` call."""
from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xfd.api import accounts, crud
from xfd.api.crud.keys import FormAlreadySubmitted
from xfd.api.deps import SessionDep
from xfd.api.security import KeyError_
from xfd.api.web.auth import PageError, Viewer, csrf_for, require
from xfd.api.web.render import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Admin = Annotated[Viewer, Depends(require("admin"))]
AdminForm = Annotated[Viewer, Depends(csrf_for("admin"))]
Text = Annotated[str, Form(max_length=200)]


def _users_page(request: Request, viewer: Viewer, session: SessionDep, status_code: int = 200, **context: object) -> HTMLResponse:
    return page(request, "users.html", viewer, status_code=status_code, users=accounts.list_users(session),
                roles=accounts.ROLES, role_names=accounts.ROLE_NAMES_ZH, values=context.pop("values", {}), **context)


#: the form fields (Chinese, English label) of each page the command-line flags of the shared checks name
USER_LABELS = {"enterprise": ("企业编号", "Enterprise id"), "profile": ("教师编号", "Teacher profile id")}
KEY_LABELS = {"enterprise": ("企业编号", "Enterprise id"), "profile": ("人员编号", "Profile id")}


def _beside(field: str, message: str, labels: dict[str, tuple[str, str]]) -> str:
    """``message`` as shown beside ``field``: without the argument name the CLI's one-line error starts
    with (``enterprise: 企业编号无效 …`` -> ``企业编号无效 …``), so it reads Chinese first; and a form
    field named where the CLI names its flag (``企业账号需要 --enterprise ID`` -> ``企业账号需要填写“企业编号”``)."""
    rest = message.removeprefix(field)
    text = rest.lstrip(": ") if rest != message and rest[:1] in (":", " ") else message
    for name, (zh, en) in labels.items():
        flag = f"--{name} ID"
        text = text.replace(f"needs {flag}", f"needs the “{en}” field").replace(f"需要 {flag}", f"需要填写“{zh}”")
    return text


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, viewer: Admin, session: SessionDep, done: str = "") -> HTMLResponse:
    flash = {"created": "账号已创建。 Account created.", "disabled": "账号已停用。 Account disabled.",
             "enabled": "账号已启用。 Account enabled."}.get(done, "")
    return _users_page(request, viewer, session, flash=flash)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, viewer: AdminForm, session: SessionDep, role: Text, username: Text,
                password: Annotated[str, Form(max_length=1000)], enterprise: Text = "", profile: Text = "",
                display_name: Text = "") -> Response:
    try:
        accounts.create_user(session, role, username, password, enterprise=enterprise, profile=profile,
                             display_name=display_name)
    except accounts.AccountError as exc:
        session.rollback()
        values = {"role": role, "username": username, "enterprise": enterprise, "profile": profile, "display_name": display_name}
        return _users_page(request, viewer, session, 422, values=values, errors={exc.field: _beside(exc.field, str(exc), USER_LABELS)})
    session.commit()
    return RedirectResponse("/admin/users?done=created", status_code=303)


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def disable_user(username: str, viewer: AdminForm, session: SessionDep, enable: Annotated[int, Form()] = 0) -> Response:
    """Disable or re-enable an account; never the admin's own (it would lock this admin out, as a key
    cannot revoke itself): a 409 page, nothing changed."""
    if not enable and username == viewer.account.username:
        raise PageError(409, "不能停用自己的账号，请由另一位管理员操作 you cannot disable your own account; "
                             "ask another admin (or use xfd users disable)", "操作冲突 Conflict")
    try:
        accounts.set_disabled(session, username, disabled=not enable)
    except accounts.AccountError as exc:
        raise PageError(404, str(exc)) from None
    session.commit()
    return RedirectResponse(f"/admin/users?done={'enabled' if enable else 'disabled'}", status_code=303)


def _keys_page(request: Request, viewer: Viewer, session: SessionDep, status_code: int = 200, **context: object) -> HTMLResponse:
    """The keys page; its form carries a fresh single-use ``form_id`` (a re-submission creates no second key)."""
    return page(request, "keys.html", viewer, status_code=status_code, keys=crud.list_keys(session), roles=accounts.ROLES,
                role_names=accounts.ROLE_NAMES_ZH, form_id=secrets.token_urlsafe(24),
                **{"created": None, "error": "", "errors": {}, "values": {}, **context})


#: the argument a ``KeyError_`` message starts with -> the form field it is shown beside
KEY_FIELDS = ("role", "enterprise", "profile", "note")


@router.get("/admin/keys", response_class=HTMLResponse)
def keys(request: Request, viewer: Admin, session: SessionDep) -> HTMLResponse:
    return _keys_page(request, viewer, session)


@router.post("/admin/keys", response_class=HTMLResponse)
def create_key(request: Request, viewer: AdminForm, session: SessionDep, role: Text, enterprise: Text = "",
               profile: Text = "", note: Text = "", form_id: Annotated[str, Form(max_length=64)] = "") -> HTMLResponse:
    """A new key (shown once), checked as ``xfd keys create`` checks it: a teacher key needs the id
    of a stored teacher's profile.  The form's ``form_id`` creates one key: the same form sent again
    (the browser re-posts it when the page is refreshed) is a 409 with the keys page and no new key."""
    try:
        row, plaintext = crud.create_key(session, role, enterprise or None, note, profile or None, known_teacher=True,
                                         form_id=form_id or None)
    except FormAlreadySubmitted as exc:
        session.rollback()
        return _keys_page(request, viewer, session, 409, error=str(exc))
    except KeyError_ as exc:
        session.rollback()
        message = str(exc)
        field = next((f for f in KEY_FIELDS if message.startswith(f)), "role")
        values = {"role": role, "enterprise": enterprise, "profile": profile, "note": note}
        return _keys_page(request, viewer, session, 422, errors={field: _beside(field, message, KEY_LABELS)}, values=values)
    return _keys_page(request, viewer, session, created=(row, plaintext))


@router.post("/admin/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(key_id: int, viewer: AdminForm, session: SessionDep) -> Response:
    crud.revoke_key(session, key_id)
    return RedirectResponse("/admin/keys", status_code=303)
