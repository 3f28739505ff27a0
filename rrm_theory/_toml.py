"""TOML for spec files: a small writer, and reading with messages that locate problems.

The standard library reads TOML (:mod:`tomllib`) but does not write it, gives no
hook for integers, and names only the line of a duplicate key. This module adds:

* :func:`dumps`, which writes what :func:`rrm_theory.spec.to_dict` produces: nested
  tables of strings, floats, ints, bools and lists of those. Floats are written with
  ``repr``, so reading the file back gives the same doubles.
* :func:`loads`, :func:`tomllib.loads` except that a decimal integer with more digits
  than Python converts (``sys.get_int_max_str_digits()``, 4,300 by default) comes back
  as a stand-in value instead of failing the whole file, so the caller can name the
  node and key that hold it.
* :func:`locate`, which reads a :class:`tomllib.TOMLDecodeError` and the text back into
  a :class:`Problem`: the line, and for a key or table written twice the table and key.

Both readers run :mod:`tomllib` itself; what they add reads single lines of the text
(a key or a table header) only after tomllib has pointed at them.
"""

from __future__ import annotations

import ast
import math
import re
import sys
import tomllib
from typing import Any, Callable, Mapping, NamedTuple

__all__ = ["dumps", "loads", "locate", "Problem", "NotTOML"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps(doc: Mapping[str, Any]) -> str:
    """Serialise a nested mapping as TOML text.

    Examples
    --------
    >>> print(dumps({"name": "x", "nodes": {"a b": {"prior": 0.5}}}), end="")
    name = "x"
    <BLANKLINE>
    [nodes."a b"]
    prior = 0.5
    """
    lines: list[str] = []
    _table(doc, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars)
    for k, v in tables:
        _table(v, path + [k], lines)


# ----------------------------------------------------------------- reading

# A decimal integer literal as TOML writes one (digits, single underscores between
# them, no leading zero), not part of a longer word or of a hex/octal/binary literal.
_DECIMAL_RUN = re.compile(r"(?<![0-9A-Za-z_])[1-9](?:_?[0-9])*(?![0-9_])")


def loads(text: str, *, long_integer: Callable[[int, bool], Any]) -> dict[str, Any]:
    """Parse TOML as :func:`tomllib.loads` does, but for integers too long to convert.

    Python refuses to convert a decimal string of more than
    ``sys.get_int_max_str_digits()`` digits to an ``int`` (a guard against quadratic
    time), and :mod:`tomllib` then fails with a bare :class:`ValueError` that says
    neither where nor which key. Here each such integer is read as
    ``long_integer(digits, negative)`` instead, everything else exactly as written.

    Raises
    ------
    NotTOML
        If the text is not TOML; its ``problem`` (a :class:`Problem`) says where.

    Examples
    --------
    >>> doc = loads("a = 1\\nb = -" + "9" * 5000 + "\\n", long_integer=lambda n, neg: ("long", n, neg))
    >>> doc["a"], doc["b"]
    (1, ('long', 5000, True))
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NotTOML(locate(text, exc), str(exc)) from None
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
    return _loads_long(text, long_integer)


class NotTOML(ValueError):
    """The text is not TOML; ``problem`` says where and, for a duplicate, what."""

    def __init__(self, problem: Problem, text: str) -> None:
        super().__init__(text)  # tomllib's message, with its line and column
        self.problem = problem


def _loads_long(text: str, long_integer: Callable[[int, bool], Any]) -> dict[str, Any]:
    """Read again with each over-long digit run swapped for a short placeholder integer,
    then swap back: placeholders that became integers are the long integers; inside
    strings, keys and floats the original digits are put back."""
    limit = sys.get_int_max_str_digits()
    runs = [m for m in _DECIMAL_RUN.finditer(text) if len(m.group()) > limit]
    salt = 0
    while True:  # placeholders that the text does not contain already
        marks = [f"8{salt:06d}{i:018d}8" for i in range(len(runs))]
        if not any(mark in text for mark in marks):
            break
        salt += 1
    original = {mark: m.group() for mark, m in zip(marks, runs)}
    pieces, end = [], 0
    for mark, m in zip(marks, runs):
        pieces += [text[end : m.start()], mark]
        end = m.end()
    pieces.append(text[end:])
    marked = "".join(pieces)
    find = re.compile("|".join(marks)) if marks else None

    def restore(s: str) -> str:
        return find.sub(lambda m: original[m.group()], s) if find is not None and "8" in s else s

    by_value = {int(mark): run for mark, run in original.items()}

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return restore(value)
        if type(value) is int and abs(value) in by_value:
            run = by_value[abs(value)]
            return long_integer(len(run) - run.count("_"), value < 0)
        return value

    try:
        doc = tomllib.loads(marked, parse_float=lambda s: float(restore(s)))
    except tomllib.TOMLDecodeError as exc:  # a problem further on (line numbers are the same)
        raise NotTOML(locate(marked, exc), str(exc)) from None
    stack: list[Any] = [doc]
    while stack:  # iterative: tables may nest deeper than the recursion limit
        item = stack.pop()
        if isinstance(item, dict):
            pairs = [(fix(k), fix(v)) for k, v in item.items()]
            item.clear()
            item.update(pairs)
            stack.extend(v for _, v in pairs if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            item[:] = [fix(v) for v in item]
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return doc


class Problem(NamedTuple):
    """Where a TOML text fails to parse, as far as the error and the text tell.

    ``kind`` is ``"key"`` (a key written twice: ``table`` holds it, ``key`` is the key),
    ``"table"`` (a table header written twice, or over a value: ``table`` is the table),
    or ``"syntax"`` (anything else); ``line`` is 1-based or None; ``message`` is
    tomllib's own.
    """

    kind: str
    line: int | None
    table: tuple[str, ...] = ()
    key: str | None = None
    message: str = ""


_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")
_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_KEY = rf"{_PART}(?:[ \t]*\.[ \t]*{_PART})*"
_KEY_LINE = re.compile(rf"[ \t]*({_KEY})[ \t]*=")
_HEADER_LINE = re.compile(rf"[ \t]*\[(\[?)[ \t]*({_KEY})[ \t]*\]")
_TWICE = re.compile(r"Cannot declare (\(.*\)) twice")
_INLINE_TWICE = re.compile(r"Duplicate inline table key (.*)")
#: How far back from the reported line a statement's first line is looked for.
_LOOK_BACK = 1000


def _parts(key: str) -> tuple[str, ...]:
    """A dotted TOML key as written -> its parts, quotes and escapes undone."""
    out = []
    for part in re.findall(_PART, key):
        if part[0] in "\"'":
            try:
                part = tomllib.loads(f"k = {part}")["k"]
            except (tomllib.TOMLDecodeError, ValueError):
                part = part[1:-1]
        out.append(part)
    return tuple(out)


def locate(text: str, exc: tomllib.TOMLDecodeError) -> Problem:
    """Read ``exc`` (from parsing ``text``) back into a :class:`Problem`.

    Examples
    --------
    >>> text = '[nodes.heat]\\nprior = 0.5\\nprior = 0.6\\n'
    >>> try:
    ...     tomllib.loads(text)
    ... except tomllib.TOMLDecodeError as exc:
    ...     locate(text, exc)
    Problem(kind='key', line=3, table=('nodes', 'heat'), key='prior', message='Cannot overwrite a value')
    """
    src = text.replace("\r\n", "\n")  # as tomllib counts lines and columns
    full = str(exc)
    at = _AT.search(full)
    message = full[: at.start()] if at else full
    if at is None:
        return Problem("syntax", None, message=message)
    if at.group(1) is None:  # at the end of the document
        pos = len(src)
    else:
        line_no, column = int(at.group(1)), int(at.group(2))
        starts = [0] + [m.end() for m in re.finditer("\n", src)]
        if line_no > len(starts):
            return Problem("syntax", None, message=message)
        pos = starts[line_no - 1] + column - 1
    line = src.count("\n", 0, pos) + 1
    lines = src.split("\n")
    this = lines[line - 1] if line <= len(lines) else ""
    if (m := _TWICE.match(message)) is not None:
        try:
            table = tuple(ast.literal_eval(m.group(1)))
        except (ValueError, SyntaxError):
            return Problem("syntax", line, message=message)
        return Problem("table", line, table=table, message=message)
    header = _HEADER_LINE.match(this)
    if message == "Cannot overwrite a value" and header is not None:
        return Problem("table", line, table=_parts(header.group(2)), message=message)
    if message == "Cannot overwrite a value":
        start = _statement(src, lines, line, pos)
        if start is not None:
            first, key = start  # the line the key is on (tomllib names the line the value ends on)
            return Problem("key", first, table=_table_at(lines, first) + key[:-1], key=key[-1], message=message)
    if (m := _INLINE_TWICE.match(message)) is not None:
        try:
            key = ast.literal_eval(m.group(1))
        except (ValueError, SyntaxError):
            key = m.group(1)
        return Problem("key", line, table=_table_at(lines, line), key=str(key), message=message)
    return Problem("syntax", line, message=message)


def _statement(src: str, lines: list[str], line: int, pos: int) -> tuple[int, tuple[str, ...]] | None:
    """The first line and key of the key/value statement that ends at ``pos`` on ``line``
    (a value may span lines: a multi-line array or string)."""
    offset = sum(len(text) + 1 for text in lines[: line - 1])
    for first in range(line, max(0, line - _LOOK_BACK), -1):
        m = _KEY_LINE.match(lines[first - 1])
        if m is not None:
            try:  # the statement alone is a document of one key
                tomllib.loads(src[offset:pos])
            except (tomllib.TOMLDecodeError, ValueError):
                pass
            else:
                return first, _parts(m.group(1))
        if first > 1:
            offset -= len(lines[first - 2]) + 1
    return None


def _table_at(lines: list[str], line: int) -> tuple[str, ...]:
    """The table a statement on ``line`` belongs to: the last header above it."""
    for text in reversed(lines[: line - 1]):
        m = _HEADER_LINE.match(text)
        if m is not None:
            return _parts(m.group(2))
    return ()
