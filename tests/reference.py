"""Reference implementation of the evaluation-tree model, for checking the engine.

Written from /work/shared/MODEL.md alone (sections 2 and 3), as an independent check:
it imports nothing from ``rrm_theory`` and is meant to be slow but obviously correct.

``brute_force`` lists every independent Bernoulli variable of one episode (MODEL.md 2):
the shared events ``M`` and ``B_g``; per leaf ``Y_v``; per internal node ``H_v``; per
node the two error-channel draws (``FA_v`` is used when ``U_v = 0``, ``FR_v`` when
``U_v = 1``), ``D_v``, the exposure draw ``X_v`` (used when ``M = 1``) and ``A_v``.
Variables with probability exactly 0 or 1 are fixed; the other k variables are
enumerated as the 2**k rows of a boolean matrix (row i, column j = bit j of i).  Each
node's ``Y``, ``U``, ``W``, ``V`` and ``R`` is then a boolean numpy array over the rows,
computed children first, and each row's probability is the product of p or 1 - p
over the enumerated variables.  A metric is the sum of the probabilities of the rows
where its event holds.  Every row has strictly positive probability, so a conditioning
event has probability exactly 0 iff no row satisfies it; the metric is then None.

``sample_episodes`` is a plain per-episode Monte Carlo loop over the same variables.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np

MAX_FREE_VARIABLES = 22
CHANNELS = (("FA", "false_accept"), ("FR", "false_reject"), ("D", "deception"),
            ("X", "exposure"), ("A", "audit"))

Metrics = dict[str, float | None]


def _check_tree(G: nx.DiGraph) -> Hashable:
    """Return the root; raise ValueError if G is not a tree or the root has an audit."""
    if G.number_of_nodes() == 0 or not nx.is_arborescence(G):
        raise ValueError("the evaluation tree must be a non-empty rooted tree")
    root = next(v for v in G.nodes if G.in_degree(v) == 0)
    if G.nodes[root].get("audit", 0.0) != 0.0:
        raise ValueError(f"audit on the root {root!r} is an input error")
    return root


def _children_first(G: nx.DiGraph) -> list[Hashable]:
    return list(reversed(list(nx.topological_sort(G))))


def _groups(G: nx.DiGraph) -> dict[Hashable, dict[str, Any]]:
    groups = G.graph.get("blind_spots") or {}
    for g, spec in groups.items():
        for member in spec["members"]:
            if member not in G:
                raise ValueError(f"blind spot {g!r}: member {member!r} is not a node")
    return groups


def _groups_of(G: nx.DiGraph) -> dict[Hashable, list[Hashable]]:
    groups = _groups(G)
    return {v: [g for g, spec in groups.items() if v in spec["members"]] for v in G.nodes}


def _bernoullis(G: nx.DiGraph) -> list[tuple[tuple[Hashable, ...], float]]:
    """Every independent Bernoulli variable of one episode, with its probability."""
    out: list[tuple[tuple[Hashable, ...], float]] = [(("M",), G.graph.get("influence", 0.0))]
    out += [(("B", g), spec["probability"]) for g, spec in _groups(G).items()]
    for v in G.nodes:
        attrs = G.nodes[v]
        if G.out_degree(v) == 0:
            out.append((("Y", v), attrs["prior"]))
        else:
            out.append((("H", v), attrs["coverage"]))
        out += [((name, v), attrs[key]) for name, key in CHANNELS]
    for key, p in out:
        if not 0.0 <= float(p) <= 1.0:  # also rejects NaN
            raise ValueError(f"probability {key}: {p!r} is not in [0, 1]")
    return [(key, float(p)) for key, p in out]


def _count_rule(rule: str, k: Any, n: int) -> Any:
    """The threshold rules of MODEL.md 2.2; k (an int or an int array) children are 1."""
    if rule == "all":
        return k == n
    if rule == "any":
        return k >= 1
    if rule == "majority":
        return 2 * k > n  # a tie rejects
    if rule.startswith("at_least:"):
        K = int(rule[len("at_least:"):])
        if not 1 <= K <= n:
            raise ValueError(f"{rule}: K must be in [1, {n}]")
        return k >= K
    raise ValueError(f"unknown rule {rule!r}")


def _exact(x: Any) -> Fraction:
    """The decimal number as written: Fraction(repr(x)), so 0.1 + 0.2 == 0.3."""
    return Fraction(repr(float(x)))


def _weights(G: nx.DiGraph, v: Hashable, kids: list[Hashable]) -> tuple[list[Fraction], Fraction]:
    weights = [_exact(G.nodes[c].get("weight", 1.0)) for c in kids]
    threshold = _exact(G.nodes[v]["threshold"])
    if not 0 < threshold <= 1 or min(weights) <= 0:
        raise ValueError(f"node {v!r}: need threshold in (0, 1] and weights > 0")
    return weights, threshold


def _rule_scalar(G: nx.DiGraph, v: Hashable, kids: list[Hashable], x: list[bool]) -> bool:
    """rule_v applied to one episode's child values x (in the order of kids)."""
    rule = G.nodes[v]["rule"]
    if rule == "weighted":
        weights, threshold = _weights(G, v, kids)
        return sum(w for w, xc in zip(weights, x) if xc) >= threshold * sum(weights)
    return bool(_count_rule(rule, sum(x), len(x)))


def _rule_arrays(G: nx.DiGraph, v: Hashable, kids: list[Hashable],
                 xs: list[np.ndarray]) -> np.ndarray:
    """rule_v applied row by row to boolean arrays xs (one per child, in the order of kids)."""
    rule = G.nodes[v]["rule"]
    if rule != "weighted":
        return np.asarray(_count_rule(rule, np.sum(xs, axis=0), len(xs)), dtype=bool)
    # Exact in integers: with L the lcm of the weights' denominators, k_c = w_c * L is an
    # integer, and sum w_c x_c >= t * sum w_c  <=>  sum k_c x_c >= ceil(t * sum w_c * L).
    weights, threshold = _weights(G, v, kids)
    L = math.lcm(*(w.denominator for w in weights))
    ints = [int(w * L) for w in weights]
    bound = math.ceil(threshold * sum(weights) * L)
    dtype: Any = np.int64 if sum(ints) < 2**62 else object  # object: Python ints
    total = np.zeros(len(xs[0]), dtype=dtype)
    for k_c, x_c in zip(ints, xs):
        total = total + x_c.astype(dtype) * k_c
    return np.asarray(total >= bound, dtype=bool)


def brute_force(G: nx.DiGraph) -> dict[Hashable, Metrics]:
    """Exact MODEL.md section 3 metrics of every node, by enumerating all episodes."""
    _check_tree(G)
    variables = _bernoullis(G)
    free = [(key, p) for key, p in variables if 0.0 < p < 1.0]
    if len(free) > MAX_FREE_VARIABLES:
        raise ValueError(f"{len(free)} non-deterministic variables; the brute force "
                         f"enumeration handles at most {MAX_FREE_VARIABLES}")
    rows = np.arange(2 ** len(free), dtype=np.int64)
    prob = np.ones(len(rows), dtype=np.float64)
    value: dict[tuple[Hashable, ...], np.ndarray] = {}
    for j, (key, p) in enumerate(free):
        value[key] = ((rows >> j) & 1).astype(bool)
        prob *= np.where(value[key], p, 1.0 - p)
    for key, p in variables:
        if key not in value:  # fixed: p is exactly 0 or 1
            value[key] = np.full(len(rows), p == 1.0)

    groups_of = _groups_of(G)
    Y: dict[Hashable, np.ndarray] = {}
    V: dict[Hashable, np.ndarray] = {}
    R: dict[Hashable, np.ndarray] = {}
    for v in _children_first(G):
        kids = list(G.successors(v))
        if not kids:
            Y[v] = value["Y", v]
            U = Y[v]
        else:
            Y[v] = _rule_arrays(G, v, kids, [Y[c] for c in kids]) & value["H", v]
            U = _rule_arrays(G, v, kids, [R[c] for c in kids])
        W = np.where(U, ~value["FR", v], value["FA", v])
        override = value["D", v] | (value["M",] & value["X", v])
        for g in groups_of[v]:
            override = override | value["B", g]
        V[v] = W | override
        R[v] = np.where(value["A", v], Y[v], V[v])
    return {v: _metrics(Y[v], V[v], prob) for v in G.nodes}


def _metrics(y: np.ndarray, v: np.ndarray, prob: np.ndarray) -> Metrics:
    """The five metrics from row events y (Y = 1), v (V = 1) and row probabilities."""
    def p(event: np.ndarray) -> float:
        return float(prob[event].sum())

    false_accept = p(~y & v) / p(~y) if (~y).any() else None
    false_reject = p(y & ~v) / p(y) if y.any() else None
    return {"p_good": p(y), "error": p(y != v), "false_accept": false_accept,
            "false_reject": false_reject, "youden": _youden(false_accept, false_reject)}


def _youden(false_accept: float | None, false_reject: float | None) -> float | None:
    if false_accept is None or false_reject is None:
        return None
    return 1.0 - false_accept - false_reject


def sample_episodes(G: nx.DiGraph, n: int,
                    rng: np.random.Generator) -> dict[Hashable, dict[str, np.ndarray]]:
    """n episodes simulated one at a time; Y, V, R of every node as bool arrays (n,)."""
    _check_tree(G)
    _bernoullis(G)  # validates every probability
    order = _children_first(G)
    groups, groups_of = _groups(G), _groups_of(G)
    out = {v: {name: np.zeros(n, dtype=bool) for name in "YVR"} for v in G.nodes}

    def draw(p: float) -> bool:
        return bool(rng.random() < p)

    for i in range(n):
        m = draw(G.graph.get("influence", 0.0))
        fired = {g: draw(spec["probability"]) for g, spec in groups.items()}
        Y: dict[Hashable, bool] = {}
        R: dict[Hashable, bool] = {}
        for v in order:
            attrs = G.nodes[v]
            kids = list(G.successors(v))
            if not kids:
                Y[v] = draw(attrs["prior"])
                u = Y[v]
            else:
                h = draw(attrs["coverage"])
                Y[v] = _rule_scalar(G, v, kids, [Y[c] for c in kids]) and h
                u = _rule_scalar(G, v, kids, [R[c] for c in kids])
            fa, fr = draw(attrs["false_accept"]), draw(attrs["false_reject"])
            d, x, a = draw(attrs["deception"]), draw(attrs["exposure"]), draw(attrs["audit"])
            w = (not fr) if u else fa
            verdict = w or d or (m and x) or any(fired[g] for g in groups_of[v])
            R[v] = Y[v] if a else verdict
            out[v]["Y"][i], out[v]["V"][i], out[v]["R"][i] = Y[v], verdict, R[v]
    return out


def metrics_from_samples(samples: dict[Hashable, dict[str, np.ndarray]],
                         node: Hashable) -> Metrics:
    """Plain sample estimates of the five metrics at node (None if never conditioned on)."""
    y, v = samples[node]["Y"], samples[node]["V"]
    false_accept = float(v[~y].mean()) if (~y).any() else None
    false_reject = float((~v[y]).mean()) if y.any() else None
    return {"p_good": float(y.mean()), "error": float((y != v).mean()),
            "false_accept": false_accept, "false_reject": false_reject,
            "youden": _youden(false_accept, false_reject)}
