"""The shared version counter and the embedding cache in the database, on SQLite and PostgreSQL.

PostgreSQL cases run when ``XFD_TEST_POSTGRES_URL`` names a throw-away database
(``.ci/run`` sets it; its tables are dropped here), and skip otherwise.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.multi_instance import office_key
from tests.fakes import FakeScorer, reset_database
from xfd.api import crud
from xfd.api.app import create_app
from xfd.api.settings import Settings
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
from xfd.api.storage.embeddings import SQLITE_CHUNK, DatabaseEmbeddingCache
from xfd.api.storage.shared_state import INDEX, bump_version, read_version
from xfd.matching.encoders import HashingEncoder
from xfd.matching.types import Profile
from xfd.models.cache import CachedEncoder, CacheKey, EmbeddingStore, text_sha256

PG_URL = os.environ.get("XFD_TEST_POSTGRES_URL", "")
needs_pg = pytest.mark.skipif(not PG_URL, reason="XFD_TEST_POSTGRES_URL not set (no PostgreSQL server)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = PG_URL
        reset_database(url)
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url


@pytest.fixture()
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _profile(pid: str) -> Profile:
    return Profile(id=pid, keywords=("机器视觉",))


# -- the version counter -----------------------------------------------------------------
def test_counter_starts_at_zero_and_counts_commits(db: sa.Engine) -> None:
    sessions = make_session_factory(db)
    with sessions() as s:
        assert read_version(s) == 0
        assert bump_version(s) == 1 and bump_version(s) == 2
        with db.connect() as other:                  # another connection sees the committed value only
            assert read_version(other) == 0
        s.commit()
    with db.connect() as other:
        assert read_version(other) == 2
    with sessions() as s:
        assert read_version(s, "other") == 0
        assert bump_version(s, "other") == 1        # a missing counter is created at 1
        s.commit()
        assert (read_version(s, "other"), read_version(s, INDEX)) == (1, 2)


def test_rolled_back_import_does_not_bump(db: sa.Engine) -> None:
    sessions = make_session_factory(db)
    with sessions() as s:
        crud.upsert_profiles(s, [_profile("T1"), _profile("T2")])
        assert read_version(s) == 1                 # inside the transaction
        s.rollback()
    with sessions() as s:
        assert read_version(s) == 0 and crud.count_profiles(s) == 0
        crud.commit_profiles(s, [_profile("T1")])
        crud.commit_profiles(s, [_profile("T1"), _profile("T3")])  # an update counts too
    with sessions() as s:
        assert read_version(s) == 2 and crud.count_profiles(s) == 2


def test_concurrent_bumps_each_get_their_own_number(db: sa.Engine) -> None:
    sessions = make_session_factory(db)
    got: list[int] = []
    start = threading.Barrier(4)

    def writer() -> None:
        start.wait()
        for _ in range(5):
            with sessions() as s:
                got.append(bump_version(s))
                s.commit()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 21))
    with db.connect() as c:
        assert read_version(c) == 20


def test_calibration_activation_bumps_through_the_api(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url, model="fake"), scorer_factory=FakeScorer)
    office = office_key(db_url)
    with TestClient(app) as c:
        assert c.post("/v1/profiles", json=[{"id": "T1", "keywords": ["机器视觉"]}], headers=office).status_code == 200
        with app.state.sessions() as s:
            assert read_version(s) == 1
        assert c.post("/v1/calibrations/0/activate", headers=office).status_code == 200
        with app.state.sessions() as s:
            assert read_version(s) == 2
        assert c.post("/v1/calibrations/99/activate", headers=office).status_code == 404  # nothing committed
        with app.state.sessions() as s:
            assert read_version(s) == 2


# -- the embedding cache in the database ---------------------------------------------------
def _key(text: str, encoder: str = "enc", role: str = "passage") -> CacheKey:
    return CacheKey(encoder, role, text_sha256(text))


def test_database_cache_round_trip_dtype_and_shape(db: sa.Engine) -> None:
    cache = DatabaseEmbeddingCache(db)
    assert isinstance(cache, EmbeddingStore)
    v64 = np.array([0.5, -1.25, 3.0], dtype=np.float64)
    v32 = np.arange(4, dtype=np.float32) / 7
    assert cache.put_many([(_key("a"), v64), (_key("b"), v32), (_key("a", role="query"), v32[:3])]) == 3
    got = cache.get_many([_key("a"), _key("b"), _key("missing"), _key("a", role="query"), _key("a", encoder="other")])
    assert set(got) == {_key("a"), _key("b"), _key("a", role="query")}
    assert got[_key("a")].dtype == np.float32 and got[_key("a")].shape == (3,)
    np.testing.assert_array_equal(got[_key("a")], v64.astype(np.float32))
    np.testing.assert_array_equal(got[_key("b")], v32)
    assert got[_key("b")].shape == (4,)
    assert len(cache) == 3 and cache.count("enc") == 3 and cache.count("other") == 0
    assert cache.put_many([(_key("a"), np.zeros(3))]) == 0          # present: left unchanged
    np.testing.assert_array_equal(cache.get_many([_key("a")])[_key("a")], v64.astype(np.float32))
    assert cache.get_many([]) == {} and cache.put_many([]) == 0


def test_database_cache_one_statement_per_batch(db: sa.Engine) -> None:
    cache = DatabaseEmbeddingCache(db)
    statements: list[str] = []
    sa.event.listen(db, "before_cursor_execute", lambda _c, _cur, stmt, *_a: statements.append(stmt))
    n = 300  # below the chunk size of both backends
    assert cache.put_many((_key(str(i)), np.full(8, i, dtype=np.float32)) for i in range(n)) == n
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    statements.clear()
    got = cache.get_many(_key(str(i)) for i in range(n))
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(inserts) == 1 and len(selects) == 1
    assert len(got) == n and all(got[_key(str(i))][0] == i for i in range(n))


def test_database_cache_more_keys_than_a_chunk(db: sa.Engine) -> None:
    cache = DatabaseEmbeddingCache(db)
    n = SQLITE_CHUNK * 2 + 7
    assert cache.put_many((_key(f"t{i}"), np.array([i, -i], dtype=np.float32)) for i in range(n)) == n
    got = cache.get_many([_key(f"t{i}") for i in range(n)] + [_key("t0")])  # a repeated key is fine
    assert len(got) == n and got[_key(f"t{n - 1}")].tolist() == [n - 1, -(n - 1)]


def test_database_cache_concurrent_inserts_of_the_same_keys(db_url: str) -> None:
    keys = [_key(f"same {i}") for i in range(50)]
    start = threading.Barrier(4)
    inserted: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        cache = DatabaseEmbeddingCache.from_url(db_url)  # each writer on its own engine and connection
        try:
            start.wait()
            inserted.append(cache.put_many((k, np.ones(16, dtype=np.float32)) for k in keys))
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            cache.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(inserted) == 50   # every key inserted exactly once, whoever got there first
    with DatabaseEmbeddingCache.from_url(db_url) as cache:
        assert len(cache) == 50 and len(cache.get_many(keys)) == 50


def test_second_process_cache_encodes_nothing_the_first_stored(db_url: str) -> None:
    texts = ["钢板表面缺陷的机器视觉检测", "冷链物流保鲜", "钢板表面缺陷的机器视觉检测", ""]
    first = CachedEncoder(HashingEncoder(dim=16), DatabaseEmbeddingCache.from_url(db_url))
    a = first.encode(texts)
    assert first.encoded == 3                                  # distinct texts (the empty one included)
    second = CachedEncoder(HashingEncoder(dim=16), DatabaseEmbeddingCache.from_url(db_url))  # fresh memory
    b = second.encode(texts)
    assert second.encoded == 0 and second.hits == 4
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(b, HashingEncoder(dim=16).encode(texts))
    assert second.encode(texts, role="query").shape == (4, 16) and second.encoded == 3  # roles are apart
    first.cache.close()  # type: ignore[union-attr]
    second.cache.close()  # type: ignore[union-attr]
