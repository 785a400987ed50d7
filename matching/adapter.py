"""A small learned linear adapter on top of a sentence encoder's vectors (pure numpy).

An :class:`Adapter` maps a raw unit vector ``x`` (dim,) to

    y = normalise((x - mean) @ matrix)        # (out_dim,), unit L2 norm

``mean`` (dim,) centres the vectors on the domain (e5's cosines between
unrelated texts sit near 0.8, so centring alone spreads them out) and
``matrix`` (dim, out_dim) is trained by :func:`fit_adapter` with a symmetric
InfoNCE loss on (query, passage) pairs with in-batch negatives, regularised
towards the identity.  The same map is applied to queries and passages, so
cosines stay symmetric and one index serves both roles.

:class:`AdaptedEncoder` wraps any :class:`~matching.encoders.Encoder`
(normally the cached one, so the cache keeps raw vectors and stays valid);
its ``name`` carries the adapter's digest.  :func:`load_adapter` /
:func:`save_adapter` read and write the ``.npz`` file (float32 arrays plus a
JSON ``meta`` string); a missing or malformed file raises
:class:`AdapterFileError` naming it.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from xfd.matching.encoders import Encoder, Role, SharedResource

FORMAT_VERSION = 1
#: Rows adapted per step by :meth:`Adapter.transform` (bounds its temporaries).
TRANSFORM_CHUNK = 2048


class AdapterFileError(ValueError):
    """An adapter file that is missing, unreadable or of the wrong shape (the message names the file)."""


@dataclass(frozen=True, eq=False)
class Adapter:
    """``mean`` float32 (dim,), ``matrix`` float32 (dim, out_dim); see the module doc.

    ``meta`` is free provenance (sources, settings, figures), saved with the file.
    """

    mean: np.ndarray
    matrix: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float32)
        matrix = np.asarray(self.matrix, dtype=np.float32)
        if mean.ndim != 1 or matrix.ndim != 2 or matrix.shape[0] != mean.shape[0]:
            raise ValueError(f"adapter shapes disagree: mean {mean.shape}, matrix {matrix.shape} "
                             "(expected (dim,) and (dim, out_dim))")
        if not (np.isfinite(mean).all() and np.isfinite(matrix).all()):
            raise ValueError("adapter arrays contain NaN or infinity")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "matrix", matrix)

    @property
    def dim(self) -> int:
        """Input vector size."""
        return int(self.matrix.shape[0])

    @property
    def out_dim(self) -> int:
        """Output vector size."""
        return int(self.matrix.shape[1])

    @property
    def digest(self) -> str:
        """12 hex characters of sha256 over the arrays: identifies the adapter in encoder names."""
        h = hashlib.sha256(self.mean.tobytes())
        h.update(self.matrix.tobytes())
        return h.hexdigest()[:12]

    def transform(self, vectors: np.ndarray, chunk: int = TRANSFORM_CHUNK) -> np.ndarray:
        """Adapted unit rows, float32 (n, out_dim), for ``vectors`` (n, dim); zero rows stay zero.

        Computed ``chunk`` rows at a time into the output, so the temporaries stay a few
        MiB at any ``n`` (40,000 document vectors at once held ~250 MiB).  A chunk never
        has a single row unless ``n`` is 1: one row goes through a different BLAS path
        (matrix-vector).  Rows equal the whole batch's to float32 rounding (at most a few
        1e-8 apart: whether they are bit-identical depends on the BLAS build's blocking).
        """
        x = np.asarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"vectors have shape {x.shape}, adapter expects (n, {self.dim})")
        n = x.shape[0]
        out = np.empty((n, self.out_dim), dtype=np.float32)
        starts = list(range(0, n, max(2, int(chunk))))
        if len(starts) > 1 and n - starts[-1] == 1:  # no lone last row (see above)
            starts.pop()
        for a, b in zip(starts, starts[1:] + [n]):
            self._transform_rows(x[a:b], out[a:b])
        return out

    def _transform_rows(self, x: np.ndarray, out: np.ndarray) -> None:
        """``transform`` of the rows ``x`` (m, dim) written into ``out`` (m, out_dim)."""
        live = np.linalg.norm(x, axis=1) > 0
        z = (x - self.mean) @ self.matrix
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        np.divide(z, np.where(norm > 0, norm, 1.0), out=out)
        out[~live] = 0.0


def identity_adapter(dim: int) -> Adapter:
    """The adapter that changes nothing on unit vectors (zero mean, identity matrix)."""
    return Adapter(np.zeros(dim, np.float32), np.eye(dim, dtype=np.float32))


class AdaptedEncoder(SharedResource):
    """An :class:`~matching.encoders.Encoder` whose vectors are ``adapter.transform(encoder.encode(...))``.

    ``name`` is ``"<encoder name>+adapter@<digest>"``, ``dim`` the adapter's ``out_dim``.
    """

    def __init__(self, encoder: Encoder, adapter: Adapter) -> None:
        if encoder.dim != adapter.dim:
            raise ValueError(f"encoder {encoder.name!r} has dim {encoder.dim}, adapter expects {adapter.dim}")
        self.encoder = encoder
        self.adapter = adapter
        self.name = f"{encoder.name}+adapter@{adapter.digest}"
        self.dim = adapter.out_dim

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray:
        """float32 (len(texts), dim) unit rows (zero rows for empty texts, as the wrapped encoder)."""
        return self.adapter.transform(self.encoder.encode(texts, role))

    def __repr__(self) -> str:
        return f"AdaptedEncoder({self.encoder!r}, adapter={self.adapter.digest})"


# --------------------------------------------------------------------------- file


def save_adapter(adapter: Adapter, path: Path, provenance: dict[str, Any] | None = None,
                 dtype: str = "float16") -> None:
    """Write ``path`` (.npz): ``mean``, ``matrix`` (``dtype``: float16 halves the size) and JSON ``meta``."""
    meta = {**adapter.meta, **(provenance or {}), "format": FORMAT_VERSION}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, mean=adapter.mean.astype(dtype), matrix=adapter.matrix.astype(dtype),
                            meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)))


def load_adapter(path: Path) -> Adapter:
    """Read an adapter written by :func:`save_adapter`; AdapterFileError names the file on any defect."""
    path = Path(path)
    if not path.is_file():
        raise AdapterFileError(f"适配器文件不存在 / adapter file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            mean, matrix, meta = z["mean"], z["matrix"], json.loads(str(z["meta"]))
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise AdapterFileError(f"适配器文件无法读取 / adapter file unreadable: {path}: {exc}") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise AdapterFileError(f"adapter file {path}: format {meta.get('format')!r}, expected {FORMAT_VERSION}")
    try:
        return Adapter(mean, matrix, meta)
    except ValueError as exc:
        raise AdapterFileError(f"adapter file {path}: {exc}") from exc


# --------------------------------------------------------------------------- training


class TrainSettings(NamedTuple):
    """InfoNCE training: ``epochs`` over the pairs in shuffled batches of ``batch``;
    Adam with learning rate ``lr``; cosine ``temperature``; ``l2`` pulls the
    matrix towards the identity (each batch minimises its mean loss plus
    ``l2 · ||W - I||²``); ``center`` subtracts
    the passages' mean first; ``seed`` fixes the shuffles."""

    epochs: int = 10
    batch: int = 256
    lr: float = 1e-3
    temperature: float = 0.05
    l2: float = 1.0
    center: bool = True
    seed: int = 0


def fit_whitening(passages: np.ndarray, shrink: float = 1.0) -> Adapter:
    """Centring plus shrunk PCA whitening of ``passages`` (n, dim): no pairs needed.

    matrix = U diag((λ + shrink·mean(λ))^-1/2) Uᵀ for the covariance's eigenpairs
    (λ, U); ``shrink`` → ∞ approaches centring alone, 0 is full whitening.
    """
    x = np.asarray(passages, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"passages must be (n >= 2, dim), got {x.shape}")
    mean = x.mean(axis=0)
    lam, u = np.linalg.eigh(np.cov(x - mean, rowvar=False))
    lam = np.clip(lam, 0.0, None)
    scale = 1.0 / np.sqrt(lam + shrink * lam.mean() + 1e-12)
    matrix = (u * scale) @ u.T
    matrix /= np.abs(np.linalg.eigvalsh(matrix)).max()
    return Adapter(mean.astype(np.float32), matrix.astype(np.float32), {"whitening_shrink": shrink})


class Loss(NamedTuple):
    """Mean symmetric InfoNCE ``value`` of a batch and its gradient ``grad`` w.r.t. the matrix (dim, out_dim)."""

    value: float
    grad: np.ndarray


def _unit(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(z, axis=1, keepdims=True)
    n = np.where(n > 0, n, 1.0)
    return z / n, n


def _log_softmax(s: np.ndarray) -> np.ndarray:
    s = s - s.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))


def info_nce(xq: np.ndarray, xp: np.ndarray, matrix: np.ndarray, temperature: float) -> Loss:
    """Symmetric InfoNCE of centred batches ``xq``, ``xp`` (b, dim) under ``matrix``.

    Row i of ``xq`` is the positive of row i of ``xp``; every other row is a
    negative.  Loss = mean over both directions of −log softmax(cos/τ)[i, i].
    """
    b = xq.shape[0]
    yq, nq = _unit(xq @ matrix)
    yp, np_ = _unit(xp @ matrix)
    s = (yq @ yp.T) / temperature
    lq, lp = _log_softmax(s), _log_softmax(s.T)
    value = -0.5 * float(np.trace(lq) + np.trace(lp)) / b
    eye = np.eye(b)
    ds = 0.5 * ((np.exp(lq) - eye) + (np.exp(lp) - eye).T) / b / temperature
    dyq, dyp = ds @ yp, ds.T @ yq
    dzq = (dyq - yq * (dyq * yq).sum(axis=1, keepdims=True)) / nq
    dzp = (dyp - yp * (dyp * yp).sum(axis=1, keepdims=True)) / np_
    return Loss(value, xq.T @ dzq + xp.T @ dzp)


def fit_adapter(queries: np.ndarray, passages: np.ndarray, settings: TrainSettings | None = None,
                init: Adapter | None = None) -> Adapter:
    """Train an adapter on aligned pairs: ``queries`` and ``passages`` float (n_pairs, dim), unit rows.

    ``settings`` default to ``TrainSettings()``.  The matrix starts at the
    identity, or at ``init``'s matrix (then ``init``'s mean is used and ``l2``
    pulls towards ``init``'s matrix); ``meta`` records the settings and the
    mean training loss of the first and last epoch.
    """
    settings = settings or TrainSettings()
    q = np.asarray(queries, dtype=np.float64)
    p = np.asarray(passages, dtype=np.float64)
    if q.shape != p.shape or q.ndim != 2:
        raise ValueError(f"queries {q.shape} and passages {p.shape} must be the same (n_pairs, dim)")
    if q.shape[0] < 2:
        raise ValueError(f"need at least 2 pairs to train, got {q.shape[0]}")
    dim = q.shape[1]
    if init is not None:
        if init.dim != dim or init.out_dim != dim:
            raise ValueError(f"init adapter is ({init.dim}, {init.out_dim}), pairs have dim {dim}")
        mean, w0 = init.mean.astype(np.float64), init.matrix.astype(np.float64)
    else:
        mean, w0 = (p.mean(axis=0) if settings.center else np.zeros(dim)), np.eye(dim)
    xq, xp = q - mean, p - mean
    w = w0.copy()
    m1, m2 = np.zeros_like(w), np.zeros_like(w)
    rng = np.random.default_rng(settings.seed)
    step, curve = 0, []
    for _ in range(settings.epochs):
        order = rng.permutation(q.shape[0])
        losses = []
        for a in range(0, len(order), settings.batch):
            idx = order[a:a + settings.batch]
            if len(idx) < 2:
                continue
            loss = info_nce(xq[idx], xp[idx], w, settings.temperature)
            g = loss.grad + 2.0 * settings.l2 * (w - w0)
            step += 1
            m1 = 0.9 * m1 + 0.1 * g
            m2 = 0.999 * m2 + 0.001 * g * g
            w -= settings.lr * (m1 / (1 - 0.9 ** step)) / (np.sqrt(m2 / (1 - 0.999 ** step)) + 1e-8)
            losses.append(loss.value)
        curve.append(float(np.mean(losses)) if losses else float("nan"))
    meta = {**(init.meta if init is not None else {}), "settings": settings._asdict(), "pairs": int(q.shape[0]),
            "loss_first_epoch": curve[0] if curve else None, "loss_last_epoch": curve[-1] if curve else None}
    return Adapter(mean.astype(np.float32), w.astype(np.float32), meta)
