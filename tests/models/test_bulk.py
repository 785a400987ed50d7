"""Bulk indexing (``xfd.models.bulk``): the texts are exactly what ``fit`` encodes, cached ones are
skipped, and the Ray engine stores the same arrays as the single-process path (fake encoder)."""
from __future__ import annotations

import os
from functools import partial

import numpy as np
import pytest
import ray

from tests.fakes import RecordingEncoder
from xfd.matching.encoders import HashingEncoder
from xfd.matching.types import Document, Profile
from xfd.models import bulk
from xfd.models.cache import CachedEncoder, CacheKey, EmbeddingCache, text_sha256
from xfd.models.loader import load_encoder

PROFILES = [
    Profile(id="T1", name="张伟", disciplines=("机械工程",), keywords=("机器视觉", "缺陷检测"),
            documents=(Document(kind="paper", title="注塑件表面缺陷的机器视觉检测", text="深度学习识别注塑件表面缺陷"),
                       Document(kind="paper", title="Defect detection", text="Machine vision for injection moulding"))),
    Profile(id="T2", name="李娜", disciplines=("食品科学与工程",), keywords=("红茶",),
            documents=(Document(kind="project", title="红茶发酵工艺优化", text="发酵温度与茶多酚"),
                       Document(kind="paper", title="红茶发酵工艺优化", text="发酵温度与茶多酚"))),  # a duplicate text
    Profile(id="S1", kind="student", major="计算机科学与技术", skills=("Python",)),
    Profile(id="T3", name="王强"),  # nothing to encode
]


#: fakes of the real models have e5-small's dim, so a domain adapter configured for e5-small applies to them
E5_DIM = 384

Recording = RecordingEncoder


@pytest.fixture()
def fake_models(monkeypatch):
    """``load_encoder`` returns a Recording per model name (the scorer's cache is a tmp file)."""
    made: dict[str, Recording] = {}

    def load(name, cache_dir=None):
        made[str(name)] = Recording(E5_DIM, f"fake-{name}")
        return made[str(name)]

    monkeypatch.setattr("xfd.models.loader.load_encoder", load)
    return made


def _scorer(tmp_path):
    from xfd.models.pipeline import make_scorer

    return make_scorer("e5-small", cache_dir=tmp_path)


def test_passages_are_exactly_what_fit_encodes(tmp_path, fake_models) -> None:
    scorer = _scorer(tmp_path / "a")
    jobs = {j.label: j for j in bulk.scorer_passages(scorer, PROFILES)}
    _scorer(tmp_path / "b").fit(PROFILES)  # fresh cache: the fakes see every text fit encodes
    fit_main = {t for role, t in fake_models["e5-small"].seen if role == "passage"}
    fit_english = {t for role, t in fake_models["minilm"].seen if role == "passage"}
    assert set(jobs["main"].texts) == fit_main and len(jobs["main"].texts) == len(fit_main)
    assert set(jobs["english"].texts) == fit_english
    assert len(fit_english) == 1 and all("Machine vision" in t for t in fit_english)
    assert sum("茶多酚" in t for t in jobs["main"].texts) == 1  # the duplicate text once
    assert any(t == scorer.disciplines[0].description for t in jobs["main"].texts)


def test_after_indexing_fit_encodes_no_passage(tmp_path, fake_models) -> None:
    scorer = _scorer(tmp_path)
    reports = [bulk.index_passages(job, bulk.local_engine(job), batch=2) for job in bulk.scorer_passages(scorer, PROFILES)]
    assert [r.label for r in reports] == ["main", "english"]
    assert all(r.cached == 0 and r.encoded == r.texts > 0 for r in reports)
    fake_models.clear()
    _scorer(tmp_path).fit(PROFILES)
    assert all(role != "passage" for enc in fake_models.values() for role, _ in enc.seen)
    again = [bulk.index_passages(job, bulk.local_engine(job)) for job in bulk.scorer_passages(_scorer(tmp_path), PROFILES)]
    assert all(r.encoded == 0 and r.cached == r.texts for r in again)


def _passages(texts, cache) -> bulk.Passages:
    return bulk.Passages("main", CachedEncoder(HashingEncoder(32, "fake"), cache), tuple(texts))


TEXTS = [f"文本 {i} " + "字" * (i % 7) + " text" * (i % 3) for i in range(23)]


def _stored(cache, texts) -> np.ndarray:
    got = cache.get_many([CacheKey("fake", "passage", text_sha256(t)) for t in texts])
    return np.stack([got[CacheKey("fake", "passage", text_sha256(t))] for t in texts])


def test_cached_texts_are_skipped(tmp_path) -> None:
    cache = EmbeddingCache(tmp_path / "e.sqlite")
    sentinel = np.full(32, 7.0, dtype=np.float32)
    cache.put_many([(CacheKey("fake", "passage", text_sha256(t)), sentinel) for t in TEXTS[:5]])
    enc = Recording(32, "fake")
    job = bulk.Passages("main", CachedEncoder(enc, cache), tuple(TEXTS))
    seen = []
    r = bulk.index_passages(job, bulk.LocalEngine(enc), batch=4, progress=seen.append)
    assert (r.texts, r.cached, r.encoded) == (23, 5, 18)
    assert sorted(t for _, t in enc.seen) == sorted(TEXTS[5:])
    assert sum(seen) == 23 and seen[0] == 5 and max(seen[1:]) == 4
    assert np.array_equal(_stored(cache, TEXTS[:5]), np.tile(sentinel, (5, 1)))  # untouched
    assert np.array_equal(_stored(cache, TEXTS[5:]), HashingEncoder(32).encode(TEXTS[5:]))


def test_batches_longest_first() -> None:
    b = bulk.make_batches(["a", "bbb", "cc", "dddd", "e"], 2)
    assert b == [["dddd", "bbb"], ["cc", "a"], ["e"]]
    with pytest.raises(ValueError, match="batch size"):
        bulk.make_batches(["a"], 0)


def test_other_model_on_the_workers_is_an_error() -> None:
    job = _passages(TEXTS, EmbeddingCache(":memory:"))
    with pytest.raises(ValueError, match=r"'other'.*'fake'"):
        bulk.index_passages(job, bulk.LocalEngine(HashingEncoder(32, "other")))


def test_encoder_without_cache_is_an_error() -> None:
    with pytest.raises(ValueError, match="no embedding cache"):
        bulk.cached_parts(HashingEncoder(32))


def test_unknown_engine_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="local, ray"):
        bulk.check_engine("spark")


@pytest.fixture(scope="module")
def local_ray():
    """A 2-CPU Ray cluster on this machine for the module (no dashboard, no usage statistics)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_gives_the_same_vectors_as_one_process(local_ray) -> None:
    single = EmbeddingCache(":memory:")
    CachedEncoder(HashingEncoder(32, "fake"), single).encode(TEXTS, "passage")  # what fit would store
    on_ray = EmbeddingCache(":memory:")
    with bulk.ray_connection() as r:  # the caller's connection is used and left open
        assert r is local_ray
        with bulk.RayEngine(partial(HashingEncoder, 32, "fake"), workers=2) as engine:
            assert len(engine.actors) == 2
            report = bulk.index_passages(_passages(TEXTS, on_ray), engine, batch=3)
    assert local_ray.is_initialized()
    assert (report.texts, report.cached, report.encoded) == (23, 0, 23)
    assert np.array_equal(_stored(on_ray, TEXTS), _stored(single, TEXTS))


def test_ray_errors_name_the_cause(local_ray) -> None:
    with pytest.raises(ValueError, match="3 workers × 1 CPU need 3 CPUs; the Ray cluster has 2"):
        bulk.RayEngine(partial(HashingEncoder, 32, "fake"), workers=3)
    with bulk.RayEngine(partial(load_encoder, "no-such-model"), workers=1) as engine:
        with pytest.raises(bulk.WorkerError, match="no-such-model") as info:
            engine.info()
    assert "\n" not in str(info.value)
