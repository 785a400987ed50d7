"""Refit memos (matching.fit_memo): what is remembered, when, for how long, and that a fit through
them equals a fit without them exactly."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.base import clone

from xfd.matching.adapter import AdaptedEncoder, Adapter
from xfd.matching.encoders import HashingEncoder
from xfd.matching.fit_memo import TokenMemo, VectorMemo, memo_encoder, recording
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile


class CountingTokenizer:
    """Whitespace tokenizer with a ``split`` (words, then 2-letter prefixes) counting its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def split(self, text: str) -> tuple[list[str], list[str]]:
        self.calls.append(text)
        words = text.split()
        return words, [w[:2] for w in words if len(w) > 2]

    def __call__(self, text: str) -> list[str]:
        words, other = self.split(text)
        return words + other


class CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        super().__init__(dim=16)
        self.seen: list[str] = []

    def encode(self, texts, role="passage"):
        self.seen.extend(texts)
        return super().encode(texts, role)


def test_tokens_equal_the_tokenizer_and_are_remembered_only_while_recording() -> None:
    tok = CountingTokenizer()
    memo = TokenMemo(tok)
    assert memo("alpha beta") == tok("alpha beta")  # not recording: straight through, nothing kept
    assert memo.n_texts == 0
    tok.calls.clear()
    with memo.recording():
        assert memo.split("alpha beta gamma") == (["alpha", "beta", "gamma"], ["al", "be", "ga"])
        assert memo("alpha beta gamma") == ["alpha", "beta", "gamma", "al", "be", "ga"]
    assert tok.calls == ["alpha beta gamma"]  # the second lookup was a hit
    assert (memo.hits, memo.misses, memo.n_texts) == (1, 1, 1)
    with memo.recording():
        memo("alpha beta gamma")
        memo("delta")
    assert tok.calls == ["alpha beta gamma", "delta"]


def test_a_tokenizer_without_split_gives_words_only() -> None:
    memo = TokenMemo(str.split)
    with memo.recording():
        assert memo.split("a b") == (["a", "b"], [])
        assert memo.split("a b") == (["a", "b"], [])


def test_texts_not_used_in_the_last_recording_are_forgotten_and_the_terms_compacted() -> None:
    memo = TokenMemo(str.split)
    with memo.recording():
        for i in range(300):
            memo(f"common w{i} v{i}")
    assert memo.n_texts == 300 and memo.n_terms == 601  # below the first rebuild (1,024 terms)
    with memo.recording():
        memo("common w1 v1")
        for i in range(250):
            memo(f"x{i} y{i}")
    assert memo.n_texts == 251
    assert memo.n_terms == 503  # 1,101 >= 1,024: rebuilt with the live terms only
    with memo.recording():
        assert memo("common w1 v1") == ["common", "w1", "v1"]  # renumbered ids decode the same
        assert memo("x7 y7") == ["x7", "y7"]
        memo("fresh term")
    assert memo.hits == 1 + 2 and memo.n_terms == 505  # 505 < 2 * 503: no rebuild


def test_a_failed_recording_forgets_nothing() -> None:
    memo = TokenMemo(str.split)
    with memo.recording():
        memo("a b")
    with pytest.raises(RuntimeError), memo.recording():
        memo("c d")
        raise RuntimeError("fit failed")
    assert memo.n_texts == 2
    with memo.recording():
        memo("a b")
        with memo.recording():  # nested: joins, the outer block sweeps
            memo("c d")
    assert memo.n_texts == 2


def test_other_threads_pass_through_while_one_records() -> None:
    tok = CountingTokenizer()
    memo = TokenMemo(tok)
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        assert inside.wait(5)
        memo("from another thread")
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with memo.recording():
        memo("mine")
        inside.set()
        assert done.wait(5)
    t.join()
    assert memo.n_texts == 1 and memo.misses == 1


def test_vectors_are_the_encoders_rows_and_only_new_texts_are_encoded() -> None:
    enc = CountingEncoder()
    memo = VectorMemo(enc)
    assert (memo.name, memo.dim) == (enc.name, enc.dim)
    texts = ["机器视觉", "冷链保鲜", "机器视觉"]
    with memo.recording():
        got = memo.encode(texts)
    assert np.array_equal(got, HashingEncoder(dim=16).encode(texts))
    assert enc.seen == ["机器视觉", "冷链保鲜"]  # duplicates once
    assert not got.flags.writeable
    enc.seen.clear()
    with memo.recording():
        again = memo.encode(["冷链保鲜", "果蔬", "机器视觉"], "passage")
        memo.encode(["冷链保鲜"], "query")  # another role: not the passage vector
    assert enc.seen == ["果蔬", "冷链保鲜"]
    assert np.array_equal(again, HashingEncoder(dim=16).encode(["冷链保鲜", "果蔬", "机器视觉"]))
    assert memo.n_texts == 4
    assert memo.nbytes() >= 3 * 16 * 4  # the rows live in the last arrays returned
    enc.seen.clear()
    memo.encode(["机器视觉"])  # not recording
    assert enc.seen == ["机器视觉"]


def test_memo_goes_below_an_adapter() -> None:
    enc = HashingEncoder(dim=8)
    adapter = Adapter(mean=np.full(8, 0.01, dtype=np.float32), matrix=np.eye(8, dtype=np.float32)[:, ::-1].copy())
    wrapped, memo = memo_encoder(AdaptedEncoder(enc, adapter))
    assert isinstance(wrapped, AdaptedEncoder) and wrapped.encoder is memo and memo.encoder is enc
    assert wrapped.name == AdaptedEncoder(enc, adapter).name
    plain, m2 = memo_encoder(enc)
    assert plain is m2 and m2.encoder is enc
    assert memo_encoder(None) == (None, None)


# -- a real scorer: an incremental refit equals a from-scratch fit -----------------------------
def _profiles(n: int, tag: str = "") -> list[Profile]:
    words = ["机器视觉", "缺陷检测", "冷链", "果蔬保鲜", "茶叶加工", "杀青工艺", "土壤改良", "水稻育种",
             "machine vision", "cold chain logistics"]
    return [Profile(id=f"P{i:03d}{tag}", keywords=(words[i % 10],), disciplines=(f"学科{i % 3}",),
                    documents=(Document(text=f"{words[i % 10]}与{words[(i * 3 + 1) % 10]}研究 {i}{tag}",
                                        title=words[(i + 2) % 10], year=2018 + i % 6),
                               Document(text=f"{words[(i + 5) % 10]}的应用", title="应用")))
            for i in range(n)]


DEMANDS = [Demand(id="D1", title="冷链保鲜", description="果蔬冷链物流"),
           Demand(id="D2", title="machine vision", description="defect detection with cameras"),
           Demand(id="D3", title="茶叶", description="杀青工艺改进")]


@pytest.mark.parametrize("dense", [False, True])
def test_incremental_refit_scores_equal_a_from_scratch_fit(dense: bool) -> None:
    tok = Tokenizer(char_ngrams=2)
    enc = HashingEncoder(dim=32) if dense else None
    base = MatchScorer(tok, encoder=enc, english_encoder=HashingEncoder(dim=16, name="en") if dense else None,
                       now_year=2024)
    tmemo = TokenMemo(tok)
    vmemo = VectorMemo(enc) if dense else None
    params = {"tokenizer": tmemo, **({"encoder": vmemo} if dense else {})}
    first = _profiles(30)
    with recording(tmemo, vmemo):
        clone(base).set_params(**params).fit(first)
    later = first[:20] + _profiles(5, tag="new") + [first[25]]  # some gone, some new
    with recording(tmemo, vmemo):
        inc = clone(base).set_params(**params).fit(later)
    assert tmemo.hits > 0 and tmemo.n_texts < 2 * len(later) + 10
    scratch = clone(base).fit(later)
    assert np.array_equal(inc.score(DEMANDS), scratch.score(DEMANDS))
    assert inc.rank(DEMANDS, top_k=5) == scratch.rank(DEMANDS, top_k=5)
