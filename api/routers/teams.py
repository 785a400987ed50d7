"""Standing teams and their activities (``/v1/teams``).

The office sees every team, a teacher the teams it is a member of, an
enterprise the teams of its own demands; any other team answers 404.
Logging an activity is the office's or a teacher's: an enterprise key gets 403
before any lookup (``xfd.api.deps``).
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from xfd.api.crud import service as crud_service
from xfd.api.crud import teams as crud_teams
from xfd.api.deps import PrincipalDep, SessionDep, StaffOrTeacherDep
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers, slice_list
from xfd.api.schemas import Semester
from xfd.api.service_schemas import ActivityCreate, ActivityPublic, TeamPublic

router = APIRouter(prefix="/v1/teams", tags=["teams"])

TeamId = Annotated[str, Path(max_length=100, pattern=r"^[^\x00]+$", description="team id")]
NOT_FOUND = {404: {"description": "no such team, or one this key may not see (the same answer)"}}


@router.get("", response_model=list[TeamPublic], summary="小分队 teams this key may see (oldest first)",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def list_teams(
    principal: PrincipalDep,
    session: SessionDep,
    page: PageDep,
    request: Request,
    response: Response,
    semester: Annotated[Semester | None, Query()] = None,
    demand_id: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]+$")] = None,
) -> list[dict[str, Any]]:
    result = paginate(session, crud_teams.teams_query(session, principal, semester, demand_id), page)
    set_page_headers(request, response, page, result.total)
    return crud_teams.team_views(session, result.items, principal)


@router.get("/{team_id}", response_model=TeamPublic, responses=NOT_FOUND, summary="一个小分队 one team")
def get_team(team_id: TeamId, principal: PrincipalDep, session: SessionDep) -> dict[str, Any]:
    return crud_teams.team_public(session, crud_teams.visible_team(session, principal, team_id), principal)


@router.get("/{team_id}/activities", response_model=list[ActivityPublic],
            responses={**NOT_FOUND, 200: {"headers": PAGE_HEADERS_DOC}}, summary="服务活动 the team's activities by date")
def list_activities(team_id: TeamId, principal: PrincipalDep, session: SessionDep, page: PageDep, request: Request,
                    response: Response) -> list[dict[str, Any]]:
    result = slice_list(crud_service.list_activities(session, principal, team_id), page)
    set_page_headers(request, response, page, result.total)
    return [crud_teams.activity_public(a) for a in result.items]


@router.post("/{team_id}/activities", status_code=status.HTTP_201_CREATED, response_model=ActivityPublic,
             responses={**NOT_FOUND, 403: {"description": "not the office or a teacher of this team (an enterprise key: always)"},
                        409: {"description": "the demand is not teamed or in_service"},
                        422: {"description": "a participant is not a member, or a bad field"}},
             summary="记录服务活动 log an activity (the first one starts the service)")
def post_activity(team_id: TeamId, body: ActivityCreate, principal: StaffOrTeacherDep, session: SessionDep) -> dict[str, Any]:
    activity = crud_service.add_activity(session, principal, team_id, body.date, body.kind, body.hours,
                                         body.participants, body.note)
    return crud_teams.activity_public(activity)
