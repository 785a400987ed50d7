"""Calibrations: the office refits the score fusion from the stored verdicts.

``POST /v1/calibrations`` fits and stores a new version (active only when the
refit beat the default on held-out verdicts), ``GET /v1/calibrations`` lists
the versions, ``POST /v1/calibrations/{id}/activate`` switches (id 0: back to
the model's default).  See ``xfd.api.crud.calibration``.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel

from xfd.api.crud.calibration import activate, calibration_view, calibrations_query, recalibrate
from xfd.api.deps import EngineDep, SessionDep, StaffDep
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers

router = APIRouter(prefix="/v1/calibrations", tags=["calibrations"])


class CalibrationPublic(BaseModel):
    """A stored calibration version: ``figures`` {"held_out"|"all": {"before"|"after":
    {"pairwise", "auc", "log_loss"}}}, ``calibration`` the whole document as ``xfd calibrate`` writes it."""

    id: int
    created_at: dt.datetime
    created_by: int | None
    model: str
    active: bool
    source: str | None
    reason: str | None
    fusion: dict[str, float] | None
    figures: dict[str, Any] | None
    calibration: dict[str, Any]


class ActivePublic(BaseModel):
    """The version now active (None: the model's default fusion)."""

    active: CalibrationPublic | None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CalibrationPublic,
             summary="从反馈重新校准 refit the fusion from the stored verdicts",
             responses={409: {"description": "反馈太少 too few verdicts"}})
def post_calibration(principal: StaffDep, session: SessionDep, engine: EngineDep) -> dict[str, Any]:
    return calibration_view(recalibrate(session, engine, principal))


@router.get("", response_model=list[CalibrationPublic], summary="校准版本 calibration versions, newest first",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def get_calibrations(principal: StaffDep, session: SessionDep, page: PageDep, request: Request,
                     response: Response) -> list[dict[str, Any]]:
    result = paginate(session, calibrations_query(principal), page)
    set_page_headers(request, response, page, result.total)
    return [calibration_view(r) for r in result.items]


@router.post("/{calibration_id}/activate", response_model=ActivePublic,
             summary="启用校准版本 activate a version (0: the default fusion)")
def post_activate(calibration_id: Annotated[int, Path(ge=0, le=2**31 - 1)], principal: StaffDep,
                  session: SessionDep, engine: EngineDep) -> dict[str, Any]:
    row = activate(session, engine, principal, calibration_id)
    return {"active": None if row is None else calibration_view(row)}
