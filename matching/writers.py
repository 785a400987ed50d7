"""Writing JSON/JSONL outputs atomically.

Output is UTF-8 with ``ensure_ascii=False``.  Data goes to a temporary file in
the destination directory, is flushed and fsynced, and only then renamed over
the destination with :func:`os.replace`; any failure (including an exception
raised by the record iterable midway, or a NaN score) removes the temporary
file and leaves the destination untouched, so no half-written output exists.

Records may be dicts or the project's dataclasses / NamedTuples
(:func:`to_jsonable` turns ``Profile``, ``Demand``, ``DemandMatches``…
into the JSON shapes of ``../shared/INTERFACES.md``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, TextIO

__all__ = ["to_jsonable", "write_jsonl_atomic", "write_json_atomic", "write_lines_atomic"]


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


def _write_atomic(path: str | PathLike[str], fill: Callable[[TextIO], int]) -> int:
    dest = Path(path)
    directory = dest.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            count = fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable; best effort (not possible on every platform)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return count


def write_jsonl_atomic(path: str | PathLike[str], records: Iterable[Any]) -> int:
    """Write one JSON object per line to ``path`` atomically; returns the record count.

    If iterating ``records`` or serialising one of them raises, the exception
    propagates, ``path`` is left as it was (absent or the previous content)
    and no temporary file remains.
    """

    def fill(fh: TextIO) -> int:
        n = 0
        for rec in records:
            fh.write(_dumps(rec))
            fh.write("\n")
            n += 1
        return n

    return _write_atomic(path, fill)


def write_lines_atomic(path: str | PathLike[str], lines: Iterable[str]) -> int:
    """Write already-serialised JSONL ``lines`` (one JSON text each, no newline) to ``path``
    atomically, as :func:`write_jsonl_atomic` does; returns the line count.

    For writers that build each line's text themselves (``xfd score`` with
    millions of matches); the caller guarantees each line is one JSON object.
    """

    def fill(fh: TextIO) -> int:
        n = 0
        for line in lines:
            fh.write(line)
            fh.write("\n")
            n += 1
        return n

    return _write_atomic(path, fill)


def write_json_atomic(path: str | PathLike[str], obj: Any, *, indent: int | None = 2) -> None:
    """Write one JSON document to ``path`` atomically (``indent=2`` by default, trailing newline)."""

    def fill(fh: TextIO) -> int:
        fh.write(_dumps(obj, indent=indent))
        fh.write("\n")
        return 1

    _write_atomic(path, fill)
