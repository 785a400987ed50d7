"""Strict JSON request bodies: a repeated key or NaN/Infinity answers 422 naming it.

FastAPI decodes bodies with Python's ``json`` (last repeated key wins, NaN
accepted); this dependency re-reads a JSON body with the file readers' own
decoder (``matching.strict_json``) so the service refuses exactly what the
readers refuse.  Installed once for the whole app (``FastAPI(dependencies=…)``).
"""
from __future__ import annotations

from fastapi import HTTPException, Request, status

from xfd.matching.strict_json import StrictJSONError, loads_strict

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def strict_json_body(request: Request) -> None:
    """Refuse a JSON body with a repeated key or a non-finite number (422, FastAPI's
    error shape, ``loc`` = ``["body", …path]``); other syntax errors are left to FastAPI."""
    if request.method not in _BODY_METHODS or not _is_json(request.headers.get("content-type")):
        return
    body = await request.body()
    if not body:
        return
    try:
        loads_strict(body)
    except StrictJSONError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            [{"loc": ["body", *exc.loc], "msg": exc.reason, "type": "value_error"}]) from None
    except (ValueError, RecursionError):  # json.JSONDecodeError, UnicodeDecodeError: FastAPI answers those
        return


__all__ = ["strict_json_body"]
