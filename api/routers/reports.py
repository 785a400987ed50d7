"""Performance reports (绩效评估), office only."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from xfd.api.crud import service as crud_service
from xfd.api.deps import SessionDep, SettingsDep, StaffDep
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, set_page_headers, slice_list
from xfd.api.schemas import Semester
from xfd.api.service_schemas import GroupBy, ReportRowPublic
from xfd.matching.performance import load_config

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/performance", response_model=list[ReportRowPublic], responses={200: {"headers": PAGE_HEADERS_DOC}},
            summary="绩效评估 one row per team / teacher / college / county of a semester (by group name)")
def performance(
    _who: StaffDep,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    request: Request,
    response: Response,
    semester: Annotated[Semester, Query()],
    by: Annotated[GroupBy, Query()] = "team",
) -> list[dict[str, Any]]:
    config = load_config(settings.performance_config)
    result = slice_list(crud_service.performance_rows(session, semester, by, config), page)
    set_page_headers(request, response, page, result.total)
    return result.items
