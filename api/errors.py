"""Domain errors raised by the data-access layer (``xfd.api.crud``) and turned
into answers at the edges: HTTP status codes by the handlers in
``xfd.api.app`` (``install_error_handlers``), one-line messages by the CLI.

No web framework here: the CLI imports these without FastAPI.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Chinese names of the records a ``NotFound`` can name.
RECORD_NAMES_ZH = {"demand": "需求", "profile": "人员", "run": "分配任务", "key": "密钥", "calibration": "校准"}


class DomainError(Exception):
    """Base of every error the data-access layer raises on purpose."""


class NotFound(DomainError):
    """No ``what`` with id ``ident`` (or the caller may not see it) -> HTTP 404."""

    def __init__(self, what: str, ident: Any) -> None:
        self.what, self.ident = what, ident
        super().__init__(f"{RECORD_NAMES_ZH.get(what, what)}不存在 {what} not found: {ident}")


class Conflict(DomainError):
    """The request clashes with the stored state (id taken, run not done, racing writer) -> HTTP 409."""


class FieldInvalid(DomainError):
    """A value the caller sent is unacceptable -> HTTP 422 naming ``loc``
    (FastAPI's shape: ``{"detail": [{"loc", "msg", "type"}]}``)."""

    def __init__(self, loc: Sequence[Any], message: str) -> None:
        self.loc, self.message = list(loc), message
        super().__init__(message)


class Forbidden(DomainError):
    """The caller's role may not do this -> HTTP 403; ``needed`` is the role it needs."""

    def __init__(self, needed: str) -> None:
        self.needed = needed
        super().__init__(f"无权限：需要 {needed} 角色 forbidden: this needs the {needed} role")
