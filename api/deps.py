"""``Annotated`` dependencies shared by the routers: settings, DB session,
warm engine, run manager, and the calling principal with role checks.

Failures are raised here, at the route edge, as ``HTTPException`` with a
Chinese + English message; the data-access layer raises ``xfd.api.errors``
exceptions instead, answered by the handlers ``xfd.api.app`` installs.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from xfd.api.engine import MatchEngine
from xfd.api.errors import Forbidden, NotFound
from xfd.api.runs import RunManager
from xfd.api.security import Principal, lookup_key
from xfd.api.settings import Settings

UNAUTHENTICATED = "未认证：缺少或无效的 API 密钥 unauthenticated: missing or invalid API key (Authorization: Bearer <key>)"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_engine(request: Request) -> MatchEngine:
    return request.app.state.engine


def get_runs(request: Request) -> RunManager:
    return request.app.state.runs


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
EngineDep = Annotated[MatchEngine, Depends(get_engine)]
RunsDep = Annotated[RunManager, Depends(get_runs)]

_bearer = HTTPBearer(auto_error=False, description="API key from `xfd keys create` 由 xfd keys create 生成的密钥")


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    principal = lookup_key(session, credentials.credentials) if credentials is not None else None
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def forbidden(needed: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, str(Forbidden(needed)))


def require_staff(principal: PrincipalDep) -> Principal:
    if not principal.is_staff:
        raise forbidden("office")
    return principal


def require_admin(principal: PrincipalDep) -> Principal:
    if principal.role != "admin":
        raise forbidden("admin")
    return principal


# Role checks of the "who" column of INTERFACES.md, run before any id is looked up: a role
# that may never do an action gets 403 whether or not the id exists (object-level rules,
# such as another enterprise's demand answering 404, are the data-access layer's).
# "office" admits admin keys too (``Principal.is_staff``).
def require_enterprise_or_staff(principal: PrincipalDep) -> Principal:
    """Enterprise, office or admin (rows whose "who" is enterprise and office): teachers get 403."""
    if not (principal.is_staff or principal.role == "enterprise"):
        raise forbidden("enterprise / office")
    return principal


def require_staff_or_teacher(principal: PrincipalDep) -> Principal:
    """Office, admin or teacher (activities, outcomes): enterprises get 403."""
    if not (principal.is_staff or principal.role == "teacher"):
        raise forbidden("office / teacher")
    return principal


def require_enterprise(principal: PrincipalDep) -> Principal:
    """Enterprise keys only (the rating of a demand, by its enterprise)."""
    if principal.role != "enterprise":
        raise forbidden("enterprise")
    return principal


#: who may submit a demand: enterprise, office (and admin)
require_submitter = require_enterprise_or_staff

StaffDep = Annotated[Principal, Depends(require_staff)]
AdminDep = Annotated[Principal, Depends(require_admin)]
SubmitterDep = Annotated[Principal, Depends(require_submitter)]
EnterpriseOrStaffDep = Annotated[Principal, Depends(require_enterprise_or_staff)]
StaffOrTeacherDep = Annotated[Principal, Depends(require_staff_or_teacher)]
EnterpriseDep = Annotated[Principal, Depends(require_enterprise)]


def not_found(what: str, ident: Any) -> HTTPException:
    """The 404 of ``xfd.api.errors.NotFound`` (same message), for routers that check by themselves."""
    return HTTPException(status.HTTP_404_NOT_FOUND, str(NotFound(what, ident)))


def field_error(loc: list[Any], msg: str, status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT) -> HTTPException:
    """A 422 in FastAPI's own validation shape: ``{"detail": [{"loc", "msg", "type"}]}``."""
    return HTTPException(status_code, [{"loc": loc, "msg": msg, "type": "value_error"}])


def record_error(exc: Exception, loc_prefix: list[Any]) -> HTTPException:
    """Map ``matching.readers.RecordError`` to a 422 naming the field."""
    field = getattr(exc, "field", None)
    loc = [*loc_prefix, *([field] if field else [])]
    return field_error(loc, str(exc))
