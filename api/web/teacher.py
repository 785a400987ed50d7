"""Teacher pages: ``/teacher`` — the teacher's own profile and the teams
(demands) they serve, with each demand's enterprise-facing details and a link to
the team page, where activities are recorded."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from xfd.api.deps import SessionDep
from xfd.api.storage.models import ProfileRow
from xfd.api.web import workflow
from xfd.api.web.auth import Viewer, require
from xfd.api.web.render import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Teacher = Annotated[Viewer, Depends(require("teacher"))]


@router.get("/teacher", response_class=HTMLResponse)
def teacher_home(request: Request, viewer: Teacher, session: SessionDep) -> HTMLResponse:
    pid = viewer.account.profile_id or ""
    profile = session.get(ProfileRow, pid)
    demands, team_ids = workflow.teacher_demands(session, viewer.principal)
    teams = {d.id: workflow.team_of(session, d) for d in demands}
    return page(request, "teacher.html", viewer, profile=profile, demands=demands, teams=teams, team_ids=team_ids)
