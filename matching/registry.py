"""Choosing components by name: an unknown name is an error listing valid ones."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class UnknownNameError(ValueError):
    """Raised when a scorer, model or solver name is not registered."""

    def __init__(self, what: str, name: str, valid: list[str]) -> None:
        self.what, self.name, self.valid = what, name, valid
        super().__init__(f"unknown {what} {name!r}; valid: {', '.join(sorted(valid))}")


def choose(what: str, name: str, options: Mapping[str, T]) -> T:
    """Return ``options[name]`` or raise :class:`UnknownNameError` naming the valid keys."""
    try:
        return options[name]
    except KeyError:
        raise UnknownNameError(what, name, list(options)) from None
