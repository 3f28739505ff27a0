"""Reference implementation of the linear-programme bounds (docs/bounds.md sections 1-2).

Written from docs/model.md (sections 2, 3, 7) and docs/bounds.md (sections 1, 2) alone; it
imports nothing from ``rrm_theory`` and is meant to be slow but obviously correct.

Responses.  Evaluator v reports ``V_v = rho_v(U_v)``.  Its marginals are
``a_v = P(rho_v(0) = 1)`` and ``b_v = P(rho_v(1) = 0)`` (``response_marginals``).

Configuration encoding.  ``free_bits(G)`` lists the free response bits as pairs (v, u), in
the order of ``G.nodes`` and, within a node, u = 0 before u = 1; (v, 0) is free when
0 < a_v < 1 and (v, 1) when 0 < b_v < 1.  A configuration is a tuple of 0/1 ints, one per
free bit in that order, entry i being the *value* rho_v(u) of the i-th free bit (so for
(v, 1) the entry 0 means "v rejects good input").  Fixed bits take their forced value:
rho_v(0) = 1 iff a_v = 1, rho_v(1) = 0 iff b_v = 1.  Couplings are {configuration: prob}.

Evaluation.  For a batch of configurations, every truth variable (leaf Y, internal H) and
audit coin A with probability strictly in (0, 1) is enumerated as a column of a boolean
matrix (row i, column j = bit j of i); the others are constants.  Node values are numpy
arrays of shape (configurations, rows), computed children first, and the row
probabilities give P(Y_r = 0, V_r = 1), P(Y_r = 1, V_r = 0), P(V_r != Y_r) per
configuration.  Sizes: at most 14 free response bits and 16 non-constant truth/audit
variables (ValueError beyond).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np
from scipy.optimize import linprog

MAX_FREE_BITS = 14
MAX_TRUTH_AUDIT = 16
METRICS = ("false_accept", "false_reject", "error")
CHUNK = 2 ** 22  # configurations x rows evaluated at once


def _root(G: nx.DiGraph) -> Hashable:
    if G.number_of_nodes() == 0 or not nx.is_arborescence(G):
        raise ValueError("the evaluation tree must be a non-empty rooted tree")
    return next(v for v in G.nodes if G.in_degree(v) == 0)


def response_marginals(G: nx.DiGraph) -> dict[Hashable, tuple[float, float]]:
    """(a_v, b_v) for every node, bounds.md section 1."""
    influence = float(G.graph.get("influence", 0.0))
    groups = G.graph.get("blind_spots") or {}
    out = {}
    for v, d in G.nodes(data=True):
        leaf = G.out_degree(v) == 0
        keep = (1.0 - d.get("deception", 0.0)) * (
            1.0 - influence * d.get("exposure", 1.0 if leaf else 0.0))
        for spec in groups.values():
            if v in spec["members"]:
                keep *= 1.0 - spec["probability"]
        out[v] = (1.0 - (1.0 - d["false_accept"]) * keep, d["false_reject"] * keep)
    return out


def free_bits(G: nx.DiGraph) -> list[tuple[Hashable, int]]:
    """The free response bits (v, u), in the order that configurations use."""
    marg = response_marginals(G)
    return [(v, u) for v in G.nodes for u in (0, 1) if 0.0 < marg[v][u] < 1.0]


def _truth_audit(G: nx.DiGraph, root: Hashable) -> list[tuple[tuple[str, Hashable], float]]:
    out = []
    for v, d in G.nodes(data=True):
        if G.out_degree(v) == 0:
            out.append((("Y", v), float(d["prior"])))
        else:
            out.append((("H", v), float(d.get("coverage", 1.0))))
        if v != root:
            out.append((("A", v), float(d.get("audit", 0.0))))
    return out


def _check_sizes(G: nx.DiGraph) -> None:
    k = len(free_bits(G))
    m = sum(0.0 < p < 1.0 for _, p in _truth_audit(G, _root(G)))
    if k > MAX_FREE_BITS or m > MAX_TRUTH_AUDIT:
        raise ValueError(f"{k} free response bits (max {MAX_FREE_BITS}) and {m} truth/audit "
                         f"variables (max {MAX_TRUTH_AUDIT}): too large for the reference")


def _rule_table(G: nx.DiGraph, v: Hashable, kids: list[Hashable]) -> np.ndarray:
    """table[i] = rule_v(x) where x_c = bit c of i (children in the order of kids)."""
    rule, n = G.nodes[v]["rule"], len(kids)
    if rule == "weighted":
        w = [Fraction(repr(float(G.nodes[c].get("weight", 1.0)))) for c in kids]
        t = Fraction(repr(float(G.nodes[v]["threshold"])))
    out = []
    for i in range(2 ** n):
        x = [(i >> c) & 1 for c in range(n)]
        if rule == "all":
            ok = sum(x) == n
        elif rule == "any":
            ok = sum(x) >= 1
        elif rule == "majority":
            ok = 2 * sum(x) > n
        elif rule.startswith("at_least:"):
            ok = sum(x) >= int(rule.split(":")[1])
        elif rule == "weighted":
            ok = sum(wc * xc for wc, xc in zip(w, x)) >= t * sum(w)
        else:
            raise ValueError(f"unknown rule {rule!r}")
        out.append(ok)
    return np.array(out, dtype=bool)


def _index(xs: list[np.ndarray]) -> np.ndarray:
    """The row of a rule table: bit c is child c's value (arrays broadcast)."""
    dtype = np.uint8 if len(xs) <= 8 else np.int64
    return sum(x.astype(dtype) << dtype(c) for c, x in enumerate(xs))


def _joint(G: nx.DiGraph,
           configs: np.ndarray) -> tuple[np.ndarray, float | None, float | None]:
    """Per configuration (rows of configs): P(Y=0,V=1), P(Y=1,V=0), P(V!=Y) at the root;
    also P(Y_root = 0) and P(Y_root = 1), each None when no episode has it."""
    _check_sizes(G)
    root, bits, marg = _root(G), free_bits(G), response_marginals(G)
    configs = np.asarray(configs, dtype=bool).reshape(len(configs), len(bits))
    variables = _truth_audit(G, root)
    free = [(key, p) for key, p in variables if 0.0 < p < 1.0]
    rows = np.arange(2 ** len(free))
    prob = np.ones(len(rows))
    val: dict[Any, np.ndarray] = {}
    for j, (key, p) in enumerate(free):
        val[key] = ((rows >> j) & 1).astype(bool)[None, :]
        prob *= np.where(val[key][0], p, 1.0 - p)
    for key, p in variables:
        val.setdefault(key, np.full((1, len(rows)), p == 1.0))
    order = list(reversed(list(nx.topological_sort(G))))
    tables = {v: _rule_table(G, v, list(G.successors(v))) for v in order if G.out_degree(v)}
    out: list[np.ndarray] = []
    step = max(1, CHUNK // len(rows))
    for start in range(0, max(len(configs), 1), step):
        zs = configs[start:start + step]
        rho = {(v, u): np.full((1, 1), marg[v][0] == 1.0 if u == 0 else marg[v][1] < 1.0)
               for v in G.nodes for u in (0, 1)}
        for i, bit in enumerate(bits):
            rho[bit] = zs[:, i][:, None]
        Y: dict[Hashable, np.ndarray] = {}
        R: dict[Hashable, np.ndarray] = {}
        for v in order:
            kids = list(G.successors(v))
            if not kids:
                Y[v] = U = val["Y", v]
            else:
                Y[v] = tables[v][_index([Y[c] for c in kids])] & val["H", v]
                U = tables[v][_index([R[c] for c in kids])]
            V = np.where(U, rho[v, 1], rho[v, 0])
            R[v] = np.where(val["A", v], Y[v], V) if v != root else V
        y = Y[root][0]
        # P(Y=0, V=1) = sum over rows with Y = 0 and V = 1;  P(Y=1, V=0) = P(Y=1) - P(Y=1, V=1)
        both = np.broadcast_to(R[root], (len(zs), len(rows))).astype(float) @ np.stack(
            [np.where(y, 0.0, prob), np.where(y, prob, 0.0)], axis=1)
        fa, fr = both[:, 0], prob[y].sum() - both[:, 1]
        out.append(np.stack([fa, fr, fa + fr], axis=1))
    return (np.concatenate(out)[:len(configs)], float(prob[~y].sum()) if (~y).any() else None,
            float(prob[y].sum()) if y.any() else None)


def _denominator(metric: str, p0: float | None, p1: float | None) -> float | None:
    return {"false_accept": p0, "false_reject": p1, "error": 1.0}[metric]


def lp_bounds_reference(G: nx.DiGraph) -> dict[str, Any]:
    """Min and max of each root metric over the class C, with the optimal couplings."""
    _check_sizes(G)
    bits, marg = free_bits(G), response_marginals(G)
    configs = np.array(list(itertools.product((0, 1), repeat=len(bits))),
                       dtype=np.int64).reshape(2 ** len(bits), len(bits))
    joint, p0, p1 = _joint(G, configs)
    A_eq = [np.ones(len(configs))]
    b_eq = [1.0]
    for i, (v, u) in enumerate(bits):  # P(rho_v(0) = 1) = a_v;  P(rho_v(1) = 0) = b_v
        A_eq.append(configs[:, i] if u == 0 else 1 - configs[:, i])
        b_eq.append(marg[v][u])
    result: dict[str, Any] = {"couplings": {}}
    for j, metric in enumerate(METRICS):
        denom = _denominator(metric, p0, p1)
        if denom is None:
            result[metric] = result["couplings"][metric] = None
            continue
        f = joint[:, j] / denom
        ends, laws = [], {}
        for name, sign in (("lo", 1.0), ("hi", -1.0)):
            res = linprog(sign * f, A_eq=np.array(A_eq, dtype=float), b_eq=b_eq,
                          bounds=(0, None), method="highs")
            if res.status != 0:
                raise RuntimeError(f"linprog failed for {metric} {name}: {res.message}")
            ends.append(float(f @ res.x))
            laws[name] = {tuple(int(b) for b in z): float(x)
                          for z, x in zip(configs, res.x) if x > 1e-12}
        result[metric] = (ends[0], ends[1])
        result["couplings"][metric] = laws
    return result


def metric_under_coupling(G: nx.DiGraph, q: dict[tuple[int, ...], float],
                          metric: str) -> float:
    """The root metric when the responses follow the joint law q (encoding above)."""
    configs = list(q)
    joint, p0, p1 = _joint(G, np.array(configs, dtype=np.int64))
    denom = _denominator(metric, p0, p1)
    if denom is None:
        raise ValueError(f"{metric} is undefined for this tree")
    weights = np.array([q[z] for z in configs], dtype=float)
    return float(weights @ joint[:, METRICS.index(metric)] / denom)
