"""The embedding cache: each (encoder, role, text) is encoded once, results unchanged."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from xfd.matching.encoders import Encoder, HashingEncoder
from xfd.models.cache import CachedEncoder, CacheKey, EmbeddingCache, text_sha256


class CountingEncoder:
    """Wraps an encoder and records every text it is asked to encode."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.calls: list[list[str]] = []

    @property
    def n_encoded(self) -> int:
        return sum(len(c) for c in self.calls)

    def encode(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        self.calls.append(list(texts))
        return self.inner.encode(texts, role)


TEXTS = ["机器视觉缺陷检测", "土壤盐碱化治理", "deep learning for images", "机器视觉缺陷检测", ""]


def test_counting_encoder_is_an_encoder() -> None:
    assert isinstance(CountingEncoder(HashingEncoder()), Encoder)
    assert isinstance(CachedEncoder(HashingEncoder()), Encoder)


def test_second_call_encodes_nothing(tmp_path) -> None:
    inner = CountingEncoder(HashingEncoder())
    enc = CachedEncoder(inner, EmbeddingCache(tmp_path / "emb.sqlite"))
    first = enc.encode(TEXTS)
    assert inner.n_encoded == 4  # duplicate encoded once
    assert len(inner.calls) == 1  # one batched call
    second = enc.encode(TEXTS)
    assert inner.n_encoded == 4
    np.testing.assert_array_equal(first, second)


def test_mixed_call_encodes_only_new_texts(tmp_path) -> None:
    inner = CountingEncoder(HashingEncoder())
    enc = CachedEncoder(inner, EmbeddingCache(tmp_path / "emb.sqlite"))
    enc.encode(TEXTS[:2])
    got = enc.encode(["新的文本", TEXTS[1], "新的文本", TEXTS[0], "another new one"])
    assert inner.calls[-1] == ["新的文本", "another new one"]
    np.testing.assert_array_equal(got, HashingEncoder().encode(["新的文本", TEXTS[1], "新的文本", TEXTS[0], "another new one"]))


def test_results_identical_to_uncached_in_input_order(tmp_path) -> None:
    plain = HashingEncoder()
    enc = CachedEncoder(CountingEncoder(HashingEncoder()), EmbeddingCache(tmp_path / "emb.sqlite"))
    texts = [f"文本{i % 7} sample {i % 5}" for i in range(40)]
    for role in ("query", "passage"):
        want = plain.encode(texts, role)
        np.testing.assert_array_equal(enc.encode(texts, role), want)
        np.testing.assert_array_equal(enc.encode(texts[::-1], role), want[::-1])
    out = enc.encode(TEXTS)
    assert out.dtype == np.float32 and out.shape == (5, 64)
    assert not out[4].any()  # empty text -> zero row
    assert enc.encode([]).shape == (0, 64)


def test_persists_across_instances(tmp_path) -> None:
    path = tmp_path / "emb.sqlite"
    a = CountingEncoder(HashingEncoder())
    want = CachedEncoder(a, EmbeddingCache(path)).encode(TEXTS, "query")
    b = CountingEncoder(HashingEncoder())
    got = CachedEncoder(b, EmbeddingCache(path)).encode(TEXTS, "query")
    assert b.n_encoded == 0
    np.testing.assert_array_equal(got, want)
    # a different role is a different key
    CachedEncoder(b, EmbeddingCache(path)).encode(TEXTS[:1], "passage")
    assert b.n_encoded == 1


def test_encoder_names_do_not_collide(tmp_path) -> None:
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    small = CountingEncoder(HashingEncoder(dim=16, name="model-a"))
    big = CountingEncoder(HashingEncoder(dim=32, name="model-b"))
    va = CachedEncoder(small, cache).encode(TEXTS)
    vb = CachedEncoder(big, cache).encode(TEXTS)
    assert big.n_encoded == 4
    assert va.shape == (5, 16) and vb.shape == (5, 32)
    np.testing.assert_array_equal(vb, HashingEncoder(dim=32).encode(TEXTS))
    assert len(cache) == 8


def test_get_many_put_many_roundtrip(tmp_path) -> None:
    cache = EmbeddingCache(tmp_path / "emb.sqlite")
    keys = [CacheKey("m", "query", text_sha256(f"t{i}")) for i in range(1200)]  # > one SELECT chunk
    vecs = np.random.default_rng(0).standard_normal((1200, 8)).astype(np.float32)
    assert cache.put_many(zip(keys, vecs)) == 1200
    got = cache.get_many(keys + [CacheKey("m", "query", text_sha256("absent"))])
    assert len(got) == 1200
    np.testing.assert_array_equal(np.stack([got[k] for k in keys]), vecs)


def test_thread_safe(tmp_path) -> None:
    inner = CountingEncoder(HashingEncoder())
    enc = CachedEncoder(inner, EmbeddingCache(tmp_path / "emb.sqlite"))
    texts = [f"句子 {i}" for i in range(50)]
    want = HashingEncoder().encode(texts)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                np.testing.assert_array_equal(enc.encode(texts), want)
        except BaseException as exc:  # noqa: BLE001  # pragma: no cover - re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert 50 <= inner.n_encoded <= 200  # races may encode a text twice, never more than once per thread


@pytest.mark.parametrize("memory", [True, False])
def test_without_memory_layer_uses_sqlite(tmp_path, memory: bool) -> None:
    inner = CountingEncoder(HashingEncoder())
    enc = CachedEncoder(inner, EmbeddingCache(tmp_path / "emb.sqlite"), memory=memory)
    enc.encode(TEXTS)
    enc.encode(TEXTS)
    assert inner.n_encoded == 4


class CountingStore(EmbeddingCache):
    """The SQLite cache recording how many keys each ``get_many`` call asked for."""

    def __init__(self, path) -> None:
        super().__init__(path)
        self.asked: list[int] = []

    def get_many(self, keys):
        keys = list(keys)
        self.asked.append(len(keys))
        return super().get_many(keys)


def test_store_is_read_in_bounded_chunks_with_the_same_rows(tmp_path, monkeypatch) -> None:
    """Chunked reads (3 keys per call here) give the rows of one uncached encode, repeats included."""
    import xfd.models.cache as cache_mod

    texts = [f"文本{i % 7}" for i in range(20)] + [""]
    want = HashingEncoder().encode(texts)
    CachedEncoder(HashingEncoder(), EmbeddingCache(tmp_path / "emb.sqlite")).encode(texts)  # fill the file
    monkeypatch.setattr(cache_mod, "READ_CHUNK", 3)
    store = CountingStore(tmp_path / "emb.sqlite")
    inner = CountingEncoder(HashingEncoder())
    got = CachedEncoder(inner, store, memory=False).encode(texts)
    assert np.array_equal(got, want) and inner.n_encoded == 0
    assert store.asked == [3, 3, 2]  # 8 distinct texts
