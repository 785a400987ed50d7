"""绩效评估 report rows and scores on a small case worked by hand.

Three teams of one semester (weights of the shipped corpora/performance.toml:
satisfaction .30, solved .25, contract .15 (target 100000 yuan/demand),
hours .15 (40 h/demand), students .10 (2/demand), grades .05 (2 grades)):

K1  D1 E1 城关区  T1 (lead, 学院A) T2 (学院B) S1 (g1, 学院A) S2 (g3, 学院B)
    activities 6 h + 4 h; solved, 150000 yuan; rating 5
K2  D2 E1 青山县  T1 (lead, 学院A) S3 (g1, 学院A); activity 10 h; unsolved, 0; rating 3
K3  D3 E2 城关区  T3 (lead, 学院B); nothing yet
"""
from __future__ import annotations

import pytest

from xfd.matching.performance import (
    ConfigError,
    MemberFacts,
    TeamFacts,
    load_config,
    parse_config,
    performance_report,
    row_dict,
)

T1 = MemberFacts("T1", "teacher", "lead", "学院A")
T2 = MemberFacts("T2", "teacher", "member", "学院B")
T3 = MemberFacts("T3", "teacher", "lead", "学院B")
S1 = MemberFacts("S1", "student", "member", "学院A", 1)
S2 = MemberFacts("S2", "student", "member", "学院B", 3)
S3 = MemberFacts("S3", "student", "member", "学院A", 1)
TEAMS = [
    TeamFacts("K1", "D1", "E1", "城关区", (T1, T2, S1, S2), (6.0, 4.0), True, 150000.0, 5),
    TeamFacts("K2", "D2", "E1", "青山县", (T1, S3), (10.0,), False, 0.0, 3),
    TeamFacts("K3", "D3", "E2", "城关区", (T3,), (), None, 0.0, None),
]

# score = 100 * (.30 sat/5 + .25 solved/n + .15 min(1, amount/n/1e5) + .15 min(1, hours/n/40)
#                + .10 min(1, students/n/2) + .05 min(1, grades/2))
K1_SCORE = 100 * (.30 * 1 + .25 * 1 + .15 * 1 + .15 * (10 / 40) + .10 * 1 + .05 * 1)            # 88.75
K2_SCORE = 100 * (.30 * 3 / 5 + 0 + 0 + .15 * (10 / 40) + .10 * (1 / 2) + .05 * (1 / 2))        # 29.25
T1_SCORE = 100 * (.30 * 4 / 5 + .25 * .5 + .15 * .75 + .15 * (10 / 40) + .10 * .75 + .05 * 1)   # 64.0
B_SCORE = 100 * (.30 * 1 + .25 * .5 + .15 * .75 + .15 * (5 / 40) + .10 * (2 / 2 / 2) + .05 * 1)   # 65.625


def by_group(by: str) -> dict[str, dict]:
    return {r.group: row_dict(r) for r in performance_report(TEAMS, by)}


def test_hand_worked_scores_are_what_the_formula_gives():
    assert (K1_SCORE, K2_SCORE, T1_SCORE, B_SCORE) == pytest.approx((88.75, 29.25, 64.0, 65.625))


def test_by_team():
    rows = by_group("team")
    assert list(rows) == ["K1", "K2", "K3"]
    k1 = rows["K1"]
    assert (k1["demands"], k1["solved"], k1["enterprises"], k1["activities"], k1["hours"], k1["students"],
            k1["grades"], k1["contract_amount"], k1["satisfaction_mean"]) == (1, 1, 1, 2, 10.0, 2, 2, 150000.0, 5.0)
    assert k1["score"] == pytest.approx(K1_SCORE, abs=0.01) and k1["grade"] == "良好"
    assert k1["students_by_grade"] == {"1": 1, "3": 1}
    assert rows["K2"]["score"] == pytest.approx(K2_SCORE, abs=0.01) and rows["K2"]["grade"] == "不合格"
    k3 = rows["K3"]
    assert k3["satisfaction_mean"] is None and k3["score"] == 0.0 and k3["grade"] == "不合格"
    assert (k3["activities"], k3["hours"], k3["students"], k3["grades"], k3["solved"]) == (0, 0.0, 0, 0, 0)


def test_by_teacher_counts_every_team_of_the_teacher():
    rows = by_group("teacher")
    assert list(rows) == ["T1", "T2", "T3"]
    t1 = rows["T1"]
    assert (t1["demands"], t1["solved"], t1["enterprises"], t1["activities"], t1["hours"], t1["students"],
            t1["grades"], t1["contract_amount"], t1["satisfaction_mean"]) == (2, 1, 1, 3, 20.0, 3, 2, 150000.0, 4.0)
    assert t1["score"] == pytest.approx(T1_SCORE, abs=0.01) and t1["grade"] == "合格"
    assert t1["students_by_grade"] == {"1": 2, "3": 1}
    assert rows["T2"]["score"] == pytest.approx(K1_SCORE, abs=0.01)


def test_by_college_and_county():
    college = by_group("college")
    assert list(college) == ["学院A", "学院B"]
    assert college["学院A"]["score"] == pytest.approx(T1_SCORE, abs=0.01)
    b = college["学院B"]
    assert (b["demands"], b["enterprises"], b["students"], b["satisfaction_mean"]) == (2, 2, 2, 5.0)
    assert b["score"] == pytest.approx(B_SCORE, abs=0.01) and b["grade"] == "合格"
    county = by_group("county")
    assert county["城关区"]["score"] == pytest.approx(B_SCORE, abs=0.01)
    assert county["青山县"]["score"] == pytest.approx(K2_SCORE, abs=0.01)


def test_no_teams_no_rows_and_unknown_grouping():
    assert performance_report([], "team") == []
    with pytest.raises(ValueError, match="team, teacher, college, county"):
        performance_report(TEAMS, "province")


def test_shipped_config_is_documented_and_sums_to_one():
    cfg = load_config()
    assert {i.name for i in cfg.indicators} == {"satisfaction", "solved", "contract", "hours", "students", "grades"}
    assert sum(i.weight for i in cfg.indicators) == pytest.approx(1.0)
    assert [g for g, _ in cfg.grades] == ["优秀", "良好", "合格", "不合格"]
    assert all(i.description for i in cfg.indicators)


def test_a_changed_config_changes_the_score(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[indicators.solved]\nweight = 1.0\n[[grades]]\nname = "好"\nmin = 50\n'
                    '[[grades]]\nname = "差"\nmin = 0\n', encoding="utf-8")
    rows = {r.group: r for r in performance_report(TEAMS, "teacher", load_config(path))}
    assert (rows["T1"].score, rows["T1"].grade) == (50.0, "好")      # 1 of 2 solved
    assert (rows["T3"].score, rows["T3"].grade) == (0.0, "差")


@pytest.mark.parametrize(("raw", "field"), [
    ({}, "indicators"),
    ({"indicators": {"luck": {"weight": 1.0}}}, "indicators.luck"),
    ({"indicators": {"solved": {"weight": 0.5}}, "grades": [{"name": "x", "min": 0}]}, "weights must sum to 1"),
    ({"indicators": {"solved": {"weight": "1"}}, "grades": [{"name": "x", "min": 0}]}, "indicators.solved.weight"),
    ({"indicators": {"hours": {"weight": 1.0, "target": 0}}, "grades": [{"name": "x", "min": 0}]},
     "indicators.hours.target"),
    ({"indicators": {"solved": {"weight": 1.0}}, "grades": [{"name": "x", "min": 10}]}, "min = 0"),
    ({"indicators": {"solved": {"weight": 1.0}}}, "grades"),
])
def test_bad_configs_name_the_key(raw, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        parse_config(raw)


def test_bad_toml_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[indicators\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
