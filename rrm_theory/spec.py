"""Spec files: TOML or JSON text <-> evaluation trees (MODEL.md section 6).

A spec either lists its nodes (``[nodes.<id>]``) or generates a homogeneous
tree (``[generate]``). Values are resolved in this order, first found wins:

1. the node's own table (``[nodes.<id>]``), or for generated trees
   ``[generate.leaves]`` / ``[generate.internal]`` (``[generate] rule`` is the
   internal nodes' rule);
2. ``[defaults]``, where ``prior`` applies to leaves only; ``rule`` and
   ``coverage`` to internal nodes only; ``threshold`` to weighted nodes only;
   ``weight`` to children of weighted nodes only; ``audit`` to every node but
   the root (an audit of the root is an input error only when written on it);
3. built-in values: ``coverage = 1``, ``deception = 0``, ``audit = 0``,
   ``exposure = 1`` on leaves and ``0`` on internal nodes, ``weight = 1``.

Capability gaps: with a top-level ``target_elo`` (the overseen agent's
domain Elo), a table may give ``elo`` (the evaluator's domain Elo) instead of
``false_accept``; it is read as the chance the target fools the evaluator,
``1 / (1 + 10**((elo - target_elo) / 400))`` (Engels et al. 2025; see
:mod:`rrm_theory.nso`), and stored as ``false_accept``.

``false_accept`` and ``false_reject`` (or ``error``, shorthand for both),
``prior`` on leaves, ``rule`` on internal nodes and ``threshold`` on weighted
nodes have no built-in value: a spec that leaves one unset is an input error,
never a silent default. ``name`` defaults to the file's stem.

``[generate] rule`` and ``[generate.internal]`` describe the internal nodes;
at depth 0 there are none, so they are vacuous there (a depth sweep can start
at 0 with the same table). A generated chain needs no ``rule``: over a single child every rule passes
the child's value through (``"all"`` is recorded).

Generated node ids are ``L<level>_<index>``: ``L0_0`` is the root, ``L2_5``
the sixth node (breadth-first) two levels below it.

Reading a file: only a regular file (after symbolic links) of at most
:data:`MAX_SPEC_BYTES` bytes is read; a directory, device, FIFO or socket is
refused from ``os.stat`` before it is opened. Every input error is one line
naming the file and, where the text tells, the line, the node or table and the
key (docs/spec-format.md lists them).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any, Mapping

import networkx as nx

from . import _toml
from ._text import printable, quote
from .errors import SpecError
from .nso import error_from_elo
from .rules import parse_rule
from ._compile import compile_tree
from .tree import NODE_KEYS, bfs_order, check_one_root, check_value, show_value, tree_root, validate_tree

__all__ = [
    "MAX_GENERATED_NODES", "MAX_SPEC_BYTES",
    "load_spec", "load_spec_dict", "from_dict", "to_dict", "write_spec", "dumps_spec",
]  # fmt: skip

#: The most nodes ``[generate]`` (and :func:`rrm_theory.balanced`) will build.
MAX_GENERATED_NODES = 2_000_000

#: The largest spec file :func:`load_spec` reads, in bytes (1 GiB). A spec listing
#: 2,000,000 nodes with every value explicit, as :func:`write_spec` writes it, takes
#: about 0.4 GB as TOML and 0.55 GB as JSON; a larger file is refused before it is read.
MAX_SPEC_BYTES = 1 << 30

TOP_KEYS = (
    "name", "description", "influence", "target_elo", "unaided_error", "human_reach",
    "defaults", "blind_spots", "nodes", "generate",
)  # fmt: skip
DEFAULT_KEYS = (
    "rule", "threshold", "weight", "prior", "coverage",
    "false_accept", "false_reject", "error", "deception", "audit", "exposure", "difficulty", "elo",
)  # fmt: skip
GENERATE_KEYS = ("shape", "depth", "branching", "rule", "leaves", "internal")
LEAF_KEYS = ("prior", "false_accept", "false_reject", "error", "deception", "audit", "exposure", "difficulty", "elo")
INTERNAL_KEYS = (
    "rule", "threshold", "coverage", "false_accept", "false_reject",
    "error", "deception", "audit", "exposure", "difficulty", "elo",
)  # fmt: skip
SPEC_NODE_KEYS = NODE_KEYS + ("elo",)
GROUP_KEYS = ("probability", "members")


# ----------------------------------------------------------------- reading

def load_spec(path: str | Path) -> nx.DiGraph:
    """Read a spec file (``.toml`` or ``.json``) and return its validated tree.

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file; the suffix picks the format. Symbolic links are followed;
        the file itself must be a regular file of at most :data:`MAX_SPEC_BYTES`
        bytes of UTF-8 text (see :func:`load_spec_dict`).

    Returns
    -------
    networkx.DiGraph
        The evaluation tree, edges parent -> child, every node attribute resolved.

    Raises
    ------
    SpecError
        If the file cannot be read or parsed, or is not a valid spec. The
        message is one line naming the file, the node and the key, with every
        character that could act on a terminal escaped.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> spec = '''
    ... name = "two-helpers"
    ... [defaults]
    ... error = 0.1
    ... prior = 0.9
    ... [nodes.verdict]
    ... rule = "all"
    ... [nodes.a]
    ... parent = "verdict"
    ... [nodes.b]
    ... parent = "verdict"
    ... '''
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "two.toml"
    >>> _ = p.write_text(spec)
    >>> tree = load_spec(p)
    >>> sorted(tree.successors("verdict"))
    ['a', 'b']
    >>> tree.nodes["a"]["false_accept"], tree.nodes["verdict"]["coverage"]
    (0.1, 1.0)
    """
    path = Path(path)
    return from_dict(load_spec_dict(path), source=_label(path), default_name=path.stem)


def load_spec_dict(path: str | Path) -> Any:
    """Read and parse a spec file (``.toml`` or ``.json``) without building the tree.

    The path may be a symbolic link; what it points to must be a regular file of at
    most :data:`MAX_SPEC_BYTES` bytes. Anything else (a directory, a device such as
    ``/dev/zero``, a FIFO, a socket) is refused before it is opened for reading, and
    no more than :data:`MAX_SPEC_BYTES` bytes are ever read (a file that grows while
    it is read is refused too).

    An integer with more digits than Python converts (``sys.get_int_max_str_digits()``,
    4,300 by default) is returned as a stand-in that :func:`from_dict` rejects with
    the node and key that hold it.

    Raises
    ------
    SpecError
        If the file cannot be read or parsed: one line naming the file, and where
        the text tells, the line, the node or table and the key.
    """
    path = Path(path)
    label = _label(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SpecError(f"{label}: unknown spec format {quote(path.suffix or '(no suffix)')}; use .toml or .json")
    data = _read_bytes(path, label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{label}: not UTF-8 text (byte {exc.start}, on line {line}); save the file as UTF-8") from None
    del data  # the text is all that is needed now: half the memory of a large spec
    try:
        return _parse_toml(text, label) if suffix == ".toml" else _parse_json(text, label)
    except RecursionError:
        raise SpecError(f"{label}: nested too deeply to be a spec") from None


def _label(path: Path) -> str:
    """The file as messages name it: as given, or quoted when it holds characters
    that cannot be printed (messages stay one line and act on no terminal)."""
    text = str(path)
    return text if printable(text) == text else quote(text)


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_file(info: os.stat_result, path: Path, label: str) -> None:
    """Refuse what is not a regular file, or is larger than MAX_SPEC_BYTES."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a file")
        target = os.path.realpath(path)
        if target != os.path.abspath(path):  # a symbolic link somewhere on the way
            kind += f": {printable(target)}"
        raise SpecError(f"{label}: not a regular file ({kind}); a spec is a .toml or .json file")
    if info.st_size > MAX_SPEC_BYTES:
        raise SpecError(
            f"{label}: too large: {info.st_size:,} bytes, more than the {MAX_SPEC_BYTES:,} bytes a spec file may have"
        )


def _cannot_read(label: str, exc: OSError) -> SpecError:
    return SpecError(f"{label}: cannot read: {printable(exc.strerror or str(exc))}")


def _read_bytes(path: Path, label: str) -> bytes:
    """The bytes of a regular file of at most MAX_SPEC_BYTES bytes.

    The file is looked at before it is opened (a FIFO would block the open, a device
    never ends), opened without blocking, looked at again through the open descriptor
    (the path may have changed in between), and read up to one byte past the cap."""
    if "\0" in str(path):  # no file system allows one; os.stat raises ValueError
        raise SpecError(f"{label}: cannot read: the path contains a NUL character")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _cannot_read(label, exc) from None
    _check_file(info, path, label)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _cannot_read(label, exc) from None
    try:
        info = os.fstat(fd)
        _check_file(info, path, label)
        cap = MAX_SPEC_BYTES
        chunks: list[bytes] = []
        total, want = 0, info.st_size + 1  # usually one read for the file and one to see its end
        while True:
            chunk = os.read(fd, min(max(want, 1 << 16), cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise SpecError(
                    f"{label}: too large: more than the {cap:,} bytes a spec file may have (it grew while being read)"
                )
    except OSError as exc:
        raise _cannot_read(label, exc) from None
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class _LongInteger:
    """Stands in for an integer written with more digits than Python converts.

    No spec value may be that large (probabilities, weights and Elo ratings are
    floats; a depth or branching that large makes too many nodes), so every check
    rejects it, and messages show it as ``a 5001-digit integer``.
    """

    __slots__ = ("digits", "negative")

    def __init__(self, digits: int, negative: bool) -> None:
        self.digits, self.negative = digits, negative

    def __repr__(self) -> str:
        return f"a {'negative ' if self.negative else ''}{self.digits}-digit integer"

    __str__ = __repr__


class _NotANumber:
    """Stands in for JSON's ``NaN``, ``Infinity`` or ``-Infinity`` (which JSON does not have)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _Duplicated(dict):  # type: ignore[type-arg]
    """A JSON object that gave ``key`` more than once (the first value is kept)."""

    key: str


def _parse_toml(text: str, label: str) -> Any:
    try:
        return _toml.loads(text, long_integer=_LongInteger)
    except _toml.NotTOML as exc:
        problem = exc.problem
        at = f"{label}: line {problem.line}" if problem.line is not None else label
        if problem.kind == "key":
            where = _place(at, problem.table)
            raise SpecError(f"{where}: duplicate key {quote(problem.key)} (a table gives each key once)") from None
        if problem.kind == "table":
            header = ".".join(_key_text(k) for k in problem.table)
            if problem.message.startswith("Cannot declare"):
                raise SpecError(f"{at}: table [{header}] is declared twice (each table is written once)") from None
            raise SpecError(f"{at}: table [{header}] is declared where a value is written already") from None
        raise SpecError(f"{label}: not valid TOML: {printable(str(exc))}") from None
    except ValueError as exc:  # an integer too long to convert, that the stand-ins missed
        raise SpecError(f"{label}: not valid TOML: {printable(str(exc))}") from None


#: A JSON escape of a surrogate; only these can make a lone surrogate (UTF-8 text has none).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _parse_json(text: str, label: str) -> Any:
    flagged = False
    limit = sys.get_int_max_str_digits()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal flagged
        out: dict[str, Any] = dict(items)
        if len(out) == len(items):
            return out
        seen: set[str] = set()
        twice = next(key for key, _ in items if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        marked = _Duplicated(out)
        marked.key = twice
        flagged = True
        return marked

    def constant(name: str) -> _NotANumber:
        nonlocal flagged
        flagged = True
        return _NotANumber(name)

    def integer(digits: str) -> int | _LongInteger:
        negative = digits.startswith("-")
        if limit and len(digits) - negative > limit:
            return _LongInteger(len(digits) - negative, negative)
        return int(digits)

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant, parse_int=integer)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{label}: not valid JSON: {printable(exc.msg)} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if flagged or _SURROGATE_ESCAPE.search(text):
        _check_json(doc, label)
    return doc


def _check_json(doc: Any, label: str) -> None:
    """Report the first (in document order) duplicate key, NaN or infinity, or lone
    surrogate (JSON can escape one; it is not Unicode text), naming where it is."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), doc)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Duplicated):
            raise SpecError(f"{_place(label, path)}: duplicate key {quote(item.key)} (a table gives each key once)")
        if isinstance(item, _NotANumber):
            where, key = _locate(label, path)
            raise SpecError(f"{where}: {key}={item.name} is not a JSON number (JSON has no NaN or infinities)")
        if isinstance(item, str) and not _is_text(item):
            where, key = _locate(label, path)
            raise SpecError(f"{where}: not valid JSON: {key}={quote(item)} is not Unicode text (a lone surrogate)")
        if isinstance(item, dict):
            for key in item:
                if not _is_text(key):
                    where = _place(label, path)
                    raise SpecError(f"{where}: not valid JSON: key {quote(key)} is not Unicode text (a lone surrogate)")
            stack.extend(((*path, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))


def _is_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key_text(key: str | int) -> str:
    """A key as a dotted path writes it: bare when TOML allows, else quoted."""
    if isinstance(key, int):
        return f"[{key}]"
    return key if _BARE_KEY.fullmatch(key) else quote(key)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _place(label: str, keys: tuple[str | int, ...]) -> str:
    """The table at ``keys`` as messages name it: ``[defaults]``, ``node 'heat'``, ..."""
    if not keys:
        return label
    head = keys[0]
    if len(keys) == 2 and head == "nodes" and isinstance(keys[1], str):
        return f"{label}: node {quote(keys[1])}"
    if len(keys) == 2 and head == "blind_spots" and isinstance(keys[1], str):
        return f"{label}: blind spot {quote(keys[1])}"
    dotted = "".join(("" if isinstance(k, int) or i == 0 else ".") + _key_text(k) for i, k in enumerate(keys))
    return f"{label}: [{dotted}]"


def _locate(label: str, path: tuple[str | int, ...]) -> tuple[str, str]:
    """The place and ``key`` text of the value at ``path`` (``members[0]`` in a list)."""
    i = len(path)
    while i > 0 and isinstance(path[i - 1], int):
        i -= 1
    indices = "".join(f"[{j}]" for j in path[i:])
    if i == 0:
        return label, indices or "the document"
    return _place(label, path[: i - 1]), _key_text(path[i - 1]) + indices


def _unknown(key: object, valid: tuple[str, ...], where: str) -> SpecError:
    hint = difflib.get_close_matches(str(key), valid, n=1)
    also = f"did you mean {quote(hint[0])}? " if hint else ""
    return SpecError(f"{where}: unknown key {quote(key)} ({also}valid: {', '.join(valid)})")


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: must be a table of keys, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
    if isinstance(value, _LongInteger):
        return str(value)
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _read_table(
    table: Mapping[str, Any], valid: tuple[str, ...], where: str, target_elo: float | None = None
) -> dict[str, Any]:
    """Check a table's keys and values; expand ``error`` into both rates and ``elo`` into
    ``false_accept`` (the evaluator's chance of being fooled by the target, from the Elo gap)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in valid:
            raise _unknown(key, valid, where)
        out[key] = check_value(key, value, where)
    if "error" in out:
        for key in ("false_accept", "false_reject"):
            if key in out:
                raise SpecError(
                    f"{where}: error={out['error']} and {key}={out[key]} are both given; "
                    "error is shorthand for both rates, so give one or the other"
                )
        out["false_accept"] = out["false_reject"] = out.pop("error")
    if "elo" in out:
        if "false_accept" in table or "error" in table:
            raise SpecError(
                f"{where}: elo={show_value(out['elo'])} and a false accept rate are both given; "
                "elo sets false_accept from the capability gap, so give one or the other"
            )
        if target_elo is None:
            raise SpecError(f"{where}: elo={show_value(out['elo'])} needs target_elo (the overseen agent's Elo) "
                            "at the top level")  # fmt: skip
        out["false_accept"] = error_from_elo(out.pop("elo"), target_elo)
    return out


def from_dict(
    spec: Mapping[str, Any], *, source: str | None = None, default_name: str = "tree"
) -> nx.DiGraph:
    """Build a validated evaluation tree from a spec dictionary.

    The dictionary has the structure of a spec file (MODEL.md section 6), as
    :func:`tomllib.load` or :func:`json.load` return it.

    Parameters
    ----------
    spec : mapping
        The spec.
    source : str, optional
        What error messages name (a file path); default ``spec '<name>'``.
    default_name : str
        The tree's name when the spec has no ``name``.

    Raises
    ------
    SpecError
        If the spec is not valid, naming the node and key.

    Examples
    --------
    >>> tree = from_dict({
    ...     "defaults": {"error": 0.05, "prior": 0.5},
    ...     "generate": {"shape": "balanced", "depth": 2, "branching": 3, "rule": "majority"},
    ... })
    >>> tree.number_of_nodes(), tree.nodes["L0_0"]["rule"]
    (13, 'majority')
    """
    if not isinstance(spec, Mapping):
        raise SpecError(f"{source or 'spec'}: a spec is a table of keys, got {_kind(spec)}")
    name = spec.get("name", default_name)
    label = source or (f"spec {quote(name)}" if isinstance(name, str) else "spec")
    for key in spec:
        if key not in TOP_KEYS:
            raise _unknown(key, TOP_KEYS, label)
    name = check_value("name", name, label)
    if not name:
        raise SpecError(f"{label}: name='' is empty")
    description = check_value("description", spec.get("description", ""), label)
    influence = check_value("influence", spec.get("influence", 0.0), label)
    target_elo = check_value("target_elo", spec["target_elo"], label) if "target_elo" in spec else None
    defaults = _read_table(_table(spec.get("defaults", {}), f"{label}: [defaults]"), DEFAULT_KEYS,
                           f"{label}: [defaults]", target_elo)  # fmt: skip
    has_nodes, has_generate = "nodes" in spec, "generate" in spec
    if has_nodes == has_generate:
        raise SpecError(
            f"{label}: a spec has either [nodes.*] or [generate], "
            + ("not both" if has_nodes else "and this one has neither")
        )
    if has_nodes:
        G = _tree_from_nodes(spec["nodes"], defaults, label, target_elo)
    else:
        G = _tree_from_generate(spec["generate"], defaults, label, target_elo)
    G.graph.update(name=name, description=description, influence=influence)
    for key in ("unaided_error", "human_reach"):  # stated for the assumption checks
        if key in spec:
            G.graph[key] = check_value(key, spec[key], label)
    G.graph["blind_spots"] = _read_blind_spots(spec.get("blind_spots", {}), label)
    compile_tree(G, source=label)  # every check of validate_tree, vectorised; it names what fails
    return G


def _bad(label: str, key: str, value: object, problem: str) -> Any:
    raise SpecError(f"{label}: {key}={show_value(value)} {problem}")


def _read_blind_spots(groups: object, label: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, group in _table(groups, f"{label}: [blind_spots]").items():
        where = f"{label}: blind spot {quote(name)}"
        group = _table(group, where)
        for key in group:
            if key not in GROUP_KEYS:
                raise _unknown(key, GROUP_KEYS, where)
        for key in GROUP_KEYS:
            if key not in group:
                raise SpecError(f"{where}: {key} is missing")
        probability = check_value("probability", group["probability"], where)
        members = group["members"]
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            _bad(where, "members", members, "is not a list of node names")
        out[name] = {"probability": probability, "members": tuple(members)}
    return out


def _resolve(
    own: Mapping[str, Any],
    defaults: Mapping[str, Any],
    *,
    is_leaf: bool,
    is_root: bool,
    parent_weighted: bool,
    where: str,
) -> dict[str, Any]:
    """One node's attributes: its own values, then applicable defaults, then built-ins."""
    weighted = not is_leaf and own.get("rule", defaults.get("rule")) == "weighted"
    applies = {
        "prior": is_leaf,
        "rule": not is_leaf,
        "coverage": not is_leaf,
        "threshold": weighted,
        "audit": not is_root,
        "weight": parent_weighted,
    }
    attrs = {key: value for key, value in defaults.items() if applies.get(key, True)}
    attrs.update(own)
    attrs.setdefault("deception", 0.0)
    attrs.setdefault("audit", 0.0)
    attrs.setdefault("exposure", 1.0 if is_leaf else 0.0)
    if not is_leaf:
        attrs.setdefault("coverage", 1.0)
    required = ("false_accept", "false_reject") + (("prior",) if is_leaf else ("rule",))
    for key in required:
        if key not in attrs:
            hint = " or error" if key.startswith("false_") else ""
            raise SpecError(f"{where}: {key} is missing: set {key}{hint} on the node or in [defaults]")
    return {key: attrs[key] for key in NODE_KEYS if key in attrs}


def _tree_from_nodes(
    nodes: object, defaults: Mapping[str, Any], label: str, target_elo: float | None = None
) -> nx.DiGraph:
    nodes = _table(nodes, f"{label}: [nodes]")
    if not nodes:
        raise SpecError(f"{label}: [nodes] is empty; a tree needs at least one node")
    tables: dict[str, dict[str, Any]] = {}
    for node, table in nodes.items():
        where = f"{label}: node {quote(node)}"
        tables[node] = _read_table(_table(table, where), SPEC_NODE_KEYS, where, target_elo)
    parent = {v: t["parent"] for v, t in tables.items() if "parent" in t}
    for v, p in parent.items():
        if p not in tables:
            hint = difflib.get_close_matches(p, list(tables), n=1)
            also = f" (did you mean {quote(hint[0])}?)" if hint else ""
            raise SpecError(f"{label}: node {quote(v)}: parent={quote(p)} is not a node{also}")
    check_one_root([v for v in tables if v not in parent], label)
    _check_acyclic(parent, label)
    children: dict[str, list[str]] = {v: [] for v in tables}
    for v, p in parent.items():
        children[p].append(v)
    G = nx.DiGraph()
    for v, table in tables.items():
        own = {k: x for k, x in table.items() if k != "parent"}
        p = parent.get(v)
        parent_rule = None if p is None else tables[p].get("rule", defaults.get("rule"))
        G.add_node(
            v,
            **_resolve(
                own,
                defaults,
                is_leaf=not children[v],
                is_root=p is None,
                parent_weighted=parent_rule == "weighted",
                where=f"{label}: node {quote(v)}",
            ),
        )
    G.add_edges_from((p, v) for v, p in parent.items())
    return G


def _check_acyclic(parent: Mapping[str, str], label: str) -> None:
    state: dict[str, int] = {}  # 1 = on the current walk, 2 = known to reach the root
    for start in parent:
        walk: list[str] = []
        v: str | None = start
        while v is not None and state.get(v) != 2:
            if state.get(v) == 1:
                loop = walk[walk.index(v):] + [v]
                raise SpecError(
                    f"{label}: node {quote(v)}: parent={quote(parent[v])} makes a cycle "
                    f"({' -> '.join(printable(w) for w in loop)})"
                )
            state[v] = 1
            walk.append(v)
            v = parent.get(v)
        for w in walk:
            state[w] = 2


def _tree_from_generate(
    generate: object, defaults: Mapping[str, Any], label: str, target_elo: float | None = None
) -> nx.DiGraph:
    where = f"{label}: [generate]"
    gen = _table(generate, where)
    for key in gen:
        if key not in GENERATE_KEYS:
            raise _unknown(key, GENERATE_KEYS, where)
    shape = gen.get("shape", "balanced")
    if shape not in ("balanced", "chain"):
        _bad(where, "shape", shape, "is not a shape; valid: 'balanced', 'chain'")
    depth = _whole(gen, "depth", where, minimum=0, required=True)
    if shape == "chain":
        branching = _whole(gen, "branching", where, minimum=1, required=False, default=1)
        if branching != 1:
            _bad(where, "branching", gen["branching"], "contradicts shape='chain' (branching 1)")
    else:
        branching = _whole(gen, "branching", where, minimum=1, required=True)
    size, width = 0, 1
    for _ in range(depth + 1):  # stops as soon as the count passes the limit
        size += width
        width *= branching
        if size > MAX_GENERATED_NODES:
            raise SpecError(
                f"{where}: depth={show_value(depth)} with branching={branching} makes more than the "
                f"{MAX_GENERATED_NODES:,} nodes a generated tree may have"
            )
    leaves_where, internal_where = f"{label}: [generate.leaves]", f"{label}: [generate.internal]"
    leaves = _read_table(_table(gen.get("leaves", {}), leaves_where), LEAF_KEYS, leaves_where, target_elo)
    internal = _read_table(_table(gen.get("internal", {}), internal_where), INTERNAL_KEYS, internal_where, target_elo)
    if "rule" in gen:
        rule = check_value("rule", gen["rule"], where)
        if "rule" in internal:
            raise SpecError(f"{where}: rule is given both here and in [generate.internal]; give it once")
        internal["rule"] = rule
    if shape == "chain" and "rule" not in internal and "rule" not in defaults:
        internal["rule"] = "all"  # every rule passes a single child's value through
    weighted = internal.get("rule", defaults.get("rule")) == "weighted"
    roles = {}
    for role, own, is_leaf, is_root in (
        ("leaf", leaves, True, depth == 0),
        ("internal", internal, False, False),
        ("root", internal, False, True),
    ):
        if is_root:  # an audit in [generate.*] is for the nodes that have a parent
            own = {k: v for k, v in own.items() if k != "audit"}
        if is_leaf or depth > 0:
            roles[role] = _resolve(
                own, defaults, is_leaf=is_leaf, is_root=is_root,
                parent_weighted=weighted and not is_root, where=f"{label}: generated {role} nodes",
            )  # fmt: skip
    G = nx.DiGraph()
    previous = ["L0_0"]
    G.add_node("L0_0", **roles["leaf" if depth == 0 else "root"])
    for level in range(1, depth + 1):
        attrs = roles["leaf" if level == depth else "internal"]
        current = [f"L{level}_{i}" for i in range(len(previous) * branching)]
        G.add_nodes_from((v, dict(attrs)) for v in current)
        G.add_edges_from((previous[i // branching], v) for i, v in enumerate(current))
        previous = current
    return G


def _whole(table: Mapping[str, Any], key: str, where: str, *, minimum: int, required: bool, default: int = 0) -> int:
    if key not in table:
        if required:
            raise SpecError(f"{where}: {key} is missing")
        return default
    value = table[key]
    if isinstance(value, _LongInteger) and not value.negative:
        _bad(where, key, value, f"makes more than the {MAX_GENERATED_NODES:,} nodes a generated tree may have")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _bad(where, key, value, f"is not a whole number >= {minimum}")
    return value


# ----------------------------------------------------------------- writing

def to_dict(G: nx.DiGraph) -> dict[str, Any]:
    """The spec dictionary of a tree: every node listed, every value explicit.

    ``from_dict(to_dict(G))`` rebuilds ``G`` with the same nodes, edges and
    attributes. Attributes that are not part of the model (layout positions,
    say) are not written. Node ids must be strings.

    Raises
    ------
    SpecError
        If ``G`` is not a valid tree (:func:`~rrm_theory.validate_tree`), or a
        node id is not a string.

    Examples
    --------
    >>> from rrm_theory import chain
    >>> spec = to_dict(chain(1, error=0.1, prior=0.5))
    >>> spec["nodes"]["L1_0"]
    {'parent': 'L0_0', 'prior': 0.5, 'false_accept': 0.1, 'false_reject': 0.1, 'deception': 0.0, 'audit': 0.0, 'exposure': 1.0}
    """
    validate_tree(G)  # an edited tree is checked before it is written
    nodes: dict[str, dict[str, Any]] = {}
    root = tree_root(G)
    for v, _ in bfs_order(G, root):
        if not isinstance(v, str):
            raise SpecError(f"tree {quote(G.graph.get('name', '<unnamed>'))}: node {quote(v)}: ids must be strings to write a spec")
        attrs = G.nodes[v]
        table: dict[str, Any] = {}
        if v != root:
            table["parent"] = next(iter(G.pred[v]))
        for key in NODE_KEYS:
            if key in attrs and key != "parent" and not (key == "audit" and v == root):
                table[key] = attrs[key]
        nodes[v] = table
    spec: dict[str, Any] = {"name": G.graph.get("name", "tree")}
    if G.graph.get("description"):
        spec["description"] = G.graph["description"]
    spec["influence"] = float(G.graph.get("influence", 0.0))
    for key in ("unaided_error", "human_reach"):
        if key in G.graph:
            spec[key] = float(G.graph[key])
    groups = G.graph.get("blind_spots", {})
    if groups:
        spec["blind_spots"] = {
            g: {"probability": d["probability"], "members": list(d["members"])} for g, d in groups.items()
        }
    spec["nodes"] = nodes
    return spec


def dumps_spec(G: nx.DiGraph, *, format: str = "toml") -> str:
    """The tree as spec text, ``format`` ``"toml"`` or ``"json"``."""
    spec = to_dict(G)
    if format == "json":
        return json.dumps(spec, indent=2) + "\n"
    if format == "toml":
        return _toml.dumps(spec)
    raise ValueError(f"format={format!r} is not 'toml' or 'json'")


def write_spec(G: nx.DiGraph, path: str | Path) -> None:
    """Write the tree as a spec file; the suffix (``.toml`` or ``.json``) picks the format.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from rrm_theory import balanced
    >>> tree = balanced(2, 2, rule="any", error=0.1, prior=0.3)
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.toml"
    >>> write_spec(tree, p)
    >>> nx.utils.graphs_equal(load_spec(p), tree)
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("toml", "json"):
        raise ValueError(f"{path}: unknown spec format {path.suffix!r}; use .toml or .json")
    path.write_text(dumps_spec(G, format=fmt), encoding="utf-8")

