"""Bad input to the commands that load a model or (re)create the demo database: one line on
stderr, exit 2, no traceback, and nothing prepared before the check."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xfd.api.cli import main

PROFILE = {"id": "T1", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉"]}
DEMAND = {"id": "D1", "title": "钢板表面缺陷检测", "description": "机器视觉"}


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[str, str]:
    """(profiles file, demands file): one teacher, one demand."""
    p, d = tmp_path / "p.jsonl", tmp_path / "d.jsonl"
    p.write_text(json.dumps(PROFILE, ensure_ascii=False) + "\n", encoding="utf-8")
    d.write_text(json.dumps(DEMAND, ensure_ascii=False) + "\n", encoding="utf-8")
    return str(p), str(d)


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("xfd: 错误 error: "), lines
    return lines[0]


@pytest.mark.parametrize("command", ["score", "assign"])
def test_a_folder_that_is_no_model_is_one_line(tmp_path: Path, inputs, capsys, command: str) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    argv = [command, "--profiles", inputs[0], "--demands", inputs[1], "--out", str(tmp_path / "o.json"),
            "--model", str(folder)]
    assert main(argv) == 2
    assert str(folder) in _one_line(capsys) and not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("model", ["no-such-model", "FOLDER"])
def test_the_worker_refuses_a_bad_model_in_one_line(tmp_path: Path, capsys, model: str) -> None:
    if model == "FOLDER":
        model = str(tmp_path)
    db = tmp_path / "w.db"
    assert main(["worker", "--once", "--model", model, "--database-url", f"sqlite:///{db}"]) == 2
    assert model in _one_line(capsys) and not db.exists()


def test_serve_refuses_a_bad_model_before_any_other_line(tmp_path: Path, capsys) -> None:
    assert main(["serve", "--port", "18999", "--model", "no-such-model",
                 "--database-url", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    assert "no-such-model" in _one_line(capsys)


def test_demo_refuses_a_bad_model_before_making_the_database(tmp_path: Path, capsys) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db), "--port", "18998", "--model", "no-such-model"]) == 2
    assert "no-such-model" in _one_line(capsys) and not db.exists()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("where", ["under-a-file", "a-folder"])
def test_demo_db_that_cannot_be_a_file_is_one_line(tmp_path: Path, capsys, where: str) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    db = tmp_path / "afile" / "demo.db" if where == "under-a-file" else tmp_path
    assert main(["demo", "--db", str(db), "--no-serve"]) == 2
    assert _one_line(capsys).startswith(f"xfd: 错误 error: --db {db}: ")


def test_demo_no_serve_refuses_a_bad_model_too(tmp_path: Path, capsys) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db), "--no-serve", "--model", "no-such-model"]) == 2
    assert "no-such-model" in _one_line(capsys) and not db.exists()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("command", "flag", "replaced"), [
    ("score", "--out", "demands"), ("score", "--out", "profiles"),
    ("assign", "--out", "demands"), ("assign", "--xlsx", "profiles"),
    ("calibrate", "--out", "feedback"),
])
def test_an_output_that_is_an_input_file_is_refused(tmp_path: Path, inputs, capsys, command, flag, replaced) -> None:
    feedback = tmp_path / "f.jsonl"
    feedback.write_text(json.dumps({"demand_id": "D1", "profile_id": "T1", "verdict": "accepted"}) + "\n",
                        encoding="utf-8")
    paths = {"profiles": inputs[0], "demands": inputs[1], "feedback": str(feedback)}
    before = Path(paths[replaced]).read_bytes()
    argv = [command, "--profiles", inputs[0], "--demands", inputs[1], "--model", "lexical",
            "--out", str(tmp_path / "o.json")]
    if command == "calibrate":
        argv += ["--feedback", str(feedback)]
    if flag == "--out":
        argv[argv.index("--out") + 1] = paths[replaced]
    else:
        argv += [flag, paths[replaced]]
    assert main(argv) == 2
    assert f"is the same file as --{replaced}" in _one_line(capsys)
    assert Path(paths[replaced]).read_bytes() == before and not (tmp_path / "o.json").exists()
