"""The office's recalibration page (/office/calibration): CSRF form -> a new version with its held-out
figures before/after, the list of versions, the switch to any version or the default; office only."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.test_routes import add_key
from tests.api.web.conftest import form_token, login, seed
from tests.fakes import greedy_planner
from xfd.api.app import create_app
from xfd.api.settings import Settings
from xfd.matching.encoders import HashingEncoder
from xfd.matching.scoring import MatchScorer
from xfd.matching.text import Tokenizer

DEFECT = ["钢板表面缺陷检测", "注塑件缺陷视觉检测", "焊缝缺陷自动检测", "玻璃表面缺陷识别", "铸件缺陷检测系统", "布匹缺陷图像检测"]
TEA = ["红茶发酵工艺改进", "绿茶杀青发酵控制", "茶叶萎凋发酵车间", "红茶发酵温度湿度", "茶叶发酵品质提升", "乌龙茶发酵工艺"]


@pytest.fixture
def office_app(tmp_path: Path) -> Iterator[tuple[TestClient, object]]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}"),
                     scorer_factory=lambda: MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder()),
                     planner=greedy_planner)
    with TestClient(app, follow_redirects=False) as c:
        seed(app)
        key = add_key(app, "office")
        for kind, texts, good, bad in (("A", DEFECT, "T003", "T001"), ("B", TEA, "S001", "T003")):
            for i, text in enumerate(texts):
                r = c.post("/v1/demands", json={"id": f"{kind}{i}", "enterprise": "E001", "title": text}, headers=key)
                assert r.status_code == 201, r.text
                for pid, verdict in ((good, "accepted"), (bad, "rejected")):
                    r = c.post("/v1/feedback", json={"demand_id": f"{kind}{i}", "profile_id": pid, "verdict": verdict},
                               headers=key)
                    assert r.status_code == 201, r.text
        yield c, app


def test_recalibrate_page_fits_lists_and_switches(office_app) -> None:
    client, app = office_app
    login(client, "office1")
    html = client.get("/office/calibration").text
    assert 'href="/office/calibration"' in html and "重新校准" in html and "还没有校准版本" in html
    token = form_token(client, "/office/calibration")
    assert client.post("/office/calibration", data={}).status_code == 403  # no CSRF token
    r = client.post("/office/calibration", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/office/calibration?new=")
    html = client.get(r.headers["location"]).text
    assert "本次结果" in html and "成对排序 pairwise" in html and "校准前" in html and "#1" in html
    assert "反馈记忆 verdict memory" in html, html  # the office's rule is learned as a memory
    assert "已启用 active" in html and app.state.engine.fusion is not None
    # switch to the default, then back to version 1
    r = client.post("/office/calibration/activate", data={"csrf_token": token, "calibration_id": "0"})
    assert r.status_code == 303 and app.state.engine.fusion is None
    assert "当前使用默认评分" in client.get("/office/calibration").text
    r = client.post("/office/calibration/activate", data={"csrf_token": token, "calibration_id": "1"})
    assert r.status_code == 303 and app.state.engine.fusion is not None
    r = client.post("/office/calibration/activate", data={"csrf_token": token, "calibration_id": "99"})
    assert r.status_code == 404
    r = client.post("/office/calibration/activate", data={"csrf_token": token, "calibration_id": "-1"})
    assert r.status_code == 422


def test_only_the_office_may_recalibrate(office_app) -> None:
    client, _ = office_app
    for who in ("ent1", "teacher1"):
        login(client, who)
        assert client.get("/office/calibration").status_code == 403
        token = form_token(client, "/teams")
        assert client.post("/office/calibration", data={"csrf_token": token}).status_code == 403
        assert client.post("/office/calibration/activate", data={"csrf_token": token, "calibration_id": "0"}
                           ).status_code == 403
    login(client, "admin1")  # admin is staff, as in the API
    assert client.get("/office/calibration").status_code == 200


def test_too_few_verdicts_is_the_409_page(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}"),
                     scorer_factory=lambda: MatchScorer(Tokenizer(char_ngrams=2), encoder=HashingEncoder()),
                     planner=greedy_planner)
    with TestClient(app, follow_redirects=False) as c:
        seed(app)
        login(c, "office1")
        r = c.post("/office/calibration", data={"csrf_token": form_token(c, "/office/calibration")})
        assert r.status_code == 409 and "反馈太少" in r.text
