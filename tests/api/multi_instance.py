"""Helpers for tests that run several real ``xfd serve`` processes on one database.

- ``free_port()``; ``start_serve(env, log_path, extra_args=())`` starts
  ``python -m xfd.api.cli serve --port <free>`` with ``env`` added to this
  process's environment and waits until ``/healthz`` answers 200 (fails the
  test with the log's tail otherwise; a port taken meanwhile by another process
  is replaced by another free one); ``ServeProcess.stop()`` ends it
  (SIGTERM, then SIGKILL after 15 s); ``instances(...)`` is a context manager
  starting several at once and stopping them all.
- ``office_key(url)``: an office API key stored in the (migrated) database,
  valid for every instance on it.
- ``reset_database`` (in ``tests.fakes``): drops every table (PostgreSQL test databases).
- ``tiny_sentence_model(folder)``: a 32-dimensional SentenceTransformer folder
  with random weights (``XFD_MODEL=<folder>``), built in a few seconds, so
  tests can count what an instance embeds without the real e5 model.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

#: seconds a process may take to answer /healthz (loading torch on a busy 2-core machine)
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServeProcess:
    """One running ``xfd serve``: ``base`` URL, the ``proc`` and its combined output ``log``."""

    proc: subprocess.Popen
    port: int
    log: Path
    _out: object = field(repr=False, default=None)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict:
        r = requests.get(f"{self.base}/healthz", timeout=10)
        r.raise_for_status()
        return r.json()

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not None:
            self._out.close()  # type: ignore[attr-defined]
            self._out = None


#: what ``xfd serve`` says when its port is taken (its own check, or uvicorn's bind)
PORT_TAKEN = (b"cannot listen on", b"address already in use")


def start_serve(env: Mapping[str, str], log_path: Path, extra_args: Sequence[str] = (),
                port: int | None = None) -> ServeProcess:
    """Start ``xfd serve`` (the real console entry) on 127.0.0.1 and wait for ``/healthz`` 200.

    A port chosen here (``port`` None) is free when chosen but may be taken by any other process
    before the server binds it: then the server exits saying so, and it is started again on
    another port (up to three times)."""
    for attempt in range(3):
        try:
            return _start_serve(env, log_path, extra_args, port or free_port())
        except PortTaken:
            if port is not None or attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(Exception):
    """``xfd serve`` exited because its port was in use."""


def _start_serve(env: Mapping[str, str], log_path: Path, extra_args: Sequence[str], port: int) -> ServeProcess:
    out = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "xfd.api.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             *extra_args], env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    server = ServeProcess(proc, port, log_path, out)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            server.stop()
            if any(m in log_path.read_bytes().lower() for m in PORT_TAKEN):
                raise PortTaken(server.tail())
            pytest.fail(f"xfd serve exited {proc.returncode}: {server.tail()}")
        try:
            if requests.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"xfd serve did not become healthy in {START_TIMEOUT:.0f} s: {server.tail()}")
        time.sleep(0.3)


@contextmanager
def instances(env: Mapping[str, str], log_dir: Path, n: int = 2, extra_args: Sequence[str] = ()) -> Iterator[list[ServeProcess]]:
    """``n`` ``xfd serve`` processes with the same ``env`` (started one after the other), stopped on exit."""
    with ExitStack() as stack:
        servers = []
        for i in range(n):
            server = start_serve(env, log_dir / f"serve-{i}.log", extra_args)
            stack.callback(server.stop)
            servers.append(server)
        yield servers


def office_key(url: str) -> dict[str, str]:
    """Migrate ``url``, store a new office key there; the ``Authorization`` header using it."""
    from xfd.api.security import create_key
    from xfd.api.storage.db import make_engine, make_session_factory, upgrade_to_head

    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        with make_session_factory(engine)() as s:
            _, key = create_key(s, "office", None)
            s.commit()
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {key}"}


def tiny_sentence_model(folder: Path) -> Path:
    """Build (once) a random-weight SentenceTransformer in ``folder``: BERT, 1 layer, 32 dimensions,
    a vocabulary of 3,000 common CJK characters plus ASCII letters and digits, mean pooling."""
    if (folder / "modules.json").is_file():
        return folder
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    hf = folder.parent / f"{folder.name}-hf"
    hf.mkdir(parents=True, exist_ok=True)
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)] + list("abcdefghijklmnopqrstuvwxyz0123456789")
    (hf / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(hf / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(chars) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(hf)
    tokenizer.save_pretrained(hf)
    model = SentenceTransformer(modules=[models.Transformer(str(hf), max_seq_length=64), models.Pooling(32, "mean")],
                                device="cpu")
    model.save(str(folder))
    return folder
