"""Strict JSON: repeated keys and NaN/Infinity are refused, naming where they are.

Python's ``json`` keeps the last of two equal keys and accepts ``NaN`` /
``Infinity``; records must not (the two copies of a key may disagree, and no
field takes a non-finite number).  The same decoder serves the file readers
(``matching.readers``) and the HTTP API's body check (``api/strict_json.py``),
so both refuse the same inputs with the same message and field path.

Decoding marks offending objects instead of raising inside the parser, then a
walk finds the first one in document order, so the error names the full path
(``[3].documents[0].year``), not just the key.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["StrictJSONError", "StrictDecoder", "loads_strict", "check_strict"]


class StrictJSONError(ValueError):
    """A repeated key or a non-finite number: ``loc`` is its path (keys and list
    indices, e.g. ``(3, "documents", 0, "year")``), ``reason`` the message."""

    def __init__(self, loc: Sequence[str | int], reason: str) -> None:
        self.loc = tuple(loc)
        self.reason = reason
        super().__init__(reason)


class _DupDict(dict):
    """An object in which ``duplicate`` appeared twice."""

    duplicate: str = ""


class _NonFinite:
    """Stands for a ``NaN``/``Infinity``/``-Infinity`` literal."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class StrictDecoder(json.JSONDecoder):
    """A ``JSONDecoder`` that marks repeated keys and non-finite literals; ``flagged``
    is set when one was seen (call :meth:`check` after each decoded value)."""

    def __init__(self) -> None:
        super().__init__(object_pairs_hook=self._pairs, parse_constant=self._constant)
        self.flagged = False

    def _pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        duplicate: str | None = None
        for key, value in pairs:
            if key in out and duplicate is None:
                duplicate = key
            out[key] = value
        if duplicate is None:
            return out
        self.flagged = True
        marked = _DupDict(out)
        marked.duplicate = duplicate
        return marked

    def _constant(self, name: str) -> _NonFinite:
        self.flagged = True
        return _NonFinite(name)

    def check(self, value: Any) -> None:
        """Raise :class:`StrictJSONError` for the first mark in ``value`` (if any were seen)."""
        if self.flagged:
            self.flagged = False
            check_strict(value)


def check_strict(value: Any) -> None:
    """Walk a decoded value in document order (iteratively: depth is no problem)
    and raise :class:`StrictJSONError` at the first repeated key or non-finite number."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, _NonFinite):
            raise StrictJSONError(loc, f"不允许 NaN/Infinity not allowed: {node.name}")
        if isinstance(node, _DupDict):
            raise StrictJSONError((*loc, node.duplicate),
                                  f"重复的键 duplicate key {json.dumps(node.duplicate, ensure_ascii=False)}")
        if isinstance(node, dict):
            stack.extend(((*loc, k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(node))))


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` that raises :class:`StrictJSONError` for repeated keys and
    NaN/Infinity (other syntax errors stay ``json.JSONDecodeError``)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8-sig")
    decoder = StrictDecoder()
    value = decoder.decode(text)
    decoder.check(value)
    return value
