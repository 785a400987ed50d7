"""Request size limits that every HTTP client sees as an answer.

``RequestSizeMiddleware`` (pure ASGI, outermost) answers

- **431** when the request's header fields together exceed
  ``Settings.max_header_bytes`` (sum of ``len(name) + len(value)``, bytes);
- **414** when the request target (path + query) exceeds ``Settings.max_url_bytes``;
- **413** when the body exceeds ``Settings.max_body_bytes``
  (``Settings.max_import_bytes`` on the profile upload paths, ``IMPORT_PATHS``), declared by
  ``Content-Length`` or counted while a chunked body streams in;
- **400** for a ``Content-Length`` that is not a number.

Before answering, it *drains* the request body (reads and discards it, up
to ``Settings.max_drain_bytes``), then answers with ``Connection: close``.
Clients that send the whole body before reading (Python's ``http.client``,
``requests``, ``httpx``) therefore read the 413 instead of a connection
reset: a server that closes a socket with unread bytes in its receive buffer
makes the kernel send a TCP RST, which discards the response on the way.
A client that sent ``Expect: 100-continue`` has sent no body yet, so it is
answered at once.  Bodies larger than ``max_drain_bytes`` are not read to the
end (the answer is still sent; such a client may see a reset).

Header blocks too large for uvicorn's own parser never reach the app;
``uvicorn_options`` raises that parser's bound (h11's
``max_incomplete_event_size``) to ``HEADER_READ_FACTOR × max_header_bytes``
so a 200 KB header is read whole and answered 431 here.
"""
from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: upload routes that take ``max_import_bytes`` instead of ``max_body_bytes`` (API and the import page)
IMPORT_PATHS = ("/v1/profiles", "/v1/profiles/import", "/profiles/import")
#: uvicorn reads header blocks up to this many times ``max_header_bytes`` before giving up with its own 400
HEADER_READ_FACTOR = 16


def uvicorn_options(max_header_bytes: int) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` that let this
    middleware see oversized headers: the h11 parser (chosen explicitly, so an
    installed ``httptools`` does not change the limits) with a header buffer of
    ``HEADER_READ_FACTOR × max_header_bytes`` bytes."""
    return {"http": "h11", "h11_max_incomplete_event_size": HEADER_READ_FACTOR * max_header_bytes}


def _header_bytes(scope: Scope) -> int:
    return sum(len(name) + len(value) for name, value in scope["headers"])


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value
    return None


class RequestSizeMiddleware:
    """Answer oversized requests with 413/414/431 after draining their body (see the module doc).

    ``limit`` / ``import_limit``: largest body in bytes (ordinary / upload paths);
    ``header_limit``: largest sum of header name and value lengths in bytes;
    ``url_limit``: longest path + query string in bytes;
    ``drain_limit``: most body bytes read and discarded before an error answer.
    """

    def __init__(self, app: ASGIApp, *, limit: int, import_limit: int, header_limit: int, url_limit: int,
                 drain_limit: int) -> None:
        self.app = app
        self.limit, self.import_limit = limit, import_limit
        self.header_limit, self.url_limit, self.drain_limit = header_limit, url_limit, drain_limit

    async def _reject(self, scope: Scope, receive: Receive, send: Send, status: int, message: str,
                      drained: bool = False) -> None:
        """Drain what is left of the body (bounded), then send a JSON error and close."""
        if not drained and (_header(scope, b"expect") or b"").lower() != b"100-continue":
            await self._drain(scope, receive)
        body = json.dumps({"detail": message}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def _drain(self, scope: Scope, receive: Receive) -> None:
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.drain_limit:
            return
        read = 0
        while read <= self.drain_limit:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            read += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _header_bytes(scope) > self.header_limit:
            await self._reject(scope, receive, send, 431,
                               f"请求头过大 request header fields too large (limit {self.header_limit} bytes)")
            return
        if len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b"")) > self.url_limit:
            await self._reject(scope, receive, send, 414, f"请求地址过长 request URI too long (limit {self.url_limit} bytes)")
            return
        limit = self.import_limit if scope["path"].rstrip("/") in IMPORT_PATHS else self.limit
        too_large = f"请求体过大 request body too large (limit {limit} bytes)"
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reject(scope, receive, send, 400, "Content-Length 无效 invalid Content-Length", drained=True)
                return
            if int(declared) > limit:
                await self._reject(scope, receive, send, 413, too_large)
                return
        await self._buffered(scope, receive, send, limit, too_large)

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, limit: int, too_large: str) -> None:
        """Read the body (at most ``limit`` bytes kept), then run the app on the replayed body."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                if message.get("more_body", False):
                    await self._reject(scope, receive, send, 413, too_large)
                else:
                    await self._reject(scope, receive, send, 413, too_large, drained=True)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
