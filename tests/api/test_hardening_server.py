"""Every client gets an answer: oversized requests against a real ``xfd serve``
(uvicorn on 127.0.0.1) with clients that send the whole request before
reading (``http.client``, ``requests``), never a connection reset.

One server for the module: lexical model, an empty SQLite file, small limits
(64 KiB bodies, 1 MiB uploads, 16 KiB headers), 20 requests/minute per key.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

BODY_LIMIT = 64 << 10
IMPORT_LIMIT = 1 << 20
HEADER_LIMIT = 16 << 10
RATE = 20
#: bodies far larger than the kernel's socket buffers, so an unread body would reset the connection
BIG = 8 << 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    tmp: Path = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {**os.environ, "XFD_DATABASE_URL": f"sqlite:///{tmp / 'xfd.db'}", "XFD_MODEL": "lexical",
           "XFD_MAX_BODY_BYTES": str(BODY_LIMIT), "XFD_MAX_IMPORT_BYTES": str(IMPORT_LIMIT),
           "XFD_MAX_HEADER_BYTES": str(HEADER_LIMIT), "XFD_RATE_LIMIT": f"{RATE}/minute"}
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from xfd.api.cli import main; sys.exit(main())",
                             "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"xfd serve exited {proc.returncode}: {(tmp / 'serve.log').read_text()[-2000:]}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"xfd serve did not become healthy: {(tmp / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _send(server: tuple[str, int], method: str, path: str, body=None, headers: dict[str, str] | None = None,
          chunked: bool = False) -> tuple[int, dict]:
    """One request with ``http.client``: it writes the whole request, then reads the answer."""
    conn = http.client.HTTPConnection(*server, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_body_over_the_limit_is_413_with_content_length(server):
    status, body = _send(server, "POST", "/v1/demands", b"x" * BIG,
                         {"Content-Type": "application/json", "Authorization": "Bearer nope"})
    assert status == 413
    assert f"limit {BODY_LIMIT} bytes" in body["detail"] and "请求体过大" in body["detail"]


def test_streamed_body_over_the_limit_is_413(server):
    chunks = (b"y" * 65536 for _ in range(BIG // 65536))
    status, body = _send(server, "POST", "/v1/demands", chunks, {"Content-Type": "application/json"}, chunked=True)
    assert status == 413
    assert f"limit {BODY_LIMIT} bytes" in body["detail"]


def test_upload_over_the_import_limit_is_413(server):
    status, body = _send(server, "POST", "/v1/profiles", b"[" + b" " * BIG + b"]",
                         {"Content-Type": "application/json"})
    assert status == 413
    assert f"limit {IMPORT_LIMIT} bytes" in body["detail"]


def test_requests_library_sees_413(server):
    host, port = server
    r = requests.post(f"http://{host}:{port}/v1/demands", data=b"z" * BIG, timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_200_kb_header_is_431(server):
    status, body = _send(server, "GET", "/v1/demands", headers={"X-Big": "a" * 200_000})
    assert status == 431
    assert "请求头过大" in body["detail"] and f"limit {HEADER_LIMIT} bytes" in body["detail"]


def test_431_even_with_a_body_sent(server):
    status, _ = _send(server, "POST", "/v1/demands", b"{}" * (BIG // 2),
                      {"X-Big": "b" * 100_000, "Content-Type": "application/json"})
    assert status == 431


def test_long_url_is_414(server):
    status, body = _send(server, "GET", "/v1/demands?q=" + "c" * 40_000)
    assert status == 414
    assert "请求地址过长" in body["detail"]


def test_small_requests_still_served(server):
    status, body = _send(server, "GET", "/healthz")
    assert status == 200 and body["status"] == "ok"


def test_rate_limit_per_key_429_with_retry_after(server):
    host, port = server
    headers = {"Authorization": "Bearer made-up-key-for-the-rate-test"}
    answers = [requests.get(f"http://{host}:{port}/v1/demands", headers=headers, timeout=10) for _ in range(RATE + 1)]
    assert [r.status_code for r in answers[:RATE]] == [401] * RATE
    last = answers[-1]
    assert last.status_code == 429
    assert 1 <= int(last.headers["Retry-After"]) <= 60
    assert "请求过于频繁" in last.json()["detail"] and "too many requests" in last.json()["detail"]
    # another key is not limited, /healthz never is
    other = requests.get(f"http://{host}:{port}/v1/demands", headers={"Authorization": "Bearer another"}, timeout=10)
    assert other.status_code == 401
    assert all(requests.get(f"http://{host}:{port}/healthz", timeout=10).status_code == 200 for _ in range(RATE + 1))


def test_expect_100_continue_is_answered_before_the_body(server):
    """A client that waits for ``100 Continue`` gets the 413 at once and never sends the body."""
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.putrequest("POST", "/v1/demands")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(BIG))
        conn.putheader("Expect", "100-continue")
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert f"limit {BODY_LIMIT} bytes" in json.loads(response.read())["detail"]
    finally:
        conn.close()
