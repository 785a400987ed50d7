"""Performance reports (绩效评估), office only."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from xfd.api.crud import service as crud_service
from xfd.api.deps import SessionDep, StaffDep
from xfd.api.service_schemas import GroupBy, ReportRowPublic, Semester

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get("/performance", response_model=list[ReportRowPublic],
            summary="绩效评估 one row per team / teacher / college / county of a semester")
def performance(
    _who: StaffDep,
    session: SessionDep,
    semester: Annotated[Semester, Query()],
    by: Annotated[GroupBy, Query()] = "team",
) -> list[dict[str, Any]]:
    return crud_service.performance_rows(session, semester, by)
