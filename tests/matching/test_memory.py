"""Verdict memory: kernel weights worked by hand, the memory lifting exactly the right profile in
the real scorer, the fit keeping a memory that pays and refusing one that does not (never worse)."""
from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

from xfd.matching.calibration import (
    MemoryInputs,
    calibration_from_json,
    calibration_to_json,
    fit_calibration,
    memory_from_json,
)
from xfd.matching.memory import MemoryItem, VerdictMemory, evidence, kernel, memory_vectors, spread
from xfd.matching.scoring import LEXICAL_ONLY_FUSION, Fusion, MatchScorer
from xfd.matching.text import Tokenizer
from xfd.matching.types import Demand, Document, Profile


class TableEncoder:
    """Vectors looked up by text (unit rows), any role; ``other`` for texts not in the table."""

    name = "table"

    def __init__(self, table: dict[str, list[float]], other: list[float] | None = None) -> None:
        self.table = table
        self.other = other
        self.dim = len(next(iter(table.values())))

    def encode(self, texts, role="passage") -> np.ndarray:
        return np.array([self.table[t] if self.other is None else self.table.get(t, self.other) for t in texts],
                        dtype=float)


def test_kernel_and_evidence_by_hand() -> None:
    # memory A accepted P0, B accepted P1 and rejected P0; the query is A itself (cos 1 to A, 0 to B)
    cos = np.array([[1.0, 0.0]])
    acc = np.array([[1.0, 0.0], [0.0, 1.0]])
    rej = np.array([[0.0, 0.0], [1.0, 0.0]])
    # mu 0, sigma 1, tau 1, null 0: softmax of (1, 0, null 0) -> (e, 1, 1) / (e + 2)
    w = kernel(cos, 0.0, 1.0, 1.0, 0.0)
    np.testing.assert_allclose(w, [[math.e / (math.e + 2), 1 / (math.e + 2)]])
    pos, neg = evidence(cos, acc, rej, 0.0, 1.0, 1.0, 0.0)
    np.testing.assert_allclose(pos, [[math.e / (math.e + 2), 1 / (math.e + 2)]])
    np.testing.assert_allclose(neg, [[1 / (math.e + 2), 0.0]])
    # a high null level takes the weight when nothing in memory is close
    assert kernel(cos, 0.0, 1.0, 1.0, 50.0).sum() < 1e-12


def test_spread_by_hand_and_hashed_vectors_are_unit_rows() -> None:
    v = np.eye(3)
    assert spread(v) == (0.0, 1.0)  # all pairwise cosines 0: sigma 0 -> 1
    v = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    mu, sigma = spread(v)
    cos = np.array([0.6, 0.0, 0.8])
    assert mu == pytest.approx(cos.mean()) and sigma == pytest.approx(cos.std())
    m = memory_vectors(["红茶发酵", "红茶发酵", "注塑模具"], tokenizer=Tokenizer(char_ngrams=2))
    g = (m @ m.T).toarray()
    np.testing.assert_allclose(np.diag(g), 1.0)
    assert g[0, 1] == pytest.approx(1.0) and g[0, 2] == pytest.approx(0.0)


PROFILES = [Profile(id="T1", documents=(Document(title="机器学习方法", text="模型"),)),
            Profile(id="T2", documents=(Document(title="机器学习算法", text="模型"),)),
            Profile(id="T3", documents=(Document(title="机器学习系统", text="模型"),))]


def test_memory_of_an_accepted_demand_lifts_exactly_that_profile() -> None:
    # every profile document has the same vector: without memory the three profiles tie
    enc = TableEncoder({"红茶发酵": [1.0, 0.0], "红茶萎凋发酵": [0.8, 0.6]}, other=[0.6, 0.8])
    mem = VerdictMemory((MemoryItem("M1", "红茶发酵", ("T2",), ("T3",)),), accepted=5.0, rejected=2.0, tau=1.0, null=0.0)
    tok = Tokenizer(char_ngrams=2)
    plain = MatchScorer(tok, encoder=enc).fit(PROFILES)
    withm = MatchScorer(tok, encoder=enc, memory=mem).fit(PROFILES)
    demands = [Demand(id="N1", title="红茶萎凋发酵")]
    f0, f1 = plain.features(demands), withm.features(demands)
    z0 = plain.fusion_.bias + plain.fusion_.terms(f0)
    # one memory item: mu 0, sigma 1; cos(query, M1) = 0.8; weight e^0.8 / (e^0.8 + e^0)
    w = math.exp(0.8) / (math.exp(0.8) + 1.0)
    np.testing.assert_allclose(f1.memory, [[0.0, 5.0 * w, -2.0 * w]])
    s1 = withm.score(demands)
    np.testing.assert_allclose(s1, 1 / (1 + np.exp(-(z0 + f1.memory))))
    assert int(np.argmax(s1[0])) == 1  # T2: before the memory all three tie
    ranked = withm.rank(demands, top_k=3)[0].matches
    assert [m.profile_id for m in ranked] == ["T2", "T1", "T3"]


def _clustered(seed: int, n_per: int = 8, flip: bool = False):
    """Demands in 3 tight clusters of unit vectors; cluster c's demands accept profile Pc and reject
    the two others.  The default logits (x lexical only) are pure noise.  ``flip``: consecutive
    demands of a cluster (so in different folds) give opposite verdicts on P0/P1 (adversarial)."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3)
    ids, texts, vecs, x, y, g, pp = [], [], [], [], [], [], []
    for c in range(3):
        for i in range(n_per):
            d = f"C{c}D{i}"
            v = centres[c] + rng.normal(0, 0.05, 3)
            ids.append(d)
            texts.append(d)
            vecs.append(v / np.linalg.norm(v))
            good = c if not flip else (i % 2)
            for p in range(3):
                if flip and p == 2:
                    continue
                x.append([0.0, 0.0, rng.uniform(0, 0.01)])
                y.append(p == good)
                g.append(d)
                pp.append(f"P{p}")
    order = rng.permutation(len(ids))  # interleave clusters so every fold has all of them
    ids, texts, vecs = [ids[i] for i in order], [texts[i] for i in order], np.array(vecs)[order]
    pos = {d: k for k, d in enumerate(ids)}
    idx = sorted(range(len(g)), key=lambda k: pos[g[k]])
    x, y, g, pp = np.array(x)[idx], np.array(y)[idx], np.array(g)[idx], [pp[k] for k in idx]
    return MemoryInputs(ids, texts, vecs, pp), x, y, g


def test_a_memory_that_pays_is_kept_and_carried_in_the_document() -> None:
    inp, x, y, g = _clustered(0)
    cal = fit_calibration(x, y, g, LEXICAL_ONLY_FUSION, "lexical", inp)
    assert cal.source == "memory" and cal.memory is not None, cal.reason
    held = cal.figures["held_out"]
    assert held["after"].pairwise > 0.95 and held["before"].pairwise < 0.75
    assert cal.fusion == Fusion(**{k: v for k, v in zip(Fusion._fields, (
        cal.fusion.bias, LEXICAL_ONLY_FUSION.dense, LEXICAL_ONLY_FUSION.centroid, LEXICAL_ONLY_FUSION.lexical))})
    assert cal.memory.accepted > 0 and len(cal.memory.items) == len(inp.demand_ids)
    doc = calibration_to_json(cal)
    back = calibration_from_json(doc, "lexical")
    assert back.fusion == cal.fusion and back.memory == cal.memory
    assert back.settings() == {"fusion": cal.fusion, "memory": cal.memory}
    # bound to a scorer, a new demand of cluster 1 gets P1 lifted most, P0 and P2 lowered
    table = {t: list(v) for t, v in zip(inp.texts, inp.vectors)} | {"new": [0.0, 1.0, 0.0]}
    scorer = SimpleNamespace(encoder=TableEncoder(table), tokenizer=None,
                             profiles_=[Profile(id=f"P{k}") for k in range(3)])
    shift = cal.memory.bind(scorer).logits(["new"])[0]
    assert int(np.argmax(shift)) == 1 and shift[1] > 0 > max(shift[0], shift[2])


def test_adversarial_verdicts_give_the_default() -> None:
    inp, x, y, g = _clustered(1, flip=True)
    cal = fit_calibration(x, y, g, LEXICAL_ONLY_FUSION, "lexical", inp)
    assert cal.source == "default" and cal.memory is None and cal.fusion == LEXICAL_ONLY_FUSION
    assert "memory" not in calibration_to_json(cal)


@pytest.mark.parametrize(("patch", "field"), [
    ({"accepted": -1.0}, "memory.accepted"),
    ({"tau": 0.0}, "memory.tau"),
    ({"null": "x"}, "memory.null"),
    ({"items": [{"demand_id": "D1", "text": 3, "accepted": [], "rejected": []}]}, "memory.items[0]"),
    ({"items": [{"demand_id": "D1", "text": "t", "accepted": "T1", "rejected": []}]}, "memory.items[0].accepted"),
])
def test_malformed_memory_names_the_field(patch, field) -> None:
    doc = {"memory": {"accepted": 1.0, "rejected": 0.5, "tau": 0.5, "null": 2.0,
                      "items": [{"demand_id": "D1", "text": "t", "accepted": ["T1"], "rejected": []}], **patch}}
    with pytest.raises(ValueError, match=re.escape(f'"{field}')):
        memory_from_json(doc)


def test_a_calibration_document_carries_vectors_not_demand_texts() -> None:
    """With an encoder's vectors the memory keeps each demand's unit vector and drops its text:
    the document has no demand text, and bound again it lifts the same profile as before."""
    import json

    inp, x, y, g = _clustered(0)
    secret = [f"机密需求 confidential demand {d}" for d in inp.demand_ids]
    inp = inp._replace(texts=secret)
    cal = fit_calibration(x, y, g, LEXICAL_ONLY_FUSION, "lexical", inp)
    assert cal.memory is not None and all(it.text == "" and len(it.vector) == 3 for it in cal.memory.items)
    doc = calibration_to_json(cal)
    dumped = json.dumps(doc, ensure_ascii=False)
    assert "机密需求" not in dumped and "confidential" not in dumped
    assert all(set(it) == {"demand_id", "vector", "accepted", "rejected"} for it in doc["memory"]["items"])
    back = calibration_from_json(json.loads(dumped), "lexical").memory
    assert back == cal.memory
    scorer = SimpleNamespace(encoder=TableEncoder({"new": [0.0, 1.0, 0.0]}), tokenizer=None,
                             profiles_=[Profile(id=f"P{k}") for k in range(3)])
    shift = back.bind(scorer).logits(["new"])[0]  # the memory's own texts are never encoded
    assert int(np.argmax(shift)) == 1 and shift[1] > 0 > max(shift[0], shift[2])


def test_a_document_with_texts_still_binds_by_embedding_them() -> None:
    """Calibration files written before vectors were kept (items with a text) load and embed their texts."""
    doc = {"memory": {"accepted": 1.0, "rejected": 0.5, "tau": 0.5, "null": 2.0,
                      "items": [{"demand_id": "D1", "text": "红茶发酵", "accepted": ["P0"], "rejected": []}]}}
    mem = memory_from_json(doc)
    assert mem.items[0].text == "红茶发酵" and mem.items[0].vector == ()
    enc = TableEncoder({"红茶发酵": [1.0, 0.0], "new": [1.0, 0.0]})
    bound = mem.bind(SimpleNamespace(encoder=enc, tokenizer=None, profiles_=[Profile(id="P0"), Profile(id="P1")]))
    assert np.allclose(bound.vectors, [[1.0, 0.0]])


def test_stored_vectors_need_their_encoder() -> None:
    """A vector memory bound to a scorer without an encoder, or to one of another dimension, is refused."""
    mem = VerdictMemory((MemoryItem("D1", "", ("P0",), (), (1.0, 0.0, 0.0)),), 1.0, 0.5, 0.5, 2.0)
    profiles = [Profile(id="P0")]
    with pytest.raises(ValueError, match="need the encoder they came from"):
        mem.bind(SimpleNamespace(encoder=None, tokenizer=Tokenizer(), profiles_=profiles))
    with pytest.raises(ValueError, match="memory vectors have 3 dimensions, the encoder 2"):
        mem.bind(SimpleNamespace(encoder=TableEncoder({"a": [1.0, 0.0]}), tokenizer=None, profiles_=profiles))


@pytest.mark.parametrize("vector", [[], ["x"], [1.0, float("nan")], "1,2", [True, 1.0]])
def test_malformed_memory_vector_names_the_field(vector) -> None:
    doc = {"memory": {"accepted": 1.0, "rejected": 0.5, "tau": 0.5, "null": 2.0,
                      "items": [{"demand_id": "D1", "vector": vector, "accepted": ["T1"], "rejected": []}]}}
    with pytest.raises(ValueError, match=re.escape('"memory.items[0].vector"')):
        memory_from_json(doc)
