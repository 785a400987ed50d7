"""``xfd keys`` / ``xfd users`` on the command line: a teacher key names a stored teacher's
profile (the rule of ``/admin/keys``, ``crud.teacher_profile_problem``), and the commands that
only read or change existing rows never create a database file."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from xfd.api.cli import main
from xfd.api.cli.demo import prepare_demo
from xfd.api.storage.db import make_engine, make_session_factory
from xfd.api.storage.models import ApiKey


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a demo database (profiles T001… teachers, S001… students)."""
    return prepare_demo(tmp_path_factory.mktemp("demo") / "demo.db")["url"]


def _key_count(url: str) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            return s.scalar(select(func.count()).select_from(ApiKey)) or 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(("profile", "says"), [
    ("T999", "没有这位教师 no teacher profile with id 'T999'"),
    ("S001", "'S001' 是学生，不是教师 is a student profile, not a teacher"),
])
def test_a_teacher_key_for_an_unknown_or_student_profile_is_refused(demo_db, capsys, profile, says) -> None:
    before = _key_count(demo_db)
    rc = main(["keys", "create", "--role", "teacher", "--profile", profile, "--database-url", demo_db])
    got = capsys.readouterr()
    assert rc == 2 and got.out == ""
    assert got.err.strip().splitlines() == [f"xfd: 错误 error: --profile: {says}"]
    assert _key_count(demo_db) == before


def test_a_teacher_key_for_a_stored_teacher_is_created(demo_db, capsys) -> None:
    before = _key_count(demo_db)
    assert main(["keys", "create", "--role", "teacher", "--profile", "T001", "--database-url", demo_db]) == 0
    assert capsys.readouterr().out.startswith("xfd_")
    assert _key_count(demo_db) == before + 1


@pytest.mark.parametrize("argv", [
    ["keys", "list"], ["keys", "revoke", "1"], ["users", "list"], ["users", "disable", "u"], ["users", "enable", "u"],
    ["report", "--semester", "2026春", "--by", "team"],
])
def test_reading_a_missing_sqlite_file_creates_none(tmp_path: Path, capsys, argv: list[str]) -> None:
    db = tmp_path / "absent.db"
    assert main([*argv, "--database-url", f"sqlite:///{db}"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"数据库文件不存在 database file does not exist: {db}" in lines[0], lines
    assert not db.exists()


def test_creating_a_key_still_creates_the_database(tmp_path: Path, capsys) -> None:
    db = tmp_path / "new.db"
    assert main(["keys", "create", "--role", "office", "--database-url", f"sqlite:///{db}"]) == 0
    assert db.is_file() and capsys.readouterr().out.startswith("xfd_")


def test_keys_list_names_a_teacher_keys_profile(tmp_path: Path, capsys) -> None:
    url = prepare_demo(tmp_path / "demo.db")["url"]
    assert main(["keys", "create", "--role", "teacher", "--profile", "T001", "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--database-url", url]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [r[3] for r in rows if r[2] == "teacher"] == ["T001"]
