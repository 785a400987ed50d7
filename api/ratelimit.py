"""Request rate limits: per API key, per browser session, per client address, per login.

Built on the ``limits`` library (moving window).  Defaults, all settable
(``api/settings.py``):

- ``XFD_RATE_LIMIT`` = ``600/minute``: requests per API key (the
  ``Authorization`` credential), or per browser session (the ``Cookie``
  header) for calls without a key, or per client address for calls with
  neither;
- ``XFD_RATE_LIMIT_PER_ADDRESS`` = ``6000/minute``: all requests from one
  client address together (so rotating made-up keys or cookies gains nothing);
- ``XFD_RATE_LIMIT_LOGIN`` = ``30/minute``: attempts per login name, for the
  pages' ``/login`` (see ``hit_login``);
- ``XFD_RATE_LIMIT_STORAGE`` = ``memory://``: where the counters live (one
  process); ``redis://…`` shares them between processes (needs the redis client).

A limited request is answered **429** with ``Retry-After`` (whole seconds) and
a Chinese + English ``detail``.  ``/healthz``, ``/docs-static/…`` and
``/static/…`` are never limited.

For the web pages (login): ``hit_login(request, username)`` counts one
attempt for that login name and returns ``None`` when allowed, else the
seconds to wait; ``too_many_requests(seconds)`` builds the matching 429 body
and headers.  Both share the app's limiter (``app.state.rate_limiter``).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from typing import NamedTuple

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = ("/healthz",)
EXEMPT_PREFIXES = ("/docs-static/", "/static/")


class Limited(NamedTuple):
    """A refused request: ``retry_after`` seconds (> 0) until a slot frees, and the ``rate`` hit."""

    retry_after: float
    rate: str


class RateLimiter:
    """Moving-window counters for named rates (``"600/minute"`` etc.).

    ``rates`` maps a bucket name (``"key"``, ``"address"``, ``"login"``) to a
    ``limits`` rate string; a bad string raises ``ValueError`` naming it.
    """

    def __init__(self, rates: dict[str, str], storage_uri: str = "memory://") -> None:
        self.rates = dict(rates)
        self.items = {}
        for name, rate in rates.items():
            try:
                self.items[name] = parse(rate)
            except ValueError as exc:
                raise ValueError(f"rate limit {name}: 无效的频率 invalid rate {rate!r} ({exc}); e.g. '600/minute'") from None
        self.strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, bucket: str, identity: str) -> Limited | None:
        """Count one request of ``identity`` in ``bucket``; None when allowed, else how long to wait."""
        item = self.items[bucket]
        if self.strategy.hit(item, bucket, identity):
            return None
        stats = self.strategy.get_window_stats(item, bucket, identity)
        return Limited(retry_after=max(stats.reset_time - time.time(), 0.001), rate=self.rates[bucket])


def _digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:32]


def request_identity(scope: Scope) -> tuple[str, str]:
    """``(identity, address)`` of a request: the API key's digest, else the
    session cookie's, else the client address; and the client address."""
    address = (scope.get("client") or ("unknown", 0))[0]
    authorization = cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value
        elif name == b"cookie":
            cookie = value
    if authorization:
        return f"key:{_digest(authorization)}", address
    if cookie:
        return f"session:{_digest(cookie)}", address
    return f"address:{address}", address


def too_many_requests(limited: Limited) -> tuple[dict[str, str], dict[str, str]]:
    """``(body, headers)`` of the 429 answer for ``limited``."""
    seconds = max(1, math.ceil(limited.retry_after))
    body = {"detail": f"请求过于频繁，请 {seconds} 秒后重试 too many requests (limit {limited.rate}), "
                      f"retry after {seconds} s"}
    return body, {"Retry-After": str(seconds), "X-RateLimit-Limit": limited.rate}


def hit_login(request: Request, username: str) -> Limited | None:
    """Count one login attempt for ``username`` (case-folded); None when allowed."""
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter.hit("login", username.strip().casefold())


class RateLimitMiddleware:
    """Answer 429 once a key, session or address is over its rate (see the module doc)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        identity, address = request_identity(scope)
        limited = self.limiter.hit("address", address) or self.limiter.hit("key", identity)
        if limited is None:
            await self.app(scope, receive, send)
            return
        body, headers = too_many_requests(limited)
        raw = json.dumps(body, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                                *((k.lower().encode(), v.encode()) for k, v in headers.items())]})
        await send({"type": "http.response.body", "body": raw})
