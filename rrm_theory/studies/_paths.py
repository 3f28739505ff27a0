"""Dotted paths into a spec dictionary: ``nodes.heat.false_accept``, ``'nodes."v1.2".prior'``."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["parse_path", "set_path", "show_path"]

# tables a path may create when the spec does not have them yet (their keys have defaults)
_CREATABLE = {("defaults",), ("generate", "leaves"), ("generate", "internal")}


def parse_path(text: str) -> tuple[str, ...]:
    """Split a dotted path; a segment containing a dot is written in double quotes.

    Raises
    ------
    ValueError
        For an empty segment or an unclosed quote.

    Examples
    --------
    >>> parse_path("generate.internal.error")
    ('generate', 'internal', 'error')
    >>> parse_path('nodes."v1.2".false_accept')
    ('nodes', 'v1.2', 'false_accept')
    """
    segments: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise ValueError("has an unclosed double quote")
            segments.append(text[i + 1 : end])
            i = end + 1
            if i < n and text[i] != ".":
                raise ValueError("has text after a closing quote (quote a whole segment)")
        else:
            end = text.find(".", i)
            end = n if end < 0 else end
            segment = text[i:end]
            if not segment:
                raise ValueError("has an empty segment")
            segments.append(segment)
            i = end
        i += 1  # past the dot
    return tuple(segments)


def show_path(path: tuple[str, ...]) -> str:
    """A path as written in study files (segments with dots quoted).

    >>> show_path(("nodes", "v1.2", "prior"))
    'nodes."v1.2".prior'
    """
    return ".".join(f'"{s}"' if "." in s or not s else s for s in path)


def set_path(spec: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``spec`` with the value at ``path`` replaced (or added, in an existing table).

    Raises
    ------
    KeyError
        With the part of the path that does not exist (the spec file's loader
        then checks the value and the key).
    """
    out = copy.deepcopy(spec)
    table: Any = out
    for depth, segment in enumerate(path[:-1]):
        if not isinstance(table, dict):
            raise KeyError(show_path(path[:depth]))
        if segment not in table:
            if path[: depth + 1] not in _CREATABLE:
                raise KeyError(show_path(path[: depth + 1]))
            table[segment] = {}
        table = table[segment]
    if not isinstance(table, dict):
        raise KeyError(show_path(path[:-1]))
    table[path[-1]] = value
    return out
