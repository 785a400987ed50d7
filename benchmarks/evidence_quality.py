"""How trustworthy is the evidence?  Share of shown terms that explain nothing, before vs after the filter.

    python benchmarks/evidence_quality.py [--model lexical] [--top 10]

On the demo corpus (``corpora/demo``), every demand's first ``--top`` matches
(the ones ``xfd score`` explains by default) are ranked twice with the same
fitted scorer: *before* with no evidence filter (what xfd showed until the
filter existed) and *after* with the project's filter (``make_scorer``'s
generic-word and place lists, the place-name rule and the document-frequency
limit; see ``matching/evidence.py``).  For every shown term occurrence it
counts which kind of non-content word it is:

- stopword: in ``corpora/stopwords.txt``;
- generic: in ``corpora/evidence_generic.txt``;
- place: in ``corpora/places.txt`` or shaped like one (…市/县/区/镇);
- over-common: in more than ``EVIDENCE_MAX_DF`` of the indexed documents (and
  more than ``MIN_COMMON_DOCS``).

Prints the shares per kind and in total (a term of several kinds counts once
in the total), and the evidence of D001's first three matches both ways.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xfd.corpora import corpus_path, demo_path
from xfd.matching.evidence import MIN_COMMON_DOCS, is_place_like
from xfd.matching.readers import read_demands, read_profiles
from xfd.matching.text import normalize
from xfd.models.pipeline import EVIDENCE_MAX_DF, make_scorer

KINDS = ("stopword", "generic", "place", "over-common")


def word_list(name: str) -> set[str]:
    lines = corpus_path(name).read_text(encoding="utf-8").splitlines()
    return {normalize(w) for w in (x.strip() for x in lines) if w and not w.startswith("#")}


def kinds_of(term: str, lists: dict[str, set[str]], df_share: float, df: int) -> list[str]:
    out = [k for k in ("stopword", "generic") if term in lists[k]]
    if term in lists["place"] or is_place_like(term):
        out.append("place")
    if df_share > EVIDENCE_MAX_DF and df > MIN_COMMON_DOCS:
        out.append("over-common")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="lexical")
    ap.add_argument("--top", type=int, default=10, help="explained matches per demand")
    args = ap.parse_args(argv)
    profiles, demands = read_profiles(demo_path("profiles")), read_demands(demo_path("demands"))
    after = make_scorer(args.model).fit(profiles)
    lists = {"stopword": word_list("stopwords.txt"), "generic": word_list("evidence_generic.txt"),
             "place": word_list("places.txt")}
    index = after.lexical_
    m = index.doc_matrix_t_
    n_docs = m.shape[1]
    runs = {"after": after.rank(demands, top_k=args.top)}
    after.set_params(evidence_exclude=(), evidence_max_df=1.0, evidence_places=False)
    after.evidence_exclude_ = frozenset()  # the fitted copy of the setting (no refit needed: evidence only)
    runs["before"] = after.rank(demands, top_k=args.top)
    print(f"model={args.model}: {len(demands)} demo demands × {len(profiles)} profiles ({n_docs} documents), "
          f"evidence of the first {args.top} matches")
    print(f"{'':<7} | {'terms':>6} | " + " | ".join(f"{k:>11}" for k in KINDS) + f" | {'any':>6}")
    for label in ("before", "after"):
        counts: Counter[str] = Counter()
        total = 0
        for dm in runs[label]:
            for match in dm.matches:
                for ev in match.evidence:
                    for t in ev.terms:
                        j = index.vocabulary_[t]
                        df = int(m.indptr[j + 1] - m.indptr[j])
                        ks = kinds_of(t, lists, df / n_docs, df)
                        counts.update(ks)
                        counts["any"] += bool(ks)
                        total += 1
        share = [counts[k] / max(total, 1) for k in (*KINDS, "any")]
        print(f"{label:<7} | {total:>6} | " + " | ".join(f"{s:>11.1%}" for s in share[:-1]) + f" | {share[-1]:>6.1%}")
    for label in ("before", "after"):
        first = runs[label][0]
        print(f"{first.demand_id} {label}: " + "; ".join(
            f"{mt.profile_id} " + " / ".join(",".join(e.terms) for e in mt.evidence) for mt in first.matches[:3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
