"""The fast scores-file writer (``scoring.score_texts`` / ``score_lines``) against the
reference path it replaces: ``json.dumps(matches_to_json(dm, req))`` of a full ranking."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from xfd.api.cli import main, scoring
from xfd.corpora import demo_path
from xfd.matching.readers import read_demands, read_profiles
from xfd.models.pipeline import make_scorer


def _reference(values: list[float]) -> list[str]:
    return [json.dumps(round(v, scoring.SCORE_DECIMALS)) for v in values]


def test_score_texts_equal_python_round_and_json() -> None:
    rng = np.random.default_rng(0)
    k = rng.integers(0, 10**6, 2000)
    values = np.concatenate([
        rng.random(20000),
        (k + 0.5) / 1e6,  # halves: the product x * 1e6 may tip either way
        np.nextafter((k + 0.5) / 1e6, 0), np.nextafter((k + 0.5) / 1e6, 1),
        [0.0, 1.0, -0.0, 1e-7, 4.9e-7, 5e-7, 5.1e-7, 1e-6, 5e-5, 1.23e-5, 1e-4, 0.9999995, 0.99999949, 0.1, 0.25,
         2.5, 1234.5678905, -0.0000005, 1e300],
    ])
    assert scoring.score_texts(values) == _reference(values.tolist())
    assert scoring.score_texts(np.zeros(0)) == []


def test_score_texts_refuse_nan() -> None:
    with pytest.raises(ValueError, match="JSON"):
        scoring.score_texts(np.array([0.5, np.nan]))


@pytest.fixture(scope="module")
def demo():
    profiles = read_profiles(demo_path("profiles.jsonl"))
    # a copy of the first profile under another id: equal scores, so ties are ordered by profile order
    profiles = [*profiles[:5], replace(profiles[0], id="T-copy"), *profiles[5:120]]
    demands = read_demands(demo_path("demands.jsonl"))[:12]
    return make_scorer("lexical").fit(profiles), profiles, demands


@pytest.mark.parametrize(("top_k", "evidence"), [(0, 3), (0, 0), (4, 10), (7, 7), (0, 200)])
def test_score_lines_equal_the_full_ranking(demo, top_k: int, evidence: int) -> None:
    scorer, profiles, demands = demo
    full = scorer.rank(demands, top_k=top_k, evidence=evidence)
    raw = np.empty((len(demands), len(profiles)))
    listed = len(profiles) if top_k == 0 else min(top_k, len(profiles))
    head = scorer.rank(demands, top_k=max(1, min(listed, evidence)), scores_out=raw, evidence=evidence)
    required = scorer.required_disciplines(demands, raw)
    done: list[int] = []
    lines = list(scoring.score_lines(head, raw, [p.id for p in profiles], required, top_k, done.append))
    expected = [json.dumps(scoring.matches_to_json(dm, req), ensure_ascii=False) for dm, req in zip(full, required)]
    assert lines == expected and len(done) == len(demands)
    first = json.loads(lines[0])["matches"]
    assert len(first) == listed
    assert sum(bool(m["evidence"]) for m in first) <= min(evidence, listed)
    ties = [m["profile_id"] for m in json.loads(lines[0])["matches"] if m["profile_id"] in (profiles[0].id, "T-copy")]
    if top_k == 0:
        assert ties == [profiles[0].id, "T-copy"]


def test_xfd_score_output_equals_the_reference(tmp_path, demo) -> None:
    """The command end to end: the file is byte for byte the reference serialisation."""
    from xfd.matching.writers import write_jsonl_atomic

    scorer, profiles, demands = demo
    pp, dp, out = tmp_path / "p.jsonl", tmp_path / "d.jsonl", tmp_path / "s.jsonl"
    write_jsonl_atomic(pp, profiles)
    write_jsonl_atomic(dp, demands)
    assert main(["score", "--profiles", str(pp), "--demands", str(dp), "--out", str(out), "--model", "lexical",
                 "--top-k", "0", "--evidence", "2"]) == 0
    fitted = make_scorer("lexical").fit(read_profiles(pp))
    again = read_demands(dp)
    raw = fitted.score(again)
    full = fitted.rank(again, top_k=0, evidence=2)
    required = fitted.required_disciplines(again, raw)
    expected = "".join(json.dumps(scoring.matches_to_json(dm, req), ensure_ascii=False) + "\n"
                       for dm, req in zip(full, required))
    assert out.read_text(encoding="utf-8") == expected
