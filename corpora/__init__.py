"""Data this project writes itself, and tiny readers for it.

Files (UTF-8, shipped as package data):

- ``disciplines.tsv``: the 一级学科 table, columns ``code name category aliases
  keywords``; ``aliases`` and ``keywords`` are ``;``-separated.  An alias names
  one row, except *group names* which name several rows: a combined CSL label
  such as ``化学/化学工程与技术`` (an alias of every row it names) and a 门类
  used as a discipline (``历史学``, ``军事学``: an alias of every row of that
  category).  See :func:`discipline_lookup`.
- ``industries.tsv``: GB/T 4754-2017 sections (``A``..``T``) and divisions
  (``01``..``97``), columns ``code name``.
- ``jieba_dict.txt``: a jieba user dictionary (``word freq tag``), built by
  ``python -m xfd.corpora.build_dict``.
- ``stopwords.txt``: one stopword per line (no comments, so ``text.split()`` reads it too).
- ``demo/``: the demo corpus (``enterprises.jsonl``, ``profiles.jsonl``,
  ``demands.jsonl``), built by ``python -m xfd.corpora.build_demo`` from the
  hand-written fragments in ``demo/source/*.json``.

No heavy imports here: only the standard library.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "DisciplineRow",
    "corpus_path",
    "demo_path",
    "discipline_lookup",
    "read_disciplines",
    "read_industries",
    "read_stopwords",
]

DISCIPLINE_COLUMNS = ("code", "name", "category", "aliases", "keywords")
INDUSTRY_COLUMNS = ("code", "name")


class DisciplineRow(NamedTuple):
    """One 一级学科: 4-digit ``code``, canonical ``name``, 门类 ``category``,
    alternative names ``aliases`` and characteristic terms ``keywords``."""

    code: str
    name: str
    category: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]


def corpus_path(name: str) -> Path:
    """Path of the corpus file ``name`` (e.g. ``"disciplines.tsv"``, ``"demo/demands.jsonl"``).

    Raises FileNotFoundError naming the file when it does not exist.
    """
    ref = resources.files(__name__).joinpath(name)
    path = Path(str(ref))
    if not path.is_file():
        raise FileNotFoundError(f"语料文件不存在 / corpus file not found: {name} ({path})")
    return path


def demo_path(name: str) -> Path:
    """Path of a demo corpus file: ``"profiles"``, ``"demands"``, ``"enterprises"``
    (``.jsonl`` is added when missing)."""
    if not name.endswith(".jsonl"):
        name = f"{name}.jsonl"
    return corpus_path(f"demo/{name}")


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def _read_tsv(name: str, columns: tuple[str, ...]) -> list[list[str]]:
    path = corpus_path(name)
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != columns:
        raise ValueError(f"{path}:1: header must be {' '.join(columns)!r}")
    rows: list[list[str]] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise ValueError(f"{path}:{number}: expected {len(columns)} tab-separated fields, got {len(cells)}")
        for column, cell in zip(columns[:2], cells):
            if not cell.strip():
                raise ValueError(f"{path}:{number}: field {column!r} is empty")
        rows.append([cell.strip() for cell in cells])
    return rows


def read_disciplines() -> list[DisciplineRow]:
    """All rows of ``disciplines.tsv`` in file order (ordered by code)."""
    return [
        DisciplineRow(code, name, category, _split(aliases), _split(keywords))
        for code, name, category, aliases, keywords in _read_tsv("disciplines.tsv", DISCIPLINE_COLUMNS)
    ]


def discipline_lookup() -> dict[str, tuple[str, ...]]:
    """Map every discipline name, alias and code to the canonical name(s) it denotes.

    A canonical name or an ordinary alias maps to one name; a group alias
    (``化学/化学工程与技术``, ``历史学``) maps to every row carrying it, in code order.
    """
    lookup: dict[str, list[str]] = {}
    for row in read_disciplines():
        for key in (row.name, row.code, *row.aliases):
            names = lookup.setdefault(key, [])
            if row.name not in names:
                names.append(row.name)
    return {key: tuple(names) for key, names in lookup.items()}


def read_industries() -> dict[str, str]:
    """GB/T 4754-2017 ``code -> name``: sections ``A``..``T`` and divisions ``01``..``97``."""
    return {code: name for code, name in _read_tsv("industries.tsv", INDUSTRY_COLUMNS)}


def read_stopwords() -> frozenset[str]:
    """The stopword set (Chinese and lower-case English)."""
    text = corpus_path("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
