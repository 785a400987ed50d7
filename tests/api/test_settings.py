"""One settings object: ``XFD_MODEL`` / ``XFD_DATABASE_URL`` are read by
``xfd.api.settings.Settings`` and passed on; the models layer reads no environment."""
from __future__ import annotations

import ast
import json
from pathlib import Path

from xfd.api.cli import main
from xfd.api.settings import Settings
from xfd.models.loader import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_come_from_one_place(monkeypatch):
    monkeypatch.delenv("XFD_MODEL", raising=False)
    monkeypatch.delenv("XFD_DATABASE_URL", raising=False)
    s = Settings()
    assert s.model == DEFAULT_MODEL == "e5-small"
    assert s.database_url == "sqlite:///xfd.db"
    monkeypatch.setenv("XFD_MODEL", "lexical")
    monkeypatch.setenv("XFD_DATABASE_URL", "sqlite:///elsewhere.db")
    assert (Settings().model, Settings().database_url) == ("lexical", "sqlite:///elsewhere.db")


def test_xfd_model_reaches_xfd_score_through_the_settings(tmp_path, monkeypatch, capsys):
    p, d = tmp_path / "p.jsonl", tmp_path / "d.jsonl"
    p.write_text(json.dumps({"id": "T1", "name": "甲", "keywords": ["视觉"]}, ensure_ascii=False) + "\n", encoding="utf-8")
    d.write_text(json.dumps({"id": "D1", "title": "检测", "description": "机器视觉检测"}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    monkeypatch.setenv("XFD_MODEL", "no-such-model")
    rc = main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(tmp_path / "s.jsonl")])
    assert rc == 2
    assert "'no-such-model'" in capsys.readouterr().err
    # --model wins over the environment
    rc = main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(tmp_path / "s.jsonl"), "--model", "lexical"])
    assert rc == 0
    assert json.loads((tmp_path / "s.jsonl").read_text(encoding="utf-8"))["matches"][0]["profile_id"] == "T1"


def _reads_environment(path: Path) -> list[str]:
    """``os.environ.get(...)`` / ``os.getenv(...)`` / ``os.environ[...]`` reads of XFD_MODEL or XFD_DATABASE_URL."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and node.value in ("XFD_MODEL", "XFD_DATABASE_URL"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_the_settings_module_names_the_variables():
    files = [*ROOT.joinpath("models").rglob("*.py"), *ROOT.joinpath("matching").rglob("*.py"),
             *ROOT.joinpath("api").rglob("*.py")]
    hits = [h for f in files if f.name != "settings.py" for h in _reads_environment(f)]
    assert hits == []
