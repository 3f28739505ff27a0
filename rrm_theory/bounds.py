"""Bounds on the root metrics that hold without independence (docs/bounds.md sections 1-4).

The class C keeps the truths' law and each evaluator's marginal response rates
``a_v = P(rho_v(0) = 1)``, ``b_v = P(rho_v(1) = 0)``, and allows any joint law of
the responses (independent of the truths). :func:`bounds` returns the smallest
and largest root ``false_accept``, ``false_reject`` and ``error`` over C:

* ``method="lp"``: the tight bounds, by a linear programme over joint laws of
  the free response bits (small trees; :func:`lp_bounds` also returns the
  extremal joint laws);
* ``method="fast"``: Fréchet, union and Bonferroni inequalities propagated up
  the tree, valid for any tree, at about the cost of an exact analysis.

:func:`concentration` reports Hoeffding and Chernoff bounds beside the exact
tail for count rules (section 4).

References
----------
M. Fréchet (1951). Sur les tableaux de corrélation dont les marges sont données.
W. Hoeffding (1963). Probability inequalities for sums of bounded random variables. JASA 58(301).
H. Chernoff (1952). A measure of asymptotic efficiency for tests of a hypothesis based on the
sum of observations. Ann. Math. Statist. 23(4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Hashable

import networkx as nx
import numpy as np
from scipy.optimize import linprog

from ._compile import Compiled, compile_tree
from ._kernel import node_input, threshold_rule
from .errors import RRMError
from .exact import Forward, analysis_from, forward, forward_compiled
from .rules import parse_rule

__all__ = [
    "Bounds",
    "bounds",
    "fast_bounds",
    "lp_bounds",
    "LPBounds",
    "response_marginals",
    "concentration",
    "MAX_LP_BITS",
    "MAX_LP_BITS_EXPLICIT",
    "poisson_binomial_tail",
]

#: The most free response bits :func:`bounds` hands to the linear programme (2**bits
#: variables; about 0.05 s per solve at 12 bits, 1 to 2 s at 16).
MAX_LP_BITS = 12
#: The most free response bits :func:`lp_bounds` accepts.
MAX_LP_BITS_EXPLICIT = 16
_METRICS = ("false_accept", "false_reject", "error")
_SLACK = 1e-13  # fast bounds are widened by this much against rounding


@dataclass(frozen=True)
class Bounds:
    """Bounds over the class C (None where the metric is undefined).

    Attributes
    ----------
    false_accept, false_reject, error : tuple of float, or None
        ``(lo, hi)``.
    method : str
        ``"lp"`` (tight) or ``"fast"`` (valid, possibly loose).
    """

    false_accept: tuple[float, float] | None
    false_reject: tuple[float, float] | None
    error: tuple[float, float]
    method: str

    def to_dict(self) -> dict[str, Any]:
        """The ``"bounds"`` object of ``rrm-theory analyze --json``."""
        out: dict[str, Any] = {m: (None if getattr(self, m) is None else list(getattr(self, m))) for m in _METRICS}
        out["method"] = self.method
        return out


def response_marginals(tree: nx.DiGraph) -> dict[Hashable, tuple[float, float]]:
    """Every evaluator's marginal response rates ``(a_v, b_v)`` (docs/bounds.md section 1).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"a": {"prior": 0.5, "false_accept": 0.1,
    ...                                       "false_reject": 0.2, "deception": 0.5}}})
    >>> response_marginals(tree)["a"]
    (0.55, 0.1)
    """
    c = compile_tree(tree)
    a, b = _marginals(c)
    return {v: (float(a[i]), float(b[i])) for i, v in enumerate(c.nodes)}


def _marginals(c: Compiled) -> tuple[np.ndarray, np.ndarray]:
    keep = (1.0 - c.deception) * (1.0 - c.influence * c.exposure)
    for _, p, members in c.groups:
        keep[members] *= 1.0 - p
    return 1.0 - (1.0 - c.false_accept) * keep, c.false_reject * keep


def bounds(tree: nx.DiGraph, *, max_lp_bits: int = MAX_LP_BITS) -> Bounds:
    """The tight (LP) bounds where the tree is small enough, else the fast ones.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/flat-ai-feedback.toml")
    >>> b = bounds(tree)
    >>> b.method, [round(x, 4) for x in b.false_accept]
    ('lp', [0.4329, 0.4525])
    >>> b.false_accept[0] <= rrm.exact_analysis(tree).root.false_accept <= b.false_accept[1]
    True
    >>> bounds(rrm.load_spec("models/chip-design.toml")).method   # 14 free response bits
    'fast'
    """
    if len(_free_bits(compile_tree(tree))) <= max_lp_bits:
        return lp_bounds(tree).bounds
    return fast_bounds(tree)


# ----------------------------------------------------------------- fast bounds


def _truth_pass(c: Compiled) -> Forward:
    """The exact pass with the shared events switched off: only the truths' law is used."""
    return forward_compiled(c, truths_only=True)


def _channel(lo: np.ndarray, hi: np.ndarray, a: np.ndarray, b: np.ndarray, *, bad: bool) -> tuple[np.ndarray, np.ndarray]:
    """Range of the report's error rate given the input's in [lo, hi] (docs/bounds.md section 3).

    ``bad=True``: ``alpha_V`` from ``alpha_U``; ``bad=False``: ``beta_V`` from ``beta_U``.
    The upper functions are concave and the lower ones convex, so their extremes
    over [lo, hi] are among the ends and the clipped break points a, b, 1 - a, 1 - b.
    """
    x = np.stack([lo, hi] + [np.clip(p, lo, hi) for p in (a, b, 1.0 - a, 1.0 - b)])
    if bad:
        upper = np.minimum(x, 1.0 - b) + np.minimum(1.0 - x, a)
        lower = np.maximum(0.0, x - b) + np.maximum(0.0, a - x)
    else:
        upper = np.minimum(1.0 - x, b) + np.minimum(x, 1.0 - a)
        lower = np.maximum(0.0, b - x) + np.maximum(0.0, x - a)
    return np.clip(lower.min(axis=0), 0.0, 1.0), np.clip(upper.max(axis=0), 0.0, 1.0)


def fast_bounds(tree: nx.DiGraph) -> Bounds:
    """Bounds valid over the class C for any tree, by inequalities propagated upward.

    See docs/bounds.md section 3 for each inequality. Conditional error rates
    are propagated (not joint probabilities), so the bounds stay meaningful
    however rare the conditioning events are.
    """
    c = compile_tree(tree)
    run = _truth_pass(c)
    a, b = _marginals(c)
    lp = run.lp  # log P(Y_v = y), per node (the plan is trivial)
    t = np.exp(lp[:, 1])
    alpha = np.zeros((c.size, 2))  # [lo, hi] of P(R_v = 1 | Y_v = 0); the root's: of V
    beta = np.zeros((c.size, 2))
    leaves = np.flatnonzero(c.is_leaf)
    _evaluate(leaves, np.zeros((len(leaves), 2)), np.zeros((len(leaves), 2)), a, b, c, alpha, beta)
    identity = np.broadcast_to(np.eye(2), (1, 1, 2, 2))
    for nodes, weights, T in run.groups:
        n = len(weights)
        kids = c.first_child[nodes][:, None] + np.arange(n)
        lp_kids = lp[kids]
        pr_kids = np.broadcast_to(identity, (len(nodes), n, 2, 2))
        lp_rule, _ = _rule_truth(lp_kids, pr_kids, weights, T)
        # P(Y_c = y | rule(Y) = y) and P(Y_c = y, c pivotal) / P(rule(Y) = y), from runs with Y_c held
        given = np.zeros((len(nodes), n, 2))
        pivotal = np.zeros((len(nodes), n, 2))
        if n == 1:  # one child: the rule is its value; it alone decides
            given[:] = 1.0
            pivotal[:] = 1.0
        for j in range(n if n > 1 else 0):
            held = []
            for y in (0, 1):
                lp_held = lp_kids.copy()
                lp_held[:, j] = (0.0, -np.inf) if y == 0 else (-np.inf, 0.0)
                held.append(_rule_truth(lp_held, pr_kids, weights, T)[0])
            with np.errstate(invalid="ignore"):
                for y in (0, 1):
                    same = np.exp(lp_kids[:, j, y] + held[y][:, y] - lp_rule[:, y])
                    other = np.exp(lp_kids[:, j, y] + held[1 - y][:, y] - lp_rule[:, y])
                    given[:, j, y] = np.nan_to_num(same)
                    pivotal[:, j, y] = np.clip(np.nan_to_num(same - other), 0.0, None)
        a_kid, b_kid = alpha[kids], beta[kids]  # (G, n, 2)
        t_kid = t[kids]
        err_hi = (1.0 - t_kid) * a_kid[..., 1] + t_kid * b_kid[..., 1]  # P(R_c != Y_c) upper
        others = err_hi.sum(axis=1, keepdims=True) - err_hi
        rule_alpha = np.empty((len(nodes), 2))
        rule_beta = np.empty((len(nodes), 2))
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            for out, rates, y in ((rule_alpha, a_kid, 0), (rule_beta, b_kid, 1)):
                out[:, 1] = np.minimum(1.0, (rates[..., 1] * given[..., y]).sum(axis=1))
                slack = others / np.exp(lp_rule[:, y])[:, None]
                lower = np.nan_to_num(rates[..., 0] * pivotal[..., y] - slack, nan=0.0, neginf=0.0)
                out[:, 0] = np.clip(lower.max(axis=1), 0.0, out[:, 1])
        cov = c.coverage[nodes]
        lp_node = lp[nodes]
        with np.errstate(divide="ignore", invalid="ignore"):
            w_rule = np.nan_to_num(np.exp(lp_rule[:, 0] - lp_node[:, 0]))
            w_gap = np.nan_to_num(np.exp(lp_rule[:, 1] + np.log1p(-cov) - lp_node[:, 0]))
        alpha_u = np.stack([w_rule * rule_alpha[:, 0] + w_gap * (1.0 - rule_beta[:, 1]),
                            w_rule * rule_alpha[:, 1] + w_gap * (1.0 - rule_beta[:, 0])], axis=1)  # fmt: skip
        _evaluate(nodes, np.clip(alpha_u, 0.0, 1.0), rule_beta, a, b, c, alpha, beta)
    # widen by a hair so that rounding in the steps above can never make a bound invalid
    alpha[0] = (max(0.0, alpha[0, 0] - _SLACK), min(1.0, alpha[0, 1] + _SLACK))
    beta[0] = (max(0.0, beta[0, 0] - _SLACK), min(1.0, beta[0, 1] + _SLACK))
    t_root = float(t[0])
    defined = (np.isfinite(lp[0, 0]), np.isfinite(lp[0, 1]))
    fa = (float(alpha[0, 0]), float(alpha[0, 1])) if defined[0] else None
    fr = (float(beta[0, 0]), float(beta[0, 1])) if defined[1] else None
    p_bad = float(np.exp(lp[0, 0]))
    error = tuple(
        float(min(1.0, (p_bad * alpha[0, k] if defined[0] else 0.0) + (t_root * beta[0, k] if defined[1] else 0.0)))
        for k in (0, 1)
    )
    return Bounds(fa, fr, error, "fast")  # type: ignore[arg-type]


def _rule_truth(lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int) -> tuple[np.ndarray, np.ndarray]:
    if len(weights) == 1:
        return lp[:, 0], pr[:, 0]
    return threshold_rule(lp, pr, weights, T)


def _evaluate(nodes, alpha_u, beta_u, a, b, c: Compiled, alpha, beta) -> None:  # type: ignore[no-untyped-def]
    """Through the evaluator's response and the audit (docs/bounds.md section 3)."""
    keep = (1.0 - c.audit[nodes])[:, None]
    ranges = []
    for rates, bad in ((alpha_u, True), (beta_u, False)):
        lo, hi = _channel(rates[:, 0], rates[:, 1], a[nodes], b[nodes], bad=bad)
        ranges.append(np.stack([lo, hi], axis=1) * keep)
    alpha[nodes], beta[nodes] = ranges


# ----------------------------------------------------------------- linear programme


def _free_bits(c: Compiled) -> list[tuple[int, int]]:
    """(node, which) for every random response bit: which 0 is rho_v(0), 1 is rho_v(1)."""
    a, b = _marginals(c)
    bits = []
    for i in range(c.size):
        if 0.0 < a[i] < 1.0:
            bits.append((i, 0))
        if 0.0 < b[i] < 1.0:
            bits.append((i, 1))
    return bits


@dataclass(frozen=True)
class LPBounds:
    """Tight bounds over C, with the extremal joint laws that attain them.

    Attributes
    ----------
    bounds : Bounds
    bits : list of (node, int)
        The free response bits: ``(v, 0)`` is ``rho_v(0)``, ``(v, 1)`` is ``rho_v(1)``.
        Configuration ``k`` sets bit ``j`` to ``(k >> j) & 1``.
    couplings : dict
        ``(metric, "lo" | "hi")`` -> probabilities of the configurations (an
        extremal joint law of the responses).
    values : dict
        metric -> the metric's value given each configuration.
    """

    bounds: Bounds
    bits: list[tuple[Hashable, int]]
    couplings: dict[tuple[str, str], np.ndarray]
    values: dict[str, np.ndarray]


def lp_bounds(tree: nx.DiGraph, *, max_bits: int = MAX_LP_BITS_EXPLICIT) -> LPBounds:
    """The tight bounds over C by linear programming (docs/bounds.md section 2).

    Raises
    ------
    RRMError
        With more than ``max_bits`` free response bits (use :func:`fast_bounds`).
    """
    c = compile_tree(tree)
    run = _truth_pass(c)
    bits = _free_bits(c)
    if len(bits) > max_bits:
        raise RRMError(
            f"tree {c.name!r}: {len(bits)} free response bits need 2**{len(bits)} LP variables, more than "
            f"max_bits={max_bits}; use fast_bounds"
        )
    a, b = _marginals(c)
    values = _configuration_values(run, bits, a, b)
    K = 1 << len(bits)
    configs = np.arange(K)
    rows: list[np.ndarray] = [np.ones(K)]
    rhs = [1.0]
    for j, (i, which) in enumerate(bits):
        bit = (configs >> j) & 1
        if which == 0:
            rows.append(bit.astype(float))  # P(rho_v(0) = 1) = a_v
            rhs.append(a[i])
        else:
            rows.append(1.0 - bit)  # P(rho_v(1) = 0) = b_v
            rhs.append(b[i])
    A_eq, b_eq = np.array(rows, dtype=float), np.array(rhs)
    found: dict[str, tuple[float, float] | None] = {}
    couplings: dict[tuple[str, str], np.ndarray] = {}
    for metric in _METRICS:
        f = values[metric]
        if np.isnan(f).any():
            found[metric] = None
            continue
        ends = []
        for side, sign in (("lo", 1.0), ("hi", -1.0)):
            res = linprog(sign * f, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            if res.status != 0:  # pragma: no cover - the independent law is always feasible
                raise RRMError(f"tree {c.name!r}: the bounds' linear programme failed: {res.message}")
            q = np.clip(res.x, 0.0, None)
            couplings[(metric, side)] = q / q.sum()
            ends.append(float(np.clip(q @ f / q.sum(), 0.0, 1.0)))
        found[metric] = (ends[0], ends[1])
    result = Bounds(found["false_accept"], found["false_reject"], found["error"], "lp")  # type: ignore[arg-type]
    return LPBounds(result, [(c.nodes[i], w) for i, w in bits], couplings, values)


def _configuration_values(
    run: Forward, bits: list[tuple[int, int]], a: np.ndarray, b: np.ndarray
) -> dict[str, np.ndarray]:
    """Each metric given each configuration of the free response bits (truths and audits averaged)."""
    c = run.plan.c
    K = 1 << len(bits)
    configs = np.arange(K)
    rho0 = np.repeat((a >= 1.0)[None, :], K, axis=0).astype(float)  # fixed bits
    rho1 = np.repeat((b <= 0.0)[None, :], K, axis=0).astype(float)
    for j, (i, which) in enumerate(bits):
        (rho0 if which == 0 else rho1)[:, i] = (configs >> j) & 1
    lp_all = np.empty((c.size, K, 2))
    pr_all = np.empty((c.size, K, 2, 2))
    pv_root = None

    def respond(nodes: np.ndarray, lp_n: np.ndarray, pu: np.ndarray) -> None:
        nonlocal pv_root
        # pu: (G, K, 2, 2); V = rho(U)
        r0, r1 = rho0[:, nodes].T[..., None], rho1[:, nodes].T[..., None]
        pv = np.empty_like(pu)
        pv[..., 1] = pu[..., 0] * r0 + pu[..., 1] * r1
        pv[..., 0] = pu[..., 0] * (1.0 - r0) + pu[..., 1] * (1.0 - r1)
        keep = (1.0 - c.audit[nodes])[:, None, None, None]
        lp_all[nodes] = lp_n
        pr_all[nodes] = keep * pv + (1.0 - keep) * np.eye(2)
        if 0 in nodes.tolist():
            pv_root = pv[nodes.tolist().index(0)]

    leaves = np.flatnonzero(c.is_leaf)
    lp_leaf = np.repeat(run.lp[leaves][:, None], K, axis=1)
    respond(leaves, lp_leaf, np.broadcast_to(np.eye(2), (len(leaves), K, 2, 2)).copy())
    for nodes, weights, T in run.groups:
        kids = c.first_child[nodes][:, None] + np.arange(len(weights))
        G = len(nodes)
        lp_k = lp_all[kids].transpose(0, 2, 1, 3).reshape(G * K, len(weights), 2)
        pr_k = pr_all[kids].transpose(0, 2, 1, 3, 4).reshape(G * K, len(weights), 2, 2)
        cov = np.repeat(c.coverage[nodes], K)
        lp_n, pu = node_input(lp_k, pr_k, weights, T, cov)
        respond(nodes, lp_n.reshape(G, K, 2), pu.reshape(G, K, 2, 2))
    assert pv_root is not None
    p_bad, p_good = np.exp(run.lp[0])
    nan = np.full(K, np.nan)
    return {
        "false_accept": pv_root[:, 0, 1] if np.isfinite(run.lp[0, 0]) else nan,
        "false_reject": pv_root[:, 1, 0] if np.isfinite(run.lp[0, 1]) else nan,
        "error": p_bad * pv_root[:, 0, 1] + p_good * pv_root[:, 1, 0],
    }


# ----------------------------------------------------------------- concentration


def _tail(p: np.ndarray, k: int) -> float:
    """P(S >= k) for S a sum of independent Bernoulli(p) (Poisson binomial), exactly."""
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1.0 - q) + dist[:-1] * q
        dist[0] *= 1.0 - q
    return float(dist[max(k, 0):].sum())


poisson_binomial_tail = _tail


def _kl(x: float, y: float) -> float:
    """Relative entropy between Bernoulli(x) and Bernoulli(y)."""
    out = 0.0
    if x > 0:
        out += x * math.log(x / y)
    if x < 1:
        out += (1 - x) * math.log((1 - x) / (1 - y))
    return out


def _tails(p: np.ndarray, k: int) -> dict[str, float]:
    n, mu = len(p), float(p.sum())
    hoeffding = math.exp(-2.0 * (k - mu) ** 2 / n) if k > mu else 1.0
    chernoff = 1.0
    if k / n > mu / n:
        chernoff = 0.0 if mu == 0.0 else math.exp(-n * _kl(k / n, mu / n))
    return {"errors_needed": k, "exact": _tail(p, k), "hoeffding": hoeffding, "chernoff": chernoff}


def concentration(tree: nx.DiGraph) -> list[dict[str, Any]]:
    """Hoeffding and Chernoff bounds beside the exact tail, for count-rule nodes (section 4).

    For every ``majority`` or ``at_least:K`` node: the probability that its
    input is wrong when all its children's truths are equal, if its children err
    independently at the rates the exact analysis gives them (what the parent
    sees: ``(1 - audit) * false_reject`` when the truth is good,
    ``(1 - audit) * false_accept`` when bad).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.balanced(1, 5, rule="majority", error=0.1, prior=0.5)
    >>> row = concentration(tree)[0]
    >>> row["good"]["errors_needed"], round(row["good"]["exact"], 5)
    (3, 0.00856)
    >>> row["good"]["exact"] <= row["good"]["chernoff"] <= row["good"]["hoeffding"]
    True
    """
    analysis = analysis_from(tree, forward(tree))
    out = []
    for v in tree:
        kids = list(tree.successors(v))
        if not kids:
            continue
        rule = parse_rule(tree.nodes[v]["rule"])
        if rule.kind not in ("majority", "at_least"):
            continue
        n = len(kids)
        T = n // 2 + 1 if rule.kind == "majority" else int(rule.k)  # type: ignore[arg-type]
        keep = np.array([1.0 - tree.nodes[k]["audit"] for k in kids])
        row: dict[str, Any] = {"node": str(v), "rule": str(rule), "children": n}
        for side, metric, k in (("good", "false_reject", n - T + 1), ("bad", "false_accept", T)):
            rates = [getattr(analysis.per_node[kid], metric) for kid in kids]
            row[side] = None if any(r is None for r in rates) else _tails(keep * np.array(rates), k)
        out.append(row)
    return out

