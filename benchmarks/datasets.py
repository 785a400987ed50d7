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


def csl_routing(
    data: Path = SHARED_DATA,
    per_profile: int = 3,
    max_profiles_per_discipline: int = 4,
    n_demands: int = 400,
    seed: int = 0,
    with_disciplines: bool = False,
    split: str | None = None,
) -> RoutingSet:
    """Build the Chinese routing set from the CSL file (deterministic for a seed)."""
    rows = list(csv.DictReader(open(data / "csl_benchmark_devtest_joined.csv", encoding="utf-8")))
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
