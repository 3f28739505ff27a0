"""Names that every exchange format accepts, for node ids and blind-spot groups.

A variable is named ``<PREFIX>_<safe id>`` (docs/export.md). The safe id of a node or
group is its id when that is made of ASCII letters, digits and ``_`` only; otherwise
it is the id with accents dropped (NFKD), every other non-ASCII character written as
``u<hex code point>`` and every other ASCII character as ``_``. The words ``variable``
and ``probability`` are capitalised (pgmpy's BIF reader searches the text for them). Safe ids are unique
even ignoring case (some fault-tree tools compare names so): ids that are safe as
written keep their names first, then the others, in the tree's breadth-first order,
take the next free ``<name>_2``, ``<name>_3``, .... Every prefix starts with a letter,
so the full names are identifiers in BIF, XML names and Open-PSA MEF identifiers
(no ``-`` or ``.``).

The header of every file lists the ids that were renamed, as JSON strings
(:func:`mapping_lines`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Hashable, Iterable

__all__ = ["Names", "safe_names", "safe_text", "json_text", "mapping_lines"]

_SAFE = re.compile(r"[A-Za-z0-9_]+")
# pgmpy's BIF reader (1.1) finds its blocks by searching the text for these words
_KEYWORDS = re.compile(r"variable|probability")


def _safe_as_written(text: str) -> bool:
    return _SAFE.fullmatch(text) is not None and _KEYWORDS.search(text) is None


def safe_text(text: str) -> str:
    """``text`` made of ASCII letters, digits and ``_`` (not unique: see :func:`safe_names`).

    >>> safe_text("héat sink.v2"), safe_text("设计"), safe_text(""), safe_text("probability")
    ('heat_sink_v2', 'u8bbeu8ba1', '_', 'Probability')
    """
    out = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        if ch.isascii():
            out.append(ch if ch.isalnum() or ch == "_" else "_")
        else:
            out.append(f"u{ord(ch):04x}")
    return _KEYWORDS.sub(lambda m: m.group(0).capitalize(), "".join(out)) or "_"


def json_text(text: str) -> str:
    """``text`` as an ASCII JSON string that holds no ``--`` (so it may stand in an XML comment).

    >>> print(json_text('a--b "é"'))
    "a-\\u002db \\"\\u00e9\\""
    """
    return json.dumps(text, ensure_ascii=True).replace("--", "-\\u002d")


@dataclass(frozen=True)
class Names:
    """Safe ids of the nodes (by compiled index) and of the groups (in the tree's order)."""

    nodes: tuple[str, ...]
    groups: tuple[str, ...]
    node_ids: tuple[str, ...]  # str() of each node id, by compiled index
    group_ids: tuple[str, ...]

    @property
    def renamed(self) -> int:
        """How many node ids and group names differ from their safe ids."""
        pairs = list(zip(self.nodes, self.node_ids)) + list(zip(self.groups, self.group_ids))
        return sum(safe != text for safe, text in pairs)


def _unique(ids: list[str]) -> list[str]:
    taken: set[str] = set()
    out: list[str | None] = [None] * len(ids)
    for i, text in enumerate(ids):  # ids safe as written keep their names
        if _safe_as_written(text) and text.lower() not in taken:
            taken.add(text.lower())
            out[i] = text
    for i, text in enumerate(ids):
        if out[i] is None:
            base = safe_text(text)
            name, k = base, 1
            while name.lower() in taken:
                k += 1
                name = f"{base}_{k}"
            taken.add(name.lower())
            out[i] = name
    return out  # type: ignore[return-value]


def safe_names(nodes: Iterable[Hashable], groups: Iterable[str]) -> Names:
    """The safe ids of ``nodes`` (breadth-first order) and of the blind-spot ``groups``.

    >>> n = safe_names(["root", "a b", "a.b", "A_B", "3rd"], ["shared base"])
    >>> n.nodes, n.groups, n.renamed
    (('root', 'a_b_2', 'a_b_3', 'A_B', '3rd'), ('shared_base',), 3)
    """
    node_ids = [str(v) for v in nodes]
    group_ids = [str(g) for g in groups]
    return Names(tuple(_unique(node_ids)), tuple(_unique(group_ids)), tuple(node_ids), tuple(group_ids))


def mapping_lines(names: Names) -> list[str]:
    """Header lines: each renamed node id and group name, ``<safe id> <- <JSON string>``."""
    lines = []
    nodes = [(s, t) for s, t in zip(names.nodes, names.node_ids) if s != t]
    groups = [(s, t) for s, t in zip(names.groups, names.group_ids) if s != t]
    if not nodes and not groups:
        return ["node ids and group names are used as written"]
    if nodes:
        lines.append("node ids renamed for the format (safe id <- the id in the tree, a JSON string):")
        lines += [f"  {safe} <- {json_text(text)}" for safe, text in nodes]
    if groups:
        lines.append("blind-spot groups renamed (safe id <- the name in the tree, a JSON string):")
        lines += [f"  {safe} <- {json_text(text)}" for safe, text in groups]
    return lines
