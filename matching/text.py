"""Text normalisation and tokenisation for mixed Chinese and English.

``normalize`` folds full-width forms to half-width (NFKC) and case;
``Tokenizer`` splits Chinese with jieba (a private instance carrying the
project's domain dictionary, loaded lazily on first use, never at import)
and English with a word regex plus light suffix stripping, and drops
stopwords.  Tokens are lower-case strings.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

from xfd.matching.encoders import SharedResource

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9\-\+\.#]*[a-z0-9\+#]|[a-z]")
_SPACE = re.compile(r"\s+")
_NOT_CJK = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN3 = re.compile(r"[A-Za-z]{3}")
_TOKEN_OK = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)


def normalize(text: str) -> str:
    """NFKC (full-width -> half-width), lower case, collapsed white space."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among the non-space characters of ``text`` (0..1)."""
    # counted by regex substitution (``\s`` is ``str.isspace`` for str patterns): no per-character loop
    chars = len(_SPACE.sub("", text))
    if not chars:
        return 0.0
    return len(_NOT_CJK.sub("", text)) / chars


def is_english(text: str, threshold: float = 0.02) -> bool:
    """True when the text has (almost) no Chinese characters but some Latin letters:
    ``cjk_ratio(text) < threshold`` and a run of three Latin letters."""
    if not _LATIN3.search(text):
        return False
    n_cjk = sum(map(len, _CJK_RUN.findall(text)))
    if n_cjk >= threshold * len(text):  # the non-space characters are at most len(text)
        return False
    return cjk_ratio(text) < threshold


def _stem(word: str) -> str:
    """A light English stemmer: strips common inflections (ies, es, s, ing, ed)."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + repl
    return word


class Tokenizer(SharedResource):
    """Domain-aware tokenizer (shared, not copied, by ``sklearn.base.clone``).

    Parameters are stored only; jieba and the dictionary load on first call.
    ``user_dict``: a jieba dictionary file (``word freq tag`` per line); a
    missing file raises ``FileNotFoundError`` naming it on first use;
    ``stopwords``: tokens to drop (compared after normalisation);
    ``min_len``: drop Latin tokens shorter than this (Chinese single
    characters are dropped); ``char_ngrams``: also emit overlapping Chinese
    character n-grams of this length (0 = none), which recover technical
    terms jieba splits differently in two texts.
    """

    def __init__(
        self,
        user_dict: Path | None = None,
        stopwords: Iterable[str] = (),
        min_len: int = 2,
        stem: bool = True,
        char_ngrams: int = 0,
    ) -> None:
        self.user_dict = user_dict
        self.stopwords = frozenset(normalize(w) for w in stopwords)
        self.min_len = min_len
        self.stem = stem
        self.char_ngrams = char_ngrams
        self._jieba = None
        self._lock = threading.Lock()

    def _engine(self):  # noqa: ANN202 - jieba has no types
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba  # noqa: PLC0415 - lazy: no loading at import

                    jieba.setLogLevel(logging.WARNING)
                    tk = jieba.Tokenizer()
                    tk.initialize()
                    if self.user_dict is not None:
                        path = Path(self.user_dict)
                        if not path.is_file():
                            raise FileNotFoundError(f"分词词典不存在 / jieba dictionary not found: {path}")
                        tk.load_userdict(str(path))
                    self._jieba = tk
        return self._jieba

    def __call__(self, text: str) -> list[str]:
        """Word tokens of ``text`` in order, then its character n-grams (duplicates kept)."""
        words, grams = self.split(text)
        return words + grams

    def split(self, text: str) -> tuple[list[str], list[str]]:
        """(word tokens, character n-grams) of ``text``; n-grams empty when ``char_ngrams`` is 0."""
        words = self.words(text)
        n = self.char_ngrams
        if n <= 0:
            return words, []
        grams = [run[i : i + n] for run in _CJK_RUN.findall(normalize(text)) for i in range(len(run) - n + 1)]
        return words, grams

    def words(self, text: str) -> list[str]:
        """Word tokens only (jieba words, English words), stopwords removed."""
        t = normalize(text)
        if not t:
            return []
        out: list[str] = []
        sw = self.stopwords
        for piece in self._engine().lcut(t, HMM=True):
            piece = piece.strip()
            if not piece or not _TOKEN_OK.search(piece):
                continue
            if _CJK.search(piece):
                if len(piece) < 2 or piece in sw:
                    continue
                out.append(piece)
            else:
                for w in _LATIN_WORD.findall(piece):
                    if len(w) < self.min_len or w in sw or w.isdigit():
                        continue
                    out.append(_stem(w) if self.stem else w)
        return out

    def many(self, texts: Sequence[str]) -> list[list[str]]:
        return [self(t) for t in texts]


def default_tokenizer() -> Tokenizer:
    """The project's tokenizer with the dictionary and stopwords in ``corpora/``.

    Raises ``FileNotFoundError`` naming ``jieba_dict.txt`` or ``stopwords.txt``
    when either is missing (never a silent fallback to no dictionary).
    """
    from xfd.corpora import corpus_path  # noqa: PLC0415

    dict_path = corpus_path("jieba_dict.txt")
    stop = corpus_path("stopwords.txt").read_text(encoding="utf-8").split()
    return Tokenizer(user_dict=dict_path, stopwords=stop, char_ngrams=2)
