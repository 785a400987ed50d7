"""``xfd score`` end to end (lexical model: fast), and its failure modes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xfd.api.cli import main

PROFILES = [
    {"id": "T1", "name": "张伟", "kind": "teacher", "disciplines": ["机械工程"], "keywords": ["机器视觉", "缺陷检测"],
     "documents": [{"kind": "paper", "title": "注塑件表面缺陷的机器视觉检测", "text": "深度学习识别注塑件表面缺陷", "year": 2023}]},
    {"id": "T2", "name": "李娜", "disciplines": ["食品科学与工程"], "keywords": ["红茶", "发酵"],
     "documents": [{"kind": "project", "title": "红茶发酵工艺优化", "text": "发酵温度与茶多酚"}]},
    {"id": "S1", "kind": "student", "major": "计算机科学与技术", "grade": 3, "skills": ["Python", "图像识别"]},
]
DEMANDS = [
    {"id": "D1", "enterprise": "E1", "title": "注塑件缺陷检测", "description": "希望用机器视觉检测注塑件表面缺陷"},
    {"id": "D2", "enterprise": "E2", "title": "红茶发酵温度控制", "description": "发酵程度不稳定"},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    return _write(tmp_path / "p.jsonl", PROFILES), _write(tmp_path / "d.jsonl", DEMANDS), tmp_path / "s.jsonl"


def test_score_writes_one_line_per_demand_sorted(files) -> None:
    p, d, out = files
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical"]) == 0
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [x["demand_id"] for x in lines] == ["D1", "D2"]
    assert lines[0]["matches"][0]["profile_id"] == "T1"
    assert lines[1]["matches"][0]["profile_id"] == "T2"
    for line in lines:
        s = [m["score"] for m in line["matches"]]
        assert s == sorted(s, reverse=True) and all(0 <= x <= 1 for x in s)
    ev = lines[0]["matches"][0]["evidence"][0]
    assert ev["document"] == "注塑件表面缺陷的机器视觉检测" and "注塑件" in ev["terms"]


def test_top_k(files) -> None:
    p, d, out = files
    main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical", "--top-k", "0"])
    assert len(json.loads(out.read_text(encoding="utf-8").splitlines()[0])["matches"]) == 3
    main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical", "--top-k", "1"])
    assert len(json.loads(out.read_text(encoding="utf-8").splitlines()[0])["matches"]) == 1


def test_evidence_only_for_the_first_n_matches(files) -> None:
    p, d, out = files
    args = ["score", "--profiles", str(p), "--demands", str(d), "--model", "lexical", "--top-k", "0"]
    assert main([*args, "--out", str(out), "--evidence", "1"]) == 0
    one = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert main([*args, "--out", str(out), "--evidence", "3"]) == 0
    every = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    for a, b in zip(one, every):
        assert [(m["profile_id"], m["score"]) for m in a["matches"]] == [(m["profile_id"], m["score"]) for m in b["matches"]]
        assert a["matches"][0]["evidence"] == b["matches"][0]["evidence"] != []
        assert all(m["evidence"] == [] for m in a["matches"][1:])
    assert all(m["evidence"] for m in every[0]["matches"])  # every profile has a document or a keyword card


def test_negative_evidence_is_a_one_line_error(files, capsys) -> None:
    p, d, out = files
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical",
                 "--evidence", "-1"]) != 0
    assert "--evidence" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"id": "T1", "keywords": ["a"]}\n{"id": "T2", "keywords": ', "2"),  # truncated JSON on line 2
        ('{"id": "T1", "keywords": ["a"], "capacity": "two"}\n', "capacity"),
        ('{"keywords": ["a"]}\n', "id"),
    ],
)
def test_broken_profiles_fail_with_one_line_and_no_output(tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "p.jsonl"
    p.write_text(content, encoding="utf-8")
    d = _write(tmp_path / "d.jsonl", DEMANDS)
    out = tmp_path / "s.jsonl"
    r = subprocess.run(
        [sys.executable, "-m", "xfd.api.cli", "score", "--profiles", str(p), "--demands", str(d), "--out", str(out),
         "--model", "lexical"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[3],
    )
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in r.stderr
    assert needle in err[0] and "p.jsonl" in err[0]
    assert not out.exists()


def test_unknown_model_lists_valid_names(files, capsys) -> None:
    p, d, out = files
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert "e5-small" in err and "lexical" in err and "nope" in err
    assert not out.exists()


def test_missing_file_and_bad_out(tmp_path: Path, files, capsys) -> None:
    p, d, out = files
    assert main(["score", "--profiles", str(tmp_path / "none.jsonl"), "--demands", str(d), "--out", str(out)]) == 2
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(tmp_path / "no" / "x.jsonl")]) == 2
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--top-k", "-1"]) == 2
    assert not out.exists()


@pytest.mark.parametrize("bad", ["abc", "0"])
def test_bad_blas_threads_is_a_one_line_error(files, capsys, monkeypatch, bad: str) -> None:
    """``XFD_BLAS_THREADS`` is checked with the settings, whatever ``--model`` says: exit 2, one line
    naming the variable, no traceback and no output file."""
    p, d, out = files
    monkeypatch.setenv("XFD_BLAS_THREADS", bad)
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "e5-small"]) == 2
    err = capsys.readouterr().err
    assert "XFD_BLAS_THREADS" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def _unwritable_outs(tmp_path: Path) -> list[str]:
    (tmp_path / "afile.jsonl").write_text("x\n", encoding="utf-8")
    outs = [str(tmp_path / "afile.jsonl" / "x.jsonl")]  # the parent is a regular file
    outs += [o for o, root in (("/proc/x.jsonl", "/proc/self"), ("/sys/x.jsonl", "/sys/kernel")) if Path(root).is_dir()]
    return outs


def test_an_unwritable_out_is_one_line_before_any_scoring(tmp_path: Path, files, capsys, monkeypatch) -> None:
    import xfd.api.cli.scoring as cs

    def never(*_a, **_k):
        raise AssertionError("scored although --out cannot be written")

    monkeypatch.setattr(cs, "fitted_scorer", never)
    p, d, _out = files
    for bad in _unwritable_outs(tmp_path):
        assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", bad, "--model", "lexical"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"xfd: 错误 error: --out {bad}: "), err


def test_an_unwritable_out_in_a_real_process_has_no_traceback(tmp_path: Path, files) -> None:
    p, d, _out = files
    bad = _unwritable_outs(tmp_path)[-1]
    r = subprocess.run([sys.executable, "-m", "xfd.api.cli", "score", "--profiles", str(p), "--demands", str(d),
                        "--out", bad, "--model", "lexical"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and f"--out {bad}: " in r.stderr
    assert "Traceback" not in r.stderr


def test_a_write_failing_after_scoring_is_one_line_and_leaves_no_file(files, capsys, monkeypatch) -> None:
    from xfd.matching import writers

    def full_disk(dest, fill, binary=False):
        raise OSError(28, "No space left on device", str(dest))

    monkeypatch.setattr(writers, "_write_temp", full_disk)
    p, d, out = files
    assert main(["score", "--profiles", str(p), "--demands", str(d), "--out", str(out), "--model", "lexical"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"xfd: 错误 error: --out {out}: 无法写入 cannot write: No space left on device"
    assert not out.exists()
