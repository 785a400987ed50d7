"""The warm index (api.engine.MatchEngine): fit once, refit in the background
on profile changes, never re-embed for a new demand, bounded staleness."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from sklearn.base import clone

from tests.fakes import FakeScorer
from xfd.api.engine import IndexUnavailable, MatchEngine
from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile

P1 = Profile(id="T1", keywords=("机器视觉",), documents=(Document(text="机器视觉缺陷检测", title="视觉检测"),))
P2 = Profile(id="T2", keywords=("冷链",), documents=(Document(text="果蔬冷链保鲜", title="冷链"),))
D = Demand(id="D1", title="冷链保鲜", description="果蔬冷链")


class GatedScorer(FakeScorer):
    """FakeScorer whose fit waits for ``gate`` (to hold a refit in progress)."""

    gate = threading.Event()
    fail = False

    def fit(self, profiles):
        assert self.gate.wait(10)
        if self.fail:
            raise RuntimeError("encoder broke")
        return super().fit(profiles)


@pytest.fixture(autouse=True)
def _reset():
    GatedScorer.gate.set()
    GatedScorer.fail = False
    yield
    GatedScorer.gate.set()


def make(store: list[Profile], scorer=FakeScorer, stale_wait: float = 10.0) -> MatchEngine:
    return MatchEngine(scorer, lambda: list(store), model_name="fake", stale_wait=stale_wait)


def test_empty_index_gives_empty_matches():
    eng = make([])
    eng.start()
    assert eng.recommend(D, 5).matches == ()
    eng.close()


def test_fits_once_and_refits_only_on_change():
    store = [P1]
    eng = make(store)
    eng.start()
    assert [m.profile_id for m in eng.recommend(D, 5).matches] == ["T1"]
    n = eng.fit_count
    for _ in range(5):
        eng.recommend(D, 5)
    assert eng.fit_count == n
    store.append(P2)
    eng.invalidate()
    assert eng.recommend(D, 1).matches[0].profile_id == "T2"
    assert eng.fit_count == n + 1 and eng.index_ready
    eng.close()


def test_works_without_start():
    eng = make([P1, P2])
    profiles, scores, required = eng.score([D])
    assert [p.id for p in profiles] == ["T1", "T2"] and scores.shape == (1, 2)
    assert scores[0, 1] > scores[0, 0]


def test_slow_refit_serves_previous_index_after_stale_wait():
    store = [P1]
    eng = make(store, GatedScorer, stale_wait=0.2)
    eng.start()
    assert eng.recommend(D, 5).matches[0].profile_id == "T1"
    GatedScorer.gate.clear()
    store.append(P2)
    eng.invalidate()
    t0 = time.monotonic()
    stale = eng.recommend(D, 5)
    assert time.monotonic() - t0 < 5
    assert [m.profile_id for m in stale.matches] == ["T1"]       # previous index
    assert not eng.index_ready
    GatedScorer.gate.set()
    deadline = time.monotonic() + 10
    while not eng.index_ready and time.monotonic() < deadline:
        time.sleep(0.02)
    assert {m.profile_id for m in eng.recommend(D, 5).matches} == {"T1", "T2"}
    eng.close()


def test_batch_scoring_waits_for_the_fresh_index():
    store = [P1]
    eng = make(store, GatedScorer, stale_wait=0.0)
    eng.start()
    eng.recommend(D, 1)
    GatedScorer.gate.clear()
    store.append(P2)
    eng.invalidate()
    threading.Timer(0.3, GatedScorer.gate.set).start()
    profiles, scores, _ = eng.score([D])
    assert [p.id for p in profiles] == ["T1", "T2"] and scores.shape == (1, 2)
    eng.close()


def test_failed_fit_without_previous_index_raises():
    GatedScorer.fail = True
    eng = make([P1], GatedScorer)
    eng.start()
    with pytest.raises(IndexUnavailable, match="encoder broke"):
        eng.recommend(D, 3)
    GatedScorer.fail = False
    eng.invalidate()                      # the next change (or request) retries
    assert eng.recommend(D, 3).matches[0].profile_id == "T1"
    eng.close()


def test_failed_fit_is_503_and_failed_run(tmp_path):
    from fastapi.testclient import TestClient

    from tests.fakes import greedy_planner
    from xfd.api.app import create_app
    from xfd.api.security import create_key
    from xfd.api.settings import Settings

    GatedScorer.fail = True
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", model="fake"),
                     scorer_factory=GatedScorer, planner=greedy_planner)
    with TestClient(app) as c:
        with app.state.sessions() as s:
            _, key = create_key(s, "office")
            s.commit()
        h = {"Authorization": f"Bearer {key}"}
        c.post("/v1/profiles", json=[{"id": "T1", "keywords": ["视觉"]}], headers=h)
        c.post("/v1/demands", json={"id": "D1", "title": "视觉"}, headers=h)
        c.patch("/v1/demands/D1", json={"status": "accepted"}, headers=h)  # triage: runs plan accepted demands
        r = c.get("/v1/demands/D1/recommendations", headers=h)
        assert r.status_code == 503 and "encoder broke" in r.text
        run_id = c.post("/v1/assignment-runs", headers=h).json()["id"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            body = c.get(f"/v1/assignment-runs/{run_id}", headers=h).json()
            if body["status"] != "running":
                break
            time.sleep(0.05)
        assert body["status"] == "failed" and "encoder broke" in body["reason"]


def test_service_refits_a_clone_of_the_loaded_scorer() -> None:
    base = MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder())
    engine = MatchEngine(lambda: base, lambda: [P1, P2])
    got = engine.recommend(D, k=1)
    assert got.matches[0].profile_id == "T2"
    assert not hasattr(base, "table_")  # the loaded scorer itself is never fitted


class CountingTokenizer(Tokenizer):
    """The project's tokenizer counting the texts it tokenises."""

    def __init__(self) -> None:
        super().__init__(char_ngrams=2)
        self.texts: list[str] = []

    def split(self, text):
        self.texts.append(text)
        return super().split(text)


def _many(n: int, tag: str) -> list[Profile]:
    topics = ["机器视觉缺陷检测", "果蔬冷链保鲜", "茶叶杀青工艺", "水稻育种", "土壤改良", "cold chain logistics"]
    return [Profile(id=f"{tag}{i:02d}", keywords=(topics[i % 6],),
                    documents=(Document(text=f"{topics[i % 6]}与{topics[(i + 1) % 6]}（{tag}{i}）", title=topics[i % 6],
                                        year=2019 + i % 5),))
            for i in range(n)]


def test_incremental_refit_tokenises_only_new_texts_and_scores_as_a_fresh_fit() -> None:
    from xfd.matching.adapter import AdaptedEncoder, Adapter

    tok = CountingTokenizer()
    adapter = Adapter(mean=np.full(64, 0.01, dtype=np.float32), matrix=np.eye(64, dtype=np.float32))
    base = MatchScorer(tok, encoder=AdaptedEncoder(HashingEncoder(), adapter), now_year=2024)
    store = _many(12, "A")
    engine = MatchEngine(lambda: base, lambda: list(store), memo_vectors=True)
    demands = [D, Demand(id="D2", title="茶叶", description="杀青工艺改进"),
               Demand(id="D3", title="cold chain", description="logistics of fruit")]
    engine.score(demands)
    old_texts = set(clone(base).fit(list(store)).table_.texts)
    tok.texts.clear()
    store[:] = store[2:] + _many(3, "B")  # two gone, three new
    engine.invalidate()
    profiles, scores, _ = engine.score(demands)
    refit_texts = set(tok.texts) - {d.text for d in demands}
    scratch = clone(base).fit(list(store))
    table = scratch.table_
    new_cols = {j for j, p in enumerate(store) if p.id.startswith("B")}
    new_texts = {t for t, o in zip(table.texts, table.owner.tolist()) if o in new_cols}
    assert refit_texts == new_texts - old_texts  # the refit tokenised new texts only
    assert [p.id for p in profiles] == [p.id for p in store]
    assert np.array_equal(scores, scratch.score(demands))
    assert engine.recommend(demands[1], 5) == scratch.rank([demands[1]], top_k=5)[0]
    stats = engine.memo_stats()
    assert stats["tokenizer"][0] == len(set(table.texts))  # the last fit's texts only
    assert stats["encoder"][0] == len(set(table.texts))
    assert engine.base_params()["tokenizer"] is tok  # the loaded model is unchanged


def test_memo_off_gives_the_same_scores() -> None:
    store = _many(8, "A")
    demands = [D]

    def engine(**kw) -> MatchEngine:
        return MatchEngine(lambda: MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder()), lambda: list(store),
                           **kw)

    on, off, tokens = engine(memo_vectors=True), engine(memo=False), engine()
    for eng in (on, off, tokens):
        eng.score(demands)
    store.append(_many(1, "C")[0])
    for eng in (on, off, tokens):
        eng.invalidate()
    want = off.score(demands)[1]
    assert np.array_equal(on.score(demands)[1], want) and np.array_equal(tokens.score(demands)[1], want)
    assert off.memo_stats() == {} and on.memo_stats()["tokenizer"][0] > 0
    assert set(on.memo_stats()) == {"tokenizer", "encoder"} and set(tokens.memo_stats()) == {"tokenizer"}
