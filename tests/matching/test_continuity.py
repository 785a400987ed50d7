"""Team-kind profiles seed continuity: a demand naming one in current_team gets its members."""
from __future__ import annotations

from xfd.matching.continuity import expand_current_team, seed_continuity, team_members
from xfd.matching.types import Demand, Profile

PROFILES = [Profile("T1"), Profile("S1", kind="student"), Profile("S2", kind="student"),
            Profile("G1", kind="team", members=("T1", "S1"))]


def test_team_ids_expand_to_members_in_order_without_duplicates():
    teams = team_members(PROFILES)
    assert teams == {"G1": ("T1", "S1")}
    assert expand_current_team(["G1"], teams) == ("T1", "S1")
    assert expand_current_team(["S2", "G1", "T1"], teams) == ("S2", "T1", "S1")
    assert expand_current_team(["X9"], teams) == ("X9",)          # unknown ids are left for the caller to report


def test_seed_continuity_touches_only_demands_naming_a_team():
    plain = Demand("D1", title="a", current_team=("T1",))
    seeded = Demand("D2", title="b", current_team=("G1", "S2"))
    out = seed_continuity([plain, seeded], PROFILES)
    assert out[0] is plain
    assert out[1].current_team == ("T1", "S1", "S2") and out[1].id == "D2"
    assert seed_continuity([seeded], PROFILES[:3]) == [seeded]    # no team profiles: unchanged
