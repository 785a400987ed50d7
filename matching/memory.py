"""Verdict memory: the office's past verdicts as evidence for new demands.

A demand the office *accepted* profile p for is evidence that similar new
demands suit p too; a *rejected* one, that they do not.  For a new demand d
and the memory demands m (each with the profiles accepted / rejected for it)
the kernel weights

    w_dm = softmax_m( cos(d, m) / (tau · sigma) )      (one extra "null" item of
                                                         cosine mu + null·sigma, no verdicts)

(``cos`` between the demands' query vectors; ``mu``, ``sigma`` the mean and
standard deviation of the cosine between two memory demands) give

    pos(d, p) = Σ_m w_dm [m accepted p]      neg(d, p) = Σ_m w_dm [m rejected p]

both in [0, 1] (a Nadaraya–Watson estimate of "a demand like d was accepted /
rejected for p"; the null item takes the weight when no memory demand is
close).  A calibration adds ``accepted · pos − rejected · neg`` to the fused
logit.  The coefficients (>= 0), ``tau`` and ``null`` are fitted by
``xfd.matching.calibration`` on held-out folds of the verdicts.

Vectors: the scorer's main encoder, in the role it embeds demands with
(``demand_role``, so cached vectors are reused), when it has one, else
L2-normalised hashed token counts of its tokenizer (lexical-only scorers).
Pure: numpy/scipy/sklearn only.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

#: pairs of memory demands used to estimate the cosine background (all pairs below this)
BACKGROUND_PAIRS = 20000
HASH_FEATURES = 2**18


class MemoryItem(NamedTuple):
    """One remembered demand: its id, text, and the profile ids accepted / rejected for it.

    ``vector``: the demand's unit vector from the scorer's encoder (dim floats) when the
    memory was fitted with one; the text is then not kept (``""``): a calibration file or
    row never carries an enterprise's demand text.  A lexical scorer's memory keeps the
    text (its vectors are the tokenizer's hashed counts, which a dictionary reverses)."""

    demand_id: str
    text: str
    accepted: tuple[str, ...]
    rejected: tuple[str, ...]
    vector: tuple[float, ...] = ()


class VerdictMemory(NamedTuple):
    """The memory and its fitted coefficients: ``accepted`` / ``rejected`` logit weights
    (>= 0), kernel temperature ``tau`` (> 0, in units of the memory's cosine spread) and the
    ``null`` level (the null item's cosine is mu + null·sigma)."""

    items: tuple[MemoryItem, ...]
    accepted: float
    rejected: float
    tau: float
    null: float

    def bind(self, scorer: Any) -> BoundMemory:
        """The memory for a fitted scorer (its encoder or tokenizer, its ``profiles_`` columns)."""
        return bind(self, scorer)


def memory_vectors(texts: Sequence[str], encoder: Any = None,
                   tokenizer: Callable[[str], list[str]] | None = None, role: str = "query") -> np.ndarray:
    """(n, dim) unit rows: ``encoder.encode(texts, role)`` (dense array; ``role`` the one the scorer
    embeds demands with, so cached vectors are reused) when an encoder is
    given, else hashed token counts of ``tokenizer`` (sublinear tf; sparse CSR, HASH_FEATURES columns)."""
    texts = list(texts)
    if encoder is not None:
        v = np.asarray(encoder.encode(texts, role), dtype=np.float64).reshape(len(texts), -1)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(norm > 0, norm, 1.0)
    if tokenizer is None:
        raise ValueError("memory_vectors needs an encoder or a tokenizer")
    from sklearn.feature_extraction.text import HashingVectorizer  # noqa: PLC0415

    hv = HashingVectorizer(analyzer=tokenizer, n_features=HASH_FEATURES, alternate_sign=False, norm=None)
    m = hv.transform(texts).astype(np.float64)
    m.data = 1.0 + np.log(m.data)
    norm = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    m = m.multiply(1.0 / np.where(norm > 0, norm, 1.0)[:, None]).tocsr()
    return m


def cosines(a: Any, b: Any) -> np.ndarray:
    """(len(a), len(b)) cosines of two sets of unit rows (dense arrays or sparse matrices)."""
    out = a @ b.T
    return np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)


def spread(vectors: Any) -> tuple[float, float]:
    """(mu, sigma) of the cosine between two distinct memory demands; (0, 1) with fewer than 3."""
    n = vectors.shape[0]
    if n < 3:
        return 0.0, 1.0
    if n * (n - 1) // 2 <= BACKGROUND_PAIRS:
        i, j = np.triu_indices(n, 1)
    else:
        rng = np.random.default_rng(0)
        i, j = rng.integers(0, n, BACKGROUND_PAIRS), rng.integers(0, n, BACKGROUND_PAIRS)
        keep = i != j
        i, j = i[keep], j[keep]
    cos = _paired(vectors, i, j)
    sigma = float(cos.std())
    return float(cos.mean()), sigma if sigma > 1e-9 else 1.0


def _paired(vectors: Any, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if hasattr(vectors, "multiply"):
        return np.asarray(vectors[i].multiply(vectors[j]).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", vectors[i], vectors[j])


def kernel(cos: np.ndarray, mu: float, sigma: float, tau: float, null: float) -> np.ndarray:
    """(n_queries, n_memory) weights: softmax over the memory plus the null item (dropped)."""
    z = cos / (tau * sigma)
    z0 = np.full((cos.shape[0], 1), (mu + null * sigma) / (tau * sigma))
    full = np.hstack([z, z0])
    full = np.exp(full - full.max(axis=1, keepdims=True))
    return (full / full.sum(axis=1, keepdims=True))[:, :-1]


def evidence(cos: np.ndarray, acc: np.ndarray, rej: np.ndarray, mu: float, sigma: float, tau: float,
             null: float) -> tuple[np.ndarray, np.ndarray]:
    """(pos, neg), each (n_queries, n_profiles) in [0, 1], from query–memory cosines (n_q, n_m)
    and the memory's accepted / rejected indicator matrices (n_m, n_profiles)."""
    w = kernel(cos, mu, sigma, tau, null)
    return w @ acc, w @ rej


def verdict_matrices(items: Sequence[MemoryItem], profile_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n_items, n_profiles) 0/1 matrices of accepted and rejected profiles (unknown ids left out)."""
    col = {p: j for j, p in enumerate(profile_ids)}
    acc = np.zeros((len(items), len(col)))
    rej = np.zeros((len(items), len(col)))
    for i, it in enumerate(items):
        acc[i, [col[p] for p in it.accepted if p in col]] = 1.0
        rej[i, [col[p] for p in it.rejected if p in col]] = 1.0
    return acc, rej


class BoundMemory(NamedTuple):
    """A memory bound to a fitted scorer: memory ``vectors`` (n_m, dim), ``acc`` / ``rej``
    (n_m, n_profiles), the background ``mu`` / ``sigma``, and how to embed new demands."""

    memory: VerdictMemory
    vectors: Any
    acc: np.ndarray
    rej: np.ndarray
    mu: float
    sigma: float
    encoder: Any
    tokenizer: Any
    role: str = "query"

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """(n_texts, n_profiles) logit shift accepted·pos − rejected·neg."""
        m = self.memory
        if not len(m.items) or not len(texts):
            return np.zeros((len(texts), self.acc.shape[1]))
        q = memory_vectors(texts, self.encoder, self.tokenizer, self.role)
        pos, neg = evidence(cosines(q, self.vectors), self.acc, self.rej, self.mu, self.sigma, m.tau, m.null)
        return m.accepted * pos - m.rejected * neg


def bind(memory: VerdictMemory, scorer: Any) -> BoundMemory:
    """Embed the memory with the fitted scorer's encoder (or tokenizer) and map its verdicts to the
    scorer's profile columns (``scorer.profiles_``)."""
    encoder = getattr(scorer, "encoder", None)
    tokenizer = None if encoder is not None else scorer.tokenizer
    role = getattr(scorer, "demand_role", "query")
    ids = [p.id for p in scorer.profiles_]
    acc, rej = verdict_matrices(memory.items, ids)
    if memory.items:
        vectors = _item_vectors(memory.items, encoder, tokenizer, role)
        mu, sigma = spread(vectors)
    else:
        vectors, mu, sigma = np.zeros((0, 1)), 0.0, 1.0
    return BoundMemory(memory, vectors, acc, rej, mu, sigma, encoder, tokenizer, role)


def _item_vectors(items: Sequence[MemoryItem], encoder: Any, tokenizer: Any, role: str) -> Any:
    """The memory's unit rows: the stored vectors when the items carry them (they need the
    encoder they came from: same dimension), else the texts embedded as ``memory_vectors`` does."""
    stored = [it for it in items if it.vector]
    if not stored:
        return memory_vectors([it.text for it in items], encoder, tokenizer, role)
    if len(stored) != len(items) or encoder is None:
        raise ValueError("反馈记忆的向量需要同一编码器 the memory's vectors need the encoder they came from "
                         f"({len(stored)} of {len(items)} items have vectors; scorer encoder: {encoder!r})")
    v = np.array([it.vector for it in items], dtype=np.float64)
    dim = getattr(encoder, "dim", v.shape[1])
    if v.shape[1] != dim:
        raise ValueError(f"反馈记忆向量维数 memory vectors have {v.shape[1]} dimensions, the encoder {dim}")
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


#: decimals of a stored memory vector (unit rows: cosines change by < 1e-6)
VECTOR_DECIMALS = 7


def vector_tuple(row: Any) -> tuple[float, ...]:
    """A dense unit row as the rounded floats a ``MemoryItem`` stores."""
    return tuple(round(float(x), VECTOR_DECIMALS) for x in np.asarray(row, dtype=np.float64).ravel())


# ----------------------------------------------------------------------------- JSON
def memory_to_json(mem: VerdictMemory) -> dict[str, Any]:
    """The ``"memory"`` part of a calibration document: coefficients, kernel and the remembered
    demands (each by its vector when it has one, else by its text)."""
    def item(it: MemoryItem) -> dict[str, Any]:
        what = {"vector": list(it.vector)} if it.vector else {"text": it.text}
        return {"demand_id": it.demand_id, **what, "accepted": list(it.accepted), "rejected": list(it.rejected)}

    return {"accepted": mem.accepted, "rejected": mem.rejected, "tau": mem.tau, "null": mem.null,
            "items": [item(it) for it in mem.items]}


def _vector(it: Mapping, where: str) -> tuple[float, ...]:
    v = it.get("vector")
    ok = isinstance(v, list) and v and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)
    if not ok:
        raise ValueError(f'字段 field "{where}.vector": 应为有限数列表 must be a non-empty list of finite numbers')
    return tuple(float(x) for x in v)


def _number(obj: Mapping, name: str, where: str, low: float | None = None, strict: bool = False) -> float:
    v = obj.get(name)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f'字段 field "{where}.{name}": 应为有限数 must be a finite number, got {v!r}')
    if low is not None and (v < low or (strict and v == low)):
        raise ValueError(f'字段 field "{where}.{name}": 应 {">" if strict else ">="} {low} must be '
                         f'{">" if strict else ">="} {low}, got {v!r}')
    return float(v)


def _strings(obj: Mapping, name: str, where: str) -> tuple[str, ...]:
    v = obj.get(name)
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f'字段 field "{where}.{name}": 应为字符串列表 must be a list of strings, got {v!r}')
    return tuple(v)


def memory_from_json(doc: Any) -> VerdictMemory | None:
    """The verdict memory of a calibration document (None when it has none); ValueError naming the field."""
    mem = doc.get("memory") if isinstance(doc, Mapping) else None
    if mem is None:
        return None
    if not isinstance(mem, Mapping) or not isinstance(mem.get("items"), list):
        raise ValueError('字段 field "memory": 应为含 items 列表的对象 must be an object with a list "items"')
    items = []
    for i, it in enumerate(mem["items"]):
        where = f"memory.items[{i}]"
        if not isinstance(it, Mapping) or not isinstance(it.get("demand_id"), str) or not (
                isinstance(it.get("text"), str) or "vector" in it):
            raise ValueError(f'字段 field "{where}": 应有字符串 demand_id 和 text 或 vector '
                             "must have a string demand_id and a text or a vector")
        vector = _vector(it, where) if "vector" in it else ()
        items.append(MemoryItem(it["demand_id"], "" if vector else it["text"], _strings(it, "accepted", where),
                                _strings(it, "rejected", where), vector))
    return VerdictMemory(tuple(items), _number(mem, "accepted", "memory", 0.0), _number(mem, "rejected", "memory", 0.0),
                         _number(mem, "tau", "memory", 0.0, strict=True), _number(mem, "null", "memory"))
