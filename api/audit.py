"""Audit every write at the edge: ``AuditMiddleware`` stores one ``audit_log``
row per POST, PUT, PATCH and DELETE the app answers, before the answer's
last byte is sent (so a client that got its answer finds the row).

Who: the ``xfd.api.security.Principal`` a dependency put in
``request.state.principal`` (API key or a person logged in on the pages), or
an ``xfd.api.crud.audit.Actor`` put in ``request.state.audit_actor``, else
the API key in ``Authorization: Bearer`` (its id, prefix and role), else
nobody (unauthenticated; role None).  What: method, path template and path,
status, and the target id (the first path parameter, else the last segment
of the ``Location`` header, else the ``id`` of a JSON object answer).

Requests answered before routing (413/414/431 for size, 429 for rate) are
not logged.  A failing audit write is logged as an error and the answer
still goes out.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import unquote

from anyio import to_thread
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xfd.api.crud.audit import Actor, AuditEntry, key_actor, principal_actor, record_write
from xfd.api.security import Principal

log = logging.getLogger("xfd.api.audit")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: most answer bytes kept to find the created record's ``id``
BODY_PEEK = 64 << 10


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _target(scope: Scope, location: str | None, body: bytes) -> str | None:
    params = scope.get("path_params") or {}
    if params:
        return str(next(iter(params.values())))
    if location:
        return unquote(location.rstrip("/").rsplit("/", 1)[-1]) or None
    if body[:1] == b"{":
        try:
            obj = json.loads(body)
        except ValueError:
            return None
        ident = obj.get("id") if isinstance(obj, dict) else None
        return str(ident) if isinstance(ident, (str, int)) and not isinstance(ident, bool) else None
    return None


def _from_state(scope: Scope) -> Actor | Principal | None:
    state = scope.get("state") or {}
    if not isinstance(state, dict):
        return None
    actor = state.get("audit_actor")
    if isinstance(actor, Actor):
        return actor
    principal = state.get("principal")
    return principal if isinstance(principal, Principal) else None


class AuditMiddleware:
    """Store an ``AuditEntry`` for each write request (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        seen: dict[str, Any] = {"status": None, "location": None, "body": b"", "written": False}

        async def audited_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"location":
                        seen["location"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                if len(seen["body"]) < BODY_PEEK:
                    seen["body"] += message.get("body", b"")[:BODY_PEEK]
                if not message.get("more_body", False) and not seen["written"]:
                    seen["written"] = True
                    await self._write(scope, seen)
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if not seen["written"]:
                seen["written"] = True
                seen["status"] = seen["status"] or 500
                await self._write(scope, seen)
            raise

    async def _write(self, scope: Scope, seen: dict[str, Any]) -> None:
        sessions = scope["app"].state.sessions
        route = scope.get("route")
        address = (scope.get("client") or ("", 0))[0]
        token = _bearer(scope)
        known = _from_state(scope)

        def write() -> None:
            with sessions() as session:
                if isinstance(known, Principal):
                    actor = principal_actor(session, known)
                else:
                    actor = known or (key_actor(session, token) if token else Actor())
                record_write(session, AuditEntry(
                    actor=actor, method=scope["method"], route=getattr(route, "path", "") or "",
                    path=scope.get("path", ""), status=int(seen["status"] or 0),
                    target_id=_target(scope, seen["location"], seen["body"]), address=address))

        try:
            await to_thread.run_sync(write)
        except SQLAlchemyError as exc:
            log.error("audit write failed for %s %s: %s", scope["method"], scope.get("path"), exc)


class AuditPublic(BaseModel):
    """One audit row as ``GET /v1/audit`` answers it (see ``xfd.api.storage.audit.AuditRow``)."""

    id: int
    at: dt.datetime
    key_id: int | None
    key_prefix: str | None
    username: str | None
    role: str | None
    method: str
    route: str
    path: str
    status: int
    target_id: str | None
    address: str
