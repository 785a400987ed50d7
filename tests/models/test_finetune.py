"""Top-layer fine-tuning and its delta file (``xfd.models.finetune``), on a tiny random BERT."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from xfd.models import finetune as ft


def tiny_bert(seed: int = 0, layers: int = 3) -> BertModel:
    """A 3-layer, 16-dimensional BERT with random weights (deterministic for ``seed``)."""
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=64, pad_token_id=0)
    return BertModel(cfg, add_pooling_layer=False).eval()


def token_ids(n: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [[1, *rng.integers(3, 50, size=int(rng.integers(2, 12))).tolist(), 2] for _ in range(n)]


def mean_pooled(bert: BertModel, ids: list[list[int]]) -> np.ndarray:
    """Reference: the full model, one text at a time, mean over tokens, unit rows."""
    out = []
    with torch.no_grad():
        for row in ids:
            h = bert(input_ids=torch.tensor([row])).last_hidden_state[0]
            out.append(torch.nn.functional.normalize(h.mean(0), dim=0).numpy())
    return np.stack(out)


def test_bottom_then_top_equals_the_full_model() -> None:
    bert, ids = tiny_bert(), token_ids(9, 1)
    for n_top in (0, 1, 2):
        got = ft.encode_states(bert, n_top, ft.bottom_states(bert, ids, n_top, batch=4), batch=3)
        assert np.abs(got - mean_pooled(bert, ids)).max() < 2e-3  # float16 bottom states
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_info_nce_masks_rows_of_the_same_group() -> None:
    q = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), dim=1)
    p = q.clone()
    # with rows 0 and 2 of one group, each only competes with row 1
    loss = ft.info_nce_loss(q, p, ["a", "b", "a"], 1.0)
    s = (q @ p.T).numpy()
    want = []
    for m in (s, s.T):
        for i, others in ((0, [0, 1]), (1, [0, 1, 2]), (2, [1, 2])):
            want.append(-(m[i, i] - np.log(np.exp(m[i, others]).sum())))
    assert float(loss) == pytest.approx(np.mean(want), abs=1e-6)


def train_tiny(seed: int = 0) -> tuple[BertModel, ft.TrainResult]:
    bert = tiny_bert()
    settings = ft.FinetuneSettings(layers=1, epochs=3, batch=4, lr=1e-3, seed=seed)
    p_ids, q_ids = token_ids(12, 2), token_ids(24, 3)
    passages = ft.bottom_states(bert, p_ids, 1)
    q_states = ft.bottom_states(bert, q_ids, 1)
    queries = [[q_states[2 * i], q_states[2 * i + 1]] for i in range(12)]
    return bert, ft.train_top(bert, queries, passages, [f"g{i}" for i in range(12)], settings)


def test_training_changes_only_the_top_layers_and_the_delta_is_deterministic() -> None:
    base = dict(tiny_bert().named_parameters())
    bert, res = train_tiny()
    assert sorted(res.delta.tensors) == sorted(k for k in base if k.startswith("encoder.layer.2."))
    for k, v in bert.named_parameters():
        same = torch.equal(v, base[k])
        assert same != k.startswith("encoder.layer.2."), k
    assert all(d.dtype == np.float16 for d in res.delta.tensors.values())
    assert res.losses[-1] < res.losses[0]
    assert train_tiny()[1].delta.digest == res.delta.digest
    assert train_tiny(seed=1)[1].delta.digest != res.delta.digest


def test_delta_file_round_trip_and_application(tmp_path) -> None:
    trained, res = train_tiny()
    path = tmp_path / "delta.npz"
    ft.save_delta(res.delta, path, provenance={"built_by": "test"})
    back = ft.load_delta(path)
    assert back.digest == res.delta.digest and back.meta["built_by"] == "test"
    a, b = tiny_bert(), tiny_bert()
    ft.apply_delta(a, back)
    ft.apply_delta(b, ft.load_delta(path))
    for (k, va), (_, vb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(va, vb), k  # the same base and file give the same bytes
    want = dict(trained.named_parameters())
    for k, v in a.named_parameters():  # base + float16 delta is the trained weight up to float16 rounding
        assert torch.allclose(v, want[k], atol=1e-3), k


def test_delta_that_does_not_fit_the_model_is_refused(tmp_path) -> None:
    bert = tiny_bert()
    before = {k: v.clone() for k, v in bert.named_parameters()}
    bad = ft.Delta({"encoder.layer.0.output.dense.bias": np.zeros(16, np.float16),
                    "encoder.layer.9.output.dense.bias": np.zeros(16, np.float16)})
    with pytest.raises(ft.DeltaFileError, match="layer.9"):
        ft.apply_delta(bert, bad, source="x.npz")
    with pytest.raises(ft.DeltaFileError, match="shape"):
        ft.apply_delta(bert, ft.Delta({"encoder.layer.0.output.dense.bias": np.zeros(3, np.float16)}))
    assert all(torch.equal(v, before[k]) for k, v in bert.named_parameters())
    with pytest.raises(ft.DeltaFileError, match="not found"):
        ft.load_delta(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ft.DeltaFileError, match="unreadable"):
        ft.load_delta(tmp_path / "junk.npz")


# --------------------------------------------------------------------------- the model folder built from a delta


def tiny_delta(model_dir, seed: int = 0) -> ft.Delta:
    """A delta for the tiny SentenceTransformer's only layer, trained on a few hand-made pairs."""
    from sentence_transformers import SentenceTransformer

    from xfd.models.finetune_build import train_delta

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    passages = ["一二三四五六七八", "九十百千万亿兆京", "甲乙丙丁戊己庚辛", "东南西北中上下左"]
    queries = ["一二三", "九十百", "甲乙丙", "东南西"]
    return train_delta(model, queries, passages, ["a", "b", "c", "d"],
                       ft.FinetuneSettings(layers=1, epochs=2, batch=4, lr=1e-3, seed=seed))


def test_finetuned_folder_is_base_plus_delta_and_byte_identical(tmp_path) -> None:
    import json

    from sentence_transformers import SentenceTransformer

    from tests.api.multi_instance import tiny_sentence_model

    base = tiny_sentence_model(tmp_path / "models" / "tiny")
    (base / "xfd_build.json").write_text(json.dumps({"builder": "test"}), encoding="utf-8")
    delta = tiny_delta(base)
    assert delta.digest == tiny_delta(base).digest
    target = ft.finetuned_dir(base, delta)
    assert target.name == f"tiny-ft{delta.digest}"
    assert ft.ensure_finetuned(base, delta, progress=False) == target
    again = ft.build_finetuned(base, delta, tmp_path / "models" / "again")
    assert (target / "model.safetensors").read_bytes() == (again / "model.safetensors").read_bytes()
    assert json.loads((target / "xfd_build.json").read_text())["finetune_delta"] == delta.digest
    want = dict(SentenceTransformer(str(base), device="cpu")[0].auto_model.named_parameters())
    got = dict(SentenceTransformer(str(target), device="cpu")[0].auto_model.named_parameters())
    for k, v in got.items():
        d = delta.tensors.get(k)
        expect = want[k] if d is None else want[k] + torch.from_numpy(d.astype(np.float32))
        assert torch.equal(v, expect), k


def test_discipline_pairs_change_the_delta_deterministically(tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    from tests.api.multi_instance import tiny_sentence_model
    from xfd.models.finetune_build import train_delta

    base = tiny_sentence_model(tmp_path / "models" / "tiny")
    passages = ["一二三四五六七八", "九十百千万亿兆京", "甲乙丙丁戊己庚辛", "东南西北中上下左"]
    settings = ft.FinetuneSettings(layers=1, epochs=2, batch=4, lr=1e-3)
    disc = {"a": "x", "b": "x", "c": "y", "d": "y"}

    def delta(disciplines):
        model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
        return train_delta(model, ["一二三", "九十百", "甲乙丙", "东南西"], passages, list("abcd"), settings, disciplines)

    with_disc = delta(disc)
    assert with_disc.digest == delta(disc).digest != delta(None).digest
