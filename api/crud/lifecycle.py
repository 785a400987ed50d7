"""Demand ids, status changes and their history: the data-access side of
``xfd.matching.lifecycle``.

**Enterprise-scoped id namespaces.**  An enterprise names its demands as it
likes; ``(enterprise, ref)`` is unique, ``ref`` being the id it sent.  The
service-wide key (``demands.id``, used by the office, plans and teams) is the
``ref`` itself when no other demand holds that key yet, else
``{ref}~{enterprise}`` (then ``~2``, ``~3``… until free).  So:

- an enterprise never learns whether another enterprise uses an id: a POST
  of someone else's id creates its own demand (201, like any new id), and a
  read, PATCH, history… of an id it does not own answers exactly as for an
  id nobody uses (404, the same body: the message does not echo the id);
- an enterprise always sees its own ids (``id`` in its answers is ``ref``);
  staff and teachers see and use the service-wide key;
- an office re-POST of a key names the demand it means; giving another
  ``enterprise`` for it is refused (409): a demand never changes enterprise.

**No silent overwrite.** A re-POST changes a demand only while it is
``submitted``; past that it is refused (409 naming the status).

Status changes go through ``xfd.matching.lifecycle.check_transition`` (one
place) and each writes a ``DemandEvent`` row (from, to, reason, who, when).
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xfd.api.errors import Conflict, FieldInvalid, Forbidden, NotFound
from xfd.api.records import demand_public
from xfd.api.security import Principal
from xfd.api.storage.models import DemandRow
from xfd.api.storage.service import DemandEvent, Team, TeamMember
from xfd.matching import lifecycle
from xfd.matching.types import Demand


class DemandNotFound(NotFound):
    """404 for a demand id: the same message whether the id is unused or another
    enterprise's (it does not echo the id)."""

    def __init__(self, ident: Any = "") -> None:
        super().__init__("demand", ident)
        self.args = ("需求不存在或无权查看 demand not found",)

    def __str__(self) -> str:
        return "需求不存在或无权查看 demand not found"


class LifecycleForbidden(Forbidden):
    """403 for a transition this role may not make (the message names both states)."""

    def __init__(self, message: str) -> None:
        super().__init__("office")
        self.message = message

    def __str__(self) -> str:
        return self.message


def actor_of(principal: Principal) -> str:
    """The lifecycle actor of a principal: ``office`` (office, admin), ``enterprise`` or ``teacher``."""
    return "office" if principal.is_staff else principal.role


def by_fields(principal: Principal | None, role: str | None = None) -> dict[str, Any]:
    """The who-columns of a row written by ``principal`` (``role`` overrides, e.g. ``demo``)."""
    if principal is None:
        return {"by_role": role or "system", "by_key": None, "by_user": None}
    return {"by_role": role or principal.role, "by_key": principal.key_id or None, "by_user": principal.user_id}


def teacher_demand_ids(session: Session, profile_id: str | None) -> set[str]:
    """Keys of the demands whose teams (any semester) count ``profile_id`` as a member."""
    if not profile_id:
        return set()
    q = select(Team.demand_id).join(TeamMember, TeamMember.team_id == Team.id).where(TeamMember.profile_id == profile_id)
    return set(session.scalars(q))


def find_demand(session: Session, principal: Principal, demand_id: str) -> DemandRow:
    """The demand this principal addresses as ``demand_id``, else :class:`DemandNotFound`.

    Enterprises address their own demands by ``ref`` (or by the service-wide
    key, for links built from it); staff by key; teachers by key, and only the
    demands of their teams.
    """
    if principal.role == "enterprise":
        mine = DemandRow.enterprise_id == (principal.enterprise_id or "")
        row = session.scalar(select(DemandRow).where(mine, DemandRow.ref == demand_id))
        if row is None:
            row = session.scalar(select(DemandRow).where(mine, DemandRow.id == demand_id))
        if row is None:
            raise DemandNotFound(demand_id)
        return row
    row = session.get(DemandRow, demand_id)
    if row is None:
        raise DemandNotFound(demand_id)
    if principal.role == "teacher" and row.id not in teacher_demand_ids(session, principal.profile_id):
        raise DemandNotFound(demand_id)
    if not principal.is_staff and principal.role != "teacher":
        raise DemandNotFound(demand_id)
    return row


def public_demand_id(row: DemandRow, principal: Principal | None) -> str:
    """The id this principal knows the demand by (``ref`` for enterprises, else the key)."""
    if principal is not None and principal.role == "enterprise":
        return row.ref or row.id
    return row.id


def demand_view(row: DemandRow, principal: Principal | None) -> dict[str, Any]:
    """``records.demand_public`` with ``id`` as this principal knows it."""
    out = demand_public(row)
    out["id"] = public_demand_id(row, principal)
    return out


# -- submissions -------------------------------------------------------------------
#: longest service-wide key (the ``demands.id`` column is String(200))
MAX_KEY = 200


def _free_key(session: Session, ref: str, enterprise: str) -> str:
    """``ref`` if no demand has that key, else ``ref~enterprise`` (then ``~2``, ``~3``…);
    a long one becomes ``{ref[:160]}~{16 hex of sha256(enterprise, ref)}`` to fit ``MAX_KEY``."""
    if session.get(DemandRow, ref) is None:
        return ref
    base = f"{ref}~{enterprise}"
    if len(base) > MAX_KEY - 8:
        digest = hashlib.sha256(f"{enterprise}\x00{ref}".encode()).hexdigest()[:16]
        base = f"{ref[:160]}~{digest}"
    key, n = base, 1
    while session.get(DemandRow, key) is not None:
        n += 1
        key = f"{base}~{n}"
    return key


def _refuse_past_submitted(row: DemandRow, shown_id: str) -> None:
    if row.status not in lifecycle.EDITABLE:
        raise Conflict(f"需求 {shown_id} 已是 {lifecycle.label(row.status)}，不能再修改；只有待审核的需求可以重新提交 "
                       f"demand {shown_id} is {row.status}: a re-POST only changes a submitted demand")


def submission_target(session: Session, principal: Principal, demand: Demand) -> tuple[DemandRow | None, str]:
    """``(existing row or None, service-wide key)`` for a POSTed demand, after the id rules.

    ``Conflict`` when the existing demand is past ``submitted`` or an office
    names another enterprise for it.
    """
    if principal.role == "enterprise":
        enterprise = principal.enterprise_id or ""
        row = session.scalar(select(DemandRow).where(DemandRow.enterprise_id == enterprise,
                                                     DemandRow.ref == demand.id))
        if row is not None:
            _refuse_past_submitted(row, demand.id)
            return row, row.id
        return None, _free_key(session, demand.id, enterprise)
    if not principal.is_staff:
        raise Forbidden("enterprise / office")
    row = session.get(DemandRow, demand.id)
    if row is None:
        return None, demand.id
    if demand.enterprise and demand.enterprise != row.enterprise_id:
        raise Conflict(f"需求 {row.id} 属于企业 {row.enterprise_id or '（无）'}，不能改为企业 {demand.enterprise} "
                       f"demand {row.id} belongs to enterprise {row.enterprise_id!r}, not {demand.enterprise!r}")
    _refuse_past_submitted(row, row.id)
    return row, row.id


def add_event(session: Session, row: DemandRow, from_: str | None, to: str, principal: Principal | None,
              reason: str = "", role: str | None = None) -> DemandEvent:
    """Write one history row (the caller commits)."""
    event = DemandEvent(demand_id=row.id, from_status=from_, to_status=to, reason=reason, **by_fields(principal, role))
    session.add(event)
    return event


def created(session: Session, row: DemandRow, principal: Principal | None, role: str | None = None) -> None:
    """A new demand: status ``submitted`` and its first history row (the caller flushes/commits)."""
    row.status = lifecycle.INITIAL
    session.flush()
    add_event(session, row, None, lifecycle.INITIAL, principal, role=role)


# -- transitions ---------------------------------------------------------------------
def move(session: Session, row: DemandRow, to: str, principal: Principal | None, channel: str,
         reason: str = "", actor: str | None = None, role: str | None = None) -> DemandEvent:
    """Check and apply one transition of ``row`` and write its history row (the caller commits).

    Raises ``FieldInvalid`` (unknown status, missing reason), ``Conflict`` (not
    on the path: 409 naming both states) or ``Forbidden`` (wrong role).  ``actor``
    overrides the principal's lifecycle actor, ``role`` the ``by_role`` written.
    """
    who = actor or (actor_of(principal) if principal is not None else "office")
    try:
        lifecycle.check_transition(row.status, to, who, channel, reason)
    except lifecycle.UnknownStatus as exc:
        raise FieldInvalid(["body", "status"], str(exc)) from None
    except lifecycle.ReasonRequired as exc:
        raise FieldInvalid(["body", "reason"], str(exc)) from None
    except lifecycle.TransitionError as exc:
        raise Conflict(str(exc)) from None
    except lifecycle.ActorError as exc:
        raise LifecycleForbidden(str(exc)) from None
    from_ = row.status
    row.status = to
    return add_event(session, row, from_, to, principal, reason, role=role)


def change_demand_status(session: Session, principal: Principal, demand_id: str, status: str,
                         reason: str = "") -> DemandRow:
    """``PATCH /v1/demands/{id}``: office triage or the enterprise's withdrawal; commits."""
    row = find_demand(session, principal, demand_id)
    if principal.role == "teacher":
        raise LifecycleForbidden("无权限：教师不能修改需求状态 forbidden: teachers do not change a demand's status")
    move(session, row, status, principal, "patch", reason.strip())
    session.commit()
    return row


def event_public(event: DemandEvent) -> dict[str, Any]:
    """One history entry: ``from``, ``to`` (also as ``status``), ``reason``, who (``by`` role,
    ``by_key``, ``by_user``) and when (``at``)."""
    return {"id": event.id, "from": event.from_status, "to": event.to_status, "status": event.to_status,
            "reason": event.reason, "by": event.by_role, "by_key": event.by_key, "by_user": event.by_user,
            "at": event.created_at}


def demand_history(session: Session, principal: Principal, demand_id: str) -> list[dict[str, Any]]:
    """The status changes of a visible demand, oldest first."""
    row = find_demand(session, principal, demand_id)
    q = select(DemandEvent).where(DemandEvent.demand_id == row.id).order_by(DemandEvent.id)
    return [event_public(e) for e in session.scalars(q)]
