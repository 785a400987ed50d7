"""The lifecycle of a demand: statuses, who may move it where, and how.

``status`` runs ``submitted`` (待审核) -> ``accepted`` (已受理) or ``returned``
(已退回, with a reason) -> ``teamed`` (已组队) -> ``in_service`` (服务中) ->
``solved`` (已解决) or ``unsolved`` (未解决); ``withdrawn`` (已撤回) by its
enterprise before ``teamed``.  Every transition goes through
:func:`check_transition`, the one place the table below is enforced; the
service maps :class:`TransitionError` to 409 and :class:`ActorError` to 403.

A transition is made by an *actor* (``office`` — office and admin keys —,
``enterprise`` — the owning enterprise —, ``teacher`` — the lead of the
demand's team) through a *channel*:

- ``patch``: ``PATCH /v1/demands/{id}`` (office triage, enterprise withdrawal);
- ``run``: accepting an assignment run (``accepted`` -> ``teamed``);
- ``activity``: the first activity of a ``teamed`` demand's team;
- ``outcome``: recording the outcome of an ``in_service`` demand.

Pure: no database, no web framework.
"""
from __future__ import annotations

from typing import Literal, NamedTuple

Status = Literal["submitted", "accepted", "returned", "teamed", "in_service", "solved", "unsolved", "withdrawn"]
STATUSES: tuple[str, ...] = ("submitted", "accepted", "returned", "teamed", "in_service", "solved", "unsolved",
                             "withdrawn")
#: Chinese label of every status
LABELS: dict[str, str] = {
    "submitted": "待审核", "accepted": "已受理", "returned": "已退回", "teamed": "已组队",
    "in_service": "服务中", "solved": "已解决", "unsolved": "未解决", "withdrawn": "已撤回",
}
INITIAL: str = "submitted"
#: a demand in one of these is planned by every assignment run
PLANNED: tuple[str, ...] = ("accepted", "teamed", "in_service")
#: a demand in one of these may be rated by its enterprise
CLOSED: tuple[str, ...] = ("solved", "unsolved")
#: statuses in which a re-POST may still change the demand's content
EDITABLE: tuple[str, ...] = ("submitted",)

Actor = Literal["office", "enterprise", "teacher"]
ACTORS: tuple[str, ...] = ("office", "enterprise", "teacher")
Channel = Literal["patch", "run", "activity", "outcome"]
CHANNELS: tuple[str, ...] = ("patch", "run", "activity", "outcome")

#: the statuses of the pre-lifecycle service, mapped by migration 0004
LEGACY_STATUS: dict[str, str] = {"open": "accepted", "assigned": "teamed", "closed": "withdrawn"}


class Transition(NamedTuple):
    """One allowed edge: who (``actors``) may move a demand ``from_`` -> ``to``
    through which ``channel``; ``needs_reason``: a non-empty reason is required."""

    from_: str
    to: str
    actors: frozenset[str]
    channel: str
    needs_reason: bool = False


def _t(from_: str, to: str, actors: tuple[str, ...], channel: str, needs_reason: bool = False) -> Transition:
    return Transition(from_, to, frozenset(actors), channel, needs_reason)


#: every allowed transition, keyed by (from, to)
TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.from_, t.to): t
    for t in (
        _t("submitted", "accepted", ("office",), "patch"),
        _t("submitted", "returned", ("office",), "patch", needs_reason=True),
        _t("submitted", "withdrawn", ("enterprise",), "patch"),
        _t("returned", "withdrawn", ("enterprise",), "patch"),
        _t("accepted", "withdrawn", ("enterprise",), "patch"),
        _t("accepted", "teamed", ("office",), "run"),
        _t("teamed", "in_service", ("office", "teacher"), "activity"),
        _t("in_service", "solved", ("office", "teacher"), "outcome"),
        _t("in_service", "unsolved", ("office", "teacher"), "outcome"),
    )
}

_CHANNEL_ZH = {"patch": "修改状态 PATCH", "run": "采纳分配方案 accepting an assignment run",
               "activity": "记录团队的第一次服务活动 the team's first activity",
               "outcome": "登记成果 POST /v1/demands/{id}/outcome"}


class LifecycleError(ValueError):
    """Base of the lifecycle errors; ``from_``/``to`` are the two states involved."""

    def __init__(self, message: str, from_: str, to: str) -> None:
        super().__init__(message)
        self.from_ = from_
        self.to = to


class UnknownStatus(LifecycleError):
    """A status name that is not one of :data:`STATUSES` (-> 422)."""


class TransitionError(LifecycleError):
    """The transition is not on the path, or not through this channel (-> 409)."""


class ActorError(LifecycleError):
    """The transition exists, but this actor may not make it (-> 403)."""


class ReasonRequired(LifecycleError):
    """The transition needs a reason and none was given (-> 422)."""


def label(status: str) -> str:
    """``"accepted"`` -> ``"accepted（已受理）"``: a status named in both languages."""
    return f"{status}（{LABELS[status]}）" if status in LABELS else repr(status)


def check_status(status: str, field: str = "status") -> str:
    """``status`` if it is a known status, else :class:`UnknownStatus` listing the valid ones."""
    if status not in STATUSES:
        raise UnknownStatus(f"{field}: 未知状态 unknown status {status!r}; 可选 valid: {', '.join(STATUSES)}",
                            status, status)
    return status


def check_transition(from_: str, to: str, actor: str, channel: str = "patch", reason: str = "") -> Transition:
    """The transition ``from_`` -> ``to`` if ``actor`` may make it through ``channel``.

    Raises :class:`UnknownStatus` (unknown state, actor or channel),
    :class:`TransitionError` (not on the path, or another channel makes it;
    the message names both states), :class:`ActorError` (wrong actor) or
    :class:`ReasonRequired`.
    """
    check_status(from_, "from")
    check_status(to, "status")
    if actor not in ACTORS:
        raise UnknownStatus(f"actor: 未知角色 unknown actor {actor!r}; valid: {', '.join(ACTORS)}", from_, to)
    if channel not in CHANNELS:
        raise UnknownStatus(f"channel: unknown channel {channel!r}; valid: {', '.join(CHANNELS)}", from_, to)
    edge = TRANSITIONS.get((from_, to))
    if edge is None:
        nexts = [t for (f, t) in TRANSITIONS if f == from_]
        allowed = "、".join(label(t) for t in nexts) or "无 none"
        raise TransitionError(
            f"需求状态不能从 {label(from_)} 变为 {label(to)} a demand cannot go from {from_} to {to}"
            f"（可变为 allowed next: {allowed}）", from_, to)
    if edge.channel != channel:
        raise TransitionError(
            f"需求状态从 {label(from_)} 变为 {label(to)} 只能通过{_CHANNEL_ZH[edge.channel]} "
            f"a demand goes from {from_} to {to} only through {edge.channel}", from_, to)
    if actor not in edge.actors:
        who = "、".join(sorted(edge.actors))
        raise ActorError(f"无权限：需求从 {label(from_)} 变为 {label(to)} 只能由 {who} 操作 "
                         f"forbidden: only {who} may move a demand from {from_} to {to}", from_, to)
    if edge.needs_reason and not reason.strip():
        raise ReasonRequired(f"reason: 退回需求必须说明原因 moving a demand from {from_} to {to} needs a reason",
                             from_, to)
    return edge


def next_statuses(from_: str, actor: str | None = None, channel: str | None = None) -> tuple[str, ...]:
    """The statuses reachable from ``from_`` in one step (optionally for one actor / channel), in table order."""
    check_status(from_, "from")
    return tuple(t.to for t in TRANSITIONS.values()
                 if t.from_ == from_ and (actor is None or actor in t.actors)
                 and (channel is None or t.channel == channel))
