"""Shared set-up for the web UI tests: an app on a temp SQLite file with the
fake scorer and planner, a few profiles, and one account per role."""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.fakes import FakeScorer, greedy_planner
from xfd.api import accounts, crud
from xfd.api.app import create_app
from xfd.api.settings import Settings
from xfd.matching.readers import validate_profile

PASSWORD = "correct-horse-1"
PROFILES = [
    {"id": "T001", "name": "张伟", "kind": "teacher", "college": "机械工程学院", "title": "教授",
     "disciplines": ["机械工程", "控制科学与工程"], "keywords": ["机器视觉", "缺陷检测"],
     "documents": [{"kind": "paper", "title": "基于机器视觉的表面缺陷检测方法", "text": "机器视觉 缺陷检测 深度学习 生产线"}]},
    {"id": "T002", "name": "李娜", "kind": "teacher", "college": "计算机学院", "title": "副教授",
     "disciplines": ["计算机科学与技术"], "keywords": ["图像识别", "深度学习"],
     "documents": [{"kind": "paper", "title": "生产线图像识别与深度学习", "text": "图像识别 深度学习 缺陷 检测 机器视觉"}]},
    {"id": "T003", "name": "王强", "kind": "teacher", "college": "食品学院", "title": "讲师",
     "disciplines": ["食品科学与工程"], "keywords": ["茶叶加工"],
     "documents": [{"kind": "project", "title": "茶叶加工工艺优化", "text": "茶叶 加工 发酵 品质"}]},
    {"id": "S001", "name": "赵敏", "kind": "student", "college": "机械工程学院", "major": "机械电子工程", "grade": 3,
     "disciplines": ["机械工程"], "skills": ["机器视觉", "缺陷检测", "Python"]},
    {"id": "S002", "name": "陈晨", "kind": "student", "college": "计算机学院", "major": "软件工程", "grade": 2,
     "disciplines": ["计算机科学与技术"], "skills": ["深度学习", "图像识别"]},
]
ACCOUNTS = {  # username: (role, enterprise, profile)
    "office1": ("office", None, None),
    "admin1": ("admin", None, None),
    "ent1": ("enterprise", "E001", None),
    "ent2": ("enterprise", "E002", None),
    "teacher1": ("teacher", None, "T001"),
}


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with the smallest parameters: the tests hash and verify hundreds of times."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def seed(app) -> None:
    with app.state.sessions() as s:
        crud.commit_profiles(s, [validate_profile(p) for p in PROFILES])
        for username, (role, enterprise, profile) in ACCOUNTS.items():
            accounts.create_user(s, role, username, PASSWORD, enterprise=enterprise, profile=profile)
        s.commit()
    app.state.engine.invalidate()


@pytest.fixture
def app(tmp_path: Path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}"), scorer_factory=FakeScorer,
                     planner=greedy_planner)
    return app


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        seed(app)
        yield c


CSRF = re.compile(r'name="csrf_token" (?:value|content)="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "page has no CSRF field"
    return m.group(1)


def login(c: TestClient, username: str, password: str = PASSWORD):
    c.cookies.clear()
    token = csrf_of(c.get("/login").text)
    return c.post("/login", data={"username": username, "password": password, "csrf_token": token})


def form_token(c: TestClient, path: str = "/demands") -> str:
    return csrf_of(c.get(path).text)
