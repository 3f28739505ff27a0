"""Evaluation trees: the attribute schema and its validation (MODEL.md sections 2 and 6).

An evaluation tree is a :class:`networkx.DiGraph` with edges parent -> child.

Graph attributes
    ``name`` (str), ``description`` (str), ``influence`` (float, P(M = 1)),
    ``blind_spots`` (dict: group name -> ``{"probability": float, "members": tuple}``).

Node attributes (every node)
    ``false_accept``, ``false_reject``, ``deception``, ``audit``, ``exposure``;
    leaves also ``prior``; internal nodes also ``rule`` and ``coverage``, and
    ``threshold`` when the rule is ``weighted``; children of a weighted node may
    carry ``weight`` (default 1). Optional everywhere: ``difficulty``, ``description``.

The builders (:func:`rrm_theory.from_dict`, :func:`rrm_theory.load_spec`,
:func:`rrm_theory.balanced`, :func:`rrm_theory.chain`) return validated trees.
A hand-built graph is checked with :func:`validate_tree`; the analyses trust
their input (validation happens once, at the boundary).
"""

from __future__ import annotations

import gc
import math
import numbers
import operator
from collections import deque
from contextlib import contextmanager
from itertools import compress, islice, repeat
from typing import Any, Callable, Hashable, Iterator, Sequence

import networkx as nx
import numpy as np

from ._text import printable, quote
from .errors import SpecError
from .rules import parse_rule

__all__ = [
    "NODE_KEYS",
    "check_value",
    "validate_tree",
    "tree_root",
    "tree_depth",
    "tree_leaves",
    "bfs_order",
]

PROBABILITY_KEYS = (
    "false_accept",
    "false_reject",
    "error",
    "prior",
    "coverage",
    "deception",
    "audit",
    "exposure",
)
#: Every key a node may carry in a spec, in the order specs are written.
NODE_KEYS = (
    "parent",
    "description",
    "rule",
    "threshold",
    "weight",
    "prior",
    "coverage",
    "false_accept",
    "false_reject",
    "error",
    "deception",
    "audit",
    "exposure",
    "difficulty",
    "generation_difficulty",
)


def _number(value: object) -> float | None:
    """``value`` as a float if it is a real number (not a bool), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return None


def _probability(value: object) -> str | None:
    x = _number(value)
    if x is None or not 0.0 <= x <= 1.0:  # NaN fails both comparisons
        return "is not a probability in [0, 1]"
    return None


def _threshold(value: object) -> str | None:
    x = _number(value)
    if x is None or not 0.0 < x <= 1.0:
        return "is not a threshold in (0, 1]"
    return None


def _weight(value: object) -> str | None:
    x = _number(value)
    if x is None or not (x > 0.0 and math.isfinite(x)):
        return "is not a weight (a finite number > 0)"
    return None


def _rule(value: object) -> str | None:
    try:
        parse_rule(value)
    except ValueError as exc:
        return str(exc)
    return None


def _string(value: object) -> str | None:
    return None if isinstance(value, str) else "is not a string"


_CHECKS: dict[str, Callable[[object], str | None]] = {
    **{key: _probability for key in PROBABILITY_KEYS},
    "difficulty": _probability,
    "generation_difficulty": _probability,
    "unaided_error": _probability,
    "human_reach": _probability,
    "influence": _probability,
    "probability": _probability,
    "name": _string,
    "elo": lambda v: None if (x := _number(v)) is not None and math.isfinite(x) else "is not a finite number",
    "target_elo": lambda v: None if (x := _number(v)) is not None and math.isfinite(x) else "is not a finite number",
    "threshold": _threshold,
    "weight": _weight,
    "rule": _rule,
    "parent": _string,
    "description": _string,
}


def _digits(n: int) -> str:
    """How many decimal digits ``n`` has, found without ``str`` (which Python refuses
    past ``sys.get_int_max_str_digits()`` digits)."""
    n = abs(n)
    bits = n.bit_length()
    if bits > 1_000_000:  # 10**d would take a while: say roughly
        return f"about {int(bits * math.log10(2)):,}"
    low = int((bits - 1) * math.log10(2)) + 1 if bits else 1  # 2**(bits-1) <= n has this many digits or one more
    return str(low + (n >= 10**low))


def show_value(value: object) -> str:
    r"""A value as a message shows it: strings quoted, booleans and null as spec files
    write them, anything longer than 60 characters cut short, and nothing that could
    act on a terminal (see :func:`rrm_theory._text.printable`).

    Examples
    --------
    >>> show_value("a\x1b[31m"), show_value(True), show_value(10**5000)
    ("'a\\x1b[31m'", 'true', 'a 5001-digit integer')
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, int) and abs(value) > 10**50:
        text = f"a {_digits(value)}-digit integer"
    elif isinstance(value, str):
        text = quote(value)
    else:
        try:
            text = printable(str(value))
        except ValueError:  # holds an integer too long for Python to print
            kind = type(value).__name__
            text = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} too long to show"
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(key: str, value: object, where: str) -> Any:
    """Check one attribute value; return it (numbers as float) or raise :class:`SpecError`.

    Parameters
    ----------
    key : str
        A node key (:data:`NODE_KEYS`) or a graph or blind-spot key (``influence``,
        ``unaided_error``, ``human_reach``, ``probability``, ``name``, ``elo``,
        ``target_elo``).
    value : object
        The value as read.
    where : str
        The message prefix naming the file and the node or table,
        e.g. ``"chip.toml: node 'heat'"``.

    Returns
    -------
    float or str
        The value, a number as a float.

    Raises
    ------
    SpecError
        If the value is not valid for the key, naming ``where`` and ``key=value``.
    KeyError
        If ``key`` is not a key that is checked.

    Examples
    --------
    >>> check_value("false_accept", 1, "t.toml: node 'a'")
    1.0
    >>> check_value("false_accept", 1.3, "t.toml: node 'a'")
    Traceback (most recent call last):
    ...
    rrm_theory.errors.SpecError: t.toml: node 'a': false_accept=1.3 is not a probability in [0, 1]
    """
    problem = _CHECKS[key](value)
    if problem is not None:
        raise SpecError(f"{where}: {key}={show_value(value)} {problem}")
    return value if isinstance(value, str) else float(value)  # type: ignore[arg-type]


def _label(G: nx.DiGraph, source: str | None) -> str:
    return source if source is not None else f"tree {quote(G.graph.get('name', '<unnamed>'))}"


def tree_root(G: nx.DiGraph) -> Hashable:
    """The root of a valid tree: its one node without a parent.

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree (only its roots are checked).

    Returns
    -------
    hashable
        The root's node id.

    Raises
    ------
    SpecError
        If ``G`` has no node or several nodes without a parent.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> rrm.tree_root(rrm.chain(2, error=0.1, prior=0.5))
    'L0_0'
    """
    roots = [v for v, d in G.in_degree() if d == 0]
    if len(roots) != 1:
        raise SpecError(f"tree {quote(G.graph.get('name', '<unnamed>'))}: has {len(roots)} roots, needs exactly one")
    return roots[0]


def bfs_order(G: nx.DiGraph, root: Hashable | None = None) -> Iterator[tuple[Hashable, int]]:
    """Yield ``(node, level)`` in breadth-first order from the root (iterative; any depth).

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree.
    root : hashable, optional
        Where to start (default :func:`tree_root`); the level counts edges from it.

    Yields
    ------
    tuple of (hashable, int)
        Each node reachable from ``root`` with its level, children in graph order.

    Raises
    ------
    SpecError
        With ``root=None``, if ``G`` has not exactly one root (raised on the first ``next``).
    KeyError
        If ``root`` is not a node of ``G``.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> list(bfs_order(rrm.balanced(1, 2, rule="all", error=0.1, prior=0.5)))
    [('L0_0', 0), ('L1_0', 1), ('L1_1', 1)]
    """
    root = tree_root(G) if root is None else root
    queue = deque([(root, 0)])
    succ = G.succ
    while queue:
        v, level = queue.popleft()
        yield v, level
        queue.extend((c, level + 1) for c in succ[v])


def tree_depth(G: nx.DiGraph) -> int:
    """Edges from the root to the deepest leaf.

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree.

    Returns
    -------
    int
        0 for a single node.

    Raises
    ------
    SpecError
        If ``G`` has not exactly one root.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> rrm.tree_depth(rrm.chain(3, error=0.1, prior=0.5))
    3
    """
    return max(level for _, level in bfs_order(G))


def tree_leaves(G: nx.DiGraph) -> list[Hashable]:
    """The leaves (nodes without children), in graph order.

    Parameters
    ----------
    G : networkx.DiGraph
        An evaluation tree (not validated).

    Returns
    -------
    list
        Node ids.

    Raises
    ------
    AttributeError
        If ``G`` is not a networkx directed graph.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> rrm.tree_leaves(rrm.balanced(1, 2, rule="all", error=0.1, prior=0.5))
    ['L1_0', 'L1_1']
    """
    return [v for v, d in G.out_degree() if d == 0]


def check_one_root(roots: list[Any], label: str) -> None:
    """Raise :class:`SpecError` unless exactly one node has no parent."""
    if not roots:
        raise SpecError(f"{label}: no root: every node has a parent, so the parents form a cycle")
    if len(roots) > 1:
        raise SpecError(
            f"{label}: node {quote(roots[1])}: parent is missing, but {quote(roots[0])} is the root already "
            "(a tree has exactly one node without a parent)"
        )


def _check_structure(G: nx.DiGraph, label: str) -> Hashable:
    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise SpecError(f"{label}: an evaluation tree is a networkx.DiGraph, got {type(G).__name__}")
    if G.number_of_nodes() == 0:
        raise SpecError(f"{label}: the tree has no nodes")
    roots = [v for v, d in G.in_degree() if d == 0]
    check_one_root(roots, label)
    for v, d in G.in_degree():
        if d > 1:
            parents = ", ".join(quote(p) for p in G.pred[v])
            raise SpecError(f"{label}: node {quote(v)}: has several parents ({parents}); a tree has one")
    seen = sum(1 for _ in bfs_order(G, roots[0]))
    if seen != G.number_of_nodes():
        reached = set(v for v, _ in bfs_order(G, roots[0]))
        stray = next(v for v in G if v not in reached)
        raise SpecError(f"{label}: node {quote(stray)}: parent chain never reaches the root {quote(roots[0])}: a cycle")
    return roots[0]


def _plain_digraph(G: nx.DiGraph) -> bool:
    """Whether ``G`` is an empty plain DiGraph whose dicts :func:`bulk_tree` may fill directly."""
    factories = ("node_dict_factory", "node_attr_dict_factory", "adjlist_outer_dict_factory",
                 "adjlist_inner_dict_factory", "edge_attr_dict_factory")  # fmt: skip
    try:
        return (type(G) is nx.DiGraph and all(getattr(G, f) is dict for f in factories)
                and G._adj is G._succ and not (G._node or G._succ or G._pred))  # fmt: skip
    except AttributeError:  # a networkx that keeps its graph otherwise
        return False


def bulk_tree(
    nodes: Sequence[Hashable],
    attrs: Sequence[dict[str, Any]],
    parents: Sequence[Hashable | None],
    counts: Sequence[int] | None = None,
) -> nx.DiGraph:
    """The DiGraph that ``add_nodes_from`` and then ``add_edges_from`` make, built in bulk.

    Node ``nodes[i]`` gets ``attrs[i]`` as its attribute dict (taken, not copied: the
    caller passes one new dict per node, never a shared one) and, unless ``parents[i]``
    is None, the edge ``parents[i] -> nodes[i]``. Nodes and edges are in the order given,
    so each node's children are in node order. The ids must be distinct; a parent that is
    not one of them raises KeyError. ``counts``, if given, is each node's number of
    children, where the nodes that have a parent, in order, are the children of the nodes
    in order (breadth-first order, say): each node's children are then the next ones, taken
    without a look-up. networkx's own loops take microseconds per node, most of the time of
    loading a tree of 2,000,000 nodes; here C code fills the same dicts networkx would.
    """
    G = nx.DiGraph()
    keep = list(map(operator.is_not, parents, repeat(None)))
    kids, ups = list(compress(nodes, keep)), list(compress(parents, keep))
    if not _plain_digraph(G):
        G.add_nodes_from(zip(nodes, attrs))
        G.add_edges_from(zip(ups, kids))
        return G
    n = len(nodes)
    data = list(map(dict, repeat((), len(kids))))  # each edge's own (empty) attribute dict
    G._node.update(zip(nodes, attrs))
    succ = G._succ
    if counts is not None:
        edges = zip(kids, data)  # node after node, each takes its next ``count`` edges
        succ.update(zip(nodes, map(dict, map(islice, repeat(edges), counts))))
    else:
        succ.update(zip(nodes, map(dict, repeat((), n))))
        for p, v, d in zip(ups, kids, data):
            succ[p][v] = d
    up = list(map(dict, zip(zip(ups, data))))  # {parent: edge data} of each node that has one
    if len(up) == n - 1:  # one root: its own (empty) dict where it stands
        up.insert(keep.index(False), {})
    elif len(up) < n:
        rest = iter(up)
        up = [next(rest) if k else {} for k in keep]
    G._pred.update(zip(nodes, up))
    return G


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a tree of millions of dicts is built or read.

    Each batch of new containers sets off a collection, and the full ones walk every
    dict made so far, several times over the build; none finds anything to free (the
    builders make no reference cycles). The previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_EVERY_NODE = ("false_accept", "false_reject", "deception", "audit", "exposure")


def validate_tree(G: nx.DiGraph, *, source: str | None = None) -> None:
    """Check that ``G`` is a valid evaluation tree; raise :class:`SpecError` if not.

    Checks the structure (one root, one parent per node, no cycle), that every
    node carries the attributes of its role with valid values, that rules fit
    their number of children, and the graph attributes (``influence``,
    ``blind_spots``). Unknown extra attributes are allowed on graphs (for
    example layout positions); spec files reject unknown keys.

    Parameters
    ----------
    G : networkx.DiGraph
        The tree, edges parent -> child.
    source : str, optional
        What to name in messages (a file path); defaults to ``tree '<name>'``.

    Raises
    ------
    SpecError
        Naming the node and ``key=value`` at fault.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph(influence=0.0, blind_spots={})
    >>> G.add_node("a", prior=0.5, false_accept=0.1, false_reject=0.1,
    ...            deception=0.0, audit=0.0, exposure=1.0)
    >>> validate_tree(G)
    >>> G.nodes["a"]["false_reject"] = -0.1
    >>> validate_tree(G)
    Traceback (most recent call last):
    ...
    rrm_theory.errors.SpecError: tree '<unnamed>': node 'a': false_reject=-0.1 is not a probability in [0, 1]
    """
    label = _label(G, source)
    root = _check_structure(G, label)
    for key in ("influence", "unaided_error", "human_reach"):
        if key in G.graph and _probability(G.graph[key]) is not None:
            raise SpecError(f"{label}: {key}={show_value(G.graph[key])} is not a probability in [0, 1]")
    for v, attrs in G.nodes(data=True):
        where = f"{label}: node {quote(v)}"
        n = G.out_degree(v)
        keys = _EVERY_NODE + (("rule", "coverage") if n else ("prior",))
        for key in keys:
            if key not in attrs:
                raise SpecError(
                    f"{where}: {key} is missing (rrm_theory.from_dict and load_spec fill in every key from "
                    "[defaults] and the built-in values)"
                )
        for key, value in attrs.items():
            if key in _CHECKS and key not in ("parent", "error"):
                check_value(key, value, where)
        if n == 0:
            for key in ("rule", "coverage", "threshold"):
                if key in attrs:
                    raise SpecError(f"{where}: {key}={show_value(attrs[key])} is written on a node with no children")
        else:
            if "prior" in attrs:
                raise SpecError(
                    f"{where}: prior={show_value(attrs['prior'])} is written on an internal node "
                    "(its truth comes from its rule and coverage)"
                )
            rule = parse_rule(attrs["rule"])
            if rule.kind == "at_least" and rule.k is not None and rule.k > n:
                raise SpecError(
                    f"{where}: rule={quote(attrs['rule'])} needs at least {rule.k} children, the node has {n}"
                )
            if rule.kind == "weighted" and "threshold" not in attrs:
                raise SpecError(f"{where}: threshold is missing (rule 'weighted' needs a threshold in (0, 1])")
            if rule.kind != "weighted" and "threshold" in attrs:
                raise SpecError(
                    f"{where}: threshold={show_value(attrs['threshold'])} has no effect: rule is {quote(attrs['rule'])}, "
                    "not 'weighted'"
                )
        if v == root and attrs["audit"] != 0.0:
            raise SpecError(f"{where}: audit={show_value(attrs['audit'])} is written on the root (nobody audits the verdict)")
        if "weight" in attrs and v == root:
            raise SpecError(f"{where}: weight={show_value(attrs['weight'])} has no effect: the root has no parent")
        if "weight" in attrs:
            parent = next(iter(G.pred[v]))
            if G.nodes[parent].get("rule") != "weighted":
                raise SpecError(
                    f"{where}: weight={show_value(attrs['weight'])} has no effect: its parent {quote(parent)} "
                    f"has rule {quote(G.nodes[parent].get('rule'))}, not 'weighted'"
                )
    _check_blind_spots(G, label)


def _check_blind_spots(G: nx.DiGraph, label: str) -> None:
    groups = G.graph.get("blind_spots", {})
    if not isinstance(groups, dict):
        raise SpecError(f"{label}: blind_spots must map group names to groups")
    for name, group in groups.items():
        where = f"{label}: blind spot {quote(name)}"
        if not isinstance(group, dict) or "probability" not in group or "members" not in group:
            raise SpecError(f"{where}: needs 'probability' and 'members'")
        if _probability(group["probability"]) is not None:
            raise SpecError(f"{where}: probability={show_value(group['probability'])} is not a probability in [0, 1]")
        members = group["members"]
        if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
            raise SpecError(f"{where}: members={show_value(members)} is not a list of node names")
        members = list(members)
        if not members:
            raise SpecError(f"{where}: members=[] is empty; name the nodes the group makes approve")
        seen: set[Any] = set()
        for m in members:
            if m in seen:
                raise SpecError(f"{where}: members lists {quote(m)} twice")
            seen.add(m)
            try:
                known = m in G
            except TypeError:
                known = False
            if not known:
                raise SpecError(f"{where}: member {quote(m)} is not a node of the tree")
