"""Strict JSON request bodies: a repeated key or NaN/Infinity answers 422 naming it;
so does a body that is not UTF-8 (RFC 8259) or nests too deeply to decode (``loc`` ``["body"]``).

FastAPI decodes bodies with Python's ``json`` (last repeated key wins, NaN
accepted, UTF-16/32 accepted; a body that is not UTF-8 or nests too deeply is
a bare 400 "There was an error parsing the body" naming nothing); this
middleware reads a JSON body first with the file readers' own decoder
(``matching.strict_json``), so the service refuses exactly what the readers
refuse, and hands the same bytes on to the route.  Installed once, inside the
size limit (``xfd.api.edge``), so the body it reads is bounded.
"""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xfd.matching.strict_json import StrictJSONError, loads_strict

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def body_problem(body: bytes) -> dict[str, object] | None:
    """The 422 item (FastAPI's shape) a JSON ``body`` earns, or None when the route may decode it
    (valid, empty, or a syntax error FastAPI itself answers with 422 "JSON decode error")."""
    if not body:
        return None
    try:
        loads_strict(body)
    except StrictJSONError as exc:
        return {"loc": ["body", *exc.loc], "msg": exc.reason, "type": "value_error"}
    except UnicodeDecodeError as exc:
        return {"loc": ["body"], "msg": f"请求体不是 UTF-8 编码 body is not UTF-8 (byte {exc.start})",
                "type": "unicode_decode"}
    except RecursionError:
        return {"loc": ["body"], "msg": "JSON 嵌套过深 body nests too deeply", "type": "json_too_deep"}
    except ValueError:  # json.JSONDecodeError: FastAPI answers it
        return None
    return None


class StrictJSONMiddleware:
    """Check every JSON ``POST``/``PUT``/``PATCH`` body before routing (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").decode("latin-1")
        if not _is_json(content_type):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = body_problem(body)
        if problem is None:
            await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)
            return
        payload = json.dumps({"detail": [problem]}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 422,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that answers ``messages`` first, then the client's own."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


__all__ = ["StrictJSONMiddleware", "body_problem"]
