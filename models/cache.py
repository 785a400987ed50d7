"""A persistent embedding cache: a text's vector is computed once per model and role.

:class:`EmbeddingStore` is what a persistent vector cache offers (batched
``get_many`` / ``put_many`` keyed by :class:`CacheKey`, ``close``).
:class:`EmbeddingCache` implements it as a SQLite file (WAL mode) mapping
``(encoder name, role, sha256(text))`` to a float32 vector; the service's
database implements it too (``xfd.api.storage.embeddings.DatabaseEmbeddingCache``,
chosen by ``XFD_EMBEDDING_CACHE``), so several processes share one cache.
:class:`CachedEncoder` wraps any :class:`matching.encoders.Encoder`, looks texts
up (in memory first, then SQLite), encodes only the misses — deduplicated, in
one batched call — stores them, and returns rows in input order.  So scoring a
new demand against 1,000 indexed profiles encodes the demand only.

Both are thread-safe: the FastAPI service calls them from worker threads.
"""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from xfd.matching.encoders import Encoder, Role, SharedResource

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    encoder TEXT NOT NULL,
    role    TEXT NOT NULL,
    text_sha BLOB NOT NULL,
    dim     INTEGER NOT NULL,
    vec     BLOB NOT NULL,
    PRIMARY KEY (encoder, role, text_sha)
) WITHOUT ROWID
"""
_CHUNK = 500  # keys per SELECT, below SQLite's bound-parameter limit
#: Keys per ``get_many`` call of :class:`CachedEncoder` (bounds the vectors held beside its output).
READ_CHUNK = 2048


class CacheKey(NamedTuple):
    """Identifies one vector: encoder ``name``, ``role``, and the 32-byte sha256 of the text."""

    encoder: str
    role: str
    text_sha: bytes


def text_sha256(text: str) -> bytes:
    """sha256 digest (32 bytes) of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).digest()


@runtime_checkable
class EmbeddingStore(Protocol):
    """A persistent map :class:`CacheKey` -> float32 vector ``(dim,)``, safe to call from threads.

    ``get_many`` returns the stored vectors of the keys present (absent keys are left out);
    ``put_many`` stores (key, vector) pairs and returns how many rows it wrote; both take a
    whole batch at once (an implementation does one query per batch, not per text).
    """

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, np.ndarray]: ...

    def put_many(self, items: Iterable[tuple[CacheKey, np.ndarray]]) -> int: ...

    def close(self) -> None: ...


class EmbeddingCache:
    """Float32 vectors in a SQLite file, keyed by :class:`CacheKey`.

    One connection guarded by a lock; WAL journal so several processes may
    share the file.  ``path`` may be ``":memory:"`` for a throw-away cache.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0, isolation_level=None)
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, np.ndarray]:
        """Stored vectors for those ``keys`` that are present (float32, shape ``(dim,)``)."""
        groups: dict[tuple[str, str], list[bytes]] = {}
        for k in keys:
            groups.setdefault((k.encoder, k.role), []).append(k.text_sha)
        found: dict[CacheKey, np.ndarray] = {}
        with self._lock:
            for (enc, role), shas in groups.items():
                shas = list(dict.fromkeys(shas))
                for a in range(0, len(shas), _CHUNK):
                    part = shas[a:a + _CHUNK]
                    q = ("SELECT text_sha, dim, vec FROM embeddings WHERE encoder=? AND role=? AND text_sha IN ("
                         + ",".join("?" * len(part)) + ")")
                    for sha, dim, blob in self._conn.execute(q, [enc, role, *part]):
                        vec = np.frombuffer(blob, dtype="<f4").astype(np.float32)
                        if vec.shape[0] == dim:
                            found[CacheKey(enc, role, bytes(sha))] = vec
        return found

    def put_many(self, items: Iterable[tuple[CacheKey, np.ndarray]]) -> int:
        """Store (key, vector) pairs, replacing existing ones; returns how many were written."""
        rows = []
        for k, v in items:
            v = np.asarray(v, dtype="<f4").reshape(-1)
            rows.append((k.encoder, k.role, k.text_sha, int(v.shape[0]), v.tobytes()))
        if not rows:
            return 0
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO embeddings (encoder, role, text_sha, dim, vec) VALUES (?,?,?,?,?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        """Close the connection (further use raises ``sqlite3.ProgrammingError``)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CachedEncoder(SharedResource):
    """An :class:`~matching.encoders.Encoder` that encodes each (role, text) once.

    Same ``name`` and ``dim`` as the wrapped encoder.  Lookups go to an
    in-process dict first, then to ``cache`` (optional, persistent).  Only the
    misses are encoded, deduplicated, in a single ``encoder.encode`` call.
    Counters ``hits`` and ``encoded`` report what happened so far.
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingStore | None = None, memory: bool = True) -> None:
        self.encoder = encoder
        self.cache = cache
        self.name = encoder.name
        self.dim = encoder.dim
        self._memory: dict[tuple[str, bytes], np.ndarray] | None = {} if memory else None
        self._lock = threading.Lock()
        self.hits = 0
        self.encoded = 0

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray:
        """float32 ``(len(texts), dim)``, rows in input order, identical to ``encoder.encode``.

        Each distinct text's row is written straight into the output: stored vectors are
        read ``READ_CHUNK`` keys at a time (no dict of every vector of a 40,000-document
        fit beside the output), a repeated text copies its first row.
        """
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        shas = [text_sha256(t) for t in texts]
        first: dict[bytes, int] = {}  # distinct text -> its first row
        for i, s in enumerate(shas):
            first.setdefault(s, i)
        todo = self._from_memory(role, list(first), first, out)
        if todo and self.cache is not None:
            todo = self._from_store(role, todo, first, out)
        if todo:
            self._encode_missing(role, todo, [texts[first[s]] for s in todo], first, out)
        with self._lock:
            self.encoded += len(todo)
            self.hits += len(texts) - len(todo)
        for i, s in enumerate(shas):
            j = first[s]
            if j != i:
                out[i] = out[j]
        return out

    def _from_memory(self, role: str, todo: list[bytes], first: dict[bytes, int], out: np.ndarray) -> list[bytes]:
        """Rows of ``todo`` found in the in-process memory written into ``out``; returns the others."""
        if self._memory is None:
            return todo
        rest = []
        with self._lock:
            for s in todo:
                v = self._memory.get((role, s))
                if v is None:
                    rest.append(s)
                else:
                    out[first[s]] = v
        return rest

    def _from_store(self, role: str, todo: list[bytes], first: dict[bytes, int], out: np.ndarray) -> list[bytes]:
        """Rows of ``todo`` found in the persistent store written into ``out``; returns the misses."""
        found: set[bytes] = set()
        for a in range(0, len(todo), READ_CHUNK):
            got = self.cache.get_many([CacheKey(self.name, role, s) for s in todo[a:a + READ_CHUNK]])
            ok = {k.text_sha: v for k, v in got.items() if v.shape[0] == self.dim}
            for s, v in ok.items():
                out[first[s]] = v
            found.update(ok)
            self._remember(role, ok)
        return [s for s in todo if s not in found]

    def _encode_missing(self, role: str, missing: list[bytes], texts: list[str], first: dict[bytes, int],
                        out: np.ndarray) -> None:
        """Encode ``texts`` (the distinct missing ones, in ``missing`` order) in one call, store them."""
        vecs = np.asarray(self.encoder.encode(texts, role), dtype=np.float32)
        if vecs.shape != (len(missing), self.dim):
            raise ValueError(f"encoder {self.name!r} returned shape {vecs.shape}, "
                             f"expected {(len(missing), self.dim)}")
        new = {s: vecs[i].copy() for i, s in enumerate(missing)}
        for s, v in new.items():
            out[first[s]] = v
        self._remember(role, new)
        if self.cache is not None:
            self.cache.put_many((CacheKey(self.name, role, s), v) for s, v in new.items())

    def _remember(self, role: str, vecs: dict[bytes, np.ndarray]) -> None:
        if self._memory is not None and vecs:
            with self._lock:
                for s, v in vecs.items():
                    self._memory[(role, s)] = v

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, cache={getattr(self.cache, 'path', None)!r})"
