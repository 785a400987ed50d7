"""Seed the demo database with its finished previous semester (``xfd demo``).

Reads ``corpora/demo/teams.jsonl``, ``activities.jsonl``, ``outcomes.jsonl``
and ``ratings.jsonl`` (built by ``corpora/build_demo_service.py``), checks each
record with the API's own schemas, and replays it through the same lifecycle
functions the API uses (every transition checked, every change in the
history with ``by_role = "demo"``).  Demands without a previous-semester team
are ``accepted`` (ready for this semester's run) except the last
``LEFT_SUBMITTED``, left for the office to triage.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from xfd.api.crud.lifecycle import move
from xfd.api.crud.teams import store_team
from xfd.api.errors import FieldInvalid
from xfd.api.service_schemas import ActivityCreate, OutcomeCreate, RatingCreate
from xfd.api.storage.models import DemandRow
from xfd.api.storage.service import Activity, Outcome, Rating, Team

ROLE = "demo"
#: when the previous semester's teams were formed
SEMESTER_START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
LEFT_SUBMITTED = 5
FILES = ("teams", "activities", "outcomes", "ratings")


def read_service_files(paths: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """The JSONL records of each file; a bad line is ``FieldInvalid`` naming file and line."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in FILES:
        rows = []
        with Path(paths[name]).open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FieldInvalid([str(paths[name]), n], f"{paths[name]}:{n}: {exc.msg}") from None
                rows.append(obj)
        out[name] = rows
    return out


def _check(model: type, obj: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise FieldInvalid([where, *first["loc"]], f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def seed_demo_service(session: Session, records: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Replay the previous semester and triage the other demands; the caller commits."""
    teams: dict[str, Team] = {}
    for k, t in enumerate(records["teams"], 1):
        row = session.get(DemandRow, str(t["demand_id"]))
        if row is None:
            raise FieldInvalid(["teams.jsonl", k, "demand_id"], f"teams.jsonl:{k}: 需求不存在 no demand {t['demand_id']}")
        move(session, row, "accepted", None, "patch", actor="office", role=ROLE)
        team = store_team(session, row, str(t["semester"]), t["members"], None, role=ROLE, team_id=t.get("id"))
        team.created_at = SEMESTER_START  # teamed when that semester began
        move(session, row, "teamed", None, "run", actor="office", role=ROLE)
        teams[team.id] = team
    for k, a in enumerate(records["activities"], 1):
        act = _check(ActivityCreate, a, f"activities.jsonl:{k}")
        team = teams[str(a["team_id"])]
        session.add(Activity(team_id=team.id, date=act.date, kind=act.kind, hours=act.hours,
                             participants=list(act.participants), note=act.note, by_role=ROLE))
        row = session.get(DemandRow, team.demand_id)
        if row.status == "teamed":
            move(session, row, "in_service", None, "activity", actor="teacher", role=ROLE)
    by_demand = {t.demand_id: t for t in teams.values()}
    for k, o in enumerate(records["outcomes"], 1):
        out = _check(OutcomeCreate, o, f"outcomes.jsonl:{k}")
        row = session.get(DemandRow, str(o["demand_id"]))
        move(session, row, "solved" if out.solved else "unsolved", None, "outcome", actor="teacher", role=ROLE)
        session.add(Outcome(demand_id=row.id, team_id=by_demand[row.id].id, solved=out.solved,
                            contract_amount=out.contract_amount, patents=out.patents, papers=out.papers,
                            other=out.other, note=out.note, by_role=ROLE))
    for k, r in enumerate(records["ratings"], 1):
        rating = _check(RatingCreate, r, f"ratings.jsonl:{k}")
        session.add(Rating(demand_id=str(r["demand_id"]), team_id=by_demand[str(r["demand_id"])].id,
                           satisfaction=rating.satisfaction, comment=rating.comment, by_role=ROLE))
    rest = list(session.scalars(select(DemandRow).where(DemandRow.status == "submitted")
                                .order_by(DemandRow.created_at, DemandRow.id)))
    for row in rest[: max(len(rest) - LEFT_SUBMITTED, 0)]:
        move(session, row, "accepted", None, "patch", actor="office", role=ROLE)
    session.flush()
    return {name: len(records[name]) for name in FILES}
