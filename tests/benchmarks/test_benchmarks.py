"""Smoke tests of benchmarks/run.py on tiny sizes: structure only, never timing thresholds."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"xfd_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


run = _load("run")
util = sys.modules["_bench_util"]


@pytest.fixture()
def fake_scorer(tmp_path):
    """A MatchScorer with the tests' hashing encoder behind the real embedding cache."""
    from xfd.matching.encoders import HashingEncoder
    from xfd.matching.scoring import MatchScorer
    from xfd.matching.text import default_tokenizer
    from xfd.models.cache import CachedEncoder, EmbeddingCache

    enc = CachedEncoder(HashingEncoder(32), EmbeddingCache(tmp_path / "base.sqlite"))
    return MatchScorer(default_tokenizer(), encoder=enc)


def test_table_and_json_writer(tmp_path: Path) -> None:
    figs = [util.Figure("a figure", 1.5, "s", "budget", 2.0, 0.75, "a/b", "<= 1", True, "a note"),
            util.Figure("no limit", None, "MiB", ok=False)]
    table = util.format_table(figs)
    lines = table.splitlines()
    assert lines[0].split("|")[0].strip() == "figure" and "a figure" in table and "NO" in table
    assert "[1] a figure: a note" in table
    doc = util.write_json(tmp_path / "out" / "r.json", figs, mode="quick", machine=util.machine_info(),
                          arr=np.arange(2))
    back = json.loads((tmp_path / "out" / "r.json").read_text(encoding="utf-8"))
    assert back == json.loads(json.dumps(doc))
    assert [f["name"] for f in back["figures"]] == ["a figure", "no limit"]
    assert set(back["figures"][0]) >= {"value", "unit", "limit", "ratio", "target", "ok", "note"}
    assert back["meta"]["machine"]["cores"] >= 1


def test_prefilled_cache_means_nothing_is_encoded(tmp_path: Path) -> None:
    from xfd.matching.encoders import HashingEncoder
    from xfd.models.cache import CachedEncoder, EmbeddingCache

    texts = ["机器视觉", "缺陷检测", "deep learning"]
    base = HashingEncoder(16).encode(texts[:2])
    vecs = util.synthetic_vectors(texts, base, seed=3)
    assert vecs.shape == (3, 16) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert util.prefill_cache(tmp_path / "c.sqlite", "hashing", "passage", texts, vecs) == 3
    assert util.copy_cache(tmp_path / "c.sqlite", tmp_path / "d.sqlite") == 3
    enc = CachedEncoder(HashingEncoder(16), EmbeddingCache(tmp_path / "d.sqlite"))
    got = enc.encode(texts, "passage")
    assert enc.encoded == 0 and np.allclose(got, vecs)


def test_index_latency_and_score_measurements(fake_scorer, tmp_path: Path) -> None:
    source = util.load_source()
    profiles = util.make_profiles(source, 4)
    assert len({d.text for p in profiles for d in p.documents}) == 12   # distinct documents
    seed_db = tmp_path / "seed.sqlite"
    run.seed_cache(fake_scorer, seed_db)
    bare = run.bare_encode_fn(run.inner_encoder(fake_scorer))
    r = run.measure_indexing(fake_scorer, bare, profiles, 2, seed_db, tmp_path)
    assert r.texts >= 12 and len(r.xfd_s) == len(r.bare_s) == 2 and r.encoded == r.texts
    assert r.vectors.shape == (r.texts, 32)
    assert len(r.overhead_s) == 2 and all(0 <= o <= x for o, x in zip(r.overhead_s, r.xfd_s))
    f, g = run.index_figures(r)
    assert f.unit == "texts/s" and f.ratio > 0 and f.ok in (True, False)
    assert g.unit == "ms/text" and 0 < g.ratio <= 1

    fitted = run.fresh_copy(fake_scorer, tmp_path / "fit.sqlite").fit(profiles)
    assert not hasattr(fake_scorer, "table_")                     # the original stays unfitted
    lat = run.measure_latency(fitted, bare, util.make_demands(source, 3, tag="t-"), top_k=2)
    assert lat.profiles == 4 and len(lat.xfd_s) == len(lat.bare_s) == len(lat.overhead_s) == 3
    figs = run.latency_figures(lat, target=True)
    assert [g.unit for g in figs] == ["ms", "ms"] and figs[1].ok in (True, False)

    sr = run.measure_score_matrix(fitted, util.make_demands(source, 5, tag="s-"), reps=1)
    assert (sr.demands, sr.profiles) == (5, 4) and len(sr.score_s) == len(sr.fuse_s) == len(sr.matmul_s) == 1
    assert all(g.unit == "pairs/s" for g in run.score_figures(sr))


def test_rss_figures_from_child_output() -> None:
    child = {"profiles": 10000, "docs": 40000, "encoded_during_fit": 0, "load_s": 1.0, "fit_s": 2.0,
             "rss_start_mb": 50.0, "rss_after_load_mb": 700.0, "rss_after_fit_mb": 1000.0,
             "peak_after_fit_mb": 1200.0, "peak_end_mb": 1300.0,
             "latency_xfd_s": [0.2, 0.3], "latency_bare_s": [0.2, 0.2]}
    figs = run.rss_figures(child)
    assert figs[0].unit == "MiB" and figs[0].ok is True and len(figs) == 3


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM is Linux's /proc")
def test_child_peak_rss_is_its_own_not_the_parents() -> None:
    """A child's ru_maxrss starts at its parent's peak (inherited at exec); peak_rss_mb does not."""
    import subprocess

    big = np.ones(160 * 2**20 // 8)  # ~160 MiB touched in this (parent) process
    del big
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import _bench_util as u; "
            "print(u.peak_rss_mb(), u.inherited_peak_rss_mb())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    own, inherited = float(out[0]), float(out[1])
    assert inherited >= 160 and own < inherited - 100


def test_encoded_count_sees_through_a_lazy_english_encoder(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from xfd.matching.encoders import HashingEncoder
    from xfd.models.cache import CachedEncoder, EmbeddingCache
    from xfd.models.pipeline import LazyEncoder

    main = CachedEncoder(HashingEncoder(8), EmbeddingCache(tmp_path / "a.sqlite"))
    english = LazyEncoder(lambda: CachedEncoder(HashingEncoder(8), EmbeddingCache(tmp_path / "b.sqlite")))
    scorer = SimpleNamespace(encoder=main, english_encoder=english)
    main.encode(["一", "二"])
    assert run.encoded_count(scorer) == 2 and english._encoder is None  # counting never loads it
    english.encode(["three words here"])
    assert run.encoded_count(scorer) == 3


def test_assign_only_run_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert run.main(["--only", "assign", "--assign-sizes", "12", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "xfd assign 12 demands" in printed
    doc = json.loads(out.read_text(encoding="utf-8"))
    fig = doc["figures"][0]
    assert fig["name"] == "xfd assign 12 demands" and fig["unit"] == "s" and fig["value"] > 0
    assert "failed" not in fig["note"] and "staffed" in fig["note"], fig["note"]   # the CLI wrote a plan
    assert fig["ok"] is None                              # no target below 1000 demands
    assert doc["meta"]["mode"] == "full" and doc["meta"]["sizes"]["assign"] == [12]


@pytest.mark.parametrize("texts", ["assign_bench", "keywords"])
def test_assign_instances_are_valid_inputs(tmp_path: Path, texts: str) -> None:
    from xfd.matching.readers import read_demands, read_profiles

    pp, dp = util.write_assign_instance(10, tmp_path, seed=1, texts=texts)
    profiles, demands = read_profiles(pp), read_demands(dp)
    assert len(demands) == 10 and len(profiles) == 30
    assert all(d.text for d in demands) and all(d.disciplines for d in demands)
    with pytest.raises(ValueError):
        util.write_assign_instance(10, tmp_path, texts="nope")
