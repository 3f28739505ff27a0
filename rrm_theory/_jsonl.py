"""The one JSON shape of every ``--json`` output: JSON Lines, with a schema name and the version.

Every command writes one JSON object per line (one per spec for ``analyze`` and
``check``, one per run for the theory commands, one per study point for ``sim``),
each carrying ``"schema": "rrm-theory/<command>/<integer>"`` and ``"version"``.
The integer is bumped when a key changes meaning; the schemas are JSON Schema
files in ``docs/schemas/``. A value that is not a finite number (NaN, infinity)
is never written: it is a bug, reported as such, not a number in the output.
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

__all__ = ["SCHEMAS", "schema_name", "json_line", "write_json_line"]

#: The current schema version of each command's JSON lines.
SCHEMAS = {
    "analyze": 1,
    "check": 1,
    "threshold": 1,
    "fixed-point": 1,
    "depth": 1,
    "levels": 1,
    "nso": 1,
    "sim": 1,
    "fit": 1,
    "export": 1,
}


def schema_name(command: str) -> str:
    """``"rrm-theory/<command>/<integer>"``.

    >>> schema_name("analyze")
    'rrm-theory/analyze/1'
    """
    return f"rrm-theory/{command}/{SCHEMAS[command]}"


def _finite(value: Any, path: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"refusing to write {value!r} at {path or 'the top'} of a JSON line (a bug: please report it)")
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _finite(v, f"{path}[{i}]")


def json_line(command: str, obj: dict[str, Any]) -> str:
    """One line of JSON: ``schema`` and ``version`` first, then ``obj``'s keys.

    Raises
    ------
    ValueError
        If a value is NaN or infinite (the message says where).

    Examples
    --------
    >>> json_line("check", {"name": "x", "all_hold": True})[:52]
    '{"schema": "rrm-theory/check/1", "version": "0.2.0",'
    """
    from . import __version__

    line = {"schema": schema_name(command), "version": __version__}
    line.update(obj)
    try:
        return json.dumps(line, allow_nan=False)
    except ValueError:  # a NaN or an infinity: find it, for the message (a walk of every value is slow)
        _finite(obj, "")
        raise


def write_json_line(out: TextIO, command: str, obj: dict[str, Any]) -> None:
    """Write :func:`json_line` and a newline to ``out``."""
    out.write(json_line(command, obj) + "\n")
