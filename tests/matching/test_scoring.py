"""The match scorer on small cases with a fake encoder (real logic, no neural model)."""
from __future__ import annotations

import numpy as np
import pytest

from xfd.matching.disciplines import DisciplineInferer, DisciplineSpec, select
from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile

PROFILES = [
    Profile(id="T1", disciplines=("机械工程",), keywords=("机器视觉", "缺陷检测"),
            documents=(Document(title="注塑件表面缺陷的机器视觉检测", text="采用深度学习识别注塑件表面缺陷", year=2023),)),
    Profile(id="T2", disciplines=("食品科学与工程",), keywords=("发酵", "茶叶加工"),
            documents=(Document(title="红茶发酵工艺优化", text="研究发酵温度对茶多酚的影响", year=2021),)),
    Profile(id="S1", kind="student", grade=2, capacity=1, disciplines=("计算机科学与技术",), major="计算机科学与技术",
            skills=("Python", "图像识别")),
]


def _scorer(**kw) -> MatchScorer:
    return MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder(), **kw)


def test_fit_returns_self_and_sets_learned_state_only() -> None:
    s = _scorer()
    assert not hasattr(s, "table_")
    assert s.fit(PROFILES) is s
    assert s.table_.n_profiles == 3 and len(s.table_) == 5  # 2 documents + 3 cards


def test_clone_is_unfitted_shares_resources_and_scores_the_same() -> None:
    from sklearn.base import clone

    s = _scorer(k=2).fit(PROFILES)
    c = clone(s)
    assert c.get_params(deep=False) == s.get_params(deep=False)
    assert c.tokenizer is s.tokenizer and c.encoder is s.encoder  # loaded resources shared, never copied
    assert not [a for a in vars(c) if a.endswith("_")]  # settings only
    demands = [Demand(id="D1", title="注塑件表面缺陷检测")]
    np.testing.assert_array_equal(c.fit(PROFILES).score(demands), s.score(demands))


def test_related_profile_ranks_first_and_scores_are_calibrated() -> None:
    s = _scorer().fit(PROFILES)
    demands = [Demand(id="D1", title="注塑件表面缺陷检测", description="希望用机器视觉自动检测注塑件缺陷"),
               Demand(id="D2", title="茶叶发酵工艺", description="红茶发酵温度难以控制")]
    m = s.score(demands)
    assert m.shape == (2, 3)
    assert np.all((m > 0) & (m < 1))
    assert m[0].argmax() == 0 and m[1].argmax() == 1
    ranked = s.rank(demands, top_k=0)
    assert [x.profile_id for x in ranked[0].matches][0] == "T1"
    got = [x.score for x in ranked[0].matches]
    assert got == sorted(got, reverse=True)
    # rank and score agree exactly
    assert {x.profile_id: x.score for x in ranked[0].matches}["T2"] == m[0, 1]


def test_evidence_names_document_and_shared_terms() -> None:
    s = _scorer().fit(PROFILES)
    top = s.rank([Demand(id="D1", title="注塑件缺陷检测")], top_k=1)[0].matches[0]
    assert top.profile_id == "T1"
    assert top.evidence[0].document == "注塑件表面缺陷的机器视觉检测"
    assert "注塑件" in top.evidence[0].terms
    assert all(len(t) >= 2 for t in top.evidence[0].terms)


def _brute_evidence(s: MatchScorer, demand: Demand, j: int) -> tuple:
    """Evidence of profile column ``j`` worked out pair by pair with plain Python (the definition)."""
    f = s.features([demand])
    words, grams = s.tokenizer.split(demand.text)
    fu = s.fusion_
    rows = [r for r in range(len(s.table_)) if s.table_.owner[r] == j]
    value = {r: fu.lexical * f.doc_lexical[0, r] + (fu.dense * f.doc_dense[0, r] if f.doc_dense is not None else 0.0)
             for r in rows}
    best = sorted(rows, key=lambda r: -value[r])[: s.evidence_docs]  # stable: ties keep table order
    vocab, idf, terms = s.lexical_.vocabulary_, s.lexical_.idf_, s.lexical_.terms_
    doc_tokens = [set(s.tokenizer(t)) for t in s.table_.texts]
    out = []
    for r in best:
        shared = sorted({vocab[w] for w in words if w in vocab and w in doc_tokens[r]}, key=lambda t: (-idf[t], terms[t]))
        out.append((s.table_.titles[r], tuple(terms[t] for t in shared[: s.evidence_terms])))
    return tuple(out)


def test_evidence_matches_the_pairwise_definition() -> None:
    profiles = [*PROFILES, Profile(id="T3", keywords=("机器视觉", "发酵"), documents=(
        Document(title="发酵罐视觉监测", text="机器视觉监测发酵罐液位"), Document(title="注塑缺陷", text="注塑件缺陷统计"),
        Document(title="无关", text="城市交通规划"),))]
    s = MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder(), evidence_docs=2, evidence_terms=3).fit(profiles)
    d = Demand(id="D1", title="注塑件缺陷机器视觉检测", description="发酵罐液位也要监测")
    got = s.rank([d], top_k=0)[0].matches
    col = {p.id: j for j, p in enumerate(profiles)}
    for m in got:
        assert tuple((e.document, e.terms) for e in m.evidence) == _brute_evidence(s, d, col[m.profile_id])
    assert len({m.profile_id for m in got if any(len(e.terms) >= 2 for e in m.evidence)}) >= 2  # not trivially empty
    t3 = next(m for m in got if m.profile_id == "T3")
    assert len(t3.evidence) == 2  # 4 rows (3 documents + card), the best 2 shown


def test_evidence_for_the_first_n_only_and_nothing_else_changes() -> None:
    s = _scorer().fit(PROFILES)
    d = [Demand(id="D1", title="注塑件表面缺陷检测"), Demand(id="D2", title="茶叶发酵工艺")]
    full = s.rank(d, top_k=0)
    part = s.rank(d, top_k=0, evidence=1)
    none = s.rank(d, top_k=0, evidence=0)
    for a, b, c in zip(full, part, none):
        assert [(m.profile_id, m.score) for m in a.matches] == [(m.profile_id, m.score) for m in b.matches] \
            == [(m.profile_id, m.score) for m in c.matches]
        assert b.matches[0].evidence == a.matches[0].evidence != ()
        assert all(m.evidence == () for m in b.matches[1:]) and all(m.evidence == () for m in c.matches)


def test_top_k_limits_and_ties_break_by_profile_order() -> None:
    s = MatchScorer(Tokenizer()).fit(PROFILES)
    r = s.rank([Demand(id="D", title="完全无关 zzz")], top_k=2)[0]
    assert [m.profile_id for m in r.matches] == ["T1", "T2"]


def test_lexical_only_scorer_without_encoder() -> None:
    s = MatchScorer(Tokenizer(char_ngrams=2)).fit(PROFILES)
    m = s.score([Demand(id="D", title="红茶发酵")])
    assert s.dense_ is None and m[0].argmax() == 1


def test_required_disciplines_explicit_then_inferred_from_pool() -> None:
    s = _scorer().fit(PROFILES)
    demands = [Demand(id="D1", title="x", disciplines=("海洋科学",)),
               Demand(id="D2", title="红茶发酵工艺优化", description="茶多酚 发酵温度", team_size=(1, 3))]
    req = s.required_disciplines(demands)
    assert req[0] == ("海洋科学",)
    assert req[1][0] == "食品科学与工程"
    assert len(req[1]) == 1  # team of at least 1 -> at most one inferred discipline


def test_discipline_inferer_and_select() -> None:
    specs = [DisciplineSpec("机械工程", "机械工程；数控加工；机床；模具"),
             DisciplineSpec("食品科学与工程", "食品科学与工程；发酵；茶叶；食品安全")]
    inf = DisciplineInferer(Tokenizer(char_ngrams=2)).fit(specs)
    p = inf.predict_proba(["茶叶发酵车间", "数控机床加工精度"])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert inf.names_[p[0].argmax()] == "食品科学与工程"
    assert inf.propose(["数控机床加工精度"], top=1)[0][0].name == "机械工程"
    assert select(np.array([[0.5, 0.45, 0.05]]), ["a", "b", "c"], relative=0.8) == [("a", "b")]
    with pytest.raises(ValueError, match="no disciplines"):
        DisciplineInferer(Tokenizer()).fit([])


def test_evidence_shows_no_generic_words_places_or_over_common_words() -> None:
    from xfd.matching.evidence import MIN_COMMON_DOCS, is_place_like

    assert is_place_like("云溪市") and is_place_like("青山县") and is_place_like("江北区")
    assert not is_place_like("工业园区") and not is_place_like("城市") and not is_place_like("古镇")
    filler = [Profile(id=f"F{i}", documents=(Document(title=f"f{i}", text=f"质量检验{i}号"),)) for i in range(MIN_COMMON_DOCS + 5)]
    teacher = Profile(id="T1", documents=(Document(title="烘干工艺", text="云溪市茶厂杀青烘干工艺经验稳定，质量检验"),))
    d = Demand(id="D1", title="茶叶杀青烘干", description="云溪市企业，靠经验，温度不稳定，质量检验")
    kw = dict(evidence_terms=20)
    plain = MatchScorer(Tokenizer(), **kw).fit([teacher, *filler])
    strict = MatchScorer(Tokenizer(), evidence_exclude=("经验", "稳定"), evidence_max_df=0.5, **kw).fit([teacher, *filler])
    shown = set(plain.rank([d], top_k=1)[0].matches[0].evidence[0].terms)
    assert {"杀青", "烘干", "经验", "稳定", "质量检验"} <= shown and "云溪市" not in shown  # places never shown
    top = strict.rank([d], top_k=1)[0].matches[0]
    assert set(top.evidence[0].terms) == {"杀青", "烘干"}  # 质量检验: in 26 of 27 documents
    np.testing.assert_array_equal(strict.score([d]), plain.score([d]))  # evidence only, scores unchanged


def test_top_order_equals_a_full_lexsort_with_ties() -> None:
    """Partial selection gives exactly the full sort's first k (ties broken by column)."""
    from xfd.matching.scoring import top_order

    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        row = rng.integers(0, 4, n).astype(float) / 4  # many ties
        for k in (1, 2, 3, 5, n):
            want = np.lexsort((np.arange(n), -row))[:k]
            assert top_order(row, k).tolist() == want.tolist()
