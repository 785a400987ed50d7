"""``xfd.api.cli.common``: the output-path check (before any long work) and the all-or-nothing
writing of a command's outputs, each failure one ``CliError`` naming the option and the path."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from xfd.api.cli.common import CliError, check_out, database_session, missing_sqlite_file, write_outputs
from xfd.matching import writers


def _unwritable(tmp_path: Path) -> list[tuple[str, str]]:
    """(path, words of the error) for outputs that cannot be written on this machine."""
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    cases = [(str(tmp_path / "afile" / "x.jsonl"), "parent is not a directory"),
             (str(tmp_path), "is a directory"),
             (str(tmp_path / "no" / "x.jsonl"), "directory does not exist")]
    if Path("/proc/self").is_dir():
        cases.append(("/proc/x.jsonl", "cannot write"))  # FileNotFoundError from the kernel
    if Path("/sys/kernel").is_dir():
        cases.append(("/sys/x.jsonl", "cannot write"))  # sysfs: no regular files, even for root
    if Path("/dev/null").exists():
        cases.append(("/dev/null", "not a regular file"))
    return cases


def test_unwritable_outputs_are_one_line_errors_naming_option_and_path(tmp_path):
    for path, words in _unwritable(tmp_path):
        with pytest.raises(CliError) as e:
            check_out(path, "--xlsx")
        message = str(e.value)
        assert message.startswith(f"--xlsx {path}: ") and words in message and "\n" not in message, message


def test_a_folder_without_write_permission(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores the mode bits
            pytest.skip("running as root: every folder is writable")
        with pytest.raises(CliError, match="Permission denied"):
            check_out(str(ro / "x.json"))
    finally:
        ro.chmod(0o755)


def test_a_good_path_passes_and_leaves_nothing_behind(tmp_path):
    assert check_out(str(tmp_path / "s.jsonl")) == tmp_path / "s.jsonl"
    (tmp_path / "old.json").write_text("{}", encoding="utf-8")
    assert check_out(str(tmp_path / "old.json")) == tmp_path / "old.json"  # an existing file is replaced later
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]


def test_a_failed_write_names_its_option_and_writes_no_output(tmp_path, monkeypatch):
    plan, book = tmp_path / "plan.json", tmp_path / "plan.xlsx"
    real = writers._write_temp

    def write_temp(dest, fill, binary=False):
        if dest == book:
            raise OSError(28, "No space left on device", str(dest))
        return real(dest, fill, binary)

    monkeypatch.setattr(writers, "_write_temp", write_temp)
    with pytest.raises(CliError) as e:
        write_outputs([("--out", plan, lambda b, p: b.add_json(p, {"objective": 1})),
                       ("--xlsx", book, lambda b, p: b.add_bytes(p, b"book"))])
    assert str(e.value) == f"--xlsx {book}: 无法写入 cannot write: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_reading_commands_do_not_create_a_sqlite_file(tmp_path):
    missing = tmp_path / "none.db"
    url = f"sqlite:///{missing}"
    assert missing_sqlite_file(url) == str(missing)
    assert missing_sqlite_file("sqlite://") is None and missing_sqlite_file("postgresql://u@h/db") is None
    with pytest.raises(CliError, match="database file does not exist"), database_session(url, must_exist=True):
        pass
    assert not missing.exists()
    with database_session(url):  # a command that writes (db upgrade, keys create) creates it
        pass
    assert missing.exists() and missing_sqlite_file(url) is None


def test_an_unparsable_database_url_names_the_flag_and_the_variable() -> None:
    with pytest.raises(CliError) as e:
        with database_session("bogus url"):
            pass
    assert "--database-url" in str(e.value) and "XFD_DATABASE_URL" in str(e.value) and "'bogus url'" in str(e.value)
