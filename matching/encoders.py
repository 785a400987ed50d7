"""The encoder contract scorers depend on, and a deterministic fake for tests.

An encoder turns texts into L2-normalised float32 vectors.  ``role`` is
``"query"`` for demand texts and ``"passage"`` for profile documents (e5
models prefix them differently; symmetric models ignore it).
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import numpy as np

Role = Literal["query", "passage"]


class SharedResource:
    """Mixin for a loaded resource (a model, a tokenizer with its dictionary)
    that scorers take as a parameter: ``sklearn.base.clone`` of a scorer
    shares it instead of deep-copying it, so an unfitted copy costs nothing."""

    def __sklearn_clone__(self) -> SharedResource:
        return self


@runtime_checkable
class Encoder(Protocol):
    """Anything with ``name``, ``dim`` and ``encode``.

    ``encode(texts, role)`` returns an array of shape ``(len(texts), dim)``,
    dtype float32, each row of unit L2 norm (a zero row only for empty text).
    """

    name: str
    dim: int

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray: ...


class HashingEncoder(SharedResource):
    """A fake encoder for tests: bag of character bigrams hashed into ``dim`` buckets.

    Deterministic and fast; texts sharing characters get positive cosine, so
    ranking logic can be tested without a neural model.
    """

    def __init__(self, dim: int = 64, name: str = "hashing") -> None:
        self.dim = dim
        self.name = name

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            t = text.lower()
            for j in range(max(len(t) - 1, 0)):
                h = int.from_bytes(hashlib.blake2b(t[j : j + 2].encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n > 0:
                out[i] /= n
        return out
