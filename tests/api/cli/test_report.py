"""``xfd report`` on the demo database: the same rows as GET /v1/reports/performance,
an Excel file, one-line errors; ``xfd keys create --role teacher --profile``."""
from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.cli import main
from xfd.api.cli.demo import prepare_demo
from xfd.api.security import create_key
from xfd.api.settings import Settings


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    return prepare_demo(Path(db))["url"]


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        rc = main(argv)
    return rc, out.getvalue()


def api_rows(url: str, by: str) -> list[dict]:
    app = create_app(Settings(database_url=url, model="fake"), scorer_factory=FakeScorer, planner=greedy_planner)
    with TestClient(app) as c:
        with app.state.sessions() as s:
            _, key = create_key(s, "office")
            s.commit()
        r = c.get(f"/v1/reports/performance?semester=2026春&by={by}", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
        return r.json()


@pytest.mark.parametrize("by", ["team", "teacher", "college", "county"])
def test_report_prints_the_api_rows(demo_db, tmp_path, by):
    xlsx = tmp_path / "r.xlsx"
    rc, out = run(["report", "--semester", "2026春", "--by", by, "--xlsx", str(xlsx), "--database-url", demo_db])
    assert rc == 0
    lines = [line.split("\t") for line in out.strip().splitlines()]
    header, body = lines[0], lines[1:]
    rows = api_rows(demo_db, by)
    assert len(body) == len(rows) > 0
    for cells, row in zip(body, rows, strict=True):
        got = dict(zip(header, cells, strict=True))
        assert got["group"] == row["group"] and int(got["demands"]) == row["demands"]
        assert float(got["score"]) == pytest.approx(row["score"]) and got["grade"] == row["grade"]
    ws = load_workbook(xlsx).worksheets[0]
    assert [c.value for c in ws[3]][0] == rows[0]["group"] and ws.max_row == len(rows) + 2
    header = [c.value for c in ws[2]]
    assert ("名称 name" in header) == (by in ("team", "teacher"))  # people read names, not ids
    if by in ("team", "teacher"):
        assert header[:2] == ["分组 group", "名称 name"] and all(ws.cell(i, 2).value for i in range(3, ws.max_row + 1))


def test_demo_previous_semester_is_complete(demo_db):
    rows = api_rows(demo_db, "team")
    assert len(rows) == 8 and sum(r["solved"] for r in rows) == 4 and sum(r["activities"] for r in rows) == 23
    assert sum(1 for r in rows if r["satisfaction_mean"] is not None) == 5


@pytest.mark.parametrize(("argv", "needle"), [
    (["report", "--semester", "2026春", "--by", "province"], "province"),
    (["report", "--semester", " ", "--by", "team"], "--semester"),
    (["report", "--semester", "2026春", "--by", "team", "--xlsx", "/nonexistent-dir/r.xlsx"], "--xlsx"),
])
def test_report_bad_arguments_are_one_line(demo_db, capsys, argv, needle):
    assert main([*argv, "--database-url", demo_db]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_teacher_keys_need_a_profile(demo_db, capsys):
    assert main(["keys", "create", "--role", "teacher", "--database-url", demo_db]) == 2
    assert "--profile" in capsys.readouterr().err
    rc, out = run(["keys", "create", "--role", "teacher", "--profile", "T009", "--database-url", demo_db])
    assert rc == 0 and out.startswith("xfd_")
    assert "profile=T009" in capsys.readouterr().err


def test_an_unwritable_xlsx_is_one_line_and_prints_no_table(demo_db, tmp_path, capsys):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    bad = [str(tmp_path / "afile" / "r.xlsx")] + (["/proc/r.xlsx"] if Path("/proc/self").is_dir() else [])
    for xlsx in bad:
        rc = main(["report", "--semester", "2026春", "--by", "team", "--xlsx", xlsx, "--database-url", demo_db])
        got = capsys.readouterr()
        assert rc == 2 and got.out == ""
        lines = got.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"xfd: 错误 error: --xlsx {xlsx}: "), lines


def test_an_xlsx_failing_at_write_time_prints_no_table(demo_db, tmp_path, capsys, monkeypatch):
    from xfd.matching import writers

    def full_disk(dest, fill, binary=False):
        raise OSError(28, "No space left on device", str(dest))

    monkeypatch.setattr(writers, "_write_temp", full_disk)
    xlsx = tmp_path / "r.xlsx"
    rc = main(["report", "--semester", "2026春", "--by", "team", "--xlsx", str(xlsx), "--database-url", demo_db])
    got = capsys.readouterr()
    assert rc == 2 and got.out == "" and not xlsx.exists()
    assert got.err.strip() == f"xfd: 错误 error: --xlsx {xlsx}: 无法写入 cannot write: No space left on device"


def test_a_missing_sqlite_file_is_an_error_not_a_new_database(tmp_path, capsys):
    missing = tmp_path / "none.db"
    rc = main(["report", "--semester", "2026春", "--by", "team", "--database-url", f"sqlite:///{missing}"])
    got = capsys.readouterr()
    assert rc == 2 and got.out == "" and not missing.exists()
    assert got.err.strip().splitlines() == [f"xfd: 错误 error: 数据库文件不存在 database file does not exist: {missing} "
                                            f"(sqlite:///{missing})"]


@pytest.mark.parametrize("semester", ["2026春\x00", "\x01", "2026春\x7f", "2026/春"])
def test_a_semester_with_control_characters_is_refused(demo_db, capsys, semester):
    assert main(["report", "--semester", semester, "--by", "team", "--database-url", demo_db]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("xfd: 错误 error: --semester: 学期无效 invalid semester")
