"""The encoders ``make_scorer`` wires up: one copy of the document vectors, the English model
loaded only when English documents exist."""
from __future__ import annotations

import numpy as np

from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import default_tokenizer
from xfd.matching.types import Demand, Document, Profile
from xfd.models.pipeline import LazyEncoder, cached_encoder


class Counting(HashingEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, texts, role="passage"):
        self.calls += 1
        return super().encode(texts, role)


def test_cached_encoder_keeps_no_second_copy_and_reads_the_store(tmp_path) -> None:
    inner = Counting()
    enc = cached_encoder(inner, tmp_path)
    first = enc.encode(["机器视觉检测", "红茶发酵"], "passage")
    again = enc.encode(["红茶发酵", "机器视觉检测"], "passage")
    assert inner.calls == 1 and enc.encoded == 2 and enc.hits == 2  # the second call came from the file
    assert np.array_equal(again, first[::-1])
    assert vars(enc)["_memory"] is None  # no in-process copy beside the fitted index's vectors


def _scorer(english_loads: list[int]) -> MatchScorer:
    def factory() -> HashingEncoder:
        english_loads.append(1)
        return HashingEncoder()

    return MatchScorer(default_tokenizer(), encoder=HashingEncoder(), english_encoder=LazyEncoder(factory))


def test_english_model_stays_unloaded_for_a_chinese_corpus() -> None:
    loads: list[int] = []
    s = _scorer(loads).fit([Profile(id="T1", documents=(Document("注塑件表面缺陷的机器视觉检测"),)),
                            Profile(id="T2", keywords=("红茶", "发酵"))])
    s.rank([Demand(id="D1", title="注塑件缺陷检测", description="machine vision for defects")], top_k=2)
    s.score([Demand(id="D2", description="Fermentation control of black tea")])
    assert loads == []


def test_english_model_loads_once_when_english_documents_exist() -> None:
    loads: list[int] = []
    s = _scorer(loads).fit([Profile(id="T1", documents=(Document("Machine vision inspection of moulded parts"),)),
                            Profile(id="T2", keywords=("红茶", "发酵"))])
    s.rank([Demand(id="D1", description="machine vision for surface defects")], top_k=2)
    assert loads == [1]
