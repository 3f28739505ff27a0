"""Brute-force reference for adversarial robustness (docs/bounds.md section 5).

Written from docs/model.md (sections 2, 3, 7) and docs/bounds.md section 5 alone; it
imports nothing from ``rrm_theory`` and is slow but meant to be obviously correct.

An episode fixes every independent Bernoulli of MODEL section 2: the shared events
``("M",)`` and ``("B", g)``; per leaf ``("Y", v)``; per internal node ``("H", v)``; per node
``("FA", v)`` (the channel flip used when U_v = 0), ``("FR", v)`` (used when U_v = 1),
``("D", v)``, ``("X", v)`` (exposure draw, used when M = 1) and ``("A", v)``.  Variables
with probability exactly 0 or 1 are fixed; the other k are enumerated as 2**k rows
(row i, variable j = bit j of i), each a numpy bool array over the rows.

From an episode: override_v = D_v or (M and X_v) or some B_g with v in g;
rho_v(0) = FA_v or override_v, rho_v(1) = (not FR_v) or override_v.  With a set S of
corrupted evaluators, bottom-up: U_v = Y_v (leaf) or rule_v(R_c); V_v = 1 if v in S else
rho_v(U_v); R_v = Y_v if A_v else V_v.  The adversary wins iff V_root = 1.  The least
winning |S| is found by trying every S (itertools.combinations) in increasing size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable
from fractions import Fraction
from typing import Any

import networkx as nx
import numpy as np

MAX_FREE_VARIABLES = 20
MAX_EVALUATORS = 10
CHANNELS = (("FA", "false_accept"), ("FR", "false_reject"), ("D", "deception"),
            ("X", "exposure"), ("A", "audit"))

Episode = dict[tuple[Hashable, ...], bool]


class _Tree:
    """The checked tree: root, children-first order, children lists, rule tables."""

    def __init__(self, G: nx.DiGraph, root_corruptible: bool = False,
                 limit_evaluators: bool = True) -> None:
        if G.number_of_nodes() == 0 or not nx.is_arborescence(G):
            raise ValueError("the evaluation tree must be a non-empty rooted tree")
        self.G = G
        self.root = next(v for v in G.nodes if G.in_degree(v) == 0)
        self.order = list(reversed(list(nx.topological_sort(G))))
        self.kids = {v: list(G.successors(v)) for v in G.nodes}
        self.table = {v: _accept_table(G, v, self.kids[v]) for v in G.nodes if self.kids[v]}
        groups = G.graph.get("blind_spots") or {}
        if any(m not in G for spec in groups.values() for m in spec["members"]):
            raise ValueError("a blind-spot member is not a node")
        self.groups_of = {v: [g for g, spec in groups.items() if v in spec["members"]]
                          for v in G.nodes}
        self.variables = [(("M",), float(G.graph.get("influence", 0.0)))]
        self.variables += [(("B", g), float(spec["probability"])) for g, spec in groups.items()]
        for v in G.nodes:
            first = ("Y", "prior") if not self.kids[v] else ("H", "coverage")
            self.variables += [((name, v), float(G.nodes[v][key]))
                               for name, key in (first, *CHANNELS)]
        for key, p in self.variables:
            if not 0.0 <= p <= 1.0:  # also rejects NaN
                raise ValueError(f"probability {key}: {p!r} is not in [0, 1]")
        self.free = [(key, p) for key, p in self.variables if 0.0 < p < 1.0]
        if len(self.free) > MAX_FREE_VARIABLES:
            raise ValueError(f"{len(self.free)} free variables; the brute force handles "
                             f"at most {MAX_FREE_VARIABLES}")
        self.allowed = sorted(v for v in G.nodes if root_corruptible or v != self.root)
        if limit_evaluators and len(self.allowed) > MAX_EVALUATORS:
            raise ValueError(f"{len(self.allowed)} corruptible evaluators; the brute force "
                             f"handles at most {MAX_EVALUATORS}")


def _exact(x: Any) -> Fraction:
    return Fraction(repr(float(x)))


def _accept_table(G: nx.DiGraph, v: Hashable, kids: list[Hashable]) -> np.ndarray:
    """table[code] = rule_v(x), where x_i = bit i of code is the value of kids[i]."""
    rule, n = G.nodes[v]["rule"], len(kids)
    table = np.zeros(2 ** n, dtype=bool)
    for code in range(2 ** n):
        x = [(code >> i) & 1 for i in range(n)]
        k = sum(x)
        if rule == "all":
            table[code] = k == n
        elif rule == "any":
            table[code] = k >= 1
        elif rule == "majority":
            table[code] = 2 * k > n  # a tie rejects
        elif rule.startswith("at_least:"):
            K = int(rule[len("at_least:"):])
            if not 1 <= K <= n:
                raise ValueError(f"node {v!r}: {rule} needs 1 <= K <= {n}")
            table[code] = k >= K
        elif rule == "weighted":
            w = [_exact(G.nodes[c].get("weight", 1.0)) for c in kids]
            t = _exact(G.nodes[v]["threshold"])
            if not 0 < t <= 1 or min(w) <= 0:
                raise ValueError(f"node {v!r}: need threshold in (0, 1] and weights > 0")
            table[code] = sum(wc for wc, xc in zip(w, x) if xc) >= t * sum(w)
        else:
            raise ValueError(f"node {v!r}: unknown rule {rule!r}")
    return table


def _apply(table: np.ndarray, xs: list[np.ndarray]) -> np.ndarray:
    code = np.zeros(len(xs[0]), dtype=np.int64)
    for i, x in enumerate(xs):
        code |= x.astype(np.int64) << i
    return table[code]


def _enumerate(T: _Tree) -> tuple[dict[tuple[Hashable, ...], np.ndarray], np.ndarray]:
    """Every episode: variable -> bool array over the 2**k rows, and row probabilities."""
    rows = np.arange(2 ** len(T.free), dtype=np.int64)
    prob = np.ones(len(rows))
    value = {}
    for j, (key, p) in enumerate(T.free):
        value[key] = ((rows >> j) & 1).astype(bool)
        prob *= np.where(value[key], p, 1.0 - p)
    for key, p in T.variables:
        if key not in value:
            value[key] = np.full(len(rows), p == 1.0)
    return value, prob


def _truth(T: _Tree, value: dict) -> dict[Hashable, np.ndarray]:
    Y: dict[Hashable, np.ndarray] = {}
    for v in T.order:
        if not T.kids[v]:
            Y[v] = value["Y", v]
        else:
            Y[v] = _apply(T.table[v], [Y[c] for c in T.kids[v]]) & value["H", v]
    return Y


def _root_approves(T: _Tree, value: dict, Y: dict, S: tuple | list | set) -> np.ndarray:
    """V_root (one bool per row) when the evaluators in S are corrupted; Y = _truth."""
    R: dict[Hashable, np.ndarray] = {}
    for v in T.order:
        override = value["D", v] | (value["M",] & value["X", v])
        for g in T.groups_of[v]:
            override = override | value["B", g]
        if not T.kids[v]:
            U = Y[v]
        else:
            U = _apply(T.table[v], [R[c] for c in T.kids[v]])
        V = np.where(U, ~value["FR", v] | override, value["FA", v] | override)
        if v in S:
            V = np.ones_like(V)
        if v == T.root:
            return V
        R[v] = np.where(value["A", v], Y[v], V)
    raise AssertionError("unreachable: the root comes last")


def worst_false_accept(G: nx.DiGraph, budget: int, *,
                       root_corruptible: bool = False) -> list[float | None]:
    """[P(some S with |S| <= t makes the root approve | Y_root = 0) for t = 0..budget]."""
    if budget < 0:
        raise ValueError("budget must be >= 0")
    T = _Tree(G, root_corruptible)
    value, prob = _enumerate(T)
    bad = ~_truth(T, value)[T.root]
    if not bad.any():
        return [None] * (budget + 1)
    value = {key: x[bad] for key, x in value.items()}  # keep only episodes with Y_root = 0
    prob, Y = prob[bad], _truth(T, value)
    cost = np.full(len(prob), math.inf)  # least winning |S| found so far
    for k in range(min(budget, len(T.allowed)) + 1):
        for S in itertools.combinations(T.allowed, k):
            win = _root_approves(T, value, Y, S)
            cost = np.where(win, np.minimum(cost, k), cost)
    p_bad = float(prob.sum())
    return [float(prob[cost <= t].sum()) / p_bad for t in range(budget + 1)]


def most_likely_bad_outcome(G: nx.DiGraph) -> tuple[Episode, float] | None:
    """The most probable episode with Y_root = 0 (first in row order on ties), and its
    probability; every variable (fixed ones too) is in the dict.  None if P(Y_root = 0) = 0."""
    T = _Tree(G, limit_evaluators=False)
    value, prob = _enumerate(T)
    bad = ~_truth(T, value)[T.root]
    if not bad.any():
        return None
    i = int(np.argmax(np.where(bad, prob, -1.0)))
    return {key: bool(x[i]) for key, x in value.items()}, float(prob[i])


def _one_row(T: _Tree, episode: Episode) -> dict:
    missing = [key for key, _ in T.variables if key not in episode]
    if missing:
        raise ValueError(f"episode lacks variables {missing}")
    return {key: np.array([bool(episode[key])]) for key, _ in T.variables}


def root_approves(G: nx.DiGraph, episode: Episode, S: list | set | tuple) -> bool:
    """Does corrupting exactly the evaluators in S make the root approve on this episode?"""
    T = _Tree(G, limit_evaluators=False)
    value = _one_row(T, episode)
    return bool(_root_approves(T, value, _truth(T, value), set(S))[0])


def min_corruptions_on(G: nx.DiGraph, episode: Episode, *,
                       root_corruptible: bool = False) -> tuple[int | None, list]:
    """Least |S| that makes the root approve on the episode, and one optimal S (sorted;
    the first in combinations order over the sorted evaluators).  (None, []) if none."""
    T = _Tree(G, root_corruptible)
    value = _one_row(T, episode)
    Y = _truth(T, value)
    for k in range(len(T.allowed) + 1):
        for S in itertools.combinations(T.allowed, k):
            if _root_approves(T, value, Y, S)[0]:
                return k, sorted(S)
    return None, []
