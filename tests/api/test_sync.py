"""Several processes, one database (xfd.api.sync): the engine follows the shared version counter.

Engine cases use an in-memory counter; the service cases run two apps in this
process on one database (SQLite file, and PostgreSQL when
``XFD_TEST_POSTGRES_URL`` is set), each with its own engine and watcher, as two
``xfd serve`` processes would (those run in ``test_multi_instance.py``).
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from fastapi.testclient import TestClient

from tests.api.multi_instance import office_key
from tests.fakes import FakeScorer, reset_database
from xfd.api.app import create_app
from xfd.api.engine import MatchEngine
from xfd.api.settings import Settings
from xfd.api.storage.embeddings import DatabaseEmbeddingCache
from xfd.api.sync import VersionWatcher, embedding_cache_kind, embedding_store
from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile
from xfd.models.cache import CachedEncoder

P1 = Profile(id="T1", keywords=("机器视觉",), documents=(Document(text="机器视觉缺陷检测", title="视觉检测"),))
P2 = Profile(id="T2", keywords=("冷链",), documents=(Document(text="果蔬冷链保鲜", title="冷链"),))
D = Demand(id="D1", title="冷链保鲜", description="果蔬冷链")
PG_URL = os.environ.get("XFD_TEST_POSTGRES_URL", "")
needs_pg = pytest.mark.skipif(not PG_URL, reason="XFD_TEST_POSTGRES_URL not set (no PostgreSQL server)")


class Shared:
    """A stand-in for the database: the profiles, the counter, what was read in which order."""

    def __init__(self, profiles: list[Profile]) -> None:
        self.profiles = list(profiles)
        self.version = 0
        self.reads: list[str] = []

    def write(self, profile: Profile) -> None:
        self.profiles.append(profile)
        self.version += 1

    def read_version(self) -> int:
        self.reads.append("version")
        return self.version

    def load(self) -> list[Profile]:
        self.reads.append("profiles")
        return list(self.profiles)


def engine_on(shared: Shared, interval: float, scorer=FakeScorer, stale_wait: float = 10.0, **kw) -> MatchEngine:
    eng = MatchEngine(scorer, shared.load, model_name="fake", stale_wait=stale_wait, version=shared.read_version,
                      check_interval=interval, **kw)
    eng.start()
    return eng


def ids(eng: MatchEngine) -> list[str]:
    return sorted(m.profile_id for m in eng.recommend(D, 0).matches)


def wait_for(condition, timeout: float = 30.0) -> float:
    """Seconds until ``condition()`` held (fails after ``timeout``, a bound for a loaded CI box)."""
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < timeout, "condition not reached in time"
        time.sleep(0.02)
    return time.monotonic() - t0


# -- the engine and the counter -------------------------------------------------------------
def test_a_change_elsewhere_is_seen_at_the_next_check() -> None:
    shared = Shared([P1])
    eng = engine_on(shared, interval=3600)
    assert ids(eng) == ["T1"] and eng.fit_version == 0
    shared.write(P2)                      # another process committed a profile
    assert ids(eng) == ["T1"]             # the lazy check is an hour away: still the old index
    assert eng.check_version() is True    # what the watcher does every interval
    assert ids(eng) == ["T1", "T2"] and eng.fit_version == 1
    assert eng.check_version() is False   # nothing new: no refit
    n = eng.fit_count
    assert ids(eng) == ["T1", "T2"] and eng.fit_count == n
    eng.close()


def test_recommendation_checks_lazily_and_runs_always() -> None:
    shared = Shared([P1])
    eng = engine_on(shared, interval=0.0)
    assert ids(eng) == ["T1"]
    shared.write(P2)
    assert ids(eng) == ["T1", "T2"]       # interval 0: every recommendation reads the counter
    eng.close()
    shared = Shared([P1])
    eng = engine_on(shared, interval=3600)
    assert ids(eng) == ["T1"]
    shared.write(P2)
    profiles, scores, _ = eng.score([D])  # a batch run re-reads the counter every time
    assert [p.id for p in profiles] == ["T1", "T2"] and scores.shape == (1, 2)
    eng.close()


def test_refit_reads_the_version_before_the_profiles() -> None:
    shared = Shared([P1])

    def load_and_race() -> list[Profile]:
        got = shared.load()
        if len(shared.profiles) == 1:
            shared.write(P2)              # a commit lands while this refit loads
        return got

    eng = MatchEngine(FakeScorer, load_and_race, version=shared.read_version, check_interval=3600)
    eng.start()
    wait_for(lambda: eng.index_ready)
    load = shared.reads.index("profiles")  # start() itself reads the version first, then the refit does
    assert load >= 1 and shared.reads[load - 1] == "version"
    assert eng.fit_version == 0           # the index says it is at 0, so version 1 will be fitted
    assert eng.check_version() is True
    assert ids(eng) == ["T1", "T2"] and eng.fit_version == 1
    eng.close()


class CountingScorer(FakeScorer):
    """FakeScorer whose fit takes 30 ms and records how many fits overlap."""

    active = 0
    most = 0
    lock = threading.Lock()

    def fit(self, profiles):
        with CountingScorer.lock:
            CountingScorer.active += 1
            CountingScorer.most = max(CountingScorer.most, CountingScorer.active)
        time.sleep(0.03)
        with CountingScorer.lock:
            CountingScorer.active -= 1
        return super().fit(profiles)


def test_never_two_refits_at_once_and_the_last_version_wins() -> None:
    CountingScorer.active = CountingScorer.most = 0
    shared = Shared([P1])
    eng = engine_on(shared, interval=0.0, scorer=CountingScorer)
    stop = threading.Event()

    def checker() -> None:
        while not stop.is_set():
            eng.check_version()
            ids(eng)

    threads = [threading.Thread(target=checker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        shared.write(Profile(id=f"X{i:02d}", keywords=("冷链",)))
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    eng.check_version()
    wait_for(lambda: eng.index_ready and eng.fit_version == 20)
    assert CountingScorer.most == 1
    assert len(ids(eng)) == 21
    eng.close()


def test_old_index_serves_while_the_new_one_fits() -> None:
    gate = threading.Event()
    gate.set()

    class Gated(FakeScorer):
        def fit(self, profiles):
            assert gate.wait(10)
            return super().fit(profiles)

    shared = Shared([P1])
    eng = engine_on(shared, interval=3600, scorer=Gated, stale_wait=0.0)
    assert ids(eng) == ["T1"]
    gate.clear()
    shared.write(P2)
    assert eng.check_version() is True
    assert ids(eng) == ["T1"] and not eng.index_ready   # answered at once from the previous index
    gate.set()
    wait_for(lambda: eng.index_ready)
    assert ids(eng) == ["T1", "T2"]
    eng.close()


class FusionScorer(FakeScorer):
    """FakeScorer with a ``fusion`` parameter (ignored when scoring), as the real scorer has."""

    def __init__(self, fusion=None) -> None:
        super().__init__()
        self.fusion = fusion


def test_the_writer_refits_once_for_its_own_write() -> None:
    gate = threading.Event()
    gate.set()
    fits: list[int] = []

    class Gated(FakeScorer):
        def fit(self, profiles):
            assert gate.wait(10)
            fits.append(len(profiles))
            return super().fit(profiles)

    shared = Shared([P1])
    eng = engine_on(shared, interval=3600, scorer=Gated)
    assert ids(eng) == ["T1"] and fits == [1]
    gate.clear()
    shared.write(P2)
    before = len(shared.reads)
    eng.invalidate()                      # the router, right after its commit
    wait_for(lambda: shared.reads[before:] == ["version", "profiles"])  # the refit read both, waits in fit
    assert eng.check_version() is False   # the NOTIFY / poll of its own write: already being loaded
    gate.set()
    wait_for(lambda: eng.index_ready)
    assert ids(eng) == ["T1", "T2"] and fits == [1, 2]
    eng.close()


def test_a_check_before_the_warm_fit_reads_the_counter_is_no_change() -> None:
    """A request arriving while the start-up fit has not yet read the counter (its thread held
    here) must not schedule a second fit of the same version (it did: fits [1, 1])."""
    release = threading.Event()
    shared = Shared([P1])
    fits: list[int] = []

    class Counting(FakeScorer):
        def fit(self, profiles):
            fits.append(len(profiles))
            return super().fit(profiles)

    def version() -> int:
        if threading.current_thread().name.startswith("xfd-refit"):
            assert release.wait(10)
        return shared.read_version()

    eng = MatchEngine(Counting, shared.load, model_name="fake", version=version, check_interval=3600)
    eng.start()
    assert eng.check_version() is False    # the version the warm fit will load
    release.set()
    wait_for(lambda: eng.index_ready)
    assert ids(eng) == ["T1"] and fits == [1] and eng.version_changes == 0
    eng.close()


def test_active_calibration_is_read_at_every_refit() -> None:
    shared = Shared([P1])
    active = {"fusion": None}
    eng = engine_on(shared, interval=3600, scorer=FusionScorer, load_fusion=lambda: active["fusion"])
    assert ids(eng) == ["T1"] and eng.fusion is None
    active["fusion"] = "calibrated"       # another process activated a calibration and bumped the counter
    shared.version += 1
    assert eng.check_version() and ids(eng) == ["T1"]
    assert eng.fusion == "calibrated" and eng._fitted.fusion == "calibrated"
    eng.close()


def test_texts_encoded_counts_the_cache_misses_of_this_process(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'enc.db'}"
    office_key(url)  # migrates
    store = DatabaseEmbeddingCache.from_url(url)
    shared = Shared([P1, P2])

    def scorer() -> MatchScorer:
        return MatchScorer(Tokenizer(char_ngrams=2), encoder=CachedEncoder(HashingEncoder(), store))

    first = engine_on(shared, interval=3600, scorer=scorer)
    assert ids(first) == ["T1", "T2"]
    n = first.texts_encoded()
    assert n > 0 and store.count() == n   # every text it embedded is in the shared cache
    second = engine_on(shared, interval=3600, scorer=scorer)  # another process: own memory, same table
    assert ids(second) == ["T1", "T2"] and second.texts_encoded() == 0
    lexical = engine_on(shared, interval=3600, scorer=lambda: MatchScorer(Tokenizer(char_ngrams=2)))
    assert ids(lexical) == ["T1", "T2"] and lexical.texts_encoded() == 0
    for eng in (first, second, lexical):
        eng.close()
    store.close()


# -- settings ---------------------------------------------------------------------------------
def test_embedding_cache_setting() -> None:
    pg = "postgresql+psycopg://u:p@h/db"
    assert embedding_cache_kind(Settings(database_url=pg)) == "database"
    assert embedding_cache_kind(Settings(database_url="sqlite:///x.db")) == "file"
    assert embedding_cache_kind(Settings(database_url=pg, embedding_cache="file")) == "file"
    assert embedding_cache_kind(Settings(database_url="sqlite:///x.db", embedding_cache="database")) == "database"
    assert embedding_store(Settings(database_url="sqlite:///x.db")) is None
    with pytest.raises(ValueError, match="'auto', 'database' or 'file'"):
        Settings(embedding_cache="redis")
    with pytest.raises(ValueError, match="sync_interval"):
        Settings(sync_interval=0)
    with pytest.raises(ValueError, match="> 0"):
        VersionWatcher(None, lambda: None, interval=0)  # type: ignore[arg-type]


# -- two services on one database (in this process) ---------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def shared_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'two.db'}"
    reset_database(PG_URL)
    return PG_URL


@contextmanager
def _two_apps(url: str, interval: float) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    office = office_key(url)
    with ExitStack() as stack:
        a, b = (stack.enter_context(TestClient(create_app(Settings(database_url=url, model="fake", sync_interval=interval),
                                                           scorer_factory=FakeScorer))) for _ in range(2))
        yield a, b, office


def _recommended(client: TestClient, office: dict[str, str]) -> list[str]:
    r = client.get("/v1/demands/D1/recommendations?k=10", headers=office)
    assert r.status_code == 200, r.text
    return sorted(m["profile_id"] for m in r.json()["matches"])


def test_profile_posted_to_one_app_reaches_the_other(shared_url: str) -> None:
    with _two_apps(shared_url, interval=0.2) as (a, b, office):
        assert a.post("/v1/profiles", json=[{"id": "T1", "keywords": ["冷链", "保鲜"]}], headers=office).status_code == 200
        assert a.post("/v1/demands", json={"id": "D1", "title": "冷链保鲜", "description": "果蔬冷链"},
                      headers=office).status_code == 201
        wait_for(lambda: _recommended(b, office) == ["T1"])
        assert b.post("/v1/profiles", json=[{"id": "T2", "keywords": ["冷链"]}], headers=office).status_code == 200
        wait_for(lambda: _recommended(a, office) == ["T1", "T2"])
        # T2 in A's answer does not mean A's index says version 2 (a refit reads the counter before
        # the profiles, so one racing the commit holds T2 at version 1 and refits again), nor that
        # B's own refit after its write is over: both reach 2
        wait_for(lambda: a.get("/healthz").json()["index_version"] == b.get("/healthz").json()["index_version"] == 2)
        # without any request, B's watcher refits by itself
        assert a.post("/v1/profiles", json=[{"id": "T3", "keywords": ["保鲜"]}], headers=office).status_code == 200
        eng_b = b.app.state.engine
        wait_for(lambda: eng_b.fit_version == 3 and eng_b.index_ready)
        assert _recommended(b, office) == ["T1", "T2", "T3"]


@needs_pg
def test_postgres_notify_wakes_the_other_app_before_its_poll() -> None:
    reset_database(PG_URL)
    with _two_apps(PG_URL, interval=30.0) as (a, b, office):
        watcher = b.app.state.version_watcher
        eng_b = b.app.state.engine
        # B is listening and has read the counter (a completed check comes after the LISTEN), and its
        # first fit, which reads the counter too, is over: from now on only a NOTIFY (or the poll
        # 30 s away) makes it read the counter again
        wait_for(lambda: watcher.stats.checks >= 1 and eng_b.index_ready and eng_b.fit_version == 0)
        assert a.post("/v1/profiles", json=[{"id": "T1", "keywords": ["冷链"]}], headers=office).status_code == 200
        wait_for(lambda: eng_b.fit_version == 1, timeout=20.0)  # the next poll is 30 s away (20: a loaded CI box)
        assert watcher.stats.notifications >= 1 and watcher.stats.errors == 0


@needs_pg
def test_a_bump_committed_while_the_first_check_runs_is_notified() -> None:
    """The watcher LISTENs before it reads the counter: a commit landing right after the read
    wakes it (on the old order, check then LISTEN, this bump waited for the poll 30 s away)."""
    from xfd.api.storage.db import make_engine, upgrade_to_head
    from xfd.api.storage.shared_state import bump_version

    reset_database(PG_URL)
    engine = make_engine(PG_URL)
    upgrade_to_head(engine)
    calls: list[float] = []

    def check() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            with engine.begin() as conn:  # another process commits while this round reads
                bump_version(conn)

    watcher = VersionWatcher(engine, check, interval=30.0)
    watcher.start()
    try:
        wait_for(lambda: len(calls) >= 2, timeout=20.0)
        assert watcher.stats.notifications == 1 and watcher.stats.errors == 0
    finally:
        watcher.close()
        engine.dispose()


def test_profile_reader_rereads_only_changed_rows(shared_url: str) -> None:
    from xfd.api import crud
    from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
    from xfd.api.storage.models import ProfileRow
    from xfd.api.sync import ProfileReader

    engine = make_engine(shared_url)
    upgrade_to_head(engine)
    sessions = make_session_factory(engine)
    try:
        def load() -> list[Profile]:
            with sessions() as s:
                return crud.load_profiles(s)

        def write(*profiles: Profile) -> None:
            with sessions() as s:
                crud.commit_profiles(s, list(profiles))

        reader = ProfileReader(sessions)
        write(P1, P2, Profile(id="T3", keywords=("保鲜",)))
        first = reader()
        assert first == load() and reader.rows_read == 3
        assert reader() == load() and reader.rows_read == 3  # nothing changed: nothing read
        changed = Profile(id="T2", keywords=("冷链", "物流"), documents=P2.documents)
        write(changed, Profile(id="T0", keywords=("新",)))
        with sessions() as s:
            s.delete(s.get(ProfileRow, "T3"))
            s.commit()
        second = reader()
        assert second == load() and [p.id for p in second] == ["T0", "T1", "T2"]
        assert reader.rows_read == 3 + 2 and second[2] == changed
        assert second[1] is first[0]  # T1: the record read the first time
    finally:
        engine.dispose()
