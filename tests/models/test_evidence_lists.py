"""The evidence word lists make_scorer reads from corpora/ (generic words, places)."""
from __future__ import annotations

import pytest

from xfd.models.pipeline import EVIDENCE_MAX_DF, evidence_exclusions, make_scorer


def test_lists_hold_the_words_the_demo_showed_and_no_comments() -> None:
    words = evidence_exclusions()
    assert {"经验", "稳定", "合作", "云溪市", "青山县", "青山"} <= set(words)
    assert not [w for w in words if w.startswith("#") or not w.strip()]
    s = make_scorer("lexical")
    assert s.evidence_max_df == EVIDENCE_MAX_DF and "经验" in s.evidence_exclude


@pytest.mark.parametrize("missing", ["evidence_generic.txt", "places.txt"])
def test_missing_list_names_the_file(tmp_path, monkeypatch, missing: str) -> None:
    import xfd.corpora as corpora

    for name in ("evidence_generic.txt", "places.txt"):
        if name != missing:
            (tmp_path / name).write_text("经验\n", encoding="utf-8")
    monkeypatch.setattr(corpora.resources, "files", lambda _package: tmp_path)
    with pytest.raises(FileNotFoundError, match=missing):
        evidence_exclusions()
