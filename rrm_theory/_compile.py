"""A validated tree in array form, shared by the analyses and the samplers.

Nodes are numbered in breadth-first order from the root, so a node's children
are consecutive: node ``i``'s children are ``first_child[i] : first_child[i] +
n_children[i]``, and every parent comes before its children.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable

import networkx as nx
import numpy as np

from .errors import SpecError
from .rules import ThresholdForm, parse_rule, threshold_form
from .tree import tree_root

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


def compile_tree(G: nx.DiGraph) -> Compiled:
    """Read a validated tree into arrays (trusts validation; reports missing attributes)."""
    root = tree_root(G)
    succ = G._succ  # adjacency dicts; the public views cost a call per lookup
    nodes: list[Hashable] = [root]
    counts: list[int] = []
    for v in nodes:  # breadth-first: the list grows while it is read
        kids = succ[v]
        counts.append(len(kids))
        nodes.extend(kids)
    n = len(nodes)
    index = {v: i for i, v in enumerate(nodes)}
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
        columns = {k: np.fromiter((d[k] for d in data), dtype=float, count=n) for k in _FLOAT_KEYS}
        is_leaf = n_children == 0
        prior = np.full(n, np.nan)
        coverage = np.full(n, np.nan)
        forms: list[ThresholdForm | None] = [None] * n
        for i in np.flatnonzero(is_leaf):
            prior[i] = data[i]["prior"]
        for i in np.flatnonzero(~is_leaf):
            attrs = data[i]
            coverage[i] = attrs["coverage"]
            forms[i] = _form(data, attrs, int(first_child[i]), int(n_children[i]))
    except KeyError as exc:
        raise SpecError(
            f"tree {G.graph.get('name', '<unnamed>')!r}: a node has no {exc.args[0]!r} attribute; "
            "build trees with rrm_theory.load_spec / from_dict, or check one with rrm_theory.validate_tree"
        ) from None
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


def fold_up(parent: list[int], values: list, combine: Callable) -> list:
    """Fold each node's value into its parent's, children before parents (reverse BFS)."""
    for i in range(len(parent) - 1, 0, -1):
        p = parent[i]
        values[p] = combine(values[p], values[i])
    return values


def _form(data: list[dict], attrs: dict, first: int, count: int) -> ThresholdForm:
    rule = parse_rule(attrs["rule"])
    if rule.kind != "weighted":
        return threshold_form(rule, count)
    weights = [data[c].get("weight", 1.0) for c in range(first, first + count)]
    return threshold_form(rule, count, weights=weights, threshold=attrs["threshold"])
