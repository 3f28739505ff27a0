"""Hypothesis strategies for evaluation trees and spec dictionaries (needs ``hypothesis``).

Every draw is valid by construction (no filtering). Nodes are drawn one after
another (the size about uniform between ``min_nodes`` and ``max_nodes``), each as
one choice: its rule (an ``at_least`` count is capped at the node's number of
children) and its place, a node on the path from the root to the previous node
(0 is the root, so shrinking makes a star; ``max_depth`` and ``max_branching``
move it to the nearest node with room). Because a node is one choice, the
shrinker can delete it from anywhere, and the nodes after it keep about their
relative depth: a deep witness contracts toward the root. Draws shrink toward
the smallest tree (one node, then a star under the root), the first rule listed
(``"all"``), probability 0, weight 1, threshold 1/2, no groups, no influence.

Model features are off unless asked for, so a test states what it exercises::

    from hypothesis import given
    from rrm_theory.strategies import trees

    @given(trees(max_nodes=5, features={"deception", "blind_spots"}))
    def test_something(tree): ...

``max_free`` bounds how many Bernoulli variables of MODEL.md section 2 have a
probability strictly between 0 and 1 (probabilities drawn past the budget are
rounded to 0 or 1), so that brute-force enumeration over a drawn tree stays
cheap.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Collection

import networkx as nx

try:
    from hypothesis import strategies as st
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ModuleNotFoundError(
        "rrm_theory.strategies needs Hypothesis: pip install 'rrm-theory[hypothesis]'", name=exc.name
    ) from exc

from .spec import from_dict

__all__ = ["FEATURES", "RULE_KINDS", "probabilities", "spec_dicts", "trees"]

#: Model features a strategy can switch on.
FEATURES = frozenset({"deception", "influence", "exposure", "blind_spots", "audit", "coverage", "weights"})
#: Rule kinds, simplest first.
RULE_KINDS = ("all", "any", "majority", "at_least", "weighted")


@lru_cache(maxsize=None)  # strategies are immutable; building one anew per draw is slow
def probabilities(*, low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[float]:
    """Probabilities in [low, high], shrinking to the ends.

    The ends are drawn first (and shrink there), then values away from the
    subnormal range (so brute force, which multiplies raw probabilities, stays
    exact): in [max(low, 1e-3), min(high, 1 - 1e-3)].

    Parameters
    ----------
    low, high : float, keyword-only
        The range, ``0 <= low <= high <= 1``.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of float
        The same (cached) strategy for the same range.

    Raises
    ------
    ValueError
        If the range is not within [0, 1] or ``low > high``.

    Examples
    --------
    >>> from hypothesis import find
    >>> find(probabilities(), lambda p: True)
    0.0
    """
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"need 0 <= low <= high <= 1, got low={low!r}, high={high!r}")
    ends = st.sampled_from(sorted({low, high}))
    inner = st.floats(max(low, 1e-3), min(high, 1 - 1e-3)) if low < 1 - 1e-3 and high > 1e-3 else ends
    return st.one_of(ends, inner)


_THRESHOLDS = (0.5, 1.0, 0.25, 0.75, 0.3)
_PLACES = 12  # resolution of a node's place on the path to the previous node
_WEIGHT_DRAWS = st.sampled_from((1.0, 2.0, 0.5, 3.0, 0.1))
_MEMBERS = st.lists(st.integers(0, 2**16), min_size=1)  # indices taken modulo the number of nodes


@lru_cache(maxsize=64)
def _places(kinds: tuple[str, ...], most_kids: int) -> st.SearchStrategy[tuple[int, str, Any]]:
    # A node's place and rule as ONE choice: (place, rule kind, parameter), place in
    # [0, _PLACES) read by _place; ordered rule first, so the shrinker simplifies the rule
    # with big steps and moves the node toward the root with small ones.
    # One choice per node (plus the list's own "one more?" choice) keeps a node's draws short
    # enough for the shrinker to delete them from the middle of the list, which is how a
    # deep witness contracts toward the root; with several choices per node it cannot.
    rules: list[tuple[str, Any]] = []
    for kind in kinds:
        if kind == "at_least":
            rules += [(kind, j) for j in range(1, most_kids + 1)]
        elif kind == "weighted":
            rules += [(kind, t) for t in _THRESHOLDS]
        else:
            rules.append((kind, None))
    return st.sampled_from([(at, kind, parameter) for kind, parameter in rules for at in range(_PLACES)])


@st.composite
def spec_dicts(
    draw: st.DrawFn,
    *,
    min_nodes: int = 1,
    max_nodes: int = 6,
    max_depth: int | None = None,
    max_branching: int | None = None,
    rules: Collection[str] = RULE_KINDS,
    features: Collection[str] = (),
    rates: st.SearchStrategy[float] | None = None,
    priors: st.SearchStrategy[float] | None = None,
    max_groups: int = 2,
    max_free: int | None = None,
    weights: st.SearchStrategy[float] | None = None,
    thresholds: st.SearchStrategy[float] | None = None,
) -> dict[str, Any]:
    """A spec dictionary (MODEL.md section 6) with every value explicit.

    Parameters
    ----------
    min_nodes, max_nodes : int
        Tree size (``max_nodes`` is lowered to what depth and branching allow).
    max_depth, max_branching : int, optional
        Edges from the root to any leaf; children per node.
    rules : collection of str
        Rule kinds to draw from (:data:`RULE_KINDS`).
    features : collection of str
        Model features to exercise (:data:`FEATURES`); the others keep their
        neutral values (no deception, audit, influence or groups; coverage 1;
        default exposure; weight 1, so a ``weighted`` rule has equal weights).
    rates : strategy, optional
        ``false_accept`` and ``false_reject`` values (default :func:`probabilities`).
    priors : strategy, optional
        Leaves' priors (default :func:`probabilities`).
    max_groups : int
        Most blind-spot groups (with ``"blind_spots"``).
    max_free : int, optional
        Most Bernoulli variables with 0 < p < 1 (module docstring).
    weights : strategy, optional
        Children's weights under a ``weighted`` rule, with the ``"weights"`` feature
        (default: one of 1, 2, 0.5, 3, 0.1).
    thresholds : strategy, optional
        Thresholds of ``weighted`` rules, values in (0, 1] (default: one of 0.5, 1,
        0.25, 0.75, 0.3, drawn with the node's place so that they shrink to 1/2).

    Returns
    -------
    hypothesis.strategies.SearchStrategy of dict
        Spec dictionaries for :func:`rrm_theory.from_dict`, nodes ``n0`` (the root), ``n1``, ...

    Raises
    ------
    ValueError
        When an example is drawn (not when the strategy is built): for an unknown
        feature, or unless ``1 <= min_nodes <= max_nodes``.
    TypeError
        For an unknown option.

    Examples
    --------
    >>> from hypothesis import find
    >>> smallest = find(spec_dicts(), lambda spec: True)
    >>> list(smallest["nodes"]), smallest["nodes"]["n0"]["prior"]
    (['n0'], 0.0)
    """
    unknown = set(features) - FEATURES
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}; valid: {sorted(FEATURES)}")
    if not 1 <= min_nodes <= max_nodes:
        raise ValueError(f"need 1 <= min_nodes <= max_nodes, got {min_nodes}, {max_nodes}")
    capacity = _capacity(max_depth, max_branching)
    on = set(features)
    kinds = tuple(kind for kind in RULE_KINDS if kind in rules) or ("all",)
    most = min(max_nodes, capacity)
    places = _places(kinds, max(1, min(most - 1, max_branching or most)))
    # Nodes are drawn one after another; after k of them, one more with probability about
    # (most - k) / (most - k + 1), which makes the size about uniform between the minimum
    # and ``most`` (Hypothesis's own lists favour short ones). A node's draws, the "one more"
    # and its place, are two choices, so the shrinker can delete it from anywhere.
    first = min(min_nodes, capacity)
    shape = [draw(places) for _ in range(first)]
    while len(shape) < most and draw(_more(most - len(shape))):
        shape.append(draw(places))
    n = len(shape)
    parent: list[int | None] = [None]
    depth = [0]
    kids = [0]
    for i in range(1, n):
        p = _place(shape[i][0], i - 1, parent, depth, kids, max_depth, max_branching)
        parent.append(p)
        depth.append(depth[p] + 1)
        kids.append(0)
        kids[p] += 1
    rates = probabilities() if rates is None else rates
    priors = probabilities() if priors is None else priors
    budget = [max_free]

    def free(value: float) -> float:  # spend the budget on a value the spec uses
        if 0.0 < value < 1.0 and budget[0] is not None:
            if budget[0] == 0:
                return float(round(value))
            budget[0] -= 1
        return value

    def prob(strategy: st.SearchStrategy[float] = probabilities()) -> float:
        return free(draw(strategy))

    nodes: dict[str, dict[str, Any]] = {}
    for i, (_, kind, parameter) in enumerate(shape):
        table: dict[str, Any] = {}
        up = parent[i]
        if up is not None:
            table["parent"] = f"n{up}"
            if nodes[f"n{up}"]["rule"] == "weighted" and "weights" in on:
                table["weight"] = draw(_WEIGHT_DRAWS if weights is None else weights)
            if "audit" in on:
                table["audit"] = prob()
        # Leaves and internal nodes draw the same values (a prior and, with the feature, a
        # coverage), used or not: the shrinker prefers fewer draws, which must not make a
        # chain (one leaf) look simpler than a star.
        prior = draw(priors)
        coverage = draw(probabilities()) if "coverage" in on else 1.0
        if kids[i]:
            table["rule"] = f"at_least:{min(parameter, kids[i])}" if kind == "at_least" else kind
            if kind == "weighted":
                table["threshold"] = parameter if thresholds is None else draw(thresholds)
            if "coverage" in on:
                table["coverage"] = free(coverage)
        else:
            table["prior"] = free(prior)
        table["false_accept"] = prob(rates)
        table["false_reject"] = prob(rates)
        if "deception" in on:
            table["deception"] = prob()
        if "exposure" in on:
            table["exposure"] = prob()
        nodes[f"n{i}"] = table
    spec: dict[str, Any] = {"name": "drawn", "nodes": nodes}
    if "influence" in on:
        spec["influence"] = prob()
    if "blind_spots" in on and max_groups:
        groups = draw(st.lists(_MEMBERS, max_size=max_groups))
        if groups:
            spec["blind_spots"] = {
                f"g{k}": {"probability": prob(), "members": [f"n{m}" for m in dict.fromkeys(m % n for m in raw)]}
                for k, raw in enumerate(groups)
            }
    return spec


def _place(
    at: int,
    last: int,
    parent: list[int | None],
    depth: list[int],
    kids: list[int],
    max_depth: int | None,
    max_branching: int | None,
) -> int:
    # The parent of a new node: a node on the path from the root to the last node (inclusive),
    # at the fraction ``at / _PLACES`` of the way down. So 0 makes a star, each node of the
    # path is about equally likely, and deleting a node from the drawn list keeps the others
    # at about the same relative depth: the shrinker's deletions contract a deep witness
    # toward the root. When limits leave that node no room, the nearest node on the path
    # with room, else the first node with room.
    def fits(j: int) -> bool:
        return (max_depth is None or depth[j] < max_depth) and (max_branching is None or kids[j] < max_branching)

    path = [last]
    while (up := parent[path[-1]]) is not None:
        path.append(up)
    path.reverse()  # path[d] is at depth d
    want = at * len(path) // _PLACES
    for d in sorted(range(len(path)), key=lambda d: (abs(d - want), d)):
        if fits(path[d]):
            return path[d]
    return next(j for j in range(last + 1) if fits(j))


@lru_cache(maxsize=None)
def _more(room: int) -> st.SearchStrategy[int]:
    return st.integers(0, room)  # 0 (stop) is where it shrinks


def _capacity(max_depth: int | None, max_branching: int | None) -> int:
    if max_depth == 0:
        return 1
    if max_depth is None or max_branching is None:
        return 10**9
    return sum(max_branching**d for d in range(max_depth + 1))


def trees(**options: Any) -> st.SearchStrategy[nx.DiGraph]:
    """Validated evaluation trees: :func:`spec_dicts` (same options) passed through ``from_dict``.

    Parameters
    ----------
    **options
        The keyword options of :func:`spec_dicts`.

    Returns
    -------
    hypothesis.strategies.SearchStrategy of networkx.DiGraph

    Raises
    ------
    ValueError
        When an example is drawn, as :func:`spec_dicts`.
    TypeError
        For an unknown option.

    Examples
    --------
    >>> from hypothesis import find
    >>> tree = find(trees(max_nodes=4), lambda t: t.number_of_nodes() == 3)
    >>> sorted(tree.edges)
    [('n0', 'n1'), ('n0', 'n2')]
    """
    return spec_dicts(**options).map(from_dict)
