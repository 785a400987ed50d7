"""English pairs get their own fusion and aggregation (MatchScorer english_fusion / english_k)."""
from __future__ import annotations

import numpy as np
import pytest

from xfd.matching import scoring
from xfd.matching.aggregate import topk_mean
from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import Fusion, MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile

EN_DOCS = ("Deep learning for surface defect detection", "Graph neural networks for traffic",
           "Bayesian optimisation of fermentation")
PROFILES = [
    Profile(id="E1", documents=tuple(Document(title=t, text=t + " in practice") for t in EN_DOCS)),
    Profile(id="Z1", documents=(Document(title="红茶发酵工艺优化", text="研究发酵温度对茶多酚的影响"),)),
    Profile(id="M1", documents=(Document(title="Defect detection", text="surface inspection"),
                                Document(title="注塑件缺陷检测", text="机器视觉"))),
]
DEMANDS = [Demand(id="D1", title="Defect detection with deep learning", description="surface defects of parts"),
           Demand(id="D2", title="茶叶发酵", description="红茶发酵温度控制")]


def _scorer(**kw) -> MatchScorer:
    return MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder(), english_encoder=HashingEncoder(name="en"),
                       **kw)


def test_english_fusion_scores_only_english_demand_with_all_english_profile() -> None:
    flat = Fusion(bias=0.7, dense=0.0, centroid=0.0, lexical=0.0)
    s = _scorer(english_fusion=flat).fit(PROFILES)
    base = _scorer(english_fusion=None, fusion=s.fusion_).fit(PROFILES)  # same fusion everywhere
    assert list(s.english_profiles_) == [0]  # M1 has a Chinese document
    got, ref = s.score(DEMANDS), base.score(DEMANDS)
    assert got[0, 0] == pytest.approx(1 / (1 + np.exp(-0.7)))  # the English pair: sigmoid(bias) only
    np.testing.assert_array_equal(got[0, 1:], ref[0, 1:])     # English demand, other profiles: unchanged
    np.testing.assert_array_equal(got[1], ref[1])             # Chinese demand: unchanged
    ranked = s.rank(DEMANDS, top_k=0)
    assert {m.profile_id: m.score for m in ranked[0].matches}["E1"] == got[0, 0]  # rank == score


def test_a_given_fusion_scores_every_pair_unless_an_english_one_is_given_too() -> None:
    cal = Fusion(bias=-1.0, dense=0.5, centroid=0.0, lexical=1.0)
    s = _scorer(fusion=cal).fit(PROFILES)
    assert s.english_fusion_ is None
    f = s.features(DEMANDS)
    np.testing.assert_allclose(s.fuse(f), 1 / (1 + np.exp(-(cal.bias + cal.terms(f)))))
    assert _scorer(fusion=cal, english_fusion=cal).fit(PROFILES).english_fusion_ == cal


def test_default_english_fusion_applies_without_a_given_fusion(monkeypatch) -> None:
    en = Fusion(bias=-2.0, dense=1.0, centroid=0.0, lexical=0.0)
    monkeypatch.setattr(scoring, "DEFAULT_ENGLISH_FUSION", en)
    assert _scorer().fit(PROFILES).english_fusion_ == en
    s = MatchScorer(Tokenizer(), encoder=HashingEncoder()).fit(PROFILES)  # no English model: no English pairs
    assert s.english_fusion_ is None and s.features(DEMANDS).english is None


def test_the_default_english_pair_score_is_its_top2_document_z_alone() -> None:
    """The shipped English rule: sigmoid(bias + w * mean of the profile's two best document z);
    the centroid and lexical features do not enter (changing them leaves the score)."""
    s = _scorer().fit(PROFILES)
    ef = scoring.DEFAULT_ENGLISH_FUSION
    assert s.english_k_ == scoring.DEFAULT_ENGLISH_K == 2 and ef.centroid == ef.lexical == 0.0 < ef.dense
    f = s.features(DEMANDS)
    z = np.sort(f.doc_dense[0, s.table_.owner == 0])[::-1]
    want = 1 / (1 + np.exp(-(ef.bias + ef.dense * z[:2].mean())))
    assert s.fuse(f)[0, 0] == pytest.approx(want, rel=1e-5)
    other = f._replace(lexical=f.lexical + 1.0, centroid=f.centroid + 1.0)
    assert s.fuse(other)[0, 0] == pytest.approx(want, rel=1e-5)


def test_english_k_aggregates_english_pairs_only() -> None:
    s = _scorer(k=3, english_k=1, english_fusion=Fusion(0.0, 1.0, 0.0, 0.0)).fit(PROFILES)
    f = s.features(DEMANDS)
    assert f.english[0].tolist() == [True, False, False] and not f.english[1].any()
    n_p, owner = s.table_.n_profiles, s.table_.owner
    top1 = topk_mean(f.doc_dense, owner, n_p, k=1, empty=-3.0)
    top3 = topk_mean(f.doc_dense, owner, n_p, k=3, empty=-3.0)
    assert f.dense[0, 0] == pytest.approx(top1[0, 0]) and top1[0, 0] != pytest.approx(top3[0, 0])
    np.testing.assert_allclose(f.dense[0, 1:], top3[0, 1:])
    np.testing.assert_allclose(f.dense[1], top3[1])


def test_demand_role_selects_the_encoders_role_for_demands_only() -> None:
    seen = []

    class Spy(HashingEncoder):
        def encode(self, texts, role="passage"):
            seen.append(role)
            return super().encode(texts, role)

    s = MatchScorer(Tokenizer(), encoder=Spy(), demand_role="query").fit(PROFILES)
    seen.clear()
    s.score(DEMANDS)
    assert seen == ["query"]
    q = MatchScorer(Tokenizer(), encoder=Spy()).fit(PROFILES)
    seen.clear()
    q.score(DEMANDS)
    assert seen == ["passage"]  # the default, chosen by the cross-validated figure


def test_dense_similarity_takes_the_callers_english_flags() -> None:
    """Flags given by the caller (``features`` computes them once) give the same z as flags the
    index computes itself; flags of another length are refused, naming both lengths."""
    from xfd.matching.dense import DenseIndex
    from xfd.matching.text import is_english

    texts = [d.text for p in PROFILES for d in p.documents]
    owner = np.array([i for i, p in enumerate(PROFILES) for _ in p.documents])
    idx = DenseIndex(HashingEncoder(), english_encoder=HashingEncoder(name="en")).fit(
        texts, owner, len(PROFILES), np.ones(len(texts)))
    queries = [d.text for d in DEMANDS]
    flags = np.array([is_english(t) for t in queries])
    assert flags.tolist() == [True, False]
    own, given = idx.similarity(queries), idx.similarity(queries, flags)
    assert np.array_equal(own.docs, given.docs) and np.array_equal(own.centroids, given.centroids)
    assert given.docs.dtype == np.float32 and given.docs.shape == (2, len(texts))
    with pytest.raises(ValueError, match="english has 1 flags but there are 2 texts"):
        idx.similarity(queries, flags[:1])


def test_sigmoid_in_place_equals_the_formula() -> None:
    """The in-place logistic gives exactly ``1 / (1 + exp(-clip(x, -60, 60)))`` and keeps its input."""
    x = np.random.default_rng(0).normal(scale=20, size=(7, 50))
    x[0, :3] = [-1e3, 1e3, 0.0]
    keep = x.copy()
    assert np.array_equal(scoring._sigmoid(x), 1.0 / (1.0 + np.exp(-np.clip(keep, -60, 60))))
    assert np.array_equal(x, keep)


def test_centroid_map_gives_the_cosine_to_each_profiles_mean_vector() -> None:
    """``centroid_map @ (V @ q)`` equals the cosine of q with the unit-length weighted mean
    of each profile's vectors (brute force), 0 for a profile without documents."""
    from xfd.matching.dense import centroid_map, centroids

    rng = np.random.default_rng(5)
    v = rng.standard_normal((30, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    owner = rng.integers(0, 8, 30)
    owner[owner == 7] = 0  # profile 7 has no document
    w = rng.uniform(0.5, 1.0, 30)
    q = rng.standard_normal((16, 3)).astype(np.float32)
    got = np.asarray(centroid_map(v, owner, 8, w) @ (v @ q))
    for p in range(8):
        m = (w[owner == p, None] * v[owner == p]).sum(axis=0)
        want = q.T @ (m / np.linalg.norm(m)) if (owner == p).any() else np.zeros(3)
        np.testing.assert_allclose(got[p], want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, centroids(v, owner, 8, w) @ q, rtol=1e-5, atol=1e-6)
