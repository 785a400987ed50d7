"""The embedding cache in the service's database, shared by every process using it.

:class:`DatabaseEmbeddingCache` implements ``xfd.models.cache.EmbeddingStore``
(the protocol of the SQLite-file ``EmbeddingCache``) on the table
``embeddings``: one row per ``xfd.models.cache.CacheKey`` (encoder name,
role, sha256 of the text) holding the vector as little-endian float32 bytes
(``dim`` values).  So a text one instance (or ``xfd index``) encoded is never
encoded again by another.

Reads and writes are batched: one ``SELECT … IN (…)`` per encoder, role and
chunk of keys, one multi-row ``INSERT … ON CONFLICT DO NOTHING`` per chunk of
vectors (a key another process inserted meanwhile is left as it is: the
same text under the same encoder has the same vector).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import Engine, Integer, LargeBinary, String, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from xfd.api.storage.db import make_engine
from xfd.api.storage.models import Base
from xfd.models.cache import CacheKey

#: keys per SELECT and rows per INSERT on SQLite (5 parameters a row, far below its limit)
SQLITE_CHUNK = 500
#: the same on PostgreSQL (limit 65,535 parameters per statement)
POSTGRES_CHUNK = 5000
VECTOR_DTYPE = "<f4"


class EmbeddingRow(Base):
    """One cached vector: ``encoder`` (the encoder's ``name``, model fingerprint included), ``role``
    (``query``/``passage``), ``text_sha`` (32-byte sha256 of the UTF-8 text), ``dim``, ``vector``
    (``dim`` little-endian float32 values, ``4 * dim`` bytes)."""

    __tablename__ = "embeddings"

    encoder: Mapped[str] = mapped_column(String(300), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    text_sha: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class DatabaseEmbeddingCache:
    """Float32 vectors in table ``embeddings`` of ``engine``'s database, keyed by ``CacheKey``.

    Thread-safe (each call takes a pooled connection).  ``owns_engine``: ``close`` disposes it.
    The table must exist (Alembic revision 0008).
    """

    def __init__(self, engine: Engine, owns_engine: bool = False) -> None:
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"embedding cache: unsupported database {dialect!r}; valid: postgresql, sqlite")
        self.engine = engine
        self.path = engine.url.render_as_string(hide_password=True)  # shown by CachedEncoder's repr
        self._owns = owns_engine
        self._chunk = POSTGRES_CHUNK if dialect == "postgresql" else SQLITE_CHUNK
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert

    @classmethod
    def from_url(cls, url: str) -> DatabaseEmbeddingCache:
        """A cache with its own engine on ``url`` (closed by ``close``)."""
        return cls(make_engine(url), owns_engine=True)

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, np.ndarray]:
        """Stored vectors of those ``keys`` that are present: float32, shape ``(dim,)``."""
        groups: dict[tuple[str, str], list[bytes]] = {}
        for k in keys:
            groups.setdefault((k.encoder, k.role), []).append(bytes(k.text_sha))
        found: dict[CacheKey, np.ndarray] = {}
        if not groups:
            return found
        t = EmbeddingRow
        with self.engine.connect() as conn:
            for (enc, role), shas in groups.items():
                shas = list(dict.fromkeys(shas))
                for a in range(0, len(shas), self._chunk):
                    q = (select(t.text_sha, t.dim, t.vector)
                         .where(t.encoder == enc, t.role == role, t.text_sha.in_(shas[a:a + self._chunk])))
                    for sha, dim, blob in conn.execute(q):
                        vec = np.frombuffer(bytes(blob), dtype=VECTOR_DTYPE).astype(np.float32)
                        if vec.shape[0] == dim:
                            found[CacheKey(enc, role, bytes(sha))] = vec
        return found

    def put_many(self, items: Iterable[tuple[CacheKey, np.ndarray]]) -> int:
        """Store (key, vector) pairs (any float dtype, stored as float32; keys already present are
        left unchanged); returns how many rows were inserted."""
        rows: dict[tuple[str, str, bytes], dict] = {}
        for k, v in items:
            vec = np.asarray(v, dtype=VECTOR_DTYPE).reshape(-1)
            rows[(k.encoder, k.role, bytes(k.text_sha))] = {
                "encoder": k.encoder, "role": k.role, "text_sha": bytes(k.text_sha),
                "dim": int(vec.shape[0]), "vector": vec.tobytes()}
        if not rows:
            return 0
        values = list(rows.values())
        inserted = 0
        with self.engine.begin() as conn:
            for a in range(0, len(values), self._chunk):
                stmt = (self._insert(EmbeddingRow).values(values[a:a + self._chunk]).on_conflict_do_nothing()
                        .returning(EmbeddingRow.dim))  # one row back per row inserted (rowcount is -1 on psycopg)
                inserted += len(conn.execute(stmt).all())
        return inserted

    def count(self, encoder: str | None = None) -> int:
        """Number of stored vectors (of ``encoder`` only, when given)."""
        q = select(func.count()).select_from(EmbeddingRow)
        if encoder is not None:
            q = q.where(EmbeddingRow.encoder == encoder)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def __len__(self) -> int:
        return self.count()

    def close(self) -> None:
        """Dispose the engine when this cache created it (``from_url``)."""
        if self._owns:
            self.engine.dispose()

    def __enter__(self) -> DatabaseEmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
