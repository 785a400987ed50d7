"""Writing JSON/JSONL outputs atomically.

Output is UTF-8 with ``ensure_ascii=False``.  Data goes to a temporary file in
the destination directory, is flushed and fsynced, and only then renamed over
the destination with :func:`os.replace`; any failure (including an exception
raised by the record iterable midway, or a NaN score) removes the temporary
file and leaves the destination untouched, so no half-written output exists.
:class:`OutputBatch` does the same for several outputs at once (all are
written, or none).

Records may be dicts or the project's dataclasses / NamedTuples
(:func:`to_jsonable` turns ``Profile``, ``Demand``, ``DemandMatches``…
into the JSON shapes of ``../shared/INTERFACES.md``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, BinaryIO, TextIO

__all__ = ["OutputBatch", "to_jsonable", "write_bytes_atomic", "write_json_atomic", "write_jsonl_atomic", "write_lines_atomic"]


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_jsonable(obj: Any) -> Any:
    """Recursively convert dataclasses and NamedTuples to dicts, tuples/sets to lists.

    ``DemandMatches(demand_id, matches=(Match(profile_id, score, evidence),))``
    becomes ``{"demand_id": …, "matches": [{"profile_id": …, "score": …,
    "evidence": [{"document": …, "terms": […]}]}]}`` — the scores-file shape.
    Numpy scalars become Python numbers.
    """
    t = type(obj)
    if t in _PLAIN:  # exact types only: numpy scalars and NamedTuples take the general path below
        return obj
    if t is list:
        return [to_jsonable(v) for v in obj]
    if t is dict:
        return {k if type(k) is str else str(k): to_jsonable(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_asdict"):
        return {k: to_jsonable(v) for k, v in obj._asdict().items()}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and type(obj).__module__ == "numpy":
        return obj.item()
    return obj


def _dumps(obj: Any, indent: int | None = None) -> str:
    # allow_nan=False: NaN/Infinity are not JSON; fail rather than write them.
    return json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False, indent=indent)


def _write_temp(dest: Path, fill: Callable[[Any], int], binary: bool = False) -> tuple[str, int]:
    """Write a temporary file beside ``dest`` with ``fill(file)``, flushed and fsynced, with a
    normal file's mode; returns its path and ``fill``'s count.  On any failure it is removed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as fh:
            count = fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give a normal file's mode
    except BaseException:
        _unlink(tmp)
        raise
    return tmp, count


def _unlink(path: str | Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(directory: Path) -> None:
    try:  # make the rename durable; best effort (not possible on every platform)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _line_filler(lines: Iterable[str]) -> Callable[[TextIO], int]:
    """A ``fill`` for :func:`_write_temp`: writes each of ``lines`` (text without its line
    break: a JSONL line, or a whole JSON document) followed by ``\\n``; returns the count."""

    def fill(fh: TextIO) -> int:
        n = 0
        for line in lines:
            fh.write(line)
            fh.write("\n")
            n += 1
        return n

    return fill


def _bytes_filler(data: bytes) -> Callable[[BinaryIO], int]:
    """A ``fill`` for :func:`_write_temp` in binary mode: writes ``data`` (say a workbook); count 1."""

    def fill(fh: BinaryIO) -> int:
        fh.write(data)
        return 1

    return fill


def _write_atomic(path: str | PathLike[str], fill: Callable[[Any], int], binary: bool = False) -> int:
    dest = Path(path)
    tmp, count = _write_temp(dest, fill, binary)
    try:
        os.replace(tmp, dest)
    except BaseException:
        _unlink(tmp)
        raise
    _fsync_dir(dest.parent)
    return count


def write_jsonl_atomic(path: str | PathLike[str], records: Iterable[Any]) -> int:
    """Write one JSON object per line to ``path`` atomically; returns the record count.

    If iterating ``records`` or serialising one of them raises, the exception
    propagates, ``path`` is left as it was (absent or the previous content)
    and no temporary file remains.
    """

    return _write_atomic(path, _line_filler(_dumps(rec) for rec in records))


def write_lines_atomic(path: str | PathLike[str], lines: Iterable[str]) -> int:
    """Write already-serialised JSONL ``lines`` (one JSON text each, no newline) to ``path``
    atomically, as :func:`write_jsonl_atomic` does; returns the line count.

    For writers that build each line's text themselves (``xfd score`` with
    millions of matches); the caller guarantees each line is one JSON object.
    """

    return _write_atomic(path, _line_filler(lines))


def write_json_atomic(path: str | PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
    """Write one JSON document to ``path`` atomically (``indent=2`` by default, trailing newline)."""

    _write_atomic(path, _line_filler([_dumps(obj, indent=indent)]))


def write_bytes_atomic(path: str | PathLike[str], data: bytes) -> None:
    """Write ``data`` (say an ``.xlsx`` workbook) to ``path`` atomically."""

    _write_atomic(path, _bytes_filler(data), binary=True)


class OutputBatch:
    """Several outputs written all or nothing (``xfd assign --out P.json --xlsx P.xlsx``).

    Each ``add_*`` writes its content now, to a temporary file beside its destination
    (an ``OSError`` there propagates and :attr:`failed` names that destination);
    :meth:`commit` then renames them all over their destinations.  Leaving the ``with``
    block without a commit, or a failed commit, removes every temporary file; a rename
    that fails midway puts back what the renames before it replaced (the previous file,
    kept as a hard link until the commit ends, or no file), so the destinations are
    either all new or all as they were.  (Were a hard link impossible on that file
    system, a destination renamed before the failure would keep its new content.)
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, Path]] = []
        #: the destination whose write or rename raised, else None
        self.failed: Path | None = None

    def __enter__(self) -> OutputBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def _add(self, path: str | PathLike[str], fill: Callable[[Any], int], binary: bool = False) -> int:
        dest = Path(path)
        self.failed = dest
        tmp, count = _write_temp(dest, fill, binary)
        self._pending.append((tmp, dest))
        self.failed = None
        return count

    def add_json(self, path: str | PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
        """One JSON document, as :func:`write_json_atomic` writes it."""

        self._add(path, _line_filler([_dumps(obj, indent=indent)]))

    def add_lines(self, path: str | PathLike[str], lines: Iterable[str]) -> int:
        """Serialised JSONL lines, as :func:`write_lines_atomic` writes them; returns the line count."""

        return self._add(path, _line_filler(lines))

    def add_bytes(self, path: str | PathLike[str], data: bytes) -> None:
        """Raw bytes (a workbook)."""

        self._add(path, _bytes_filler(data), binary=True)

    def commit(self) -> None:
        """Rename every temporary file over its destination (see the class for a failure midway)."""
        done: list[tuple[Path, bool, str | None]] = []  # destination, existed before, hard link to the old file
        try:
            while self._pending:
                tmp, dest = self._pending[0]
                self.failed = dest
                existed, backup = _keep_old(dest)
                try:
                    os.replace(tmp, dest)
                except BaseException:
                    if backup is not None:
                        _unlink(backup)
                    raise
                self._pending.pop(0)
                done.append((dest, existed, backup))
        except BaseException:
            for dest, existed, backup in reversed(done):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, dest)
                    elif not existed:
                        os.unlink(dest)
            raise
        self.failed = None
        for _dest, _existed, backup in done:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)
        for directory in dict.fromkeys(dest.parent for dest, _e, _b in done):
            _fsync_dir(directory)

    def discard(self) -> None:
        """Remove the temporary files not yet committed."""
        while self._pending:
            tmp, _dest = self._pending.pop()
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _keep_old(dest: Path) -> tuple[bool, str | None]:
    """Whether ``dest`` exists, and a hard link to it beside it (None when it does not exist or
    the file system cannot link), so a batch can put the old file back."""
    if not os.path.lexists(dest):
        return False, None
    backup = str(dest.parent / f".{dest.name}.{secrets.token_hex(6)}.old")
    try:
        os.link(dest, backup, follow_symlinks=False)
    except OSError:
        return True, None
    return True, backup
