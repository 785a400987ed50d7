"""End-to-end: a real headless Chromium (Debian's /usr/bin/chromium through
Playwright) against a real ``xfd serve --model lexical`` on 127.0.0.1.

Covers: an enterprise submits a demand through the form; the office accepts
it, opens its recommendations, proposes a team and accepts it, runs a batch
and accepts the plan; the enterprise sees its team; a second enterprise gets
a 404 page for it and does not see it in its list; a wrong password is
refused; a form posted without its CSRF token is refused.  Every request goes
to the server only and no response is a 5xx.  Screenshots of the main pages
go to ``tests/api/web/screenshots/``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright import sync_api  # a test dependency (pyproject.toml [test]); only the browser binary is optional

from tests.api.web.conftest import ACCOUNTS, PASSWORD, PROFILES
from xfd.api import accounts, crud
from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head
from xfd.matching.readers import validate_profile

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
if os.environ.get("XFD_REQUIRE_BROWSER") == "1":  # CI (.ci/run): a missing browser is a failure, not a skip
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: apt-get install chromium fonts-noto-cjk"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (.ci/run installs it)")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> None:
    engine = make_engine(url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as s:
        crud.commit_profiles(s, [validate_profile(p) for p in PROFILES])
        for username, (role, enterprise, profile) in ACCOUNTS.items():
            accounts.create_user(s, role, username, PASSWORD, enterprise=enterprise, profile=profile)
        s.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("web-e2e")
    url = f"sqlite:///{tmp / 'e2e.db'}"
    _seed(url)
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "xfd.api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--model", "lexical", "--database-url", url], stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"xfd serve did not start: {(tmp / 'serve.log').read_text()[-2000:]}")
        time.sleep(0.3)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


class Watch:
    """Every request's host and every response's status seen by a page."""

    def __init__(self, base: str) -> None:
        self.host = urlsplit(base).netloc
        self.foreign: list[str] = []
        self.errors: list[str] = []

    def attach(self, page) -> None:
        page.on("request", lambda r: None if urlsplit(r.url).netloc == self.host or r.url.startswith("data:")
                else self.foreign.append(r.url))
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def watch(server: str) -> Iterator[Watch]:
    w = Watch(server)
    yield w
    assert w.foreign == [], f"requests to other hosts: {w.foreign}"
    assert w.errors == [], f"server errors: {w.errors}"


def _page(browser, watch: Watch, width: int = 1280):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    watch.attach(page)
    return page


def _login(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    _submit(page, "form[action='/login'] button[type=submit]")


def _submit(page, selector: str) -> None:
    """Click a submit button and wait until the page it leads to has loaded."""
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_enterprise_office_flow(server: str, browser, watch: Watch) -> None:
    ent = _page(browser, watch)
    _login(ent, server, "ent1")
    assert urlsplit(ent.url).path == "/demands"
    ent.goto(f"{server}/demands/new")
    ent.fill("input[name=title]", "生产线产品表面缺陷的机器视觉检测")
    ent.fill("textarea[name=description]", "我们的生产线需要基于机器视觉和深度学习的产品表面缺陷自动检测方案，"
             "替代人工目检。图像识别、缺陷检测、生产线改造。" * 3)
    ent.fill("input[name=county]", "城关区")
    ent.select_option("select[name=industry]", "C")
    ent.fill("input[name=disciplines]", "机械工程、计算机科学与技术")
    _shot(ent, "01-enterprise-new-demand")
    _submit(ent, "button[value=submit]")
    assert re.search(r"/demands/[^/?]+", ent.url), ent.url
    demand_path = urlsplit(ent.url).path
    assert "需求已提交" in ent.content()
    _shot(ent, "02-enterprise-demand-submitted")
    ent.goto(f"{server}/demands")
    assert ent.locator(f"a[href='{demand_path}']").count() == 1

    office = _page(browser, watch)
    _login(office, server, "office1")
    assert urlsplit(office.url).path == "/office/inbox"
    assert office.locator(f"a[href='{demand_path}']").count() >= 1
    _shot(office, "03-office-inbox")
    office.goto(f"{server}{demand_path}")
    assert "推荐人员" in office.content()
    assert office.locator("mark").count() > 0, "matched terms are highlighted in the evidence"
    _shot(office, "04-office-demand-recommendations")
    _submit(office, "form[action$='/status'] button:has-text('受理')")
    assert "已受理" in office.content()
    _submit(office, "button:has-text('为这个需求建议小分队')")
    assert "建议小分队" in office.content()
    members = office.locator("input[name=member]").evaluate_all("els => els.map(e => e.value)")
    assert "T001" in members or "T002" in members, members
    _shot(office, "05-office-team-proposal")
    office.check(f"input[name=pin][value='{members[0]}']")
    _submit(office, "button[value=again]")
    assert members[0] in office.locator("input[name=member]").evaluate_all("els => els.map(e => e.value)")
    _submit(office, "button[value=accept]")
    assert "小分队已确定" in office.content()

    office.goto(f"{server}/runs")
    _submit(office, "form[action='/runs'] button[type=submit]")
    # the run page reloads itself every 2 s while the run is queued or running (a reload of ours could
    # meet that navigation halfway and fail): wait, across its reloads, for the finished page's button
    office.locator("button:has-text('采纳方案')").wait_for(timeout=180_000)
    assert "小分队" in office.content() and "采纳方案" in office.content(), office.content()[-2000:]
    _shot(office, "06-office-batch-plan")
    with office.expect_download() as dl:
        office.click("a:has-text('导出 Excel')")
    assert dl.value.suggested_filename.endswith(".xlsx")
    _submit(office, "button:has-text('采纳方案')")
    assert "方案已采纳" in office.content()

    ent.goto(f"{server}{demand_path}")
    text = ent.content()
    assert "张伟" in text or "李娜" in text, "the enterprise sees its team"
    assert "推荐人员" not in text, "no recommendations for enterprises"
    _shot(ent, "07-enterprise-sees-team")

    other = _page(browser, watch)
    _login(other, server, "ent2")
    response = other.goto(f"{server}{demand_path}")
    assert response.status == 404 and "页面不存在" in other.content()
    other.goto(f"{server}/demands")
    assert demand_path not in other.content()

    phone = _page(browser, watch, width=390)
    _login(phone, server, "ent1")
    for path in ("/demands", "/demands/new", demand_path):
        phone.goto(f"{server}{path}")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{path} overflows on a phone"
    office_phone = _page(browser, watch, width=390)
    _login(office_phone, server, "office1")
    for path in ("/office/inbox", "/demands", demand_path, "/runs", "/directory"):
        office_phone.goto(f"{server}{path}")
        assert office_phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{path} overflows"
    phone.goto(f"{server}{demand_path}")
    _shot(phone, "08-phone-demand")


def test_wrong_password_is_refused(server: str, browser, watch: Watch) -> None:
    page = _page(browser, watch)
    _login(page, server, "ent1", "not-the-password")
    assert urlsplit(page.url).path == "/login"
    assert "用户名或密码错误" in page.content()
    assert page.context.cookies() == [] or all(c["name"] != "xfd_session" for c in page.context.cookies())
    _shot(page, "00-login-wrong-password")


def test_form_without_csrf_token_is_refused(server: str, browser, watch: Watch) -> None:
    page = _page(browser, watch)
    _login(page, server, "ent1")
    page.goto(f"{server}/demands/new")
    page.fill("input[name=title]", "没有令牌的表单")
    page.evaluate("document.querySelector(\"form[action='/demands/new'] input[name=csrf_token]\").remove()")
    # the response alone does not mean its page replaced the form yet: wait for that navigation too
    with page.expect_navigation(wait_until="load"), page.expect_response(lambda r: r.request.method == "POST") as resp:
        page.click("button[value=submit]")
    assert resp.value.status == 403
    assert "表单已失效" in page.content()
    page.goto(f"{server}/demands")
    assert "没有令牌的表单" not in page.content()


def test_the_first_submit_button_or_enter_submits_a_demand(server: str, browser, watch: Watch) -> None:
    """Generic scripts click the first ``button[type=submit]`` or press Enter: both submit the demand."""
    page = _page(browser, watch)
    _login(page, server, "ent2")
    for title, how in (("按钮提交的需求", "click"), ("回车提交的需求", "enter")):
        page.goto(f"{server}/demands/new")
        page.fill("[name=title]", title)
        page.fill("[name=description]", "需要深度学习图像识别")
        with page.expect_navigation(wait_until="load"):
            if how == "click":
                page.click("button[type=submit]")
            else:
                page.press("[name=title]", "Enter")
        assert re.fullmatch(r"/demands/[^/?]+", urlsplit(page.url).path), page.url
        assert title in page.content()
