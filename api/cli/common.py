"""What every ``xfd`` command shares: the one-line error, the parser class,
argument helpers, the output-path check, progress bars, settings and the
migrated database.  Command modules import this module (and the helper
modules ``scoring`` / ``server``), never each other.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session
    from tqdm import tqdm

    from xfd.api.settings import Settings
    from xfd.matching.writers import OutputBatch

DB_HELP = "SQLAlchemy URL (default: $XFD_DATABASE_URL or sqlite:///xfd.db)"


class CliError(Exception):
    """A user-facing failure: its message is printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one-line ``CliError`` s (not usage + exit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(f"参数错误 bad arguments: {message}")


class Subparsers(Protocol):
    """What a command's ``register`` needs of ``parser.add_subparsers()``: ``add_parser``
    (typed structurally, so no private argparse class is named)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def err(*lines: str) -> None:
    """Print lines to stderr (messages for people; stdout is for results)."""
    for line in lines:
        print(line, file=sys.stderr)


def progress(desc: str, total: int) -> tqdm:
    """A tqdm bar on stderr (hidden when stderr is not a terminal), counting 条 (items)."""
    from tqdm import tqdm  # noqa: PLC0415  (keeps ``xfd --help`` fast)

    return tqdm(total=total, desc=desc, unit="条", file=sys.stderr, disable=None, leave=False)


def check_out(path: str, flag: str = "--out") -> Path:
    """An output path that can be written now (else a CliError naming ``flag`` and ``path``):
    not a folder, not an existing non-regular file (a device, a FIFO), in an existing folder
    where a file can be created (checked by creating and removing a probe file there, so
    ``/proc``, ``/sys``, read-only or foreign folders fail here, before any long work)."""
    out = Path(path)
    if out.is_dir():
        raise CliError(f"{flag} {path}: 是目录 is a directory")
    parent = out.parent
    if not parent.exists():
        raise CliError(f"{flag} {path}: 目录不存在 directory does not exist: {parent}")
    if not parent.is_dir():
        raise CliError(f"{flag} {path}: 上级路径不是目录 parent is not a directory: {parent}")
    if out.exists() and not out.is_file():
        raise CliError(f"{flag} {path}: 不是普通文件 not a regular file")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise output_error(flag, path, exc) from None
    return out


def check_not_input(out: Path, flag: str, inputs: Sequence[tuple[str, str | None]]) -> None:
    """A CliError when the output ``out`` is one of the ``(flag, path)`` inputs: writing it
    would replace an input file."""
    for in_flag, path in inputs:
        if path and out.exists() and Path(path).exists() and os.path.samefile(out, path):
            raise CliError(f"{flag} {out}: 与 {in_flag} 是同一文件 is the same file as {in_flag} (an input)")


def output_error(flag: str, path: str | Path, exc: OSError) -> CliError:
    """The one-line error for an output that cannot be written."""
    return CliError(f"{flag} {path}: 无法写入 cannot write: {exc.strerror or exc}")


def write_outputs(outputs: Sequence[tuple[str, Path, Callable[[OutputBatch, Path], object]]]) -> None:
    """Write every ``(flag, path, add)`` output all or nothing: each ``add(batch, path)`` writes
    its temporary file (``OutputBatch.add_json`` / ``add_lines`` / ``add_bytes``), then all are
    renamed; an ``OSError`` on any of them is the one-line error naming its option and path,
    and no output is written."""
    from xfd.matching.writers import OutputBatch  # noqa: PLC0415

    flags = {path: (flag, path) for flag, path, _add in outputs}
    with OutputBatch() as batch:
        try:
            for _flag, path, add in outputs:
                add(batch, path)
            batch.commit()
        except OSError as exc:
            flag, path = flags.get(batch.failed, (outputs[0][0], outputs[0][1]))
            raise output_error(flag, path, exc) from None


def add_input_arguments(p: argparse.ArgumentParser, out_help: str) -> None:
    """The arguments ``xfd score`` and ``xfd assign`` share: --profiles, --demands, --out, --model."""
    p.add_argument("--profiles", required=True, help="profiles file (.jsonl/.csv/.xlsx)")
    p.add_argument("--demands", required=True, help="demands file (.jsonl/.csv/.xlsx)")
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--model", default=None, help="e5-small (default), lexical, minilm, or a SentenceTransformer folder")
    p.add_argument("--strict", action="store_true",
                   help="current_team 中未知的编号是错误 an unknown current_team id is an error (default: a warning)")


def add_database_argument(p: argparse.ArgumentParser) -> None:
    """``--database-url`` (default from the settings)."""
    p.add_argument("--database-url", default=None, help=DB_HELP)


def load_settings(database_url: str | None = None, model: str | None = None) -> Settings:
    """``xfd.api.settings.Settings`` from the environment, with the given overrides; a bad
    ``XFD_*`` value is a CliError naming the variable."""
    from pydantic import ValidationError  # noqa: PLC0415

    from xfd.api.settings import Settings  # noqa: PLC0415

    overrides: dict[str, Any] = {}
    if database_url:
        overrides["database_url"] = database_url
    if model:
        overrides["model"] = model
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CliError(f"配置错误 bad setting XFD_{str(first['loc'][0]).upper()}: {first['msg']}") from None


def migrated_engine(url: str) -> Engine:
    """An engine on ``url`` with the schema at head; one-line errors."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415

    from xfd.api.storage.db import make_engine, upgrade_to_head  # noqa: PLC0415

    try:
        engine = make_engine(url)
    except (ArgumentError, ValueError) as exc:
        raise CliError(f"数据库地址无效 invalid database URL (--database-url or XFD_DATABASE_URL) {url!r}: {exc}") from None
    except ImportError as exc:
        raise CliError(f"缺少数据库驱动 missing database driver for {url!r}: {exc}") from None
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as exc:
        raise CliError(f"无法打开数据库 cannot open database {url!r}: {str(exc).splitlines()[0]}") from None
    return engine


def missing_sqlite_file(url: str) -> str | None:
    """The file of a SQLite file URL when that file does not exist, else None (other databases,
    in-memory ones and URLs SQLAlchemy cannot parse: those are :func:`migrated_engine`'s to judge)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    from xfd.api.storage.db import is_in_memory, is_sqlite  # noqa: PLC0415

    try:
        if not is_sqlite(url) or is_in_memory(url):
            return None
        database = make_url(url).database or ""
    except (ArgumentError, ValueError):
        return None
    if database.startswith("file:"):  # a SQLite URI filename (?uri=true)
        database = database[len("file:"):].split("?", 1)[0]
    return None if Path(database).exists() else database


@contextmanager
def database_session(url: str, must_exist: bool = False) -> Iterator[Session]:
    """A session on the migrated database at ``url``; the engine is disposed afterwards.
    ``must_exist`` (commands that only read or change existing rows: ``xfd report``, ``keys
    list|revoke``, ``users list|disable|enable``): a SQLite file that does not exist is a
    CliError naming it instead of a new, empty database."""
    from xfd.api.storage.db import make_session_factory  # noqa: PLC0415

    if must_exist and (missing := missing_sqlite_file(url)) is not None:
        raise CliError(f"数据库文件不存在 database file does not exist: {missing} ({url})")
    engine = migrated_engine(url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def check_port(host: str, port: int) -> None:
    """CliError unless ``host:port`` can be listened on now."""
    if not 0 < port < 65536:
        raise CliError(f"--port 端口无效 invalid port {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CliError(f"--host 地址无效 invalid host {host!r}: {exc}") from None
    family, *_rest, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise CliError(f"端口不可用 cannot listen on {host}:{port}: {exc.strerror}") from None
