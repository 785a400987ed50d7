"""Training pairs for the e5 adapter, and the adapter hook of models/pipeline.py."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from xfd.matching.adapter import AdaptedEncoder, identity_adapter, save_adapter
from xfd.matching.encoders import HashingEncoder
from xfd.matching.registry import UnknownNameError
from xfd.models import adapter_build, pipeline

ABSTRACT = "本文研究了高强度钢在海洋环境下的腐蚀行为，提出了一种新的涂层防护方法并进行了实验验证。"


def write_data(root):
    with open(root / adapter_build.CSL_FILE, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "split", "title", "abstract", "keywords", "discipline", "category"])
        w.writeheader()
        w.writerow({"id": "c1", "split": "dev", "title": "海洋钢材腐蚀防护", "abstract": ABSTRACT,
                    "keywords": "腐蚀;涂层; 海洋环境", "discipline": "材料科学与工程", "category": "工学"})
        w.writerow({"id": "c2", "split": "dev", "title": "短", "abstract": ABSTRACT,
                    "keywords": "", "discipline": "材料科学与工程", "category": "工学"})
    rows = [{"id": "cg1", "name": "智能水质监测仪", "context": "基于光谱传感器的水质在线监测设备，可实时检测多项指标。"},
            {"id": "cg2", "name": "空壳", "context": "   "}]
    (root / adapter_build.ACHIEVEMENTS_FILE).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows),
                                                        encoding="utf-8")
    (root / adapter_build.DEMANDS_FILE).write_text(json.dumps(rows[0] | {"id": "xq1"}, ensure_ascii=False),
                                                   encoding="utf-8")


def test_pairs_from_each_source(tmp_path):
    write_data(tmp_path)
    p = adapter_build.read_pairs(tmp_path)
    # c1: title and keywords; c2: title too short, keywords empty; cg2: blank text
    assert p.queries == ["海洋钢材腐蚀防护", "腐蚀；涂层；海洋环境", "智能水质监测仪", "智能水质监测仪"]
    assert p.passages[:2] == [ABSTRACT, ABSTRACT]
    assert p.group == ["c1", "c1", "cg1", "xq1"]
    assert p.source == ["csl", "csl", "achievements", "demands"]
    only = adapter_build.read_pairs(tmp_path, ["achievements"])
    assert only.group == ["cg1"]
    with pytest.raises(ValueError, match="unknown pair source 'nsfc'; valid: csl, achievements, demands"):
        adapter_build.read_pairs(tmp_path, ["nsfc"])


def test_encode_pairs_shapes(tmp_path):
    write_data(tmp_path)
    q, p = adapter_build.encode_pairs(HashingEncoder(dim=16), adapter_build.read_pairs(tmp_path))
    assert q.shape == p.shape == (4, 16) and q.dtype == np.float32


def test_raw_name_is_valid_and_unknown_names_list_it():
    pipeline.check_model("e5-small-raw")
    with pytest.raises(UnknownNameError) as info:
        pipeline.check_model("e5-small-adapterless")
    assert "e5-small-raw" in info.value.valid and "e5-small" in info.value.valid
    assert "e5-small-raw" not in pipeline.ADAPTERS


def test_hook_wraps_only_the_named_model(monkeypatch, tmp_path):
    enc = HashingEncoder(dim=8)
    assert pipeline.adapted("e5-small-raw", enc) is enc
    import xfd.corpora

    save_adapter(identity_adapter(8), tmp_path / "a.npz")
    monkeypatch.setattr(xfd.corpora, "corpus_path", lambda name: tmp_path / name)
    monkeypatch.setattr(pipeline, "ADAPTERS", {"e5-small": "a.npz"})
    got = pipeline.adapted("e5-small", enc)
    assert isinstance(got, AdaptedEncoder) and got.encoder is enc
    np.testing.assert_allclose(got.encode(["腐蚀 涂层"]), enc.encode(["腐蚀 涂层"]), atol=1e-3)
    monkeypatch.setattr(pipeline, "ADAPTERS", {"e5-small": "missing.npz"})
    with pytest.raises(ValueError, match="missing.npz"):
        pipeline.adapted("e5-small", enc)


def test_shipped_adapter_loads_and_is_small():
    from xfd.corpora import corpus_path
    from xfd.matching.adapter import load_adapter

    path = corpus_path("e5_adapter.npz")  # kept for --adapter; the default model may go without it
    assert path.stat().st_size < 2 * 1024 * 1024
    a = load_adapter(path)
    assert (a.dim, a.out_dim) == (384, 384)
    assert a.meta["sources"] == list(adapter_build.DEFAULT_SOURCES)
    assert a.meta["settings"]["l2"] == adapter_build.DEFAULT_SETTINGS.l2
    enc = AdaptedEncoder(HashingEncoder(dim=384), a)
    v = enc.encode(["海洋 腐蚀 涂层", ""], "query")
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), [1.0, 0.0], atol=1e-5)
