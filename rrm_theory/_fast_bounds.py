"""The fast bounds: inequalities valid over the class C, propagated up the tree (docs/bounds.md section 3).

For every node v the pass keeps ``t_v = P(Y_v = 1)`` (exact) and intervals for
the error rates ``alpha_v = P(R_v = 1 | Y_v = 0)`` and ``beta_v = P(R_v = 0 | Y_v = 1)``
(at the root: of V). At a rule node two families bound the input's rates from
the children's, and their intersection is kept:

* the union and Bonferroni bounds (section 3.2), from the truth law of the rule
  with one child's truth held (:func:`held_rule_truth`);
* the per-truth-vector Markov bounds (section 3.3), sharp for count rules given
  the children's rates, for nodes of at most ``MAX_ENUMERATED_CHILDREN`` children.

Then coverage (exact), the evaluator (Fréchet) and the audit (exact).
"""

from __future__ import annotations

import numpy as np

from ._compile import Compiled
from ._kernel import held_rule, threshold_rule
from ._chains import by_anchor_step, find_runs
from .exact import Forward, _rule_groups, forward_compiled

__all__ = ["fast_rates", "held_rule_truth", "markov_tail", "MAX_ENUMERATED_CHILDREN"]

#: Rule nodes with at most this many children get the per-truth-vector bounds (2**n vectors each).
MAX_ENUMERATED_CHILDREN = 10
_SLACK = 1e-13  # the root's bounds are widened by this much against rounding
_CHUNK = 1 << 21  # nodes x truth vectors x children**2 per slice of the enumeration
_RUN_MIN = 2  # runs of one-child nodes at least this long go through _Passes


def fast_rates(c: Compiled, a: np.ndarray, b: np.ndarray, run: Forward | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """``log P(Y_root = y)`` and the root's ``[lo, hi]`` of ``alpha_V`` and of ``beta_V``.

    ``a``, ``b`` are the evaluators' marginal response rates (docs/bounds.md section 1);
    ``run``, the truths' pass ``forward_compiled(c, truths_only=True)`` if the caller has it.
    """
    run = forward_compiled(c, truths_only=True) if run is None else run
    lp = run.lp  # log P(Y_v = y), per node (the plan is trivial: one instance per node)
    t = np.exp(lp[:, 1])
    alpha = np.zeros((c.size, 2))  # [lo, hi] of P(R_v = 1 | Y_v = 0); the root's: of V
    beta = np.zeros((c.size, 2))
    leaves = np.flatnonzero(c.is_leaf)
    _evaluate(leaves, np.zeros((len(leaves), 2)), np.zeros((len(leaves), 2)), a, b, c, alpha, beta)
    passes = _Passes(c, lp, a, b, alpha, beta)
    runs = find_runs(c, (c.n_children == 1) & (c.shape >= 0), _RUN_MIN)  # chains go through _Passes
    skip = np.zeros(c.size, dtype=bool)
    if runs is not None:
        skip[runs.nodes] = True
    groups = _rule_groups(run.plan, 2**62, skip)[0]
    chains = {k: (runs.nodes[J], runs.start[J]) for k, J in by_anchor_step(c, runs, groups).items()} \
        if runs is not None else {}  # fmt: skip
    if 0 in chains:
        passes.run(*chains[0])
    for step, (nodes, weights, T) in enumerate(groups, 1):
        n = len(weights)
        kids = c.first_child[nodes][:, None] + np.arange(n)
        lp_kids, a_kid, b_kid = lp[kids], alpha[kids], beta[kids]
        if n == 1:  # the rule passes its one child's value through
            rule_alpha, rule_beta = a_kid[:, 0].copy(), b_kid[:, 0].copy()
            lp_rule = lp_kids[:, 0]
        else:
            lp_rule, rule_alpha, rule_beta = _union_bonferroni(lp_kids, a_kid, b_kid, t[kids], weights, T)
            if n <= MAX_ENUMERATED_CHILDREN:
                lo_hi = _enumerated(lp_kids, a_kid, b_kid, weights, T)
                for out, new in zip((rule_alpha, rule_beta), lo_hi):
                    out[:, 0] = np.maximum(out[:, 0], new[:, 0])
                    out[:, 1] = np.minimum(out[:, 1], new[:, 1])
                    out[:, 0] = np.minimum(out[:, 0], out[:, 1])  # both contain the rate: only rounding differs
        alpha_u = _coverage(lp_rule, lp[nodes], c.coverage[nodes], rule_alpha, rule_beta)
        _evaluate(nodes, alpha_u, rule_beta, a, b, c, alpha, beta)
        if step in chains:
            passes.run(*chains[step])
    # widen by a hair so that rounding in the steps above can never make a bound invalid
    alpha[0] = (max(0.0, alpha[0, 0] - _SLACK), min(1.0, alpha[0, 1] + _SLACK))
    beta[0] = (max(0.0, beta[0, 0] - _SLACK), min(1.0, beta[0, 1] + _SLACK))
    return lp[0], alpha[0], beta[0]


def held_rule_truth(lp_kids: np.ndarray, weights: tuple[int, ...], T: int) -> tuple[np.ndarray, np.ndarray]:
    """The truth law of a threshold rule over independent children, and the same with each child held.

    Parameters
    ----------
    lp_kids : ndarray, shape (G, n, 2)
        ``log P(Y_c = y)``.

    Returns
    -------
    lp_rule : ndarray, shape (G, 2)
        ``log P(rule(Y) = o)``.
    held : ndarray, shape (G, n, 2, 2)
        ``held[g, j, y, o] = log P(rule(Y) = o | Y_j = y)``.

    This is the one place that computes leave-one-out truth laws: the kernel's
    :func:`~rrm_theory._kernel.held_rule` (a forward and a backward pass, not one
    run per child and value).
    """
    G, n, _ = lp_kids.shape
    identity = np.broadcast_to(np.eye(2), (G, n, 2, 2))
    lp_rule = threshold_rule(lp_kids, identity, weights, T)[0]
    held = held_rule(lp_kids, identity, weights, T, truths_only=True)[0]
    return lp_rule, held


def _union_bonferroni(lp_kids, a_kid, b_kid, t_kid, weights, T):  # type: ignore[no-untyped-def]
    """Section 3.2: ``alpha_rule <= sum_c alpha_c P(Y_c = 0 | rule(Y) = 0)`` and the pivotal lower bound."""
    lp_rule, held = held_rule_truth(lp_kids, weights, T)
    G, n, _ = lp_kids.shape
    given = np.zeros((G, n, 2))  # P(Y_c = y | rule(Y) = y)
    pivotal = np.zeros((G, n, 2))  # P(Y_c = y, c pivotal) / P(rule(Y) = y)
    with np.errstate(invalid="ignore"):
        for y in (0, 1):
            same = np.exp(lp_kids[..., y] + held[:, :, y, y] - lp_rule[:, None, y])
            other = np.exp(lp_kids[..., y] + held[:, :, 1 - y, y] - lp_rule[:, None, y])
            given[..., y] = np.nan_to_num(same)
            pivotal[..., y] = np.clip(np.nan_to_num(same - other), 0.0, None)
    err_hi = (1.0 - t_kid) * a_kid[..., 1] + t_kid * b_kid[..., 1]  # P(R_c != Y_c) upper
    others = err_hi.sum(axis=1, keepdims=True) - err_hi
    rule_alpha = np.empty((G, 2))
    rule_beta = np.empty((G, 2))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for out, rates, y in ((rule_alpha, a_kid, 0), (rule_beta, b_kid, 1)):
            out[:, 1] = np.minimum(1.0, (rates[..., 1] * given[..., y]).sum(axis=1))
            slack = others / np.exp(lp_rule[:, y])[:, None]
            lower = np.nan_to_num(rates[..., 0] * pivotal[..., y] - slack, nan=0.0, neginf=0.0)
            out[:, 0] = np.clip(lower.max(axis=1), 0.0, out[:, 1])
    return lp_rule, rule_alpha, rule_beta


def markov_tail(p: np.ndarray, weights: tuple[int, ...], D: int) -> np.ndarray:
    """Upper bound on ``P(sum_c w_c X_c >= D)`` for Bernoulli ``X_c`` with ``P(X_c = 1) <= p_c``, any coupling.

    ``min(1, min_r sum_{c not in A_r} min(w_c, D_r) p_c / D_r)`` with ``A_r`` the r
    largest ``p_c`` and ``D_r = D - w(A_r) > 0`` (docs/bounds.md section 3.3); for
    equal weights this is the sharp bound (Rüschendorf 1981). ``p`` has shape
    ``(..., n)``; the result has shape ``(...)``. The weights and D are the rule's
    integers: every comparison (is ``D_r > 0``?) and cap is exact, only the ratios
    are rounded (with integers past 2**53, as Python integers).
    """
    n = p.shape[-1]
    order = np.argsort(-p, axis=-1, kind="stable")
    ps = np.take_along_axis(p, order, axis=-1)
    exact = sum(weights) < 2**53  # sums of such integers are exact in doubles
    ws = np.asarray(weights, dtype=float if exact else object)[order]
    removed = np.cumsum(ws, axis=-1) - ws  # w(A_r) for r = 0 .. n-1
    Dr = D - removed
    valid = (Dr > 0).astype(bool)
    safe = np.where(valid, Dr, 1)
    if all(w == 1 for w in weights):  # min(w_c, D_r) = 1: suffix sums
        numer = np.cumsum(ps[..., ::-1], axis=-1)[..., ::-1] / safe.astype(float)
    else:
        later = np.arange(n)[None, :] >= np.arange(n)[:, None]  # [r, position]
        capped = np.minimum(ws[..., None, :], safe[..., :, None])
        share = (capped / safe[..., :, None]).astype(float)  # min(w_c, D_r) / D_r, in (0, 1]
        numer = (share * ps[..., None, :] * later).sum(axis=-1)
    ratio = np.where(valid, numer, np.inf)
    return np.minimum(1.0, ratio.min(axis=-1))


def _enumerated(lp_kids, a_kid, b_kid, weights, T):  # type: ignore[no-untyped-def]
    """Section 3.3: per truth vector y, Markov bounds on acceptance and on rejection, averaged over y."""
    G, n, _ = lp_kids.shape
    Y = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1  # (2**n, n)
    accepts = (Y @ np.array(weights, dtype=object) >= T).astype(bool)  # exact, whatever the size of the integers
    T_up, T_down = T, sum(weights) - T + 1
    out_a, out_b = np.empty((G, 2)), np.empty((G, 2))
    step = max(1, _CHUNK // ((1 << n) * n * n))
    for lo in range(0, G, step):
        s = slice(lo, lo + step)
        log_py = np.where(Y[None] == 1, lp_kids[s, None, :, 1], lp_kids[s, None, :, 0]).sum(axis=-1)
        # P(R_c = 1 | Y = y): alpha_c where y_c = 0, 1 - beta_c where y_c = 1
        hi = np.where(Y[None] == 1, 1.0 - b_kid[s, None, :, 0], a_kid[s, None, :, 1])
        lo_ = np.where(Y[None] == 1, 1.0 - b_kid[s, None, :, 1], a_kid[s, None, :, 0])
        accept_hi = markov_tail(hi, weights, T_up)  # P(sum w R >= T | y) <=
        reject_hi = markov_tail(1.0 - lo_, weights, T_down)  # P(sum w (1 - R) >= W - T + 1 | y) <=
        sides = ((out_a, ~accepts, accept_hi, reject_hi), (out_b, accepts, reject_hi, accept_hi))
        for out, side, bad_hi, good_hi in sides:
            share = _shares(log_py[:, side])
            out[s, 1] = np.minimum(1.0, (share * bad_hi[:, side]).sum(axis=1))
            out[s, 0] = np.clip((share * (1.0 - good_hi[:, side])).sum(axis=1), 0.0, out[s, 1])
    return out_a, out_b


def _shares(log_p: np.ndarray) -> np.ndarray:
    """Rows of log-weights -> weights summing to 1 (all zero where every weight is zero)."""
    peak = log_p.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        w = np.exp(log_p - np.where(np.isfinite(peak), peak, 0.0))
    w[~np.isfinite(peak[:, 0])] = 0.0
    total = w.sum(axis=1, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


def _coverage(lp_rule, lp_node, cov, rule_alpha, rule_beta):  # type: ignore[no-untyped-def]
    """``alpha_U = [P(rule(Y) = 0) alpha_rule + t_rule (1 - coverage) (1 - beta_rule)] / P(Y_v = 0)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w_rule = np.nan_to_num(np.exp(lp_rule[:, 0] - lp_node[:, 0]))
        w_gap = np.nan_to_num(np.exp(lp_rule[:, 1] + np.log1p(-cov) - lp_node[:, 0]))
    alpha_u = np.stack([w_rule * rule_alpha[:, 0] + w_gap * (1.0 - rule_beta[:, 1]),
                        w_rule * rule_alpha[:, 1] + w_gap * (1.0 - rule_beta[:, 0])], axis=1)  # fmt: skip
    return np.clip(alpha_u, 0.0, 1.0)


def _channel(lo: np.ndarray, hi: np.ndarray, a: np.ndarray, b: np.ndarray, *,
             bad: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Range of the report's error rate given the input's in [lo, hi] (docs/bounds.md section 3.5).

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


def _evaluate(nodes, alpha_u, beta_u, a, b, c: Compiled, alpha, beta) -> None:  # type: ignore[no-untyped-def]
    """Through the evaluator's response and the audit (docs/bounds.md sections 3.5, 3.6)."""
    keep = (1.0 - c.audit[nodes])[:, None]
    ranges = []
    for rates, bad in ((alpha_u, True), (beta_u, False)):
        lo, hi = _channel(rates[:, 0], rates[:, 1], a[nodes], b[nodes], bad=bad)
        ranges.append(np.stack([lo, hi], axis=1) * keep)
    alpha[nodes], beta[nodes] = ranges


class _Passes:
    """Runs of one-child nodes, one node at a time in Python floats: the operations of the array path.

    Over a single child the rule passes the child's value through, so a node's
    bounds are those of :func:`_coverage` then :func:`_evaluate` on its child's,
    and the coverage weights depend on the truths only: computed for every node
    at once. On a chain every level is one node, where numpy's per-call cost would
    be most of the time (benchmarks/bench_extras.py). Where a node's bounds equal
    its child's and the nodes above it in the run have the same parameters, theirs
    are the same too (the same map of the same input): they are filled in at once.
    """

    def __init__(self, c: Compiled, lp: np.ndarray, a: np.ndarray, b: np.ndarray, alpha: np.ndarray,
                 beta: np.ndarray) -> None:  # fmt: skip
        self.c, self.lp, self.a, self.b = c, lp, a, b
        self.alpha, self.beta = alpha, beta

    def run(self, nodes: np.ndarray, start: np.ndarray) -> None:
        """The runs ``nodes`` (each bottom first, ``start`` where one begins)."""
        c, lp, alpha, beta = self.c, self.lp, self.alpha, self.beta
        kids = c.first_child[nodes]
        with np.errstate(divide="ignore", invalid="ignore"):
            w_rule = np.nan_to_num(np.exp(lp[kids, 0] - lp[nodes, 0]))
            w_gap = np.nan_to_num(np.exp(lp[kids, 1] + np.log1p(-c.coverage[nodes]) - lp[nodes, 0]))
        m = len(nodes)
        params = np.empty((m, 7))  # the map, whether a run starts, whether the next node has the same map
        params[:, 0], params[:, 1], params[:, 2], params[:, 3] = w_rule, w_gap, self.a[nodes], self.b[nodes]
        params[:, 4], params[:, 5] = 1.0 - c.audit[nodes], start
        same = np.zeros(m, dtype=bool)  # the same map as the node below, in the same run
        same[1:] = (params[1:, :5] == params[:-1, :5]).all(axis=1) & ~start[1:]
        params[:-1, 6], params[-1, 6] = same[1:], 0.0
        change = np.where(~same, np.arange(m), m)  # the next node (at or after j) with another map
        upto = np.minimum.accumulate(change[::-1])[::-1]
        out = np.empty((m, 4))
        below = np.concatenate([alpha[kids[start]], beta[kids[start]]], axis=1).tolist()
        j, r, lo_chunk, chunk = 0, -1, 0, []
        while j < m:
            if j - lo_chunk >= len(chunk):  # rows as Python floats, a slice at a time
                lo_chunk, chunk = j, params[j : j + 512].tolist()
            w_rule, w_gap, a, b, keep, first, next_same = chunk[j - lo_chunk]
            if first:
                r += 1
                ra0, ra1, rb0, rb1 = below[r]
            au0 = min(max(w_rule * ra0 + w_gap * (1.0 - rb1), 0.0), 1.0)
            au1 = min(max(w_rule * ra1 + w_gap * (1.0 - rb0), 0.0), 1.0)
            lo, hi = _scalar_channel(au0, au1, a, b, True)
            x = (lo * keep, hi * keep, *(v * keep for v in _scalar_channel(rb0, rb1, a, b, False)))
            out[j] = x
            if next_same and x == (ra0, ra1, rb0, rb1):  # a fixed point of the next maps
                end = int(upto[j + 1])
                out[j + 1 : end] = x
                j = end
            else:
                j += 1
            ra0, ra1, rb0, rb1 = x
        alpha[nodes], beta[nodes] = out[:, :2], out[:, 2:]


def _scalar_channel(lo: float, hi: float, a: float, b: float, bad: bool) -> tuple[float, float]:
    """:func:`_channel` for one node."""
    xs = (lo, hi, min(max(a, lo), hi), min(max(b, lo), hi), min(max(1.0 - a, lo), hi), min(max(1.0 - b, lo), hi))
    if bad:
        upper = max([min(x, 1.0 - b) + min(1.0 - x, a) for x in xs])
        lower = min([max(0.0, x - b) + max(0.0, a - x) for x in xs])
    else:
        upper = max([min(1.0 - x, b) + min(x, 1.0 - a) for x in xs])
        lower = min([max(0.0, b - x) + max(0.0, x - a) for x in xs])
    return min(max(lower, 0.0), 1.0), min(max(upper, 0.0), 1.0)
