"""``xfd users create|list|disable|enable`` and the demo accounts of ``xfd demo``."""
from __future__ import annotations

import io
import re
import sys

import pytest
from fastapi.testclient import TestClient

from tests.api.web.conftest import csrf_of
from tests.fakes import FakeScorer, greedy_planner
from xfd.api.app import create_app
from xfd.api.cli import main
from xfd.api.settings import Settings


def _run(argv: list[str], stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    assert monkeypatch is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


def _login_status(url: str, username: str, password: str) -> int:
    app = create_app(Settings(database_url=url), scorer_factory=FakeScorer, planner=greedy_planner)
    with TestClient(app, follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        return c.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code


def test_users_create_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    argv = ["users", "create", "--role", "enterprise", "--username", "zhang", "--enterprise", "E009",
            "--password-stdin", "--database-url", url]
    assert _run(argv, "s3cret-passw0rd\n", monkeypatch) == 0
    out, err = capsys.readouterr()
    assert "s3cret-passw0rd" not in out + err and "zhang" in err
    assert _run(["users", "list", "--database-url", url], monkeypatch=monkeypatch) == 0
    out, _ = capsys.readouterr()
    assert re.search(r"^1\tzhang\tenterprise\tE009\tactive$", out, re.M), out
    assert _login_status(url, "zhang", "s3cret-passw0rd") == 303
    assert _run(["users", "disable", "zhang", "--database-url", url], monkeypatch=monkeypatch) == 0
    assert _login_status(url, "zhang", "s3cret-passw0rd") == 401
    assert _run(["users", "enable", "zhang", "--database-url", url], monkeypatch=monkeypatch) == 0
    assert _login_status(url, "zhang", "s3cret-passw0rd") == 303


@pytest.mark.parametrize(("argv", "stdin", "needle"), [
    (["--role", "office", "--username", "a"], "long-enough-1\n", "--password-stdin"),  # no flag
    (["--role", "office", "--username", "a", "--password-stdin"], "", "no password"),
    (["--role", "office", "--username", "a", "--password-stdin"], "short\n", "password"),
    (["--role", "enterprise", "--username", "a", "--password-stdin"], "long-enough-1\n", "enterprise"),
    (["--role", "teacher", "--username", "a", "--profile", "T404", "--password-stdin"], "long-enough-1\n", "profile"),
    (["--role", "boss", "--username", "a", "--password-stdin"], "long-enough-1\n", "role"),
])
def test_users_create_bad_input_is_one_line(tmp_path, monkeypatch, capsys, argv, stdin, needle) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    assert _run(["users", "create", *argv, "--database-url", url], stdin, monkeypatch) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("xfd: 错误 error:") and needle in err, err
    assert "long-enough-1" not in err


def test_users_disable_unknown_is_an_error(tmp_path, monkeypatch, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    assert _run(["db", "upgrade", "--database-url", url], monkeypatch=monkeypatch) == 0  # a database without ghost
    capsys.readouterr()
    assert _run(["users", "disable", "ghost", "--database-url", url], monkeypatch=monkeypatch) == 2
    assert "ghost" in capsys.readouterr().err


def test_demo_prints_accounts_that_log_in(tmp_path, monkeypatch, capsys) -> None:
    db = tmp_path / "demo.db"
    assert _run(["demo", "--db", str(db), "--no-serve"], monkeypatch=monkeypatch) == 0
    out, _ = capsys.readouterr()
    assert "/login" in out
    logins = re.findall(r"^\s+(\w+)\s+用户名 username (\S+)\s+密码 password (\S+)\s*(\S*)$", out, re.M)
    roles = [r for r, *_ in logins]
    assert roles.count("enterprise") == 2 and {"office", "teacher"} <= set(roles), out
    url = f"sqlite:///{db}"
    for _role, username, password, _binding in logins:
        assert _login_status(url, username, password) == 303, username
    teacher = next(b for r, _u, _p, b in logins if r == "teacher")
    app = create_app(Settings(database_url=url), scorer_factory=FakeScorer, planner=greedy_planner)
    with TestClient(app, follow_redirects=False) as c:
        token = csrf_of(c.get("/login").text)
        c.post("/login", data={"username": "teacher", "password": "teacher-demo", "csrf_token": token})
        page = c.get("/teacher").text
    assert teacher in page and "负责人" in page, "the demo teacher leads a team"
