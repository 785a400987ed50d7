"""``render._signed_in`` (the menu of an error page): a database failure while looking up the
session cookie leaves the page without a menu; any other error is a bug and is not swallowed."""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from xfd.api.web import render
from xfd.api.web.auth import SESSION_COOKIE


def _request() -> SimpleNamespace:
    sessions = contextlib.nullcontext  # a session factory whose "session" is None
    return SimpleNamespace(state=SimpleNamespace(), cookies={SESSION_COOKIE: "signed-token"},
                           app=SimpleNamespace(state=SimpleNamespace(sessions=sessions)))


def test_a_database_error_gives_an_error_page_without_a_menu(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(_request, _session):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(render, "optional_viewer", down)
    assert render._signed_in(_request()) is None


def test_a_bug_while_finding_the_menu_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(_request, _session):
        raise AttributeError("a bug, not a missing database")

    monkeypatch.setattr(render, "optional_viewer", bug)
    with pytest.raises(AttributeError):
        render._signed_in(_request())


def test_no_cookie_no_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "optional_viewer", lambda *_: pytest.fail("looked up without a cookie"))
    request = _request()
    request.cookies = {}
    assert render._signed_in(request) is None
