"""A validated tree in array form, shared by the analyses and the samplers.

Nodes are numbered in breadth-first order from the root, so a node's children
are consecutive: node ``i``'s children are ``first_child[i] : first_child[i] +
n_children[i]``, and every parent comes before its children.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable, NoReturn

import networkx as nx
import numpy as np

from .errors import SpecError
from .rules import ThresholdForm, parse_rule, threshold_form
from .tree import validate_tree

__all__ = ["Compiled", "compile_tree", "fold_up"]

_FLOAT_KEYS = ("false_accept", "false_reject", "deception", "audit", "exposure")


@dataclass(frozen=True, eq=False)
class Compiled:
    """Arrays describing one tree (node index = breadth-first position)."""

    name: str
    nodes: list[Hashable]
    parent: np.ndarray  # int64, -1 at the root
    level: np.ndarray  # edges from the root
    height: np.ndarray  # edges to the deepest leaf below
    first_child: np.ndarray
    n_children: np.ndarray
    prior: np.ndarray  # NaN on internal nodes
    coverage: np.ndarray  # NaN on leaves
    false_accept: np.ndarray
    false_reject: np.ndarray
    deception: np.ndarray
    audit: np.ndarray
    exposure: np.ndarray
    forms: list[ThresholdForm | None]  # None on leaves
    influence: float
    groups: list[tuple[str, float, np.ndarray]]  # (name, probability, member indices)
    index: dict[Hashable, int] = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.nodes)

    @property
    def is_leaf(self) -> np.ndarray:
        return self.n_children == 0


def compile_tree(G: nx.DiGraph, *, source: str | None = None) -> Compiled:
    """Read a tree into arrays, checking it on the way (O(n), without copying the graph).

    Every analysis compiles its tree, so an edited tree (``tree.nodes[v]["false_accept"]
    = 1.7``) is caught here: the cheap vectorised checks below cover everything
    :func:`~rrm_theory.tree.validate_tree` checks, and when one fails,
    ``validate_tree`` itself names the node and ``key=value``.

    ``source`` names the file in messages (default ``tree '<name>'``).

    Raises
    ------
    SpecError
        The same error a spec file with these values would get.
    """
    if not isinstance(G, nx.DiGraph) or G.is_multigraph() or G.number_of_nodes() == 0:
        _invalid(G, source)
    roots = [v for v, d in G.in_degree() if d == 0]
    if len(roots) != 1:
        _invalid(G, source)
    root = roots[0]
    succ = G._succ  # adjacency dicts; the public views cost a call per lookup
    total = G.number_of_nodes()
    nodes: list[Hashable] = [root]
    counts: list[int] = []
    for v in nodes:  # breadth-first: the list grows while it is read
        kids = succ[v]
        counts.append(len(kids))
        nodes.extend(kids)
        if len(nodes) > total:  # a node reached twice: several parents or a cycle
            _invalid(G, source)
    n = len(nodes)
    index = {v: i for i, v in enumerate(nodes)}
    if n != total or len(index) != n:
        _invalid(G, source)
    n_children = np.array(counts, dtype=np.int64)
    first_child = np.empty(n, dtype=np.int64)
    first_child[0] = 1
    np.cumsum(n_children[:-1], out=first_child[1:])
    first_child[1:] += 1
    parent = np.full(n, -1, dtype=np.int64)
    parent[1:] = np.repeat(np.arange(n), n_children)[: n - 1]
    level = np.zeros(n, dtype=np.int64)
    lo, hi, lv = 0, 1, 0
    while lo < n:  # each level is a contiguous block
        level[lo:hi] = lv
        lo, hi, lv = hi, hi + int(n_children[lo:hi].sum()), lv + 1
    try:
        data = [G._node[v] for v in nodes]
        columns = {k: _column([d[k] for d in data]) for k in _FLOAT_KEYS}
        is_leaf = n_children == 0
        leaves, inner = np.flatnonzero(is_leaf), np.flatnonzero(~is_leaf)
        prior = np.full(n, np.nan)
        coverage = np.full(n, np.nan)
        prior[leaves] = _column([data[i]["prior"] for i in leaves])
        coverage[inner] = _column([data[i]["coverage"] for i in inner])
        forms: list[ThresholdForm | None] = [None] * n
        for i in inner.tolist():
            forms[i] = _form(data, data[i], int(first_child[i]), int(n_children[i]))
    except (KeyError, TypeError, ValueError, OverflowError):
        _invalid(G, source)
    probabilities = [*columns.values(), prior[leaves], coverage[inner]]
    if not all(((x >= 0.0) & (x <= 1.0)).all() for x in probabilities):  # NaN fails both
        _invalid(G, source)
    if columns["audit"][0] != 0.0 or "weight" in data[0] or _misplaced(data, leaves, inner, first_child, n_children):
        _invalid(G, source)
    if not _graph_ok(G, index):
        _invalid(G, source)
    height = np.array(fold_up(parent.tolist(), [0] * n, lambda h, child: max(h, child + 1)), dtype=np.int64)
    groups = [
        (g, float(d["probability"]), np.array(sorted(index[m] for m in d["members"]), dtype=np.int64))
        for g, d in G.graph.get("blind_spots", {}).items()
    ]
    return Compiled(
        name=str(G.graph.get("name", "tree")),
        nodes=nodes,
        parent=parent,
        level=level,
        height=height,
        first_child=first_child,
        n_children=n_children,
        prior=prior,
        coverage=coverage,
        forms=forms,
        influence=float(G.graph.get("influence", 0.0)),
        groups=groups,
        index=index,
        **columns,
    )


_NUMBER_TYPES = (float, int, np.floating, np.integer)


def _column(values: list[object]) -> np.ndarray:
    """Real numbers (not booleans, strings or None) as a float array; ValueError otherwise."""
    if not all(type(x) is float for x in values):  # the usual case, from the loaders
        for x in values:
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, _NUMBER_TYPES):
                raise ValueError(x)
    return np.fromiter(values, dtype=float, count=len(values))


def _misplaced(data: list[dict], leaves: np.ndarray, inner: np.ndarray, first: np.ndarray, count: np.ndarray) -> bool:
    """Keys that have no effect where they are written (validate_tree says which)."""
    for i in leaves.tolist():
        d = data[i]
        if "rule" in d or "coverage" in d or "threshold" in d:
            return True
    for i in inner.tolist():
        d = data[i]
        if "prior" in d or ("threshold" in d) != (d["rule"] == "weighted"):
            return True
        if d["rule"] != "weighted" and any("weight" in data[c] for c in range(first[i], first[i] + count[i])):
            return True
    return False


def _graph_ok(G: nx.DiGraph, index: dict) -> bool:
    graph = G.graph
    for key in ("influence", "unaided_error", "human_reach"):
        if key in graph:
            x = graph[key]
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, _NUMBER_TYPES) or not 0.0 <= float(x) <= 1.0:
                return False
    groups = graph.get("blind_spots", {})
    if not isinstance(groups, dict):
        return False
    for group in groups.values():
        if not isinstance(group, dict) or "probability" not in group or "members" not in group:
            return False
        x, members = group["probability"], group["members"]
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, _NUMBER_TYPES) or not 0.0 <= float(x) <= 1.0:
            return False
        if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
            return False
        members = list(members)
        try:
            if not members or len(set(members)) != len(members) or not all(m in index for m in members):
                return False
        except TypeError:  # an unhashable member
            return False
    return True


def _invalid(G: object, source: str | None = None) -> NoReturn:
    """Let validate_tree name what is wrong (the cheap checks only know that something is)."""
    validate_tree(G, source=source)  # type: ignore[arg-type]
    raise SpecError(f"tree {getattr(G, 'graph', {}).get('name', '<unnamed>')!r}: is not a valid evaluation tree")


def fold_up(parent: list[int], values: list, combine: Callable) -> list:
    """Fold each node's value into its parent's, children before parents (reverse BFS)."""
    for i in range(len(parent) - 1, 0, -1):
        p = parent[i]
        values[p] = combine(values[p], values[i])
    return values


def _form(data: list[dict], attrs: dict, first: int, count: int) -> ThresholdForm:
    rule = parse_rule(attrs["rule"])  # ValueError on a bad rule: validate_tree names it
    if rule.kind == "at_least" and rule.k is not None and rule.k > count:
        raise ValueError("at_least:K with K above the number of children")
    if rule.kind != "weighted":
        form = threshold_form(rule, count)
    else:
        weights = _column([data[c].get("weight", 1.0) for c in range(first, first + count)])
        threshold = attrs["threshold"]
        if not (np.isfinite(weights).all() and (weights > 0).all()) or _column([threshold])[0] <= 0 or threshold > 1:
            raise ValueError("weights or threshold out of range")
        form = threshold_form(rule, count, weights=weights.tolist(), threshold=float(threshold))
    return form
