"""``xfd calibrate`` and ``--calibration`` on ``xfd score`` / ``xfd assign`` (lexical model, or a fake encoder)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.api.cli.test_score import DEMANDS, PROFILES
from xfd.api.cli import main
from xfd.matching.scoring import LEXICAL_ONLY_FUSION

FEEDBACK = [
    {"demand_id": "D1", "profile_id": "T1", "verdict": "accepted"},
    {"demand_id": "D1", "profile_id": "T2", "verdict": "rejected"},
    {"demand_id": "D2", "profile_id": "T2", "verdict": "accepted"},
    {"demand_id": "D2", "profile_id": "S1", "verdict": "rejected"},
]


def _write(path: Path, rows: list) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    return {"p": _write(tmp_path / "p.jsonl", PROFILES), "d": _write(tmp_path / "d.jsonl", DEMANDS),
            "f": _write(tmp_path / "f.jsonl", FEEDBACK), "cal": tmp_path / "cal.json", "s": tmp_path / "s.jsonl",
            "tmp": tmp_path}


def _calibrate(files: dict[str, Path], feedback: Path | None = None, model: str = "lexical") -> int:
    return main(["calibrate", "--profiles", str(files["p"]), "--demands", str(files["d"]),
                 "--feedback", str(feedback or files["f"]), "--out", str(files["cal"]), "--model", model])


def _scores(files: dict[str, Path], *extra: str) -> dict[tuple[str, str], float]:
    assert main(["score", "--profiles", str(files["p"]), "--demands", str(files["d"]), "--out", str(files["s"]),
                 "--model", "lexical", "--top-k", "0", *extra]) == 0
    lines = [json.loads(x) for x in files["s"].read_text(encoding="utf-8").splitlines()]
    return {(ln["demand_id"], m["profile_id"]): m["score"] for ln in lines for m in ln["matches"]}


def test_calibrate_writes_the_document_and_score_accepts_it(files) -> None:
    assert _calibrate(files) == 0
    doc = json.loads(files["cal"].read_text(encoding="utf-8"))
    assert doc["model"] == "lexical" and doc["verdicts"] == 4 and doc["accepted"] == 2 and doc["demands"] == 2
    # the default already orders these verdicts perfectly: nothing to gain, the default is kept
    assert doc["source"] == "default" and doc["fusion"] == LEXICAL_ONLY_FUSION._asdict()
    assert doc["figures"]["held_out"]["before"]["pairwise"] == 1.0
    assert _scores(files, "--calibration", str(files["cal"])) == _scores(files)


def test_score_and_assign_use_the_calibrated_fusion(files) -> None:
    base = _scores(files)
    fusion = {"bias": 0.5, "dense": 0.0, "centroid": 0.0, "lexical": 30.0}
    files["cal"].write_text(json.dumps({"format": "xfd-calibration", "version": 1, "model": "lexical",
                                        "source": "refit", "fusion": fusion}), encoding="utf-8")
    got = _scores(files, "--calibration", str(files["cal"]))
    d = LEXICAL_ONLY_FUSION
    unsaturated = {pair: s for pair, s in base.items() if 1e-3 < s < 0.999}
    assert len(unsaturated) >= 3
    for pair, s in unsaturated.items():  # known answer: recover the lexical feature from the default score
        lex = (math.log(s / (1 - s)) - d.bias) / d.lexical
        assert got[pair] == pytest.approx(1 / (1 + math.exp(-(0.5 + 30.0 * lex))), abs=1e-3)
    assert got != base
    plan_path = files["tmp"] / "plan.json"
    assert main(["assign", "--profiles", str(files["p"]), "--demands", str(files["d"]), "--out", str(plan_path),
                 "--model", "lexical", "--calibration", str(files["cal"])]) == 0
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    members = [(t["demand_id"], m["profile_id"], m["score"]) for t in plan["teams"] for m in t["members"]]
    assert members and all(got[(dm, pm)] == pytest.approx(s, abs=1e-6) for dm, pm, s in members)


@pytest.mark.parametrize(("line", "field"), [
    ({"demand_id": "D9", "profile_id": "T1", "verdict": "accepted"}, "demand_id"),
    ({"demand_id": "D1", "profile_id": "NOPE", "verdict": "rejected"}, "profile_id"),
    ({"demand_id": "D1", "profile_id": "T1", "verdict": "ok"}, "verdict"),
])
def test_malformed_feedback_is_a_one_line_error_naming_file_line_field(files, capsys, line, field) -> None:
    bad = _write(files["tmp"] / "bad.jsonl", [*FEEDBACK[:2], line])
    assert _calibrate(files, bad) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "bad.jsonl" in err and "line 3" in err and f'"{field}"' in err
    assert not files["cal"].exists()


def test_unreadable_feedback_and_bad_calibration_files(files, capsys) -> None:
    broken = files["tmp"] / "broken.jsonl"
    broken.write_text('{"demand_id": "D1"\n', encoding="utf-8")
    assert _calibrate(files, broken) == 2 and not files["cal"].exists()
    assert _calibrate(files, files["tmp"] / "missing.jsonl") == 2 and not files["cal"].exists()
    capsys.readouterr()
    out = ["score", "--profiles", str(files["p"]), "--demands", str(files["d"]), "--out", str(files["s"])]
    assert main([*out, "--model", "lexical", "--calibration", str(files["tmp"] / "none.json")]) == 2
    assert "--calibration" in capsys.readouterr().err
    files["cal"].write_text("not json", encoding="utf-8")
    assert main([*out, "--model", "lexical", "--calibration", str(files["cal"])]) == 2
    assert _calibrate(files) == 0
    doc = json.loads(files["cal"].read_text(encoding="utf-8"))
    _write(files["cal"], [{**doc, "model": "e5-small"}])
    capsys.readouterr()
    assert main([*out, "--model", "lexical", "--calibration", str(files["cal"])]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and '"model"' in err and "e5-small" in err
    assert not files["s"].exists()


def test_pair_features_over_batches_equal_the_scorers(files) -> None:
    from xfd.api.cli.calibrate import _pairs
    from xfd.matching.calibration import Verdict
    from xfd.matching.encoders import HashingEncoder
    from xfd.matching.readers import read_demands, read_profiles
    from xfd.matching.scoring import MatchScorer
    from xfd.matching.text import Tokenizer

    profiles, demands = read_profiles(files["p"]), read_demands(files["d"])
    s = MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder(), batch=1).fit(profiles)
    verdicts = [Verdict("D2", "T2", True), Verdict("D1", "S1", False), Verdict("D2", "T1", False)]
    x, base = _pairs(s, demands, profiles, verdicts)
    f = s.features(demands)
    want = np.array([[f.dense[i, j], f.centroid[i, j], f.lexical[i, j]] for i, j in ((1, 1), (0, 2), (1, 0))])
    np.testing.assert_allclose(x, want, rtol=1e-6)  # float32 vectors, batch of 1 vs 2
    # full rankings of the demands with verdicts, first seen first (D2, D1): the default logits
    z = s.fusion_.bias + s.fusion_.terms(f)
    np.testing.assert_allclose(base, z[[1, 0]], rtol=1e-6)


def test_real_calibrate_then_score_uses_the_verdict_memory(tmp_path: Path) -> None:
    """Two profiles the scorer cannot tell apart; the office sends tea demands to P1 and moulding
    demands to P2.  ``xfd calibrate`` keeps a verdict memory; ``xfd score --calibration`` ranks new
    demands of each kind accordingly, and without it the two profiles tie."""
    doc = {"title": "机器学习模型", "text": "机器学习方法", "kind": "paper"}
    profiles = [{"id": "P1", "documents": [doc]}, {"id": "P2", "documents": [doc]}]
    tea = ["红茶发酵工艺", "红茶萎凋发酵", "绿茶杀青发酵", "红茶发酵温度控制", "茶叶发酵车间", "红茶发酵湿度", "茶叶萎凋工艺",
           "红茶发酵品质"]
    mould = ["注塑模具缺陷", "注塑件飞边缺陷", "模具冷却注塑", "注塑模具温度", "注塑成型缺陷", "模具浇口注塑", "注塑件缩痕",
             "注塑模具寿命"]
    demands = [{"id": f"A{i}", "title": t} for i, t in enumerate(tea)] + [{"id": f"B{i}", "title": t}
                                                                         for i, t in enumerate(mould)]
    feedback = [{"demand_id": d["id"], "profile_id": p, "verdict": v} for d in demands
                for p, v in ((("P1", "accepted"), ("P2", "rejected")) if d["id"][0] == "A"
                             else (("P2", "accepted"), ("P1", "rejected")))]
    new = [{"id": "N1", "title": "红茶发酵设备"}, {"id": "N2", "title": "注塑模具设计"}]
    p, d, f, n = (_write(tmp_path / f"{k}.jsonl", rows) for k, rows in
                  (("p", profiles), ("d", demands), ("f", feedback), ("n", new)))
    cal, out = tmp_path / "cal.json", tmp_path / "s.jsonl"
    assert main(["calibrate", "--profiles", str(p), "--demands", str(d), "--feedback", str(f), "--out", str(cal),
                 "--model", "lexical"]) == 0
    doc_cal = json.loads(cal.read_text(encoding="utf-8"))
    assert doc_cal["source"] == "memory", doc_cal["reason"]
    assert len(doc_cal["memory"]["items"]) == 16 and doc_cal["memory"]["accepted"] > 0

    def scores(*extra: str) -> dict[tuple[str, str], float]:
        assert main(["score", "--profiles", str(p), "--demands", str(n), "--out", str(out), "--model", "lexical",
                     "--top-k", "0", *extra]) == 0
        lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        return {(ln["demand_id"], m["profile_id"]): m["score"] for ln in lines for m in ln["matches"]}

    plain, calibrated = scores(), scores("--calibration", str(cal))
    assert plain[("N1", "P1")] == plain[("N1", "P2")] and plain[("N2", "P1")] == plain[("N2", "P2")]
    assert calibrated[("N1", "P1")] > calibrated[("N1", "P2")]
    assert calibrated[("N2", "P2")] > calibrated[("N2", "P1")]


def test_full_width_feedback_ids_name_the_normalised_records(files) -> None:
    """The readers store ``Ｄ１`` as D1: feedback naming ``Ｄ１`` / ``Ｔ１`` is about D1 / T1 (not "unknown id")."""
    _write(files["d"], [{**DEMANDS[0], "id": "Ｄ１"}, DEMANDS[1]])
    wide = _write(files["tmp"] / "wide.jsonl", [{**f, "demand_id": f["demand_id"].replace("D1", "Ｄ１"),
                                                 "profile_id": f["profile_id"].replace("T1", "Ｔ１")} for f in FEEDBACK])
    assert _calibrate(files, wide) == 0
    doc = json.loads(files["cal"].read_text(encoding="utf-8"))
    assert doc["verdicts"] == 4 and doc["demands"] == 2


def test_an_unwritable_out_is_one_line_and_nothing_is_learnt(files, capsys) -> None:
    (files["tmp"] / "afile").write_text("x", encoding="utf-8")
    for bad in [files["tmp"] / "afile" / "c.json", *([Path("/proc/c.json")] if Path("/proc/self").is_dir() else [])]:
        files["cal"] = bad
        assert _calibrate(files) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [err[0]] and err[0].startswith(f"xfd: 错误 error: --out {bad}: ")
