"""Evaluation sets built from ../shared/data (third-party; read, never copied).

- ``csl_routing``: Chinese discipline routing.  Profiles are 3 abstracts of one
  discipline; the other abstracts are demands; a profile is relevant to a
  demand when it has the same discipline.
- ``expertise_gold``: the English reviewer–paper expertise set, with its
  researchers' ratings.
"""
from __future__ import annotations

import csv
import json
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xfd.matching.readers import read_demands, read_profiles
from xfd.matching.types import Demand, Document, Profile

SHARED_DATA = Path(os.environ.get("XFD_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@dataclass(frozen=True)
class RoutingSet:
    """profiles, demands and ``relevant`` bool (n_demands, n_profiles)."""

    profiles: list[Profile]
    demands: list[Demand]
    relevant: np.ndarray
    labels: list[str]  # discipline per demand


@dataclass(frozen=True)
class ExpertiseSet:
    """profiles, demands, and per researcher a list of (demand index, rating)."""

    profiles: list[Profile]
    demands: list[Demand]
    ratings: dict[str, list[tuple[int, float]]]


def csl_rows(data: Path = SHARED_DATA, split: str | None = None) -> list[dict]:
    """The CSL file's rows (dicts with id, split, title, abstract, keywords, discipline, category)."""
    with open(data / "csl_benchmark_devtest_joined.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if r["split"] == split] if split else rows


def csl_routing(
    data: Path = SHARED_DATA,
    per_profile: int = 3,
    max_profiles_per_discipline: int = 4,
    n_demands: int = 400,
    seed: int = 0,
    with_disciplines: bool = False,
    split: str | None = None,
    rows: list[dict] | None = None,
) -> RoutingSet:
    """Build the Chinese routing set from the CSL file (deterministic for a seed).

    ``rows``: build from these CSL rows only (e.g. one fold's abstracts, see
    :func:`row_folds`) instead of reading the file; ``split`` filters either.
    """
    rows = csl_rows(data) if rows is None else list(rows)
    if split:
        rows = [r for r in rows if r["split"] == split]
    rng = random.Random(seed)
    by_disc: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_disc[r["discipline"]].append(r)
    profiles: list[Profile] = []
    prof_disc: list[str] = []
    pool: list[dict] = []
    for disc in sorted(by_disc):
        items = by_disc[disc][:]
        rng.shuffle(items)
        m = min(max_profiles_per_discipline, (len(items) - 1) // (per_profile + 1))
        for i in range(m):
            group = items[i * per_profile : (i + 1) * per_profile]
            docs = tuple(Document(text=g["abstract"], title=g["title"], kind="paper") for g in group)
            profiles.append(
                Profile(
                    id=f"P{len(profiles):04d}",
                    documents=docs,
                    disciplines=(disc,) if with_disciplines else (),
                )
            )
            prof_disc.append(disc)
        pool.extend(items[m * per_profile :])
    covered = set(prof_disc)
    pool = [r for r in pool if r["discipline"] in covered]
    rng.shuffle(pool)
    pool = pool[:n_demands]
    demands = [Demand(id=r["id"], title=r["title"], description=r["abstract"]) for r in pool]
    labels = [r["discipline"] for r in pool]
    pd = np.array(prof_disc)
    relevant = np.array([pd == lab for lab in labels])
    return RoutingSet(profiles, demands, relevant, labels)


def expertise_gold(data: Path = SHARED_DATA) -> ExpertiseSet:
    """Read the development half of the expertise gold standard."""
    root = data / "expertise_gold_dev"
    profiles = read_profiles(root / "profiles.jsonl")
    demands = read_demands(root / "demands.jsonl")
    index = {d.id: i for i, d in enumerate(demands)}
    ratings: dict[str, list[tuple[int, float]]] = {}
    with open(root / "evaluations.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            pairs = []
            for i in range(1, 11):
                pid, val = row.get(f"Paper{i}", ""), row.get(f"Expertise{i}", "")
                if pid and val and pid in index:
                    pairs.append((index[pid], float(val)))
            ratings[row["ParticipantID"]] = pairs
    return ExpertiseSet(profiles, demands, ratings)


def csl_discipline_names(data: Path = SHARED_DATA) -> dict[str, list[str]]:
    """CSL category -> disciplines mapping (for discipline inference checks)."""
    return json.loads((data / "csl_category_to_disciplines.json").read_text(encoding="utf-8"))


def row_folds(rows: list[dict], n_folds: int, seed: int, by: str = "abstract") -> list[list[dict]]:
    """Split CSL rows into ``n_folds`` disjoint folds, deterministic for ``seed``.

    ``by="abstract"``: each discipline's abstracts are dealt round-robin over
    the folds after a shuffle (every fold sees every discipline, no abstract in
    two folds); ``by="discipline"``: whole disciplines go to one fold each
    (folds share no discipline).
    """
    if by not in ("abstract", "discipline"):
        raise ValueError(f"by must be 'abstract' or 'discipline', got {by!r}")
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    rng = random.Random(seed)
    by_disc: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_disc[r["discipline"]].append(r)
    folds: list[list[dict]] = [[] for _ in range(n_folds)]
    names = sorted(by_disc)
    if by == "discipline":
        rng.shuffle(names)
        for i, name in enumerate(names):
            folds[i % n_folds].extend(by_disc[name])
        return folds
    offset = 0
    for name in names:
        items = by_disc[name][:]
        rng.shuffle(items)
        for i, r in enumerate(items):
            folds[(i + offset) % n_folds].append(r)
        offset += len(items)  # the leftover of a small discipline does not always land in fold 0
    return folds


def id_folds(ids: list[str], n_folds: int, seed: int) -> list[list[str]]:
    """Disjoint folds of ``ids`` (e.g. researchers) of near-equal size, deterministic for ``seed``."""
    if not 2 <= n_folds <= len(ids):
        raise ValueError(f"n_folds must be in [2, {len(ids)}], got {n_folds}")
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    return [sorted(order[i::n_folds]) for i in range(n_folds)]
