"""``xfd index`` end to end with fake encoders (local and Ray give the same cache; ``xfd score``
afterwards encodes no passage), its failure modes, and a slow run with the real model on Ray."""
from __future__ import annotations

import json
import sqlite3
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import RecordingEncoder
from xfd.api.cli import main
from xfd.matching.encoders import HashingEncoder

PROFILES = [
    {"id": "T1", "name": "张伟", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"],
     "documents": [{"kind": "paper", "title": "注塑件表面缺陷的机器视觉检测", "text": "深度学习识别注塑件表面缺陷", "year": 2023},
                   {"kind": "paper", "title": "Surface defect detection", "text": "Machine vision for moulded parts"}]},
    {"id": "T2", "name": "李娜", "disciplines": ["食品科学与工程"], "keywords": ["红茶", "发酵"],
     "documents": [{"kind": "project", "title": "红茶发酵工艺优化", "text": "发酵温度与茶多酚"}]},
    {"id": "S1", "kind": "student", "major": "计算机科学与技术", "grade": 3, "skills": ["Python", "图像识别"]},
]
DEMANDS = [
    {"id": "D1", "enterprise": "E1", "title": "注塑件缺陷检测", "description": "希望用机器视觉检测注塑件表面缺陷"},
    {"id": "D2", "enterprise": "E2", "title": "Tea fermentation", "description": "Control of black tea fermentation"},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


#: fakes of the real models have e5-small's dim, so a domain adapter configured for e5-small applies to them
E5_DIM = 384

Recording = RecordingEncoder


@pytest.fixture()
def fakes(tmp_path, monkeypatch):
    """A tmp model/embedding cache; ``load_encoder`` returns a Recording per model (``fake-<name>``), and
    Ray workers build the same HashingEncoders (xfd's own class, importable on every worker)."""
    monkeypatch.setenv("XFD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    for var in ("RAY_ADDRESS", "XFD_DATABASE_URL", "XFD_EMBEDDING_CACHE", "XFD_MODEL"):
        monkeypatch.delenv(var, raising=False)
    made: dict[str, Recording] = {}

    def load(name, cache_dir=None):
        made[str(name)] = Recording(E5_DIM, f"fake-{name}")
        return made[str(name)]

    monkeypatch.setattr("xfd.models.loader.load_encoder", load)
    monkeypatch.setattr("xfd.models.bulk.worker_factories", lambda model: {
        "main": partial(HashingEncoder, E5_DIM, f"fake-{model}"), "english": partial(HashingEncoder, E5_DIM, "fake-minilm")})
    return made


def _is_demand(text: str) -> bool:
    """True for a demand's text (title and description), whatever role it was encoded in."""
    return any(d["description"] in text for d in DEMANDS)


def _rows(db: Path) -> dict[tuple[str, str, bytes], np.ndarray]:
    with sqlite3.connect(db) as conn:
        return {(e, r, bytes(s)): np.frombuffer(v, dtype="<f4")
                for e, r, s, v in conn.execute("SELECT encoder, role, text_sha, vec FROM embeddings")}


def _index(profiles: Path, *extra: str) -> int:
    return main(["index", "--profiles", str(profiles), "--model", "e5-small", *extra])


def test_local_index_then_score_encodes_no_passage(tmp_path, fakes, capsys) -> None:
    p = _write(tmp_path / "p.jsonl", PROFILES)
    assert _index(p, "--batch", "2") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("main fake-e5-small: ") and " 0 cached, " in out[0]
    assert out[1].startswith("english fake-minilm: 1 texts, 0 cached, 1 encoded")
    rows = _rows(tmp_path / "cache" / "embeddings.sqlite")
    passages = sorted(t for _, t in fakes["e5-small"].seen)
    assert len(rows) == len(passages) + 1 and all(r == "passage" for _, r, _ in rows)
    fakes.clear()
    d = _write(tmp_path / "d.jsonl", DEMANDS)
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(tmp_path / "s.jsonl"),
                 "--model", "e5-small"]) == 0
    seen = [t for enc in fakes.values() for _, t in enc.seen]
    assert seen and all(_is_demand(t) for t in seen)  # the demands only: every profile passage came from the cache
    assert _index(p) == 0
    assert all(", 0 encoded" in line for line in capsys.readouterr().out.splitlines())


def test_ray_index_stores_the_same_arrays_as_local(tmp_path, fakes, monkeypatch, capsys) -> None:
    p = _write(tmp_path / "p.jsonl", PROFILES)
    assert _index(p) == 0
    local = _rows(tmp_path / "cache" / "embeddings.sqlite")
    monkeypatch.setenv("XFD_CACHE_DIR", str(tmp_path / "ray"))
    capsys.readouterr()
    assert _index(p, "--engine", "ray", "--workers", "2", "--batch", "1") == 0
    assert "0 cached" in capsys.readouterr().out
    on_ray = _rows(tmp_path / "ray" / "embeddings.sqlite")
    assert sorted(on_ray) == sorted(local) and len(local) > 3
    assert all(np.array_equal(on_ray[k], local[k]) for k in local)


def test_database_cache_is_filled_and_read_by_the_service_scorer(tmp_path, fakes, monkeypatch, capsys) -> None:
    """XFD_EMBEDDING_CACHE=database: the vectors go to the database's table (here SQLite; auto picks it for
    PostgreSQL), where a scorer built like the service's (make_scorer with that store) finds them."""
    from xfd.api.storage.embeddings import DatabaseEmbeddingCache
    from xfd.models.pipeline import make_scorer

    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("XFD_EMBEDDING_CACHE", "database")
    p = _write(tmp_path / "p.jsonl", PROFILES)
    assert _index(p, "--database-url", url) == 0
    assert "x.db" in capsys.readouterr().err
    assert not (tmp_path / "cache" / "embeddings.sqlite").exists()
    with DatabaseEmbeddingCache.from_url(url) as store:
        assert store.count("fake-e5-small") == len({t for _, t in fakes["e5-small"].seen}) > 3
        assert store.count("fake-minilm") == 1
        fakes.clear()
        from xfd.matching.readers import read_profiles

        make_scorer("e5-small", embedding_cache=store).fit(read_profiles(p))
    assert not [t for enc in fakes.values() for role, t in enc.seen if role == "passage"]


@pytest.mark.parametrize(
    ("args", "content", "needle"),
    [
        ((), None, "No such file"),
        ((), '{"id": "T1", "capacity": -1}\n', "capacity"),
        ((), "", "no profiles"),
        (("--engine", "spark"), "ok", "--engine: unknown engine 'spark'; valid: local, ray"),
        (("--batch", "0"), "ok", "--batch"),
        (("--ray-address", "ray://head:10001"), "ok", "--ray-address / --workers 需要 need --engine ray"),
        (("--engine", "ray", "--workers", "0"), "ok", "--workers"),
        (("--engine", "ray", "--ray-address", "127.0.0.1:1"), "ok", "cannot connect to Ray at 127.0.0.1:1"),
        (("--engine", "ray", "--ray-address", "head"), "ok", "bad Ray address 'head'"),
        (("--model", "lexical"), "ok", "--model lexical"),
        # XFD_EMBEDDING_CACHE=auto: a PostgreSQL URL means the database's cache (none listens here)
        (("--database-url", "postgresql+psycopg://x:y@127.0.0.1:1/none"), "ok", "cannot open database"),
        (("--model", "no-such-model"), "ok", "no-such-model"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, fakes, capsys, args, content, needle) -> None:
    p = tmp_path / "p.jsonl"
    if content == "ok":
        _write(p, PROFILES)
    elif content is not None:
        p.write_text(content, encoding="utf-8")
    argv = ["index", "--profiles", str(p), *(args if "--model" in args else ("--model", "e5-small", *args))]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xfd: 错误 error:") and needle in err and "\n" not in err
    assert not (tmp_path / "cache" / "embeddings.sqlite").exists() or not _rows(tmp_path / "cache" / "embeddings.sqlite")


def test_missing_ray_names_the_extra(tmp_path, fakes, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert _index(_write(tmp_path / "p.jsonl", PROFILES), "--engine", "ray") == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install "xfd[ray]"' in err and "\n" not in err


@pytest.mark.slow
def test_real_model_on_ray_equals_what_fit_stores_and_score_encodes_nothing(tmp_path, monkeypatch, capsys) -> None:
    """e5-small (and MiniLM for the English document) on a 2-worker local Ray cluster."""
    from xfd.models.loader import SentenceTransformerEncoder, default_cache_dir
    from xfd.models.pipeline import make_scorer

    models = default_cache_dir() / "models"
    models.mkdir(parents=True, exist_ok=True)  # a fresh machine: the first build goes there, both caches share it
    for name in ("ray", "fit"):  # own embedding caches, the already built models
        (tmp_path / name).mkdir()
        (tmp_path / name / "models").symlink_to(models, target_is_directory=True)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    profiles = _write(tmp_path / "p.jsonl", PROFILES)
    from xfd.matching.readers import read_profiles

    make_scorer("e5-small", cache_dir=tmp_path / "fit").fit(read_profiles(profiles))
    monkeypatch.setenv("XFD_CACHE_DIR", str(tmp_path / "ray"))
    assert _index(profiles, "--engine", "ray", "--workers", "2", "--batch", "2") == 0
    assert "english minilm@" in capsys.readouterr().out
    fit = _rows(tmp_path / "fit" / "embeddings.sqlite")
    on_ray = _rows(tmp_path / "ray" / "embeddings.sqlite")
    assert sorted(on_ray) == sorted(fit) and len(fit) > 5
    assert {e.split("@")[0] for e, _, _ in fit} == {"e5-small", "minilm"}
    for k, v in fit.items():
        np.testing.assert_allclose(on_ray[k], v, atol=2e-5)
    seen: list[str] = []
    real = SentenceTransformerEncoder.encode

    def counting(self, texts, role="passage"):
        seen.extend(texts)
        return real(self, texts, role)

    monkeypatch.setattr(SentenceTransformerEncoder, "encode", counting)
    d = _write(tmp_path / "d.jsonl", DEMANDS)
    assert main(["score", "--profiles", str(profiles), "--demands", str(d), "--out", str(tmp_path / "s.jsonl"),
                 "--model", "e5-small"]) == 0
    assert seen and all(_is_demand(t) for t in seen)  # no profile passage encoded again
