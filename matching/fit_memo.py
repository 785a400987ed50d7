"""Memos kept across refits of an index: the tokens and document vectors of texts already fitted.

A refit after an import re-fits the whole scorer on every profile (TF-IDF statistics and
backgrounds depend on all documents), but almost every document text is the same as at the
previous fit.  Tokenising (jieba) is most of the time of a lexical fit (measured in
``benchmarks/README.md``, "Propagation between instances, session 3"), and reading every
document vector back from the shared embedding cache most of the rest of a dense one.

- :class:`TokenMemo` wraps a tokenizer (``str -> list[str]``, with or without ``split``);
- :class:`VectorMemo` wraps an encoder (``matching.encoders.Encoder``).

Both are passed to the scorer in place of what they wrap (``set_params(tokenizer=TokenMemo(t))``),
so the scikit-learn contract holds: they are :class:`~matching.encoders.SharedResource`, shared by
``clone``.  They remember only **while recording** (``with recording(memo, ...):`` around ``fit``,
in the fitting thread); any other call — a query, another thread — goes straight to the wrapped
object, so queries behave exactly as without the memo.  When a recording ends without an error,
every text not used during it is forgotten: the memo holds the texts of the last fit only
(bounded memory; :meth:`TokenMemo.nbytes` / :meth:`VectorMemo.nbytes` say how much).

Exactness: a memo returns what the wrapped object returned for the same text (tokens: the same
list; vectors: the same float32 row), so a fit through a memo equals a fit without it provided the
wrapped object is a function of the text alone — true of ``matching.text.Tokenizer`` and of a
``models.cache.CachedEncoder`` with a persistent store (what a from-scratch fit reads back).  Put a
:class:`VectorMemo` *below* any batch-dependent transform (``matching.adapter.AdaptedEncoder``
computes a single row through a different BLAS path than a batch, differing by ~1e-7): see
:func:`memo_encoder`.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np

from xfd.matching.encoders import SharedResource


class _Recorder(SharedResource):
    """The recording switch of both memos: one recording at a time (others wait), a per-thread flag
    (only the recording thread remembers) and the keys used meanwhile."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()       # guards the tables and ``_used``
        self._session = threading.RLock()   # held for a whole recording; nested ones join it
        self._depth = 0
        self._used: set = set()
        self.recordings = 0                 # recordings that ended without an error (each swept)

    @property
    def _recording(self) -> bool:
        return getattr(self._local, "on", False)

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Remember what this thread uses inside the block; on a clean exit forget the rest."""
        with self._session:
            outer = self._depth == 0
            self._depth += 1
            if outer:
                self._used = set()
                self._local.on = True
            ok = False
            try:
                yield
                ok = True
            finally:
                self._depth -= 1
                if outer:
                    self._local.on = False
                    with self._lock:
                        if ok:
                            self._sweep(self._used)
                            self.recordings += 1
                        self._used = set()

    def _sweep(self, used: set) -> None:  # caller holds self._lock
        raise NotImplementedError


@contextmanager
def recording(*memos: Any) -> Iterator[None]:
    """``with recording(token_memo, vector_memo, ...):`` records in each (None entries skipped)."""
    with ExitStack() as stack:
        for m in memos:
            if m is not None:
                stack.enter_context(m.recording())
        yield


class TokenMemo(_Recorder):
    """A tokenizer that remembers each text's tokens while recording (see the module doc).

    ``__call__(text)`` -> the tokens (``tokenizer(text)``); ``split(text)`` -> ``(words, other)``
    as ``tokenizer.split`` (``(tokenizer(text), [])`` when it has none, which is what
    ``MatchScorer`` does then).  Other attributes are the wrapped tokenizer's.

    Storage: one term table for every remembered text and, per text, its term ids (int32
    array, words first) and the number of words: about 4 bytes a token plus the distinct terms.
    The table is rebuilt from the live texts when it has grown to twice its size at the last
    rebuild.  ``hits`` / ``misses`` count recorded lookups.
    """

    def __init__(self, tokenizer: Callable[[str], list[str]]) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self._terms = np.empty(1024, dtype=object)  # id -> term, the first ``_n_terms`` filled
        self._n_terms = 0
        self._term_id: dict[str, int] = {}
        self._entries: dict[str, tuple[np.ndarray, int]] = {}
        self._compacted = 0  # terms at the last rebuild of the table
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)

    def __call__(self, text: str) -> list[str]:
        words, other = self.split(text)
        return words + other

    def split(self, text: str) -> tuple[list[str], list[str]]:
        """(word tokens, other tokens) of ``text``, from the memo when recording and known."""
        if not self._recording:
            return self._split(text)
        entry = self._entries.get(text)
        if entry is None:
            words, other = self._split(text)
            with self._lock:
                self._entries[text] = (self._ids(words + other), len(words))
                self._used.add(text)
                self.misses += 1
            return words, other
        with self._lock:
            self._used.add(text)
            self.hits += 1
        ids, n_words = entry
        tokens = self._terms[ids].tolist()  # ids only grow, so a concurrent append never moves these
        return tokens[:n_words], tokens[n_words:]

    def _split(self, text: str) -> tuple[list[str], list[str]]:
        split = getattr(self.tokenizer, "split", None)
        if callable(split):
            words, other = split(text)
            return list(words), list(other)
        return list(self.tokenizer(text)), []

    def _ids(self, tokens: Sequence[str]) -> np.ndarray:  # caller holds self._lock
        get, table = self._term_id.get, self._term_id
        out = np.empty(len(tokens), dtype=np.int32)
        for i, t in enumerate(tokens):
            j = get(t)
            if j is None:
                j = table[t] = self._n_terms
                if j == len(self._terms):  # full: double (a new array, so readers keep a valid one)
                    grown = np.empty(2 * j, dtype=object)
                    grown[:j] = self._terms
                    self._terms = grown
                self._terms[j] = t
                self._n_terms = j + 1
            out[i] = j
        return out

    def _sweep(self, used: set) -> None:
        entries = self._entries  # keys from ``used``: the texts of the last fit, not older equal copies
        self._entries = {t: entries[t] for t in used if t in entries}
        if self._n_terms >= max(2 * self._compacted, 1024):
            self._compact()

    def _compact(self) -> None:
        """Keep only the terms the remembered texts use (ids renumbered, order of first use kept)."""
        if not self._entries:
            live = np.zeros(0, dtype=np.int64)
        else:
            live = np.unique(np.concatenate([ids for ids, _ in self._entries.values()]))
        remap = np.full(self._n_terms, -1, dtype=np.int32)
        remap[live] = np.arange(len(live), dtype=np.int32)
        terms = np.empty(max(1024, 2 * len(live)), dtype=object)
        terms[: len(live)] = self._terms[live]
        self._terms, self._n_terms = terms, len(live)
        self._term_id = {t: i for i, t in enumerate(terms[: len(live)].tolist())}
        self._entries = {t: (remap[ids], n) for t, (ids, n) in self._entries.items()}
        self._compacted = len(live)

    @property
    def n_texts(self) -> int:
        return len(self._entries)

    @property
    def n_terms(self) -> int:
        return self._n_terms

    def nbytes(self) -> int:
        """Approximate bytes held: id arrays, term strings, the two tables (texts are the profiles')."""
        arrays = sum(ids.nbytes + 112 + 64 for ids, _ in self._entries.values())
        strings = sum(sys.getsizeof(t) for t in self._terms[: self._n_terms].tolist())
        tables = sys.getsizeof(self._entries) + sys.getsizeof(self._term_id) + self._terms.nbytes
        return arrays + strings + tables

    def __repr__(self) -> str:
        return f"TokenMemo({self.tokenizer!r}, texts={self.n_texts})"


class VectorMemo(_Recorder):
    """An encoder that remembers each (role, text)'s vector while recording (see the module doc).

    ``name`` and ``dim`` are the wrapped encoder's.  A recorded ``encode`` returns a read-only
    array and remembers its rows as views of it (no copy per text): after a fit the memo holds the
    rows of the fit's own arrays, i.e. no second copy of the vectors when nothing transforms them
    above the memo (about one float32 (n_texts, dim) matrix when an adapter does).
    """

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self._rows: dict[tuple[str, str], np.ndarray] = {}
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        """float32 (len(texts), dim): the wrapped encoder's rows; remembered ones from the memo when recording."""
        if not self._recording:
            return self.encoder.encode(texts, role)
        texts = list(texts)
        rows = self._rows
        missing = list(dict.fromkeys(t for t in texts if (role, t) not in rows))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            vecs = np.asarray(self.encoder.encode(missing, role), dtype=np.float32)
            if vecs.shape != (len(missing), self.dim):
                raise ValueError(f"encoder {self.name!r} returned shape {vecs.shape}, "
                                 f"expected {(len(missing), self.dim)}")
            fresh = dict(zip(missing, vecs))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            v = fresh.get(t)
            out[i] = rows[(role, t)] if v is None else v
        out.flags.writeable = False  # its rows are remembered
        with self._lock:
            for i, t in enumerate(texts):  # re-pointed at this array: older arrays can be freed
                rows[(role, t)] = out[i]
                self._used.add((role, t))
            self.misses += len(missing)
            self.hits += len(texts) - len(missing)
        return out

    def _sweep(self, used: set) -> None:
        rows = self._rows
        self._rows = {k: rows[k] for k in used if k in rows}

    @property
    def n_texts(self) -> int:
        return len(self._rows)

    def nbytes(self) -> int:
        """Bytes of the distinct arrays the remembered rows are views of, plus the table."""
        bases = {id(v.base): v.base for v in self._rows.values() if v.base is not None}
        return sum(b.nbytes for b in bases.values()) + sys.getsizeof(self._rows) + 100 * len(self._rows)

    def __repr__(self) -> str:
        return f"VectorMemo({self.encoder!r}, texts={self.n_texts})"


def memo_encoder(encoder: Any) -> tuple[Any, VectorMemo | None]:
    """``(encoder to give the scorer, its VectorMemo)``: the memo goes below an
    ``AdaptedEncoder`` (rebuilt on the memo with the same adapter, so its ``name`` is unchanged),
    else around ``encoder``; ``(None, None)`` for None."""
    if encoder is None:
        return None, None
    from xfd.matching.adapter import AdaptedEncoder  # noqa: PLC0415

    if isinstance(encoder, AdaptedEncoder):
        memo = VectorMemo(encoder.encoder)
        return AdaptedEncoder(memo, encoder.adapter), memo
    memo = VectorMemo(encoder)
    return memo, memo
