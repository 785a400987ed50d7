"""The service's edge: what every request passes before and after its route.

``install_edge(app, settings)`` adds, outermost first:

1. ``RequestSizeMiddleware`` (``xfd.api.http_limits``): 413/414/431 after draining;
2. ``RateLimitMiddleware`` (``xfd.api.ratelimit``): 429 with ``Retry-After``;
3. ``MethodsMiddleware`` (here): ``OPTIONS`` answers 204 with the ``Allow``
   header of every method the path takes, a 405 carries the same ``Allow``
   (Starlette's own names only the first route's methods), and ``HEAD`` is
   answered as ``GET`` without the body;
4. ``AuditMiddleware`` (``xfd.api.audit``): one audit row per write;
5. ``StrictJSONMiddleware`` (``xfd.api.strict_json``): a JSON body with a repeated
   key, NaN/Infinity, bytes that are not UTF-8 or too deep a nesting is 422 naming it;

and the ``GET /v1/audit`` router.  The limiter is kept as
``app.state.rate_limiter`` (the pages' login shares it: ``xfd.api.ratelimit.hit_login``).
"""
from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Match, Mount, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xfd.api.audit import AuditMiddleware
from xfd.api.http_limits import RequestSizeMiddleware
from xfd.api.ratelimit import RateLimiter, RateLimitMiddleware
from xfd.api.routers import audit
from xfd.api.settings import Settings
from xfd.api.strict_json import StrictJSONMiddleware

#: the order ``Allow`` lists methods in
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: the methods probed against the routes
PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """Every method some route of ``router`` takes at ``scope``'s path (empty: no route has the path).

    Probes each method, as routes may be nested routers; a ``Mount`` (static
    files) counts as GET only.
    """
    methods: set[str] = set()
    for method in PROBED:
        probe = {**scope, "method": method}
        for route in router.routes:
            match, _child = route.matches(probe)
            if match == Match.FULL and (method == "GET" or not isinstance(route, Mount)):
                methods.add(method)
                break
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    return [m for m in METHOD_ORDER if m in methods]


class MethodsMiddleware:
    """``OPTIONS`` -> 204 + ``Allow``; any 405 -> the full ``Allow`` (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        router = scope["app"].router
        method = scope["method"]
        if method == "OPTIONS":
            allow = allowed_methods(router, scope)
            if allow:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", ", ".join(allow).encode()), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(router, scope)).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            elif message["type"] == "http.response.body" and method == "HEAD":
                message = {**message, "body": b""}
            await send(message)

        # HEAD is GET without the body (API routes declare GET only)
        await self.app({**scope, "method": "GET"} if method == "HEAD" else scope, receive, answer)


def install_edge(app: FastAPI, settings: Settings) -> None:
    """Add the edge middleware and the audit router to ``app`` (call once, in ``create_app``)."""
    limiter = RateLimiter({"key": settings.rate_limit, "address": settings.rate_limit_per_address,
                           "login": settings.rate_limit_login}, settings.rate_limit_storage)
    app.state.rate_limiter = limiter
    app.include_router(audit.router)
    # add_middleware puts each new one outside the previous ones: innermost first
    app.add_middleware(StrictJSONMiddleware)
    app.add_middleware(AuditMiddleware)
    app.add_middleware(MethodsMiddleware)
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    app.add_middleware(RequestSizeMiddleware, limit=settings.max_body_bytes, import_limit=settings.max_import_bytes,
                       header_limit=settings.max_header_bytes, url_limit=settings.max_url_bytes,
                       drain_limit=settings.max_drain_bytes)
