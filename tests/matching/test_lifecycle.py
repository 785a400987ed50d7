"""The demand lifecycle table, checked over every (from, to, actor, channel)."""
from __future__ import annotations

import itertools

import pytest

from xfd.matching.lifecycle import (
    ACTORS,
    CHANNELS,
    LABELS,
    STATUSES,
    TRANSITIONS,
    ActorError,
    ReasonRequired,
    TransitionError,
    UnknownStatus,
    check_transition,
    next_statuses,
)

# The path of INTERFACES.md, written out by hand: (from, to) -> (actors, channel)
EXPECTED = {
    ("submitted", "accepted"): ({"office"}, "patch"),
    ("submitted", "returned"): ({"office"}, "patch"),
    ("submitted", "withdrawn"): ({"enterprise"}, "patch"),
    ("returned", "withdrawn"): ({"enterprise"}, "patch"),
    ("accepted", "withdrawn"): ({"enterprise"}, "patch"),
    ("accepted", "teamed"): ({"office"}, "run"),
    ("teamed", "in_service"): ({"office", "teacher"}, "activity"),
    ("in_service", "solved"): ({"office", "teacher"}, "outcome"),
    ("in_service", "unsolved"): ({"office", "teacher"}, "outcome"),
}


def test_every_status_has_a_chinese_label():
    assert set(LABELS) == set(STATUSES) == {"submitted", "accepted", "returned", "teamed", "in_service",
                                            "solved", "unsolved", "withdrawn"}
    assert LABELS["in_service"] == "服务中" and LABELS["returned"] == "已退回"


def test_table_is_the_documented_path():
    assert {k: (set(t.actors), t.channel) for k, t in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("from_", "to"), list(itertools.product(STATUSES, STATUSES)))
def test_every_pair_every_actor_every_channel(from_, to):
    accepted = 0
    for actor, channel in itertools.product(ACTORS, CHANNELS):
        expected = EXPECTED.get((from_, to))
        if expected is None:
            with pytest.raises(TransitionError) as info:
                check_transition(from_, to, actor, channel, reason="r")
            assert from_ in str(info.value) and to in str(info.value)
            assert info.value.from_ == from_ and info.value.to == to
        elif channel != expected[1]:
            with pytest.raises(TransitionError, match=expected[1]):
                check_transition(from_, to, actor, channel, reason="r")
        elif actor not in expected[0]:
            with pytest.raises(ActorError):
                check_transition(from_, to, actor, channel, reason="r")
        else:
            assert check_transition(from_, to, actor, channel, reason="r").to == to
            accepted += 1
    assert accepted == len(EXPECTED.get((from_, to), ((), ""))[0])


def test_off_path_message_names_both_states_in_both_languages():
    with pytest.raises(TransitionError) as info:
        check_transition("submitted", "solved", "office")
    msg = str(info.value)
    assert "submitted" in msg and "solved" in msg and "待审核" in msg and "已解决" in msg


def test_no_self_transitions_and_terminal_states():
    for s in STATUSES:
        with pytest.raises(TransitionError):
            check_transition(s, s, "office")
    for terminal in ("solved", "unsolved", "withdrawn"):
        assert next_statuses(terminal) == ()


def test_withdraw_only_before_teamed():
    assert {f for (f, t) in TRANSITIONS if t == "withdrawn"} == {"submitted", "accepted", "returned"}
    for s in ("teamed", "in_service", "solved", "unsolved"):
        with pytest.raises(TransitionError):
            check_transition(s, "withdrawn", "enterprise")


def test_return_needs_a_reason():
    with pytest.raises(ReasonRequired, match="reason"):
        check_transition("submitted", "returned", "office", reason="  ")
    assert check_transition("submitted", "returned", "office", reason="材料不全").to == "returned"


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownStatus, match="submitted"):
        check_transition("open", "accepted", "office")
    with pytest.raises(UnknownStatus, match="office"):
        check_transition("submitted", "accepted", "robot")
    with pytest.raises(UnknownStatus, match="patch"):
        check_transition("submitted", "accepted", "office", "email")


def test_next_statuses():
    assert next_statuses("submitted") == ("accepted", "returned", "withdrawn")
    assert next_statuses("submitted", actor="enterprise") == ("withdrawn",)
    assert next_statuses("in_service", channel="outcome") == ("solved", "unsolved")
