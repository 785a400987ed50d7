"""Calibration from verdicts: known answers on synthetic pair features, and with the real scorer + a fake encoder."""
from __future__ import annotations

import numpy as np
import pytest

from xfd.matching.calibration import (
    Calibration,
    Verdict,
    calibration_to_json,
    fit_calibration,
    fusion_from_json,
    logits,
    pair_features,
    pairwise,
    parse_feedback,
)
from xfd.matching.encoders import HashingEncoder
from xfd.matching.readers import RecordError
from xfd.matching.scoring import DEFAULT_FUSION, LEXICAL_ONLY_FUSION, Fusion, MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile


def _hidden_rule(seed: int, n_demands: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accepted profiles have high dense similarity and little word overlap; rejected ones
    share many words but mean something else: the default (lexical-heavy) orders them wrongly."""
    rng = np.random.default_rng(seed)
    x, y, g = [], [], []
    for d in range(n_demands):
        for j in range(6):
            acc = j < 2
            lex = rng.uniform(0.02, 0.08) if acc else rng.uniform(0.3, 0.6)
            dz = rng.normal(1.5, 0.3) if acc else rng.normal(0.0, 0.3)
            x.append([dz, dz + rng.normal(0, 0.2), lex])
            y.append(acc)
            g.append(f"S{seed}D{d}")
    return np.array(x), np.array(y), np.array(g)


def test_pairwise_by_hand() -> None:
    z = np.array([3.0, 1.0, 2.0, 0.0, 5.0, 5.0])
    y = np.array([True, False, True, False, True, False])
    g = np.array(["a", "a", "a", "a", "b", "b"])
    # group a: 4 ordered pairs out of 4; group b: one tie = 1/2  -> 4.5 / 5
    assert pairwise(z, y, g) == pytest.approx(0.9)
    assert pairwise(z, y, np.array(["a", "b", "c", "d", "e", "f"])) is None


def test_hidden_rule_the_default_gets_wrong_is_learned_and_holds_on_new_demands() -> None:
    x, y, g = _hidden_rule(0)
    cal = fit_calibration(x, y, g, DEFAULT_FUSION, "e5-small")
    held = cal.figures["held_out"]
    assert held["before"].pairwise < 0.5  # the default orders these verdicts wrongly
    assert cal.source == "refit" and held["after"].pairwise > held["before"].pairwise + 0.3
    assert cal.fusion.lexical == 0.0 and cal.fusion.dense > 0  # weights stay non-negative
    xt, yt, gt = _hidden_rule(1)  # fresh demands never seen by the fit
    assert pairwise(logits(cal.fusion, xt), yt, gt) > pairwise(logits(DEFAULT_FUSION, xt), yt, gt) + 0.3
    assert (cal.verdicts, cal.accepted, cal.demands, cal.folds) == (120, 40, 20, 5)


def test_verdicts_that_agree_with_the_default_keep_the_default() -> None:
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(0, 1, 90), rng.normal(0, 1, 90), rng.uniform(0, 0.5, 90)])
    g = np.repeat([f"D{i}" for i in range(15)], 6)
    z = logits(DEFAULT_FUSION, x)
    y = np.zeros(90, dtype=bool)
    for d in np.unique(g):  # the default's own top 2 of each demand are accepted
        idx = np.flatnonzero(g == d)
        y[idx[np.argsort(-z[idx])[:2]]] = True
    cal = fit_calibration(x, y, g, DEFAULT_FUSION, "e5-small")
    assert cal.source == "default" and cal.fusion == DEFAULT_FUSION
    assert cal.figures["held_out"]["before"].pairwise == 1.0
    assert "held-out" in cal.reason


def test_random_verdicts_never_give_a_fusion_worse_on_them_than_the_default() -> None:
    for seed in range(5):
        rng = np.random.default_rng(seed)
        x = np.column_stack([rng.normal(0, 1, 60), rng.normal(0, 1, 60), rng.uniform(0, 0.5, 60)])
        y = rng.random(60) < 0.3
        g = np.repeat([f"D{i}" for i in range(10)], 6)
        cal = fit_calibration(x, y, g, DEFAULT_FUSION, "e5-small")
        before = pairwise(logits(DEFAULT_FUSION, x), y, g)
        assert pairwise(logits(cal.fusion, x), y, g) >= before
        if cal.source == "refit":
            assert cal.figures["held_out"]["after"].pairwise >= cal.figures["held_out"]["before"].pairwise


def test_too_few_verdicts_keep_the_default_and_zero_weights_stay_zero() -> None:
    x = np.array([[0.0, 0.0, 0.4], [0.0, 0.0, 0.1]])
    one_demand = fit_calibration(x, np.array([True, False]), ["D1", "D1"], LEXICAL_ONLY_FUSION, "lexical")
    assert one_demand.source == "default" and one_demand.fusion == LEXICAL_ONLY_FUSION
    one_class = fit_calibration(x, np.array([True, True]), ["D1", "D2"], LEXICAL_ONLY_FUSION, "lexical")
    assert one_class.source == "default" and one_class.folds == 0
    x, y, g = _hidden_rule(0)
    lexical_only = fit_calibration(x, y, g, LEXICAL_ONLY_FUSION, "lexical")
    # one active feature that the verdicts contradict: the only "better" refit is weight 0 (all scores tie)
    assert lexical_only.source == "default" and "ignores every feature" in lexical_only.reason


def test_json_round_trip_and_one_line_errors() -> None:
    x, y, g = _hidden_rule(0)
    cal = fit_calibration(x, y, g, DEFAULT_FUSION, "e5-small")
    doc = calibration_to_json(cal)
    assert doc["source"] == "refit" and doc["rejected"] == 80
    assert set(doc["figures"]["held_out"]["before"]) == {"pairwise", "auc", "log_loss", "ndcg"}
    assert fusion_from_json(doc, "e5-small") == cal.fusion
    with pytest.raises(ValueError, match='"model"'):
        fusion_from_json(doc, "lexical")
    with pytest.raises(ValueError, match='"format"'):
        fusion_from_json({"fusion": {}}, "e5-small")
    bad = {**doc, "fusion": {**doc["fusion"], "lexical": -1.0}}
    with pytest.raises(ValueError, match='"fusion.lexical"'):
        fusion_from_json(bad, "e5-small")
    bad = {**doc, "fusion": {**doc["fusion"], "bias": "x"}}
    with pytest.raises(ValueError, match='"fusion.bias"'):
        fusion_from_json(bad, "e5-small")
    assert isinstance(cal, Calibration)


def test_parse_feedback_later_verdict_wins() -> None:
    recs = [(1, {"demand_id": "D1", "profile_id": "T1", "verdict": "rejected"}),
            (2, {"demand_id": "D1", "profile_id": "T2", "verdict": "accepted", "note": "ok"}),
            (3, {"demand_id": "D1", "profile_id": "T1", "verdict": "accepted"})]
    got = parse_feedback(recs, "f.jsonl", ["D1"], ["T1", "T2"])
    assert [(v.profile_id, v.accepted) for v in got] == [("T2", True), ("T1", True)]


def test_parse_feedback_normalises_ids_as_the_readers_do() -> None:
    """Full-width ``Ｄ１`` / ``Ｔ００１`` and surrounding spaces name the records the readers stored as D1 / T001."""
    recs = [(1, {"demand_id": "Ｄ１", "profile_id": "Ｔ００１", "verdict": "accepted"}),
            (2, {"demand_id": " D1 ", "profile_id": "T002", "verdict": "rejected"}),
            (3, {"demand_id": "D1", "profile_id": "T001", "verdict": "rejected"})]  # the same pair as line 1
    got = parse_feedback(recs, "f.jsonl", ["D1"], ["T001", "T002"])
    assert got == [Verdict("D1", "T002", False), Verdict("D1", "T001", False)]


@pytest.mark.parametrize(("obj", "field"), [
    ({"demand_id": "D9", "profile_id": "T1", "verdict": "accepted"}, "demand_id"),
    ({"demand_id": "D1", "profile_id": "X", "verdict": "accepted"}, "profile_id"),
    ({"demand_id": "D1", "profile_id": "T1", "verdict": "maybe"}, "verdict"),
    ({"demand_id": "D1", "verdict": "accepted"}, "profile_id"),
    ({"demand_id": 5, "profile_id": "T1", "verdict": "accepted"}, "demand_id"),
    ({"demand_id": "D/1", "profile_id": "T1", "verdict": "accepted"}, "demand_id"),
    ({"demand_id": "D1", "profile_id": "T\u200b1", "verdict": "accepted"}, "profile_id"),
    (["D1", "T1"], None),
])
def test_parse_feedback_names_file_line_and_field(obj, field) -> None:
    recs = [(1, {"demand_id": "D1", "profile_id": "T1", "verdict": "accepted"}), (4, obj)]
    with pytest.raises(RecordError) as exc:
        parse_feedback(recs, "f.jsonl", ["D1"], ["T1"])
    assert (exc.value.file, exc.value.line, exc.value.field) == ("f.jsonl", 4, field)
    assert "\n" not in str(exc.value)


PROFILES = [
    Profile(id="T1", keywords=("机器视觉",), documents=(Document(title="注塑件缺陷的机器视觉检测", text="识别缺陷", year=2023),)),
    Profile(id="T2", keywords=("发酵",), documents=(Document(title="红茶发酵工艺", text="发酵温度", year=2021),)),
]


def test_pair_features_are_the_scorers_features_at_the_pairs() -> None:
    s = MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder()).fit(PROFILES)
    demands = [Demand(id="D1", title="注塑件缺陷检测"), Demand(id="D2", title="红茶发酵")]
    f = s.features(demands)
    x = pair_features(f, [0, 1, 1], [0, 0, 1])
    assert x.shape == (3, 3)
    np.testing.assert_array_equal(x[:, 0], f.dense[[0, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(x[:, 2], f.lexical[[0, 1, 1], [0, 0, 1]])
    # the fusion's logits at the pairs give exactly the scorer's scores
    np.testing.assert_allclose(1 / (1 + np.exp(-logits(s.fusion_, x))), s.fuse(f)[[0, 1, 1], [0, 0, 1]])
    lex = MatchScorer(Tokenizer(char_ngrams=2)).fit(PROFILES)
    assert np.all(pair_features(lex.features(demands), [0], [1])[:, :2] == 0)


def test_a_calibrated_fusion_is_what_the_scorer_uses() -> None:
    fusion = Fusion(bias=-1.0, dense=2.0, centroid=0.0, lexical=0.0)
    s = MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder(), fusion=fusion).fit(PROFILES)
    demands = [Demand(id="D1", title="注塑件缺陷检测")]
    f = s.features(demands)
    np.testing.assert_allclose(s.score(demands), 1 / (1 + np.exp(-(-1.0 + 2.0 * f.dense))))
