"""Hypothesis strategies for evaluation trees and spec dictionaries (needs ``hypothesis``).

Every draw is valid by construction (no filtering): parents are drawn among
earlier nodes that still have room under ``max_depth`` and ``max_branching``,
rules among those that fit a node's number of children, blind-spot members
among the nodes. Draws shrink toward the smallest tree (one node, then a star
under the root), the first rule listed (``"all"``), probability 0, weight 1,
threshold 1/2, no groups, no influence.

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

from typing import Any, Collection

import networkx as nx
from hypothesis import strategies as st

from .spec import from_dict

__all__ = ["FEATURES", "RULE_KINDS", "probabilities", "spec_dicts", "trees"]

#: Model features a strategy can switch on.
FEATURES = frozenset({"deception", "influence", "exposure", "blind_spots", "audit", "coverage", "weights"})
#: Rule kinds, simplest first.
RULE_KINDS = ("all", "any", "majority", "at_least", "weighted")


def probabilities(*, low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[float]:
    """Probabilities in [low, high]: the ends first (they shrink there), then values away from
    the subnormal range (so brute force, which multiplies raw probabilities, stays exact).

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


def _rules(k: int, kinds: Collection[str]) -> list[str]:
    out = []
    for kind in RULE_KINDS:
        if kind == "at_least" and kind in kinds:
            out += [f"at_least:{j}" for j in range(1, k + 1)]
        elif kind in kinds:
            out.append(kind)
    return out or ["all"]


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
    n = draw(st.integers(min(min_nodes, capacity), min(max_nodes, capacity)))
    rates = probabilities() if rates is None else rates
    priors = probabilities() if priors is None else priors
    budget = [max_free]

    def prob(strategy: st.SearchStrategy[float] = probabilities()) -> float:
        value = draw(strategy)
        if 0.0 < value < 1.0 and budget[0] is not None:
            if budget[0] == 0:
                return float(round(value))
            budget[0] -= 1
        return value

    parent: list[int | None] = [None]
    depth = [0]
    kids = [0]
    for i in range(1, n):
        room = [j for j in range(i) if (max_depth is None or depth[j] < max_depth)
                and (max_branching is None or kids[j] < max_branching)]  # fmt: skip
        p = draw(st.sampled_from(room))
        parent.append(p)
        depth.append(depth[p] + 1)
        kids.append(0)
        kids[p] += 1
    on = set(features)
    nodes: dict[str, dict[str, Any]] = {}
    for i in range(n):
        table: dict[str, Any] = {}
        up = parent[i]
        if up is not None:
            table["parent"] = f"n{up}"
            if nodes[f"n{up}"]["rule"] == "weighted" and "weights" in on:
                table["weight"] = draw(st.sampled_from([1.0, 2.0, 0.5, 3.0, 0.1]))
            if "audit" in on:
                table["audit"] = prob()
        if kids[i]:
            table["rule"] = draw(st.sampled_from(_rules(kids[i], rules)))
            if table["rule"] == "weighted":
                table["threshold"] = draw(st.sampled_from([0.5, 1.0, 0.25, 0.75, 0.3]))
            if "coverage" in on:
                table["coverage"] = prob()
        else:
            table["prior"] = prob(priors)
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
        ids = list(nodes)
        groups = draw(st.lists(st.lists(st.sampled_from(ids), min_size=1, unique=True), max_size=max_groups))
        if groups:
            spec["blind_spots"] = {f"g{k}": {"probability": prob(), "members": m} for k, m in enumerate(groups)}
    return spec


def _capacity(max_depth: int | None, max_branching: int | None) -> int:
    if max_depth == 0:
        return 1
    if max_depth is None or max_branching is None:
        return 10**9
    return sum(max_branching**d for d in range(max_depth + 1))


def trees(**options: Any) -> st.SearchStrategy[nx.DiGraph]:
    """Validated evaluation trees: :func:`spec_dicts` (same options) passed through ``from_dict``.

    Examples
    --------
    >>> from hypothesis import find
    >>> tree = find(trees(max_nodes=4), lambda t: t.number_of_nodes() == 3)
    >>> sorted(tree.edges)
    [('n0', 'n1'), ('n0', 'n2')]
    """
    return spec_dicts(**options).map(from_dict)
