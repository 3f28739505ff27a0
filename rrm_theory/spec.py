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
"""

from __future__ import annotations

import difflib
import json
import tomllib
from pathlib import Path
from typing import Any, Mapping

import networkx as nx

from . import _toml
from .errors import SpecError
from .nso import error_from_elo
from .rules import parse_rule
from .tree import NODE_KEYS, bfs_order, check_one_root, check_value, show_value, tree_root, validate_tree

__all__ = ["MAX_GENERATED_NODES", "load_spec", "load_spec_dict", "from_dict", "to_dict", "write_spec", "dumps_spec"]

#: The most nodes ``[generate]`` (and :func:`rrm_theory.balanced`) will build.
MAX_GENERATED_NODES = 2_000_000

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
        The spec file; the suffix picks the format.

    Returns
    -------
    networkx.DiGraph
        The evaluation tree, edges parent -> child, every node attribute resolved.

    Raises
    ------
    SpecError
        If the file cannot be read or parsed, or is not a valid spec. The
        message is one line naming the file, the node and the key.

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
    label = str(path) if str(path).isprintable() else repr(str(path))
    return from_dict(load_spec_dict(path), source=label, default_name=path.stem)


def load_spec_dict(path: str | Path) -> Any:
    """Read and parse a spec file (``.toml`` or ``.json``) without building the tree.

    Raises
    ------
    SpecError
        If the file cannot be read or parsed (one line naming the file).
    """
    path = Path(path)
    label = str(path) if str(path).isprintable() else repr(str(path))  # messages stay one line
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise SpecError(f"{label}: unknown spec format {path.suffix or '(no suffix)'!r}; use .toml or .json")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{label}: not UTF-8 text (byte {exc.start})") from None
    try:
        return _parse_toml(text, label) if suffix == ".toml" else _parse_json(text, label)
    except RecursionError:
        raise SpecError(f"{label}: nested too deeply to be a spec") from None


def _parse_toml(text: str, label: str) -> Any:
    try:
        return tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise SpecError(f"{label}: not valid TOML: {exc}") from None


def _parse_json(text: str, label: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise SpecError(f"{label}: not valid JSON: duplicate key {key!r}")
            out[key] = value
        return out

    def constant(name: str) -> float:
        raise SpecError(f"{label}: not valid JSON: {name} is not a JSON number")

    try:
        doc = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{label}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # an integer too long to convert
        raise SpecError(f"{label}: not valid JSON: {exc}") from None
    _check_text(doc, label)
    return doc


def _check_text(doc: Any, label: str) -> None:
    """Reject strings that are not Unicode text (JSON can escape lone surrogates)."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise SpecError(f"{label}: not valid JSON: {item!r} is not Unicode text (a lone surrogate)") from None


def _unknown(key: object, valid: tuple[str, ...], where: str) -> SpecError:
    hint = difflib.get_close_matches(str(key), valid, n=1)
    also = f"did you mean {hint[0]!r}? " if hint else ""
    return SpecError(f"{where}: unknown key {key!r} ({also}valid: {', '.join(valid)})")


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: must be a table of keys, got {_kind(value)}")
    return value


def _kind(value: object) -> str:
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
    label = source or (f"spec {name!r}" if isinstance(name, str) else "spec")
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
    validate_tree(G, source=label)
    return G


def _bad(label: str, key: str, value: object, problem: str) -> Any:
    raise SpecError(f"{label}: {key}={show_value(value)} {problem}")


def _read_blind_spots(groups: object, label: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, group in _table(groups, f"{label}: [blind_spots]").items():
        where = f"{label}: blind spot {name!r}"
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
        where = f"{label}: node {node!r}"
        tables[node] = _read_table(_table(table, where), SPEC_NODE_KEYS, where, target_elo)
    parent = {v: t["parent"] for v, t in tables.items() if "parent" in t}
    for v, p in parent.items():
        if p not in tables:
            hint = difflib.get_close_matches(p, list(tables), n=1)
            also = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise SpecError(f"{label}: node {v!r}: parent={p!r} is not a node{also}")
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
                where=f"{label}: node {v!r}",
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
                    f"{label}: node {v!r}: parent={parent[v]!r} makes a cycle ({' -> '.join(loop)})"
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
            raise SpecError(f"tree {G.graph.get('name', '<unnamed>')!r}: node {v!r}: ids must be strings to write a spec")
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

