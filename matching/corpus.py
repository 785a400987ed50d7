"""Flatten profiles into a table of documents (one row per scorable text).

Each profile contributes its documents plus one pseudo-document of its
declared keywords, disciplines, major and skills, so a profile with no
documents is still matchable.  Rows carry the owning profile's column index,
the document kind and year, and a prior weight in (0, 1].
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xfd.matching.types import Profile

#: Prior weight by document kind; unknown kinds get ``OTHER_WEIGHT``.
KIND_WEIGHTS: dict[str, float] = {
    "paper": 1.0,
    "patent": 1.0,
    "project": 1.0,
    "service": 1.0,
    "statement": 0.9,
    "profile": 0.85,
}
OTHER_WEIGHT = 0.9


@dataclass(frozen=True)
class DocTable:
    """Documents of a profile set, row-aligned arrays.

    ``texts``: n_docs strings (title + text); ``titles``: display titles;
    ``owner``: int array (n_docs,) with the profile column of each row;
    ``kinds``: n_docs kind strings; ``years``: float array (n_docs,), NaN when
    unknown; ``n_profiles``: number of profiles (columns).
    """

    texts: tuple[str, ...]
    titles: tuple[str, ...]
    owner: np.ndarray
    kinds: tuple[str, ...]
    years: np.ndarray
    n_profiles: int

    def __len__(self) -> int:
        return len(self.texts)


def profile_card(p: Profile) -> str:
    """The pseudo-document of a profile's declared expertise ('' when none)."""
    parts: list[str] = []
    if p.keywords:
        parts.append("；".join(p.keywords))
    if p.disciplines:
        parts.append("；".join(p.disciplines))
    if p.major:
        parts.append(p.major)
    if p.skills:
        parts.append("；".join(p.skills))
    return "。".join(parts)


def build_doc_table(profiles: Sequence[Profile]) -> DocTable:
    """One row per document plus one per non-empty profile card."""
    texts: list[str] = []
    titles: list[str] = []
    owner: list[int] = []
    kinds: list[str] = []
    years: list[float] = []
    for j, p in enumerate(profiles):
        for d in p.documents:
            t = d.full_text.strip()
            if not t:
                continue
            texts.append(t)
            titles.append(d.title or d.text[:40])
            owner.append(j)
            kinds.append(d.kind or "paper")
            years.append(float(d.year) if d.year is not None else np.nan)
        card = profile_card(p)
        if card:
            texts.append(card)
            titles.append("关键词 keywords: " + card[:60])
            owner.append(j)
            kinds.append("profile")
            years.append(np.nan)
    return DocTable(
        texts=tuple(texts),
        titles=tuple(titles),
        owner=np.asarray(owner, dtype=np.int64),
        kinds=tuple(kinds),
        years=np.asarray(years, dtype=np.float64),
        n_profiles=len(profiles),
    )


def doc_weights(table: DocTable, now_year: int, half_life: float = 8.0, floor: float = 0.75) -> np.ndarray:
    """Prior weight per row in [floor*min kind weight, 1]: kind weight × recency.

    Recency decays with age in years with the given half-life down to
    ``floor``; rows with no year get no recency penalty.
    """
    kind_w = np.array([KIND_WEIGHTS.get(k, OTHER_WEIGHT) for k in table.kinds], dtype=np.float64)
    age = np.clip(now_year - table.years, 0, None)
    rec = floor + (1 - floor) * np.power(0.5, age / half_life)
    rec = np.where(np.isnan(table.years), 1.0, rec)
    return kind_w * rec
