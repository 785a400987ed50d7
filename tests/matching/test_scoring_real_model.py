"""``xfd score`` with the default model (multilingual e5-small + MiniLM for English pairs)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xfd.api.cli import main

pytestmark = pytest.mark.slow

PROFILES = [
    {"id": "T1", "documents": [{"title": "基于卷积神经网络的钢板表面缺陷检测", "text": "提出一种轻量级网络用于热轧钢板表面缺陷的实时识别。"}]},
    {"id": "T2", "documents": [{"title": "茶叶萎凋与发酵工艺对红茶品质的影响", "text": "研究了不同发酵温度下茶黄素含量的变化。"}]},
    {"id": "T3", "documents": [{"title": "Graph neural networks for traffic forecasting",
                                "text": "We model road sensors as a graph and predict traffic speed with spatio-temporal convolutions."}]},
    {"id": "T4", "documents": [{"title": "Enzymatic hydrolysis of soybean protein",
                                "text": "We optimise protease dosage and temperature to improve peptide yield."}]},
]
DEMANDS = [
    {"id": "D1", "title": "冷轧钢卷表面划痕自动识别", "description": "人工目检效率低，希望用视觉算法自动发现钢卷表面的划痕和凹坑。"},
    {"id": "D2", "title": "Predicting congestion on city roads",
     "description": "We need short-term forecasts of traffic flow from loop detectors."},
    {"id": "D3", "title": "红茶发酵程度控制", "description": "发酵时间凭经验掌握，成品茶汤颜色不稳定。"},
]


def test_default_model_ranks_the_right_profile_first(tmp_path: Path) -> None:
    p, d, out = tmp_path / "p.jsonl", tmp_path / "d.jsonl", tmp_path / "s.jsonl"
    p.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in PROFILES), encoding="utf-8")
    d.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in DEMANDS), encoding="utf-8")
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--top-k", "0"]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [ln["matches"][0]["profile_id"] for ln in lines] == ["T1", "T3", "T2"]
    for ln in lines:
        assert len(ln["matches"]) == 4
        assert all(0.0 <= m["score"] <= 1.0 for m in ln["matches"])
