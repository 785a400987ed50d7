"""``xfd score`` / ``xfd assign`` and ``current_team`` ids missing from the profiles
file: one warning line on stderr (exit 0), an error with ``--strict`` (exit 2, nothing written)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xfd.api.cli import main

PROFILES = [
    {"id": "T1", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"]},
    {"id": "T2", "disciplines": ["机械工程"], "keywords": ["视觉", "检测"]},
    {"id": "S1", "kind": "student", "grade": 2, "skills": ["机器视觉"]},
]
DEMANDS = [
    {"id": "D1", "title": "缺陷检测", "description": "机器视觉检测表面缺陷", "team_size": [1, 3],
     "students": [0, 1], "current_team": ["T1", "T404", "S999"]},
    {"id": "D2", "title": "视觉检测", "description": "检测", "team_size": [1, 3], "students": [0, 1],
     "current_team": ["T2"]},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path / "p.jsonl", PROFILES), _write(tmp_path / "d.jsonl", DEMANDS)


@pytest.mark.parametrize("command", ["score", "assign"])
def test_unknown_current_team_ids_warn_in_one_line(files, tmp_path, capsys, command):
    p, d = files
    out = tmp_path / "out.json"
    assert main([command, "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical"]) == 0
    assert out.exists()
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1
    assert "2 current_team id(s) not in the profiles file: D1 -> T404, D1 -> S999" in warnings[0]


@pytest.mark.parametrize("command", ["score", "assign"])
def test_strict_makes_unknown_current_team_ids_an_error(files, tmp_path, capsys, command):
    p, d = files
    out = tmp_path / "out.json"
    code = main([command, "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical", "--strict"])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xfd: 错误 error:") and "D1 -> T404" in err[0]


def test_known_current_team_says_nothing(tmp_path, capsys):
    p = _write(tmp_path / "p.jsonl", PROFILES)
    d = _write(tmp_path / "d.jsonl", [DEMANDS[1]])
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(tmp_path / "s.jsonl"),
                 "--model", "lexical", "--strict"]) == 0
    assert "warning" not in capsys.readouterr().err
