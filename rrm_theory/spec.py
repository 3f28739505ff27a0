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

Uncertain rates: any probability may be a distribution, ``{ beta = [a, b] }`` or
``{ uniform = [lo, hi] }``, written inline or in an ``[uncertainty]`` table
(``nodes.<id>``, ``defaults``, ``influence``, ``blind_spots.<group>``). The tree keeps
them in ``G.graph["uncertainty"]`` for :mod:`rrm_theory.uncertainty`; every other
analysis uses the point values: a number the table gives, else the mean of its own
distribution, else the defaults as above. A ``[uncertainty.defaults]`` distribution
applies to each node that takes the key from the defaults, each drawing its own value;
``error`` is one draw for both rates (docs/spec-format.md, "Uncertain rates").

Reading a file: only a regular file (after symbolic links) of at most
:data:`MAX_SPEC_BYTES` bytes is read; a directory, device, FIFO or socket is
refused from ``os.stat`` before it is opened. Every input error is one line
naming the file and, where the text tells, the line, the node or table and the
key (docs/spec-format.md lists them).
"""

from __future__ import annotations

import difflib
import itertools
import json
import operator
import re
import sys
from collections import deque
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Mapping

import networkx as nx
import numpy as np

from . import _toml
from ._files import file_label, read_regular_file
from ._text import printable, quote
from .errors import SpecError
from .nso import error_from_elo
from .rules import parse_rule
from ._compile import Compiled, _breadth_first, compile_tree
from ._distributions import Distribution, check_uncertainty, read_distribution, shown
from .tree import (_CHECKS, NODE_KEYS, PROBABILITY_KEYS, _probability, _rule, _string, _threshold, _weight, bfs_order,
                   bulk_tree, check_one_root, check_value, gc_paused, show_value, tree_root, validate_tree)  # fmt: skip

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
    "defaults", "blind_spots", "nodes", "generate", "uncertainty",
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
#: Node keys that may be given a distribution ([uncertainty] or inline); ``error`` is one draw for both rates.
DISTRIBUTION_KEYS = PROBABILITY_KEYS
UNCERTAINTY_KEYS = ("nodes", "defaults", "influence", "blind_spots")
_RATES = ("false_accept", "false_reject")

#: Distributions of one table: key -> (distribution, where it is written, for messages).
_Dists = dict[str, tuple[Distribution, str]]


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
    return _load(path)[0]


def _load(path: str | Path) -> tuple[nx.DiGraph, Compiled]:
    """:func:`load_spec`, and the compiled tree its validation made (what the CLI analyses)."""
    path = Path(path)
    with gc_paused():  # millions of dicts are parsed and built: see gc_paused
        return _from_dict(load_spec_dict(path), source=_label(path), default_name=path.stem)


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

    Parameters
    ----------
    path : str or pathlib.Path
        The spec file; its suffix, ``.toml`` or ``.json`` (in any case), picks the
        parser. The text must be UTF-8.

    Returns
    -------
    Any
        The parsed document, not yet checked as a spec: for TOML a ``dict``; for
        JSON its top-level value (a ``dict`` for a spec; anything else is left for
        :func:`from_dict` to reject). Pass it to :func:`from_dict` for the tree.

    Raises
    ------
    SpecError
        If the file cannot be read or parsed: one line naming the file, and where
        the text tells, the line, the node or table and the key. This includes a
        suffix other than ``.toml`` or ``.json``, text that is not UTF-8, a
        duplicate key or table, and in JSON ``NaN`` or an infinity.

    Examples
    --------
    >>> spec = load_spec_dict("models/chip-design.toml")
    >>> spec["name"], spec["nodes"]["heat"]["parent"], spec["nodes"]["heat"]["false_accept"]
    ('chip-design', 'design', 0.06)
    >>> from_dict(spec).number_of_nodes()
    7
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


_label = file_label  # the file as messages name it


def _read_bytes(path: Path, label: str) -> bytes:
    """The bytes of a regular file of at most MAX_SPEC_BYTES bytes (:mod:`rrm_theory._files`)."""
    return read_regular_file(path, label, limit=MAX_SPEC_BYTES, noun="a spec file",
                             hint="a spec is a .toml or .json file")  # fmt: skip


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
    table: Mapping[str, Any],
    valid: tuple[str, ...],
    where: str,
    target_elo: float | None = None,
    dists: _Dists | None = None,
) -> dict[str, Any]:
    """Check a table's keys and values; expand ``error`` into both rates and ``elo`` into
    ``false_accept`` (the evaluator's chance of being fooled by the target, from the Elo gap).

    A probability written as a distribution (``{ beta = [a, b] }``) goes into ``dists``,
    and its mean is the table's value."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in valid:
            raise _unknown(key, valid, where)
        if isinstance(value, dict) and dists is not None and key in DISTRIBUTION_KEYS:
            d = read_distribution(value, key, where)
            dists[key] = (d, where)
            out[key] = d.mean
        else:
            out[key] = check_value(key, value, where)
    if "error" in out:
        for key in _RATES:
            if key in out:
                raise SpecError(
                    f"{where}: error={_written(table, out, 'error')} and {key}={_written(table, out, key)} are both "
                    "given; error is shorthand for both rates, so give one or the other"
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


def _written(table: Mapping[str, Any], out: Mapping[str, Any], key: str) -> str:
    """A table's value as written: a distribution as its table, a number as read."""
    value = table[key]
    return shown(value) if isinstance(value, dict) else str(out[key])


def from_dict(
    spec: Mapping[str, Any], *, source: str | None = None, default_name: str = "tree"
) -> nx.DiGraph:
    """Build a validated evaluation tree from a spec dictionary.

    The dictionary has the structure of a spec file (MODEL.md section 6), as
    :func:`tomllib.load` or :func:`json.load` return it, including distributions of
    uncertain rates (``"uncertainty"``, or ``{"beta": [a, b]}`` in place of a value),
    which the tree keeps in ``G.graph["uncertainty"]``.

    Parameters
    ----------
    spec : mapping
        The spec.
    source : str, optional
        What error messages name (a file path); default ``spec '<name>'``.
    default_name : str
        The tree's name when the spec has no ``name``.

    Returns
    -------
    networkx.DiGraph
        The evaluation tree, edges parent -> child, every node attribute resolved
        (in the order the module's description gives). Its ``graph`` holds
        ``name``, ``description``, ``influence``, ``blind_spots`` and, where the
        spec gives them, ``unaided_error``, ``human_reach`` and ``uncertainty``.

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
    with gc_paused():  # millions of dicts may be built: see gc_paused
        return _from_dict(spec, source=source, default_name=default_name)[0]


def _from_dict(spec: Mapping[str, Any], *, source: str | None, default_name: str) -> tuple[nx.DiGraph, Compiled]:
    """:func:`from_dict`, and the compiled tree its validation made."""
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
    written = _read_uncertainty(spec["uncertainty"], label) if "uncertainty" in spec else _Uncertainty()
    influence, influence_d = _read_influence(spec, written, label)
    target_elo = check_value("target_elo", spec["target_elo"], label) if "target_elo" in spec else None
    defaults_d: _Dists = {}
    defaults = _read_table(_table(spec.get("defaults", {}), f"{label}: [defaults]"), DEFAULT_KEYS,
                           f"{label}: [defaults]", target_elo, defaults_d)  # fmt: skip
    _add_dists(defaults, defaults_d, written.defaults, label)
    has_nodes, has_generate = "nodes" in spec, "generate" in spec
    if has_nodes == has_generate:
        raise SpecError(
            f"{label}: a spec has either [nodes.*] or [generate], "
            + ("not both" if has_nodes else "and this one has neither")
        )
    if has_nodes:
        G, node_d = _tree_from_nodes(spec["nodes"], defaults, label, target_elo, defaults_d, written.nodes)
    else:
        G, node_d = _tree_from_generate(spec["generate"], defaults, label, target_elo, defaults_d, written.nodes)
    G.graph.update(name=name, description=description, influence=influence)
    for key in ("unaided_error", "human_reach"):  # stated for the assumption checks
        if key in spec:
            G.graph[key] = check_value(key, spec[key], label)
    G.graph["blind_spots"], group_d = _read_blind_spots(spec.get("blind_spots", {}), label, written.blind_spots)
    if node_d or group_d or influence_d is not None:
        G.graph["uncertainty"] = {"influence": influence_d, "blind_spots": group_d, "nodes": node_d}
    return G, compile_tree(G, source=label)  # every check of validate_tree, vectorised; it names what fails


def _bad(label: str, key: str, value: object, problem: str) -> Any:
    raise SpecError(f"{label}: {key}={show_value(value)} {problem}")


def _read_blind_spots(
    groups: object, label: str, written: Mapping[str, tuple[Distribution, str]]
) -> tuple[dict[str, dict[str, Any]], dict[str, Distribution]]:
    """The groups, and the distributions of their probabilities (inline or from [uncertainty])."""
    out: dict[str, dict[str, Any]] = {}
    dists: dict[str, Distribution] = {}
    groups = _table(groups, f"{label}: [blind_spots]")
    for name, (d, where) in written.items():
        if name not in groups:
            hint = difflib.get_close_matches(name, list(groups), n=1)
            also = f" (did you mean {quote(hint[0])}?)" if hint else ""
            raise SpecError(f"{where}: {quote(name)} is not a group of [blind_spots]{also}")
    for name, group in groups.items():
        where = f"{label}: blind spot {quote(name)}"
        group = _table(group, where)
        for key in group:
            if key not in GROUP_KEYS:
                raise _unknown(key, GROUP_KEYS, where)
        for key in GROUP_KEYS:
            if key not in group and not (key == "probability" and name in written):
                raise SpecError(f"{where}: {key} is missing")
        raw = group.get("probability")
        if isinstance(raw, dict):
            dists[name] = read_distribution(raw, "probability", where)
            if name in written:
                d, here = written[name]
                _given_twice(here, "probability", d, where[len(label) + 2 :], dists[name])
            probability = dists[name].mean
        elif name in written:
            dists[name] = written[name][0]
            probability = dists[name].mean if raw is None else check_value("probability", raw, where)
        else:
            probability = check_value("probability", raw, where)
        members = group["members"]
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            _bad(where, "members", members, "is not a list of node names")
        out[name] = {"probability": probability, "members": tuple(members)}
    return out, dists


# ----------------------------------------------------------------- distributions


class _Uncertainty:
    """What an ``[uncertainty]`` table writes, checked, before the tree exists."""

    def __init__(self) -> None:
        self.influence: tuple[Distribution, str] | None = None
        self.defaults: _Dists = {}
        self.nodes: dict[str, _Dists] = {}
        self.blind_spots: dict[str, tuple[Distribution, str]] = {}


def _read_uncertainty(table: object, label: str) -> _Uncertainty:
    where = f"{label}: [uncertainty]"
    table = _table(table, where)
    for key in table:
        if key not in UNCERTAINTY_KEYS:
            raise _unknown(key, UNCERTAINTY_KEYS, where)
    out = _Uncertainty()
    if "influence" in table:
        out.influence = (read_distribution(table["influence"], "influence", where), where)
    here = f"{label}: [uncertainty.defaults]"
    out.defaults = _read_dists(_table(table.get("defaults", {}), here), here)
    for node, t in _table(table.get("nodes", {}), f"{label}: [uncertainty.nodes]").items():
        here = _place(label, ("uncertainty", "nodes", node))
        out.nodes[node] = _read_dists(_table(t, here), here)
    for group, t in _table(table.get("blind_spots", {}), f"{label}: [uncertainty.blind_spots]").items():
        here = _place(label, ("uncertainty", "blind_spots", group))
        t = _table(t, here)
        for key in t:
            if key != "probability":
                raise _unknown(key, ("probability",), here)
        if "probability" not in t:
            raise SpecError(f"{here}: probability is missing")
        out.blind_spots[group] = (read_distribution(t["probability"], "probability", here), here)
    return out


def _read_dists(table: Mapping[str, Any], where: str) -> _Dists:
    out: _Dists = {}
    for key, value in table.items():
        if key not in DISTRIBUTION_KEYS:
            raise _unknown(key, DISTRIBUTION_KEYS, where)
        out[key] = (read_distribution(value, key, where), where)
    for key in _RATES:
        if key in out and "error" in out:
            _both_rates(out["error"][0], key, out[key][0], where, "")
    return out


def _both_rates(error: Distribution, key: str, rate: Distribution, where: str, other: str) -> None:
    """``error`` (one draw for both rates) and one of the rates, each with a distribution."""
    also = f" (one of them in {other})" if other else ""
    raise SpecError(f"{where}: error={error} and {key}={rate} both have distributions{also}; error is "
                    "shorthand for both rates (one draw for both), so give one or the other")  # fmt: skip


def _given_twice(where: str, key: str, d: Distribution, other: str, first: Distribution) -> None:
    raise SpecError(f"{where}: {key}={d} is given a distribution in {other} too ({first}); give each value "
                    "one distribution, inline or in [uncertainty]")  # fmt: skip


def _add_dists(point: dict[str, Any], dists: _Dists, extra: _Dists, label: str) -> None:
    """Add a level's ``[uncertainty]`` distributions to its inline ones; a value the level does
    not give as a number takes the distribution's mean."""
    for key, (d, where) in extra.items():
        for k in _overlapping(key):
            if k in dists:
                first, other = dists[k][0], dists[k][1][len(label) + 2 :]
                if k == key:
                    _given_twice(where, key, d, other, first)
                _both_rates(d if key == "error" else first, key if key != "error" else k,
                            first if key == "error" else d, where, other)  # fmt: skip
        for target in (_RATES if key == "error" else (key,)):
            point.setdefault(target, d.mean)
        dists[key] = (d, where)


def _overlapping(key: str) -> tuple[str, ...]:
    """The keys that give a value to the same rate as ``key``."""
    if key == "error":
        return ("error",) + _RATES
    return (key, "error") if key in _RATES else (key,)


def _read_influence(spec: Mapping[str, Any], written: _Uncertainty, label: str) -> tuple[float, Distribution | None]:
    raw = spec.get("influence")
    if isinstance(raw, dict):
        d = read_distribution(raw, "influence", label)
        if written.influence is not None:
            _given_twice(written.influence[1], "influence", written.influence[0], "the top level", d)
        return d.mean, d
    if written.influence is not None:
        d = written.influence[0]
        return (d.mean if raw is None else check_value("influence", raw, label)), d
    return check_value("influence", 0.0 if raw is None else raw, label), None


def _check_placement(dists: _Dists, *, is_leaf: bool, is_root: bool) -> dict[str, bool]:
    """Which keys apply to a node of this role; a distribution written where its key does not is an error."""
    applies = {"prior": is_leaf, "coverage": not is_leaf, "audit": not is_root}
    for key, (d, where) in dists.items():
        if not applies.get(key, True):
            problem = {"prior": "is written on an internal node (its truth comes from its rule and coverage)",
                       "coverage": "is written on a node with no children",
                       "audit": "is written on the root (nobody audits the verdict)"}[key]  # fmt: skip
            raise SpecError(f"{where}: {key}={d} {problem}")
    return applies


def _node_dists(
    own: Mapping[str, Any], own_d: _Dists, defaults_d: _Dists, *, is_leaf: bool, is_root: bool
) -> dict[str, Distribution]:
    """One node's distributions: its own, then those of ``[uncertainty.defaults]`` (or inline in
    ``[defaults]``) for the values it takes from the defaults, as :func:`_resolve` takes them."""
    applies = _check_placement(own_d, is_leaf=is_leaf, is_root=is_root)
    out: dict[str, Distribution] = {}

    def source(rate: str) -> tuple[Distribution, str, str] | None:
        """The rate's distribution, the key that gives it and the level it comes from."""
        for k in (rate, "error"):
            if k in own_d:
                return own_d[k][0], k, "own"
        if rate in own:  # the node gives its own number: the defaults do not apply
            return None
        for k in (rate, "error"):
            if k in defaults_d:
                return defaults_d[k][0], k, "defaults"
        return None

    fa, fr = source("false_accept"), source("false_reject")
    if fa is not None and fr is not None and fa[1] == "error" and fa[1:] == fr[1:]:
        out["error"] = fa[0]  # one draw for both rates
    else:
        for rate, got in zip(_RATES, (fa, fr)):
            if got is not None:
                out[rate] = got[0]
    for key in ("prior", "coverage", "deception", "audit", "exposure"):
        if key in own_d:
            out[key] = own_d[key][0]
        elif key not in own and applies.get(key, True) and key in defaults_d:
            out[key] = defaults_d[key][0]
    return {k: out[k] for k in DISTRIBUTION_KEYS if k in out}


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
    nodes: object,
    defaults: Mapping[str, Any],
    label: str,
    target_elo: float | None = None,
    defaults_d: _Dists | None = None,
    written: Mapping[str, _Dists] | None = None,
) -> tuple[nx.DiGraph, dict[str, dict[str, Distribution]]]:
    """The tree, and each node's distributions (only nodes that have some)."""
    nodes = _table(nodes, f"{label}: [nodes]")
    if not nodes:
        raise SpecError(f"{label}: [nodes] is empty; a tree needs at least one node")
    defaults_d, written = defaults_d or {}, written or {}
    if not defaults_d and not written:
        G = _nodes_in_bulk(nodes, defaults)
        if G is not None:
            return G, {}
    tables: dict[str, dict[str, Any]] = {}
    inline: dict[str, _Dists] = {}
    scratch: _Dists = {}
    for node, table in nodes.items():
        where = f"{label}: node {quote(node)}"
        tables[node] = _read_table(_table(table, where), SPEC_NODE_KEYS, where, target_elo, scratch)
        if scratch:
            inline[node], scratch = scratch, {}
    for node, extra in written.items():
        if node not in tables:
            hint = difflib.get_close_matches(node, list(tables), n=1)
            also = f" (did you mean {quote(hint[0])}?)" if hint else ""
            raise SpecError(f"{_place(label, ('uncertainty', 'nodes', node))}: {quote(node)} is not a node{also}")
        _add_dists(tables[node], inline.setdefault(node, {}), extra, label)
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
    dists: dict[str, dict[str, Distribution]] = {}
    for v, table in tables.items():
        own = {k: x for k, x in table.items() if k != "parent"}
        p = parent.get(v)
        parent_rule = None if p is None else tables[p].get("rule", defaults.get("rule"))
        if defaults_d or v in inline:
            got = _node_dists(own, inline.get(v, {}), defaults_d, is_leaf=not children[v], is_root=p is None)
            if got:
                dists[v] = got
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
    return G, dists


#: The node keys :func:`_nodes_in_bulk` reads (``elo`` and distributions take the node-by-node path).
_BULK_KEYS = frozenset(SPEC_NODE_KEYS) - {"elo"}


def _nodes_in_bulk(nodes: dict[Any, Any], defaults: Mapping[str, Any]) -> nx.DiGraph | None:
    """The tree of ``[nodes.*]``, read a column at a time; or None, and the node-by-node
    reading (:func:`_tree_from_nodes`) builds it or names what is wrong.

    The same graph as the node-by-node reading, every node with its own attribute dict,
    when that reading would find nothing to report before the tree is compiled. Nodes
    with the same keys are read together, each key's values checked at once (floats by
    numpy). Each group of the same keys, place (leaf, root) and weighting is resolved
    once (:func:`_resolve`, keys in the order nodes are written), and its nodes' dicts
    are copies of that, updated with each node's own values, by C code. Anything unusual
    (a distribution, an ``elo``, any value the checks refuse, a missing key, a second
    root, a cycle) returns None, so that messages stay those of the node-by-node reading,
    in its order.
    """
    names, tables = list(nodes), list(nodes.values())
    n = len(names)
    if None in nodes or set(map(type, tables)) != {dict}:
        return None
    keysets = list(map(tuple, tables))
    code = {ks: k for k, ks in enumerate(dict.fromkeys(keysets))}
    group = np.fromiter(map(code.__getitem__, keysets), dtype=np.int64, count=n)
    del keysets
    converted = set()  # the groups with a value that is stored otherwise than written (an integer)
    for k, (ks, members) in enumerate(zip(code, _groups(group))):  # code: the groups, numbered in order
        keys = set(ks)
        if not keys <= _BULK_KEYS or ("error" in keys and not keys.isdisjoint(_RATES)):
            return None
        rows = list(map(tables.__getitem__, members))
        numbers = [key for key in ks if _CHECKS[key] in _RANGES]
        rest = [key for key in ks if key not in numbers] if len(numbers) > 1 and _in_ranges(rows, numbers) else ks
        for key in rest:
            values = list(map(itemgetter(key), rows))
            checked = _checked_column(key, values)
            if checked is None:
                return None
            if checked is not values:
                converted.add(k)
    parents = list(map(dict.get, tables, itertools.repeat("parent")))  # None: no parent (checked: strings)
    if parents.count(None) != 1:
        return None
    at = parents.index(None)
    attrs = list(map(dict, itertools.repeat((), n)))  # filled below, once the tree is known
    try:
        G = bulk_tree(names, attrs, parents, _children_in_order(names, parents, at))
    except KeyError:  # a parent that is not a node
        return None
    if len(_breadth_first(G, at, names[at])[0]) != n or G.number_of_nodes() != n:
        return None  # a cycle off to the side (or, in networkx's own build, a parent not a node)
    if G.nodes[names[0]] is not attrs[0]:  # networkx's own build (bulk_tree) copied them
        attrs = list(map(G.nodes.__getitem__, names))
    rules = list(map(dict.get, tables, itertools.repeat("rule")))
    weighted = set(itertools.compress(names, map(operator.eq, rules, itertools.repeat("weighted"))))
    if defaults.get("rule") == "weighted":  # and the nodes that take the default
        weighted.update(itertools.compress(names, map(operator.is_, rules, itertools.repeat(None))))
    del rules
    is_leaf = np.fromiter(map(operator.not_, G._succ.values()), dtype=bool, count=n)
    is_root = np.zeros(n, dtype=bool)
    is_root[at] = True
    parent_weighted = np.fromiter(map(weighted.__contains__, parents), dtype=bool, count=n)
    own_weighted = np.fromiter(map(weighted.__contains__, names), dtype=bool, count=n) & ~is_leaf
    kind = group * 16 + is_leaf * 8 + is_root * 4 + parent_weighted * 2 + own_weighted
    for members in _groups(kind):
        c = int(kind[members[0]])
        template = _bulk_template(tables[members[0]], defaults, c)
        if template is None:
            return None
        rows = list(map(tables.__getitem__, members))
        made = list(map(attrs.__getitem__, members))
        deque(map(dict.update, made, itertools.repeat(template)), maxlen=0)
        if c // 16 in converted:  # rare: each value as check_value stores it
            for d, table in zip(made, rows):
                d.update(_own(table))
        else:
            deque(map(dict.update, made, rows), maxlen=0)  # a node's own keys keep the template's places
            if "error" in rows[0]:
                errors = list(map(itemgetter("error"), rows))
                for rate in _RATES:
                    deque(map(operator.setitem, made, itertools.repeat(rate), errors), maxlen=0)
            for key in ("parent", "error"):
                if key in rows[0]:
                    deque(map(dict.pop, made, itertools.repeat(key)), maxlen=0)
    return G


def _children_in_order(names: list[Any], parents: list[Any], at: int) -> list[int] | None:
    """Each node's number of children, if the nodes but the root, in order, are the children of
    the nodes in order (a spec written breadth-first, as write_spec does); else None.

    Then each node's children are the next ones (see bulk_tree), and the build looks nobody
    up by name: the parents are read as runs of one name, matched in order to the nodes."""
    ups = parents[:at] + parents[at + 1 :]
    if not ups:
        return [0] * len(names)
    change = np.fromiter(map(operator.ne, ups[1:], ups[:-1]), dtype=bool, count=len(ups) - 1)
    starts = [0, *(np.flatnonzero(change) + 1).tolist()]
    heads = list(map(ups.__getitem__, starts))
    sizes = np.diff([*starts, len(ups)]).tolist()
    counts = [0] * len(names)
    k = 0
    for i, v in enumerate(names):  # every head in turn must be the next node that has children
        if v == heads[k]:
            counts[i] = sizes[k]
            k += 1
            if k == len(heads):
                return counts
    return None


def _own(table: Mapping[str, Any]) -> dict[str, Any]:
    """A node's own values as the node-by-node reading stores them (checked before)."""
    own = {key: check_value(key, value, "") for key, value in table.items() if key != "parent"}
    if "error" in own:
        own["false_accept"] = own["false_reject"] = own.pop("error")
    return own


def _bulk_template(table: Mapping[str, Any], defaults: Mapping[str, Any], kind: int) -> dict[str, Any] | None:
    """The resolved attributes of a node of this table's keys and this place (see _nodes_in_bulk)."""
    try:
        return _resolve(_own(table), defaults, is_leaf=bool(kind & 8), is_root=bool(kind & 4),
                        parent_weighted=bool(kind & 2), where="")  # fmt: skip
    except SpecError:
        return None


def _groups(labels: np.ndarray) -> list[list[int]]:
    """The positions of each label's elements, ascending, labels in order of first appearance."""
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    parts = np.split(order, cuts)
    parts.sort(key=lambda part: int(part[0]))
    return [part.tolist() for part in parts]


#: The checks of numbers in a range: check -> (whether the low end is in, the high end or None for finite).
_RANGES = {_probability: (True, 1.0), _threshold: (False, 1.0), _weight: (False, None)}


def _in_range(x: np.ndarray, check: Callable[[object], str | None]) -> bool:
    """What ``check`` says of every float of ``x`` (NaN fails every range)."""
    closed, high = _RANGES[check]
    ok = (x >= 0.0) if closed else (x > 0.0)
    ok &= np.isfinite(x) if high is None else (x <= high)
    return bool(ok.all())


def _in_ranges(rows: list[dict[str, Any]], keys: list[str]) -> bool:
    """Whether every row's value of each key is a float its check accepts (at once: one look per row)."""
    values = list(map(itemgetter(*keys), rows))
    if set(map(type, itertools.chain.from_iterable(values))) != {float}:
        return False
    table = np.fromiter(itertools.chain.from_iterable(values), dtype=float, count=len(keys) * len(values))
    table = table.reshape(-1, len(keys))
    return all(_in_range(table[:, j], _CHECKS[key]) for j, key in enumerate(keys))


def _checked_column(key: str, values: list[Any]) -> list[Any] | None:
    """``check_value`` of every value (numbers as floats), or None if one is refused."""
    check = _CHECKS[key]
    kinds = set(map(type, values))
    if kinds == {str} and check in (_string, _rule):
        return values if check is _string or all(_rule(v) is None for v in set(values)) else None
    if kinds == {float} and check in _RANGES:
        return values if _in_range(np.fromiter(values, dtype=float, count=len(values)), check) else None
    try:
        return [check_value(key, v, "") for v in values]
    except Exception:  # the node-by-node reading reports it, whatever it is
        return None


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
    generate: object,
    defaults: Mapping[str, Any],
    label: str,
    target_elo: float | None = None,
    defaults_d: _Dists | None = None,
    written: Mapping[str, _Dists] | None = None,
) -> tuple[nx.DiGraph, dict[str, dict[str, Distribution]]]:
    """The tree, and each node's distributions (only nodes that have some)."""
    defaults_d, written = defaults_d or {}, written or {}
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
    leaves_d: _Dists = {}
    internal_d: _Dists = {}
    leaves = _read_table(_table(gen.get("leaves", {}), leaves_where), LEAF_KEYS, leaves_where, target_elo, leaves_d)
    internal = _read_table(_table(gen.get("internal", {}), internal_where), INTERNAL_KEYS, internal_where,
                           target_elo, internal_d)  # fmt: skip
    if "rule" in gen:
        rule = check_value("rule", gen["rule"], where)
        if "rule" in internal:
            raise SpecError(f"{where}: rule is given both here and in [generate.internal]; give it once")
        internal["rule"] = rule
    if shape == "chain" and "rule" not in internal and "rule" not in defaults:
        internal["rule"] = "all"  # every rule passes a single child's value through
    weighted = internal.get("rule", defaults.get("rule")) == "weighted"
    roles = {}
    role_d: dict[str, dict[str, Distribution]] = {}
    numbers: dict[str, set[str]] = {}  # the values a role's table gives as numbers
    for role, own, own_d, is_leaf, is_root in (
        ("leaf", leaves, leaves_d, True, depth == 0),
        ("internal", internal, internal_d, False, False),
        ("root", internal, internal_d, False, True),
    ):
        if is_root:  # an audit in [generate.*] is for the nodes that have a parent
            own = {k: v for k, v in own.items() if k != "audit"}
            own_d = {k: v for k, v in own_d.items() if k != "audit"}
        if is_leaf or depth > 0:
            roles[role] = _resolve(
                own, defaults, is_leaf=is_leaf, is_root=is_root,
                parent_weighted=weighted and not is_root, where=f"{label}: generated {role} nodes",
            )  # fmt: skip
            role_d[role] = _node_dists(own, own_d, defaults_d, is_leaf=is_leaf, is_root=is_root)
            numbers[role] = set(own) - {t for k in own_d for t in (_RATES if k == "error" else (k,))}
    first = "leaf" if depth == 0 else "root"
    dists: dict[str, dict[str, Distribution]] = {"L0_0": dict(role_d[first])} if role_d[first] else {}
    # In bulk, as a chain has as many levels as nodes: the ids in breadth-first order, each
    # node's parent (of a level's i-th node, the (i // branching)-th of the level above) and
    # its own copy of its role's attributes (root, internal nodes, then the leaves).
    leaves = branching**depth
    if branching == 1:
        names = list(map("L{}_0".format, range(depth + 1)))
        parents: list[str | None] = [None, *names[:-1]]
    else:
        levels = [[f"L{level}_{i}" for i in range(branching**level)] for level in range(depth + 1)]
        names = list(itertools.chain.from_iterable(levels))
        parents = [None]
        for above in levels[:-1]:
            parents.extend(itertools.chain.from_iterable(map(itertools.repeat, above,
                                                             itertools.repeat(branching, len(above)))))  # fmt: skip
    attrs = [dict(roles[first])]
    inner = slice(1, len(names) - leaves) if depth else slice(0, 0)
    if depth:
        attrs.extend(map(dict.copy, itertools.repeat(roles["internal"], inner.stop - 1)))
        attrs.extend(map(dict.copy, itertools.repeat(roles["leaf"], leaves)))
    counts = [branching] * (len(names) - leaves) + [0] * leaves if depth else [0]
    G = bulk_tree(names, attrs, parents, counts)
    for role, part in (("internal", names[inner]), ("leaf", names[inner.stop :] if depth else [])):
        if role_d.get(role):
            dists.update((v, dict(role_d[role])) for v in part)
    for v, extra in written.items():  # [uncertainty.nodes.<id>] of a generated node
        if v not in G:
            raise SpecError(f"{_place(label, ('uncertainty', 'nodes', v))}: {quote(v)} is not a node of the "
                            f"generated tree (ids are L<level>_<index>, from L0_0 down to level {depth})")  # fmt: skip
        is_leaf = G.out_degree(v) == 0
        role = "leaf" if is_leaf else ("root" if v == "L0_0" else "internal")
        _check_placement(extra, is_leaf=is_leaf, is_root=v == "L0_0")
        got = dists.get(v, {})
        for key, (d, _) in extra.items():
            if key == "error":
                for k in ("error",) + _RATES:
                    got.pop(k, None)
            elif key in _RATES and "error" in got:  # the other rate keeps the role's distribution
                got[_RATES[1 - _RATES.index(key)]] = got.pop("error")
            got[key] = d
            for target in _RATES if key == "error" else (key,):
                if target not in numbers[role]:
                    G.nodes[v][target] = d.mean
        dists[v] = {k: got[k] for k in DISTRIBUTION_KEYS if k in got}
    return G, dists


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
    say) are not written. Node ids must be strings. Distributions of uncertain
    rates (``G.graph["uncertainty"]``, docs/uncertainty.md) are written as an
    ``[uncertainty]`` table, one ``[uncertainty.nodes.<id>]`` per node that has any.

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree (from :func:`load_spec`, :func:`from_dict`,
        :func:`~rrm_theory.balanced`, :func:`~rrm_theory.chain`, or built or
        edited by hand); it is validated first.

    Returns
    -------
    dict
        A new dictionary: ``name``, ``description`` (if not empty), ``influence``,
        ``unaided_error`` and ``human_reach`` (if the tree states them),
        ``blind_spots`` (if any), ``nodes`` (breadth-first from the root, each
        with its ``parent``, but the root, and its model attributes; no ``audit``
        on the root) and ``uncertainty`` (if the tree has distributions).

    Raises
    ------
    SpecError
        If ``G`` is not a valid tree (:func:`~rrm_theory.validate_tree`) or its
        distributions are not valid, or a node id is not a string.

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
    uncertainty = check_uncertainty(G)
    if uncertainty is not None:
        spec["uncertainty"] = _uncertainty_spec(uncertainty)
    return spec


def _uncertainty_spec(uncertainty: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[uncertainty]`` table of a tree's distributions, every one written per node."""
    out: dict[str, Any] = {}
    if uncertainty["influence"] is not None:
        out["influence"] = uncertainty["influence"].to_spec()
    if uncertainty["blind_spots"]:
        out["blind_spots"] = {g: {"probability": d.to_spec()} for g, d in uncertainty["blind_spots"].items()}
    if uncertainty["nodes"]:
        out["nodes"] = {v: {k: d.to_spec() for k, d in table.items()} for v, table in uncertainty["nodes"].items()}
    return out


def dumps_spec(G: nx.DiGraph, *, format: str = "toml") -> str:
    """The tree as spec text, ``format`` ``"toml"`` or ``"json"``.

    The text is :func:`to_dict` written out: every node listed, every value
    explicit, so :func:`load_spec` of a file holding it rebuilds the tree.

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree; it is validated first (:func:`to_dict`).
    format : {"toml", "json"}, keyword-only
        The spec format (JSON indented by two spaces).

    Returns
    -------
    str
        The spec text, ending in a newline.

    Raises
    ------
    SpecError
        If ``G`` is not a valid tree, or a node id is not a string (:func:`to_dict`).
    ValueError
        If ``format`` is neither ``"toml"`` nor ``"json"``.

    Examples
    --------
    >>> from rrm_theory import chain
    >>> print(dumps_spec(chain(1, error=0.1, prior=0.5)))
    name = "chain-1"
    influence = 0.0
    <BLANKLINE>
    [nodes.L0_0]
    rule = "all"
    coverage = 1.0
    false_accept = 0.1
    false_reject = 0.1
    deception = 0.0
    exposure = 0.0
    <BLANKLINE>
    [nodes.L1_0]
    parent = "L0_0"
    prior = 0.5
    false_accept = 0.1
    false_reject = 0.1
    deception = 0.0
    audit = 0.0
    exposure = 1.0
    <BLANKLINE>
    >>> import json
    >>> json.loads(dumps_spec(chain(1, error=0.1, prior=0.5), format="json"))["nodes"]["L1_0"]["parent"]
    'L0_0'
    """
    spec = to_dict(G)
    if format == "json":
        return json.dumps(spec, indent=2) + "\n"
    if format == "toml":
        return _toml.dumps(spec)
    raise ValueError(f"format={format!r} is not 'toml' or 'json'")


def write_spec(G: nx.DiGraph, path: str | Path) -> None:
    """Write the tree as a spec file; the suffix (``.toml`` or ``.json``) picks the format.

    The file holds :func:`dumps_spec` of the tree, UTF-8; an existing file is
    replaced. :func:`load_spec` reads it back to the same tree.

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree; it is validated first (:func:`to_dict`).
    path : str or pathlib.Path
        The file to write; its suffix, ``.toml`` or ``.json`` (in any case), picks
        the format. Its folder must exist.

    Raises
    ------
    ValueError
        If the suffix is neither ``.toml`` nor ``.json`` (checked before anything
        else; nothing is written).
    SpecError
        If ``G`` is not a valid tree, or a node id is not a string (:func:`to_dict`);
        nothing is written.
    OSError
        If the file cannot be written.

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

