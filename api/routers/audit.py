"""``GET /v1/audit`` (admin): the audit log of every write, newest first, paginated."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from xfd.api.audit import AuditPublic
from xfd.api.crud.audit import audit_query
from xfd.api.deps import AdminDep, SessionDep
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=list[AuditPublic], summary="审计日志 audit log of every write (admin)",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def list_audit(
    _who: AdminDep,
    session: SessionDep,
    page: PageDep,
    request: Request,
    response: Response,
    key_id: Annotated[int | None, Query(ge=1, le=2**62, description="only writes made with this key")] = None,
    method: Annotated[Literal["POST", "PUT", "PATCH", "DELETE"] | None, Query()] = None,
    target_id: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$", description="only writes to this record")] = None,
    since: Annotated[dt.datetime | None, Query(description="only writes at or after this time (ISO 8601)")] = None,
) -> list[AuditPublic]:
    result = paginate(session, audit_query(key_id, method, target_id, since), page)
    set_page_headers(request, response, page, result.total)
    return [AuditPublic.model_validate(row, from_attributes=True) for row in result.items]
