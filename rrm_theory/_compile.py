"""A validated tree in array form, shared by the analyses and the samplers (MODEL.md sections 2 and 6).

Nodes are numbered in breadth-first order from the root, so a node's children
are consecutive (node ``i``'s children are ``first_child[i] : first_child[i] +
n_children[i]``), every parent comes before its children and every level is
one contiguous block.

Reading a graph is a few passes over its attribute dicts, each done by C code
(``map``, ``itemgetter``, ``np.fromiter``): a node that carries exactly the
keys of its role costs no Python statement of its own. Rules are reduced once
per distinct (rule, number of children), as trees repeat a few shapes; only
nodes with more keys than their role needs (a ``difficulty``, a ``weight``,
a ``threshold``) are looked at one by one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, compress, islice
from operator import itemgetter
from typing import Callable, Hashable, NoReturn

import networkx as nx
import numpy as np

from .errors import SpecError
from .rules import ThresholdForm, parse_rule, threshold_form
from .tree import _CHECKS, _probability, _threshold, _weight, validate_tree

__all__ = ["Compiled", "compile_tree", "fold_up"]

_FLOAT_KEYS = ("false_accept", "false_reject", "deception", "audit", "exposure")
_LEAF_KEYS = frozenset(_FLOAT_KEYS + ("prior",))
_INNER_KEYS = frozenset(_FLOAT_KEYS + ("rule", "coverage"))
_ARRAYS = ("parent", "level", "height", "first_child", "n_children", "prior", "coverage", *_FLOAT_KEYS,
           "order", "shape")  # fmt: skip


@dataclass(frozen=True, eq=False)
class Compiled:
    """An evaluation tree read into arrays, validated once: what every analysis runs on.

    Build it with :func:`compile_tree`. :func:`~rrm_theory.exact_analysis`,
    :func:`~rrm_theory.monte_carlo`, :func:`~rrm_theory.bounds`,
    :func:`~rrm_theory.fast_bounds`, :func:`~rrm_theory.lp_bounds`,
    :func:`~rrm_theory.robustness` and (for trees without shared events)
    :func:`~rrm_theory.importance` accept it in place of the graph, with the same
    results, so a sweep of analyses over one tree reads and checks the graph once.
    It is immutable: the arrays are read-only, the sequences tuples (a compiled tree
    is built by :func:`compile_tree` only; it is not re-validated). Node index
    ``i`` is the node's breadth-first position from the root (the root is 0; a
    node's children are consecutive; each level is a contiguous block).

    Attributes
    ----------
    name : str
        The tree's name.
    nodes : tuple of hashable
        The node ids, by index.
    parent : ndarray of int64
        Each node's parent's index, -1 at the root.
    level, height : ndarray of int64
        Edges from the root, and edges down to the deepest leaf below.
    first_child, n_children : ndarray of int64
        Node ``i``'s children are ``first_child[i] : first_child[i] + n_children[i]``.
    prior, coverage : ndarray of float
        On leaves and on internal nodes respectively (NaN elsewhere).
    false_accept, false_reject, deception, audit, exposure : ndarray of float
        Every node's rates (MODEL.md section 2.3).
    forms : tuple of ThresholdForm or None
        Each internal node's rule as integer weights and threshold
        (:func:`~rrm_theory.rules.threshold_form`); None on leaves.
    influence : float
        P(M = 1), the tree's manipulation event.
    groups : tuple of (str, float, ndarray)
        The blind spots: ``(name, probability, member indices)``.
    index : dict
        Node id -> index.
    order : ndarray of int64
        The indices of the nodes in the graph's iteration order (what orders
        per-node results, as for the graph itself).
    shape : ndarray of int64
        Each internal node's position in ``shapes`` (-1 on leaves).
    shapes : tuple of ThresholdForm
        The distinct rule forms of the tree, in order of first appearance.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.balanced(2, 2, rule="all", error=0.1, prior=0.5)
    >>> c = rrm.compile_tree(tree)
    >>> c.size, c.nodes[:3], c.n_children.tolist()
    (7, ('L0_0', 'L1_0', 'L1_1'), [2, 2, 2, 0, 0, 0, 0])
    >>> c.shapes, c.shape.tolist()
    ((ThresholdForm(weights=(1, 1), threshold=2),), [0, 0, 0, -1, -1, -1, -1])
    >>> rrm.exact_analysis(c) == rrm.exact_analysis(tree)
    True
    >>> c.false_accept[0] = 0.5
    Traceback (most recent call last):
    ...
    ValueError: assignment destination is read-only
    """

    name: str
    nodes: tuple[Hashable, ...]
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
    forms: tuple[ThresholdForm | None, ...]  # None on leaves
    influence: float
    groups: tuple[tuple[str, float, np.ndarray], ...]  # (name, probability, member indices)
    order: np.ndarray = field(repr=False)  # node indices in the graph's iteration order
    shape: np.ndarray = field(repr=False)  # position in shapes, -1 on leaves
    shapes: tuple[ThresholdForm, ...] = ()
    _index: dict[Hashable, int] | None = field(default=None, init=False, repr=False)  # built on first use

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: the constructor's own normalisation
        set_(self, "nodes", tuple(self.nodes))
        set_(self, "forms", tuple(self.forms))
        set_(self, "shapes", tuple(self.shapes))
        groups = tuple((str(g), float(p), _frozen(np.asarray(m, dtype=np.int64))) for g, p, m in self.groups)
        set_(self, "groups", groups)
        for name in _ARRAYS:
            _frozen(getattr(self, name))

    @property
    def index(self) -> dict[Hashable, int]:
        """Node id -> index (built on first use; do not modify it)."""
        if self._index is None:
            object.__setattr__(self, "_index", dict(zip(self.nodes, range(len(self.nodes)))))
        return self._index  # type: ignore[return-value]

    @property
    def size(self) -> int:
        """The number of nodes."""
        return len(self.nodes)

    @property
    def is_leaf(self) -> np.ndarray:
        """True on the nodes without children."""
        return self.n_children == 0


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def compile_tree(tree: nx.DiGraph | Compiled, *, source: str | None = None) -> Compiled:
    """Read and check an evaluation tree once, into the immutable array form every analysis runs on.

    Every check of :func:`~rrm_theory.validate_tree` is made, vectorised (an
    edited tree, ``tree.nodes[v]["false_accept"] = 1.7``, is refused), and when
    one fails ``validate_tree`` itself names the node and ``key=value``. The
    cost is O(n) C-level passes over the graph's dicts, without copying it.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree; a :class:`Compiled` tree is returned as it is.
    source : str, optional, keyword-only
        What error messages name (a file path); default ``tree '<name>'``.

    Returns
    -------
    Compiled
        The tree as read-only arrays, nodes in breadth-first order.

    Raises
    ------
    SpecError
        The error a spec file with these values would get, naming the node and key.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.chain(2, error=0.1, prior=0.5)
    >>> c = rrm.compile_tree(tree)
    >>> c.nodes, c.parent.tolist(), c.height.tolist()
    (('L0_0', 'L1_0', 'L2_0'), [-1, 0, 1], [2, 1, 0])
    >>> round(rrm.exact_analysis(c).root.error, 6)
    0.244
    >>> tree.nodes["L1_0"]["false_accept"] = 1.7
    >>> rrm.compile_tree(tree)
    Traceback (most recent call last):
    ...
    rrm_theory.errors.SpecError: tree 'chain-2': node 'L1_0': false_accept=1.7 is not a probability in [0, 1]
    """
    if isinstance(tree, Compiled):
        return tree
    G = tree
    if not isinstance(G, nx.DiGraph) or G.is_multigraph() or G.number_of_nodes() == 0:
        _invalid(G, source)
    pred, succ, attrs = G._pred, G._succ, G._node  # the adjacency dicts: the views cost a call per lookup
    total = len(attrs)
    in_degree = np.fromiter(map(len, pred.values()), dtype=np.int64, count=total)
    roots = np.flatnonzero(in_degree == 0)
    if len(roots) != 1 or (in_degree > 1).any():
        _invalid(G, source)
    # One root and at most one parent each: breadth-first from the root meets every node
    # at most once, and all of them exactly when there is no cycle off to the side.
    nodes, kids, data, in_order = _breadth_first(G, int(roots[0]), next(islice(pred, int(roots[0]), None)))
    n = len(nodes)
    if n != total:
        _invalid(G, source)
    n_children = np.fromiter(map(len, kids), dtype=np.int64, count=n)
    del kids
    first_child = np.empty(n, dtype=np.int64)
    first_child[0] = 1
    np.cumsum(n_children[:-1], out=first_child[1:])
    first_child[1:] += 1
    parent = np.full(n, -1, dtype=np.int64)
    parent[1:] = np.repeat(np.arange(n), n_children)[: n - 1]
    sizes = _level_sizes(first_child + n_children)
    level = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    is_leaf = n_children == 0
    leaves, inner = np.flatnonzero(is_leaf), np.flatnonzero(~is_leaf)
    prior = np.full(n, np.nan)
    coverage = np.full(n, np.nan)
    shape = np.full(n, -1, dtype=np.int64)
    columns = {k: np.empty(n) for k in _FLOAT_KEYS}
    try:
        leaf_data = list(compress(data, is_leaf.tolist()))
        inner_data = list(compress(data, (~is_leaf).tolist()))
        # one look at each node's dict for its numbers (KeyError: a key is missing)
        for part, rows, last in (
            (leaves, list(map(itemgetter(*_FLOAT_KEYS, "prior"), leaf_data)), prior),
            (inner, list(map(itemgetter(*_FLOAT_KEYS, "coverage"), inner_data)), coverage),
        ):
            _reals(rows)
            table = np.fromiter(chain.from_iterable(rows), dtype=float, count=6 * len(part)).reshape(-1, 6)
            for j, k in enumerate(_FLOAT_KEYS):
                columns[k][part] = table[:, j]
            last[part] = table[:, 5]
        rules = list(map(itemgetter("rule"), inner_data))
        lengths = np.fromiter(map(len, data), dtype=np.int64, count=n)
        extra = np.flatnonzero(lengths != np.where(is_leaf, len(_LEAF_KEYS), len(_INNER_KEYS)))
        misplaced = _misplaced(data, extra, is_leaf, parent)
        shapes = _shapes(data, rules, inner, first_child, n_children, shape)
    except (KeyError, TypeError, ValueError, OverflowError):
        _invalid(G, source)
    if misplaced:
        _invalid(G, source)
    probabilities = [*columns.values(), prior[leaves], coverage[inner]]
    if not all(((x >= 0.0) & (x <= 1.0)).all() for x in probabilities):  # NaN fails both
        _invalid(G, source)
    if columns["audit"][0] != 0.0 or not _graph_ok(G):
        _invalid(G, source)
    table_of_forms = np.empty(len(shapes) + 1, dtype=object)
    for k, form in enumerate(shapes):
        table_of_forms[k] = form
    table_of_forms[-1] = None  # shape -1: a leaf
    nodes_t = tuple(nodes)
    index = None
    blind_spots = G.graph.get("blind_spots", {})
    if blind_spots or not (in_order or nodes == list(attrs)):
        index = dict(zip(nodes_t, range(n)))
    groups = [
        (g, float(d["probability"]), np.array(sorted(index[m] for m in d["members"]), dtype=np.int64))
        for g, d in blind_spots.items()
    ]
    compiled = Compiled(
        name=str(G.graph.get("name", "tree")),
        nodes=nodes_t,
        parent=parent,
        level=level,
        height=_heights(sizes, first_child, n_children, parent),
        first_child=first_child,
        n_children=n_children,
        prior=prior,
        coverage=coverage,
        forms=tuple(table_of_forms[shape].tolist()),
        influence=float(G.graph.get("influence", 0.0)),
        groups=tuple(groups),
        order=np.arange(n) if index is None else np.fromiter(map(index.__getitem__, attrs), np.int64, count=n),
        shape=shape,
        shapes=tuple(shapes),
        **columns,
    )
    object.__setattr__(compiled, "_index", index)  # built anyway (or None: on first use)
    return compiled


def _breadth_first(G: nx.DiGraph, at: int, root: Hashable) -> tuple[list[Hashable], list[dict], list[dict], bool]:
    """The nodes reached breadth-first from the root (the ``at``-th node), each one's dict of
    children and attribute dict, and whether that is the graph's own order. Every node has
    at most one parent, so the walk meets each at most once; it meets them all exactly when
    the graph is a tree.

    A graph whose nodes were added in breadth-first order (generated trees, written specs)
    is read in that order, its dicts' values one after the other; else the walk looks each
    node up. At millions of nodes a look-up into the graph's dicts costs cache misses, a
    step to the next value far less. The walk's queue is the list itself, extended while
    it is read (by C code: no statement per node, nor per level, which a chain has as many
    of as nodes)."""
    succ, attrs = G._succ, G._node
    if at == 0 and list(succ) == list(attrs):
        order = list(attrs)
        kids = list(succ.values())
        if order[1:] == list(chain.from_iterable(kids)):
            # the children in order are the nodes in order; each node is a child of an
            # earlier one (it is within the children of the nodes before it): a tree
            seen = np.cumsum(np.fromiter(map(len, kids), dtype=np.int64, count=len(kids)))
            if (np.arange(1, len(order)) <= seen[:-1]).all():
                return order, kids, list(attrs.values()), True
    nodes: list[Hashable] = [root]
    deque(map(nodes.extend, map(succ.__getitem__, nodes)), maxlen=0)
    return nodes, list(map(succ.__getitem__, nodes)), list(map(attrs.__getitem__, nodes)), False


_NUMBER_TYPES = (float, int, np.floating, np.integer)


def _real(x: object) -> bool:
    return not isinstance(x, (bool, np.bool_)) and isinstance(x, _NUMBER_TYPES)


def _reals(rows: list[tuple], *more: list[object]) -> None:
    """ValueError unless every value is a real number (not a boolean, string or None)."""
    kinds = set(map(type, chain.from_iterable(rows))).union(*(map(type, m) for m in more))
    if kinds <= {float}:  # the usual case, from the loaders
        return
    for x in chain(chain.from_iterable(rows), *more):
        if not _real(x):
            raise ValueError(x)


def _column(values: list[object]) -> np.ndarray:
    """Real numbers (not booleans, strings or None) as a float array; ValueError otherwise."""
    _reals([], values)
    return np.fromiter(values, dtype=float, count=len(values))


def _misplaced(data: list[dict], extra: np.ndarray, is_leaf: np.ndarray, parent: np.ndarray) -> bool:
    """Keys beyond those of a node's role (``extra``: the nodes that have some): invalid values,
    or keys that have no effect where they are written (validate_tree says which). Nodes with
    the same keys and role are checked together, a key's values at once."""
    if not len(extra):
        return False
    sets = list(map(tuple, map(data.__getitem__, extra.tolist())))  # the keys, as written (cheaper than sets)
    code = {ks: k for k, ks in enumerate(dict.fromkeys(sets))}
    group = np.fromiter(map(code.__getitem__, sets), dtype=np.int64, count=len(sets)) * 2 + is_leaf[extra]
    for g in np.unique(group).tolist():
        nodes = extra[group == g].tolist()
        leaf = bool(g & 1)
        dicts = list(map(data.__getitem__, nodes))
        for key in data[nodes[0]].keys() - (_LEAF_KEYS if leaf else _INNER_KEYS):
            if (leaf and key in ("rule", "coverage", "threshold")) or (not leaf and key == "prior"):
                return True
            if key == "threshold" and list(map(itemgetter("rule"), dicts)).count("weighted") != len(dicts):
                return True
            if key == "weight":
                if nodes[0] == 0:  # (ascending) the root has no parent to weigh it
                    return True
                rules = [data[p].get("rule") for p in parent[nodes].tolist()]
                if rules.count("weighted") != len(rules):
                    return True
            if key not in ("parent", "error") and not _values_ok(key, list(map(itemgetter(key), dicts))):
                return True
    return False


def _values_ok(key: str, values: list[object]) -> bool:
    """validate_tree's check of ``key`` on every value (floats at once, with numpy)."""
    check = _CHECKS.get(key)
    if check is None:
        return True
    ranges = {_probability: (0.0, True), _threshold: (0.0, False), _weight: (0.0, False)}
    if check in ranges and set(map(type, values)) <= {float}:
        x = np.fromiter(values, dtype=float, count=len(values))
        low, closed = ranges[check]
        ok = (x >= low) if closed else (x > low)
        ok &= (x <= 1.0) if check is not _weight else np.isfinite(x)
        return bool(ok.all())
    return all(check(v) is None for v in values)


def _shapes(data: list[dict], rules: list[object], inner: np.ndarray, first: np.ndarray, count: np.ndarray,
            shape: np.ndarray) -> list[ThresholdForm]:  # fmt: skip
    """The distinct rule forms, in order of first appearance (those of count rules first, then
    the weighted nodes'); fills ``shape`` (position per node). The (rule, number of children)
    pairs are told apart in numpy, the rules by a code each (a tree has a few of them)."""
    counts = count[inner]
    code = {rule: k for k, rule in enumerate(dict.fromkeys(rules))}  # TypeError on an unhashable rule
    names = list(code)
    rule_code = np.fromiter(map(code.__getitem__, rules), dtype=np.int64, count=len(rules))
    key = rule_code * (int(counts.max(initial=0)) + 1) + counts
    distinct, where, inverse = np.unique(key, return_index=True, return_inverse=True)
    ids: dict[ThresholdForm, int] = {}
    form_of = np.full(len(distinct), -1, dtype=np.int64)  # -1: a weighted rule (its children's weights)
    for u in np.argsort(where, kind="stable").tolist():  # in order of first appearance
        j = int(where[u])
        rule = names[int(rule_code[j])]
        if rule != "weighted":
            form_of[u] = ids.setdefault(_count_form(rule, int(counts[j])), len(ids))
    at = form_of[inverse.reshape(-1)]
    for j in np.flatnonzero(at < 0).tolist():
        i = int(inner[j])
        at[j] = ids.setdefault(_weighted_form(data, i, int(first[i]), int(count[i])), len(ids))
    shape[inner] = at
    return list(ids)


@lru_cache(maxsize=1024)
def _count_form(rule: str, count: int) -> ThresholdForm:
    parsed = parse_rule(rule)  # ValueError on a bad rule: validate_tree names it
    if parsed.kind == "at_least" and parsed.k is not None and parsed.k > count:
        raise ValueError("at_least:K with K above the number of children")
    return threshold_form(parsed, count)


def _weighted_form(data: list[dict], i: int, first: int, count: int) -> ThresholdForm:
    weights = _column([data[c].get("weight", 1.0) for c in range(first, first + count)])
    threshold = data[i]["threshold"]
    if not (np.isfinite(weights).all() and (weights > 0).all()) or _column([threshold])[0] <= 0 or threshold > 1:
        raise ValueError("weights or threshold out of range")
    return _weighted_cached(tuple(weights.tolist()), float(threshold))


@lru_cache(maxsize=1024)
def _weighted_cached(weights: tuple[float, ...], threshold: float) -> ThresholdForm:
    return threshold_form(parse_rule("weighted"), len(weights), weights=list(weights), threshold=threshold)


def _level_sizes(end: np.ndarray) -> list[int]:
    """The number of nodes on each level, from ``end[i]`` (one past node ``i``'s last child):
    a level ends where the children of the one above it end."""
    n = len(end)
    if n > 1 and (end[:-1] == np.arange(2, n + 1)).all():
        return [1] * n  # a chain: one node per level
    ends = end.tolist()
    sizes, lo, hi = [], 0, 1
    while lo < hi:
        sizes.append(hi - lo)
        lo, hi = hi, ends[hi - 1]
    return sizes


def _heights(sizes: list[int], first: np.ndarray, count: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Edges down to the deepest leaf: level by level from the bottom (levels are contiguous)
    where levels are few and wide; one pass over the nodes, children first, where they are
    many and narrow (a chain), as a step per level would cost more than one per node."""
    n = len(count)
    if 32 * len(sizes) > n:
        if len(sizes) == n:
            return np.arange(n - 1, -1, -1, dtype=np.int64)  # a chain
        height = [0] * n
        for i, p in zip(range(n - 1, 0, -1), reversed(parent[1:].tolist())):
            if height[i] >= height[p]:
                height[p] = height[i] + 1
        return np.array(height, dtype=np.int64)
    height = np.zeros(n, dtype=np.int64)
    ends = np.cumsum(sizes)
    for lv in range(len(sizes) - 2, -1, -1):
        lo, hi = int(ends[lv] - sizes[lv]), int(ends[lv])
        with_kids = lo + np.flatnonzero(count[lo:hi])
        below = height[hi : ends[lv + 1]]
        height[with_kids] = np.maximum.reduceat(below, first[with_kids] - hi) + 1
    return height


def _graph_ok(G: nx.DiGraph) -> bool:
    graph = G.graph
    for key in ("influence", "unaided_error", "human_reach"):
        if key in graph:
            x = graph[key]
            if not _real(x) or not 0.0 <= float(x) <= 1.0:
                return False
    groups = graph.get("blind_spots", {})
    if not isinstance(groups, dict):
        return False
    for group in groups.values():
        if not isinstance(group, dict) or "probability" not in group or "members" not in group:
            return False
        x, members = group["probability"], group["members"]
        if not _real(x) or not 0.0 <= float(x) <= 1.0:
            return False
        if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
            return False
        members = list(members)
        try:
            if not members or len(set(members)) != len(members) or not all(m in G._node for m in members):
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
