"""Hypothesis strategies for small spec dictionaries that use every feature of MODEL.md.

Valid by construction (no filtering): parents are drawn among earlier nodes, rules
among those that fit the number of children, blind-spot members among the nodes.
Draws shrink toward one node, the first rule, probability 0 and no groups.

``max_free`` bounds the number of Bernoulli variables with 0 < p < 1 (as
``tests/reference.py`` counts them), so that brute-force enumeration stays cheap:
once the budget is spent, further probabilities are rounded to 0 or 1.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Exact 0 and 1 first (shrink targets), then values away from the subnormal range,
# where brute force, which multiplies raw probabilities, would lose precision.
PROBABILITIES = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.001, 0.999))
WEIGHTS = st.sampled_from([1.0, 2.0, 0.5, 0.1, 0.2, 0.7, 3.0])
THRESHOLDS = st.sampled_from([0.5, 1.0, 0.3, 0.7, 0.8, 0.25, 0.6])


def rules_for(n: int) -> list[str]:
    return ["all", "any", "majority", "weighted"] + [f"at_least:{k}" for k in range(1, n + 1)]


@st.composite
def tree_specs(draw: st.DrawFn, *, max_nodes: int = 5, max_free: int = 16) -> dict[str, Any]:
    """A spec dict with every value explicit (no ``[defaults]``)."""
    n = draw(st.integers(1, max_nodes))
    parent: list[int | None] = [None] + [draw(st.integers(0, i - 1)) for i in range(1, n)]
    kids = [[j for j in range(n) if parent[j] == i] for i in range(n)]
    budget = max_free

    def prob() -> float:
        nonlocal budget
        value = draw(PROBABILITIES)
        if 0.0 < value < 1.0:
            if budget == 0:
                return float(round(value))
            budget -= 1
        return value

    nodes: dict[str, dict[str, Any]] = {}
    for i in range(n):
        table: dict[str, Any] = {}
        if parent[i] is not None:
            table["parent"] = f"n{parent[i]}"
            if nodes[f"n{parent[i]}"]["rule"] == "weighted":
                table["weight"] = draw(WEIGHTS)
            table["audit"] = prob()
        if kids[i]:
            table["rule"] = draw(st.sampled_from(rules_for(len(kids[i]))))
            if table["rule"] == "weighted":
                table["threshold"] = draw(THRESHOLDS)
            table["coverage"] = prob()
        else:
            table["prior"] = prob()
        for key in ("false_accept", "false_reject", "deception", "exposure"):
            table[key] = prob()
        nodes[f"n{i}"] = table
    spec: dict[str, Any] = {"name": "drawn", "influence": prob(), "nodes": nodes}
    ids = list(nodes)
    groups = draw(st.lists(st.lists(st.sampled_from(ids), min_size=1, unique=True), max_size=3))
    if groups:
        spec["blind_spots"] = {f"g{k}": {"probability": prob(), "members": m} for k, m in enumerate(groups)}
    return spec
