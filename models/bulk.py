"""Bulk indexing: the passages a scorer's ``fit`` encodes, encoded once into its embedding cache.

``xfd index`` runs this before ``xfd score`` / ``xfd serve`` so that fitting
~10⁵ teachers' documents finds every vector in the cache.  The work is split
in three, and only the middle step runs elsewhere:

1. :func:`scorer_passages` — the distinct texts each encoder of a
   :class:`~xfd.matching.scoring.MatchScorer` encodes in ``fit`` (document
   table rows and discipline descriptions for the main model, English rows
   for the English model), read from the scorer itself;
2. an *engine* encodes batches of the texts the cache does not hold yet:
   :class:`LocalEngine` in this process, :class:`RayEngine` on Ray actors
   (each actor builds the encoder once; batches go to whichever is free);
3. the driver (this process) writes every finished batch to the cache under
   the key the scorer looks up, ``CacheKey(encoder.name, "passage", sha256(text))``.

Vectors are the encoder's own output, so both engines store the same arrays.
``ray`` is an optional extra (``pip install "xfd[ray]"``), imported only by
:class:`RayEngine` and :func:`ray_connection`.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, NamedTuple, Protocol

import numpy as np

from xfd.matching.corpus import build_doc_table
from xfd.matching.encoders import Encoder, Role
from xfd.matching.registry import choose
from xfd.matching.text import is_english
from xfd.matching.types import Profile
from xfd.models.cache import CachedEncoder, CacheKey, text_sha256

#: engine names (``--engine``)
ENGINES: tuple[str, ...] = ("local", "ray")
#: texts per batch (one Ray task, one cache write); the model batches 32 at a time inside it
DEFAULT_BATCH = 64
#: keys per existence lookup in the cache (bounds the vectors held at once)
LOOKUP_CHUNK = 10_000
#: batches queued per Ray actor, so an actor never waits for the driver
IN_FLIGHT = 2
#: the extra that brings ray (named in the error when it is missing)
RAY_EXTRA = 'pip install "xfd[ray]"  (ray[client]==2.60.0)'

EncoderFactory = Callable[[], Encoder]


class Passages(NamedTuple):
    """What one encoder of a scorer encodes in ``fit``.

    ``label``: ``"main"`` or ``"english"``; ``encoder``: the scorer's (cached)
    encoder; ``texts``: distinct texts in first-seen order, role ``"passage"``.
    """

    label: str
    encoder: Encoder
    texts: tuple[str, ...]


class IndexReport(NamedTuple):
    """One encoder's bulk run: ``texts`` distinct texts, ``cached`` already in the cache,
    ``encoded`` encoded and written now (``cached + encoded == texts``); wall seconds of the
    ``setup`` (workers loading the model, cache lookups) and of encoding + writing (``seconds``)."""

    label: str
    encoder: str
    texts: int
    cached: int
    encoded: int
    setup: float
    seconds: float

    @property
    def rate(self) -> float:
        """Texts encoded and written per second of ``seconds`` (0.0 when nothing was encoded)."""
        return self.encoded / self.seconds if self.encoded and self.seconds > 0 else 0.0


class Engine(Protocol):
    """Encodes batches of texts with one model; results may come back in any order."""

    def info(self) -> tuple[str, int]:
        """``(name, dim)`` of the engine's encoder (the name keys the cache)."""
        ...

    def encode_batches(self, batches: Sequence[Sequence[str]], role: Role) -> Iterator[tuple[int, np.ndarray]]:
        """``(batch index, float32 (len(batch), dim))`` for every batch, each exactly once."""
        ...


def _unique(texts: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(texts))


def scorer_passages(scorer: Any, profiles: Sequence[Profile]) -> list[Passages]:
    """The passages ``scorer.fit(profiles)`` encodes, per encoder (empty for a lexical scorer).

    Main encoder: every row of :func:`~xfd.matching.corpus.build_doc_table`
    (``DenseIndex.fit``) and the description of every discipline of
    ``scorer.disciplines`` (``DisciplineInferer.fit``).  English encoder (when
    the scorer has one): the rows :func:`~xfd.matching.text.is_english` routes to it.
    """
    if scorer.encoder is None:
        return []
    rows = build_doc_table(profiles).texts
    out = [Passages("main", scorer.encoder, _unique([*rows, *(d.description for d in scorer.disciplines)]))]
    if scorer.english_encoder is not None:
        english = _unique([t for t in rows if is_english(t)])
        if english:
            out.append(Passages("english", scorer.english_encoder, english))
    return out


def cached_parts(encoder: Encoder) -> CachedEncoder:
    """The :class:`CachedEncoder` inside a scorer's encoder (through a domain adapter's or a lazily
    loaded encoder's ``encoder``): its ``name``/``dim`` key the cache, ``cache`` is the store and
    ``encoder`` the raw model.  ValueError when there is none, or it has no persistent cache."""
    seen = encoder
    for _ in range(8):
        if isinstance(seen, CachedEncoder):
            if seen.cache is None:
                break
            return seen
        seen = getattr(seen, "encoder", None)
        if seen is None:
            break
    raise ValueError(f"encoder {encoder!r} writes to no embedding cache")


def missing_texts(texts: Sequence[str], cache: Any, name: str, role: Role = "passage") -> list[str]:
    """The texts whose ``(name, role, sha256)`` key ``cache`` does not hold, in input order.

    ``cache`` is anything with ``get_many(keys) -> {CacheKey: vector}``; keys are
    looked up ``LOOKUP_CHUNK`` at a time, so at most that many vectors are held.
    """
    have: set[bytes] = set()
    shas = [text_sha256(t) for t in texts]
    for a in range(0, len(shas), LOOKUP_CHUNK):
        got = cache.get_many([CacheKey(name, role, s) for s in shas[a:a + LOOKUP_CHUNK]])
        have.update(k.text_sha for k in got)
    return [t for t, s in zip(texts, shas) if s not in have]


def make_batches(texts: Sequence[str], size: int) -> list[list[str]]:
    """``texts`` longest first, cut into batches of ``size`` (similar lengths pad little)."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    order = sorted(texts, key=len, reverse=True)
    return [order[a:a + size] for a in range(0, len(order), size)]


def index_passages(passages: Passages, engine: Engine, batch: int = DEFAULT_BATCH,
                   progress: Callable[[int], object] | None = None) -> IndexReport:
    """Encode the texts of ``passages`` its encoder's cache lacks with ``engine``, and write them there.

    The cache, key name and dim are those of :func:`cached_parts` of the
    scorer's encoder; the engine's encoder must match them (ValueError naming
    both).  Each finished batch is written at once (one ``put_many``), so an
    interrupted run keeps what it wrote and a rerun continues.
    ``progress(n)`` is called with the number of texts done (cached ones first).
    """
    start = time.perf_counter()
    cached = cached_parts(passages.encoder)
    name, dim, cache = cached.name, int(cached.dim), cached.cache
    got_name, got_dim = engine.info()
    if (got_name, got_dim) != (name, dim):
        raise ValueError(f"{passages.label} encoder of the workers is {got_name!r} (dim {got_dim}), the scorer's is "
                         f"{name!r} (dim {dim}): build the same model on every node")
    todo = missing_texts(passages.texts, cache, name)
    ready = time.perf_counter()
    if progress is not None and len(todo) < len(passages.texts):
        progress(len(passages.texts) - len(todo))
    batches = make_batches(todo, batch)
    for i, vecs in engine.encode_batches(batches, "passage"):
        texts = batches[i]
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.shape != (len(texts), dim):
            raise ValueError(f"encoder {name!r} returned shape {vecs.shape} for a batch, expected {(len(texts), dim)}")
        cache.put_many((CacheKey(name, "passage", text_sha256(t)), v) for t, v in zip(texts, vecs))
        if progress is not None:
            progress(len(texts))
    return IndexReport(passages.label, name, len(passages.texts), len(passages.texts) - len(todo), len(todo),
                       ready - start, time.perf_counter() - ready)


# --------------------------------------------------------------------------- engines


class LocalEngine:
    """Encodes the batches one after another in this process with ``encoder``."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder

    def info(self) -> tuple[str, int]:
        return self.encoder.name, int(self.encoder.dim)

    def encode_batches(self, batches: Sequence[Sequence[str]], role: Role) -> Iterator[tuple[int, np.ndarray]]:
        for i, texts in enumerate(batches):
            yield i, np.asarray(self.encoder.encode(list(texts), role), dtype=np.float32)


class EncoderWorker:
    """The state of one Ray actor: the encoder ``factory()`` builds, once, in the worker process.

    ``threads`` is the actor's CPU share; it becomes ``XFD_THREADS`` of that
    process before the model loads (torch would otherwise use every core of the node).
    """

    def __init__(self, factory: EncoderFactory, threads: int) -> None:
        os.environ["XFD_THREADS"] = str(threads)
        self.encoder = factory()

    def info(self) -> tuple[str, int]:
        return self.encoder.name, int(self.encoder.dim)

    def encode(self, texts: list[str], role: Role) -> np.ndarray:
        return np.asarray(self.encoder.encode(texts, role), dtype=np.float32)


class WorkerError(RuntimeError):
    """A Ray worker failed (e.g. its node cannot build the model); the message is one line."""


def _one_line(exc: BaseException) -> str:
    """The last non-empty line of a (remote) error, which names the cause, at most 300 characters."""
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def import_ray() -> Any:
    """The ``ray`` module, or ImportError naming the extra that installs it."""
    try:
        import ray  # noqa: PLC0415 - optional extra, imported only when --engine ray is chosen
    except ImportError:
        raise ImportError(f"--engine ray 需要 ray needs the ray extra: {RAY_EXTRA}") from None
    return ray


#: seconds to wait for the head's port before giving up (Ray itself retries for minutes)
PROBE_SECONDS = 5.0


def probe_address(address: str, timeout: float = PROBE_SECONDS) -> None:
    """ConnectionError unless the ``host:port`` of a Ray address (``ray://host:port`` or ``host:port``)
    accepts a TCP connection within ``timeout`` seconds; ``auto`` / ``local`` are not probed."""
    import socket  # noqa: PLC0415

    hostport = address.removeprefix("ray://")
    if hostport in ("auto", "local"):
        return
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConnectionError(f"Ray 地址无效 bad Ray address {address!r}: write ray://host:10001, host:6379 or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"无法连接 Ray cannot connect to Ray at {address}: "
                              f"{exc.strerror or type(exc).__name__} (within {timeout:g} s)") from None


@contextmanager
def ray_connection(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray, connected for the block: to ``address`` (``ray://head:10001``, ``head:6379``, ``auto``), or
    without one to a new local cluster of ``num_cpus`` CPUs (None: all) that ends with the block.

    A connection the caller already made (``ray.is_initialized()``) is used and left open.
    Usage statistics and the dashboard are off: nothing leaves the machine
    but the connection to ``address``.  Connection failures raise ConnectionError.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    if address:
        probe_address(address)
    where: dict[str, Any] = {"address": address} if address else {"address": "local", "num_cpus": num_cpus}
    try:
        ray.init(**where, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        hint = " (a cluster with token authentication, Ray's default, needs RAY_AUTH_MODE=token and its token " \
               "here: RAY_AUTH_TOKEN or ~/.ray/auth_token)" if address else ""
        raise ConnectionError(f"无法连接 Ray cannot connect to Ray at {address or 'local'}: "
                              f"{' '.join(str(exc).split())[:300]}{hint}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


class RayEngine:
    """Encodes batches on ``workers`` Ray actors of ``worker_cpus`` CPUs each (needs a connection,
    see :func:`ray_connection`); each actor builds its encoder once with ``factory``
    (picklable; ``xfd`` and the model must exist on every node).  Use as a context
    manager: the actors end with the block.
    """

    def __init__(self, factory: EncoderFactory, workers: int | None = None, worker_cpus: int = 1) -> None:
        ray = import_ray()
        if worker_cpus < 1:
            raise ValueError(f"worker CPUs must be >= 1, got {worker_cpus}")
        total = int(ray.cluster_resources().get("CPU", 0))
        workers = max(1, total // worker_cpus) if workers is None else workers
        if workers < 1 or workers * worker_cpus > total:
            raise ValueError(f"{workers} workers × {worker_cpus} CPU need {workers * worker_cpus} CPUs; "
                             f"the Ray cluster has {total}")
        actor = ray.remote(num_cpus=worker_cpus)(EncoderWorker)
        self._ray = ray
        self.actors = [actor.remote(factory, worker_cpus) for _ in range(workers)]
        self._info: tuple[str, int] | None = None

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        for a in self.actors:
            self._ray.kill(a)

    def info(self) -> tuple[str, int]:
        """The actors' ``(name, dim)``; ValueError when two actors built different models."""
        if self._info is None:
            try:
                infos = set(self._ray.get([a.info.remote() for a in self.actors]))
            except self._ray.exceptions.RayError as exc:
                raise WorkerError(f"Ray 工作进程无法加载模型 a Ray worker could not load the model: {_one_line(exc)}") from None
            if len(infos) > 1:
                raise ValueError(f"Ray workers built different models: {sorted(infos)}")
            self._info = infos.pop()
        return self._info

    def encode_batches(self, batches: Sequence[Sequence[str]], role: Role) -> Iterator[tuple[int, np.ndarray]]:
        ray = self._ray
        queue = iter(range(len(batches)))
        pending: dict[Any, tuple[Any, int]] = {}

        def submit(actor: Any) -> None:
            i = next(queue, None)
            if i is not None:
                pending[actor.encode.remote(list(batches[i]), role)] = (actor, i)

        for _ in range(IN_FLIGHT):
            for a in self.actors:
                submit(a)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            actor, i = pending.pop(done[0])
            try:
                vecs = ray.get(done[0])
            except ray.exceptions.RayError as exc:
                raise WorkerError(f"Ray 工作进程编码失败 a Ray worker failed to encode: {_one_line(exc)}") from None
            submit(actor)
            yield i, vecs


def worker_factories(model: str) -> dict[str, EncoderFactory]:
    """How a Ray worker builds the raw encoders of ``make_scorer(model)`` (by label, ``"main"`` and
    ``"english"``): ``load_encoder`` by name on the worker, from that node's own model cache
    (``XFD_CACHE_DIR``; ``e5-small`` is built there on first use) or the folder ``model`` names."""
    from xfd.models.loader import load_encoder  # noqa: PLC0415 - heavy (torch), loaded on first use
    from xfd.models.pipeline import ENGLISH_MODEL, RAW_MODELS  # noqa: PLC0415

    return {"main": partial(load_encoder, RAW_MODELS.get(model, model)), "english": partial(load_encoder, ENGLISH_MODEL)}


def local_engine(passages: Passages) -> LocalEngine:
    """A :class:`LocalEngine` on the model the scorer already loaded (not a second copy)."""
    return LocalEngine(cached_parts(passages.encoder).encoder)


def check_engine(name: str) -> str:
    """``name`` if it is one of ``ENGINES``, else UnknownNameError listing them."""
    return choose("engine", name, {e: e for e in ENGINES})
