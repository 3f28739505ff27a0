"""Numerically careful building blocks of the exact analysis (MODEL.md sections 2.3 and 4).

A node's state, per conditioning scenario ("instance"), is

* ``lp[y] = log P(Y = y)``: both outcomes in log space, so neither underflows
  however deep the tree or rare the event;
* ``p[y, x] = P(X = x | Y = y)`` for a 0/1 report X (the input U, the
  evaluator's report V or the parent's view R), with *both* entries of each
  row kept, each computed as a sum of non-negative terms. A rate of 1e-20 is
  therefore carried as 1e-20, never as ``1 - (1 - 1e-20) = 0``.

Every step below (error channel, overrides, audit, coverage, aggregation)
is a mixture with non-negative weights in this representation: there is no
subtraction of probabilities anywhere, hence no cancellation.
"""

from __future__ import annotations

import numpy as np

from ._jury import JURY_MIN, iid_instances, iid_rule
from ._rule_program import RuleProgram, rule_program

__all__ = ["threshold_rule", "held_rule", "program_step", "apply_coverage", "node_input", "evaluator"]

_IDENTITY = np.eye(2)


def _mix2(t0: np.ndarray, C0: np.ndarray, t1: np.ndarray, C1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise mixture of two sources: ``t`` (G, S) log-weights, ``C`` (G, S, S) rows."""
    total = np.logaddexp(t0, t1)
    empty = ~np.isfinite(total)
    safe = np.where(empty, 0.0, total)
    w0 = np.where(empty, 1.0, np.exp(t0 - safe))
    w1 = np.where(empty, 0.0, np.exp(t1 - safe))
    return total, w0[..., None] * C0 + w1[..., None] * C1


def _segments(t: np.ndarray, C: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mix runs of consecutive rows: ``t`` (G, A) log-weights, ``C`` (G, A, S) rows, runs
    beginning at ``starts``. Returns per run ``log sum exp(t)`` (G, k) and the weighted
    average row (G, k, S); where every weight of a run is zero its first row stands in."""
    if len(starts) == t.shape[1]:  # nothing merges
        return t, C
    peak = np.maximum.reduceat(t, starts, axis=1)
    finite = np.isfinite(peak)
    lengths = np.diff(np.append(starts, t.shape[1]))
    seg = np.repeat(np.arange(len(starts)), lengths)
    with np.errstate(invalid="ignore"):
        w = np.exp(t - np.where(finite, peak, 0.0)[:, seg])
    w[~finite[:, seg]] = 0.0
    first = np.zeros(t.shape[1], dtype=bool)
    first[starts] = True
    w[~finite[:, seg] & first[None, :]] = 1.0
    s = np.add.reduceat(w, starts, axis=1)
    with np.errstate(divide="ignore"):
        total = np.where(finite, peak + np.log(s), -np.inf)
    row = np.add.reduceat(w[..., None] * C, starts, axis=1) / s[..., None]
    return total, row


def _scatter_columns(C: np.ndarray, runs: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """Move column b's mass to column ``map[b]`` (``runs`` of the non-decreasing map)."""
    starts, targets = runs
    if len(starts) == C.shape[-1] == size:  # a non-decreasing bijection is the identity
        return C
    out = np.zeros(C.shape[:-1] + (size,))
    out[..., targets] = np.add.reduceat(C, starts, axis=-1)
    return out


def _expand(t: np.ndarray, C: np.ndarray, targets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows placed at ``targets`` of ``size`` rows; the others impossible (a unit row stands in)."""
    if len(targets) == size:
        return t, C
    G, _, S = C.shape
    tf = np.full((G, size), -np.inf)
    Cf = np.zeros((G, size, S))
    Cf[:, :, 0] = 1.0
    tf[:, targets] = t
    Cf[:, targets] = C
    return tf, Cf


def program_step(
    L: np.ndarray, C: np.ndarray, lp: np.ndarray, pr: np.ndarray, program: RuleProgram, j: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fold child j into the state: ``L`` (G, A) log P(truth class), ``C`` (G, A, A)
    P(report class | truth class); ``lp`` (G, 2) and ``pr`` (G, 2, 2) the child's laws."""
    size = program.sizes[j + 1]
    moved = [_scatter_columns(C, program.runs[j][r], size) for r in (0, 1)]
    parts = []
    for y in (0, 1):
        Cy = pr[:, y, 0, None, None] * moved[0] + pr[:, y, 1, None, None] * moved[1]
        starts, targets = program.runs[j][y]
        t, row = _segments(L + lp[:, y, None], Cy, starts)
        parts.append(_expand(t, row, targets, size))
    (t0, C0), (t1, C1) = parts
    return _mix2(t0, C0, t1, C1)


def threshold_rule(
    lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int
) -> tuple[np.ndarray, np.ndarray]:
    """Joint law of (rule(Y_c), rule(R_c)) for a threshold rule over independent children.

    Parameters
    ----------
    lp : ndarray, shape (G, n, 2)
        ``log P(Y_c = y)`` for the n children of each of G instances.
    pr : ndarray, shape (G, n, 2, 2)
        ``P(R_c = x | Y_c = y)``.
    weights, T
        Accept iff ``sum(weights[c] * value_c) >= T`` (:class:`ThresholdForm`).

    Returns
    -------
    lp_rule : ndarray, shape (G, 2)
        ``log P(rule(Y) = y)``.
    pu : ndarray, shape (G, 2, 2)
        ``P(rule(R) = u | rule(Y) = y)``.

    Notes
    -----
    Children are folded in one at a time (:mod:`rrm_theory._rule_program`),
    carrying for every class ``a`` of the truth's partial sum its
    log-probability ``L[a]`` and the conditional law ``C[a, b]`` of the
    report's class. Instances whose many unit-weight children are all alike
    use the closed form of :mod:`rrm_theory._jury` instead.
    """
    G, n = lp.shape[:2]
    out_lp = np.empty((G, 2))
    out_pu = np.empty((G, 2, 2))
    rest = np.arange(G)
    if n >= JURY_MIN and all(w == 1 for w in weights):
        alike = iid_instances(lp, pr)
        if alike.any():
            out_lp[alike], out_pu[alike] = iid_rule(lp[alike, 0], pr[alike, 0], n, T, T)
            rest = np.flatnonzero(~alike)
    if len(rest):
        program = rule_program(weights, T)
        L = np.zeros((len(rest), 1))
        C = np.ones((len(rest), 1, 1))
        lp_r, pr_r = lp[rest], pr[rest]
        for j in range(n):
            L, C = program_step(L, C, lp_r[:, j], pr_r[:, j], program, j)
        out_lp[rest], out_pu[rest] = L, C
    return out_lp, out_pu


def apply_coverage(lp_rule: np.ndarray, pu: np.ndarray, coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Y = rule(Y_c) AND H`` with ``P(H = 1) = coverage``; U is independent of H."""
    if (coverage == 1.0).all():
        return lp_rule, pu
    with np.errstate(divide="ignore"):
        log_h = np.log(coverage)
        log_not_h = np.log1p(-coverage)
    uncovered = lp_rule[:, 1] + log_not_h  # rule holds, H = 0
    lp = np.stack([np.logaddexp(lp_rule[:, 0], uncovered), lp_rule[:, 1] + log_h], axis=1)
    empty = ~np.isfinite(lp[:, 0])
    safe = np.where(empty, 0.0, lp[:, 0])
    w_rule = np.where(empty, 1.0, np.exp(lp_rule[:, 0] - safe))
    w_unc = np.where(empty, 0.0, np.exp(uncovered - safe))
    out = pu.copy()
    out[:, 0] = w_rule[:, None] * pu[:, 0] + w_unc[:, None] * pu[:, 1]
    return lp, out


def node_input(
    lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int, coverage: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A node's truth and input from its children's: ``lp`` (G, n, 2), ``pr`` (G, n, 2, 2)
    -> ``log P(Y = y)`` (G, 2) and ``P(U = u | Y = y)`` (G, 2, 2)."""
    if len(weights) == 1:  # every rule passes a single child's value through
        lp_rule, pu_rule = lp[:, 0], pr[:, 0]
    else:
        lp_rule, pu_rule = threshold_rule(lp, pr, weights, T)
    return apply_coverage(lp_rule, pu_rule, coverage)


def evaluator(
    pu: np.ndarray,
    false_accept: np.ndarray,
    false_reject: np.ndarray,
    log_keep: np.ndarray,
    audit: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """From the input law ``P(U | Y)`` to the report ``P(V | Y)`` and the parent's view ``P(R | Y)``.

    ``log_keep`` is the log-probability that no override (deception,
    influence, blind spot) fires, given the instance's shared events.
    """
    fa = false_accept[:, None]
    fr = false_reject[:, None]
    pw = np.empty_like(pu)
    pw[..., 1] = pu[..., 1] * (1.0 - fr) + pu[..., 0] * fa
    pw[..., 0] = pu[..., 1] * fr + pu[..., 0] * (1.0 - fa)
    keep = np.exp(log_keep)[:, None]
    sway = -np.expm1(log_keep)[:, None]
    pv = np.empty_like(pu)
    pv[..., 0] = pw[..., 0] * keep
    pv[..., 1] = pw[..., 1] + pw[..., 0] * sway
    a = audit[:, None, None]
    pr = (1.0 - a) * pv + a * _IDENTITY
    return pv, pr


def held_rule(
    lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int, *, truths_only: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """The rule with each child in turn held at a fixed (truth, report), all at once.

    Parameters
    ----------
    lp, pr, weights, T
        As for :func:`threshold_rule`.
    truths_only : bool
        Hold the truth only and skip the reports (what the fast bounds need).

    Returns
    -------
    lp_held : ndarray, shape (G, n, 2, 2)
        ``[g, j, y, Y] = log P(rule(Y) = Y | Y_j = y)``.
    pu_held : ndarray, shape (G, n, 2, 2, 2, 2), or None
        ``[g, j, y, r, Y, u] = P(rule(R) = u | rule(Y) = Y, Y_j = y, R_j = r)``.

    Notes
    -----
    One forward pass keeps the state before every child (every ``sqrt(n)``-th, the
    rest rebuilt block by block) and one backward pass carries, for every class
    state, the law of the outcome given that state: ``lam[a, Y] = log P(rule(Y) = Y
    | truth class a)`` and ``kap[a, b, Y, u] = P(rule(R) = u | classes a, b, rule(Y)
    = Y)``. Holding child j joins the state before it with the outcome law after it,
    so the cost is a few passes, not one pass per child. Children that are all
    alike (large juries) use the closed form with thresholds ``T - y``, ``T - r``.
    """
    G, n = lp.shape[:2]
    lp_held = np.empty((G, n, 2, 2))
    pu_held = None if truths_only else np.empty((G, n, 2, 2, 2, 2))
    rest = np.arange(G)
    if n >= JURY_MIN and all(w == 1 for w in weights):
        alike = iid_instances(lp, pr)
        if alike.any():
            for y in (0, 1):
                for r in ((0, 1) if not truths_only else (y,)):
                    a_lp, a_pu = iid_rule(lp[alike, 0], pr[alike, 0], n - 1, T - y, T - r)
                    lp_held[alike, :, y] = a_lp[:, None]
                    if pu_held is not None:
                        pu_held[alike, :, y, r] = a_pu[:, None]
            rest = np.flatnonzero(~alike)
    if len(rest):
        program = rule_program(weights, T)
        widest = max(program.sizes)
        step = max(1, (1 << 22) // (widest * widest * 4))
        for lo in range(0, len(rest), step):
            part = rest[lo : lo + step]
            got = _held_pass(lp[part], pr[part], program, truths_only)
            lp_held[part] = got[0]
            if pu_held is not None:
                pu_held[part] = got[1]
    return lp_held, pu_held


def _held_pass(lp: np.ndarray, pr: np.ndarray, program: RuleProgram, truths_only: bool):  # type: ignore[no-untyped-def]
    G, n = lp.shape[:2]
    if truths_only:  # the reports do not matter: every child reports its truth
        pr = np.broadcast_to(_IDENTITY, pr.shape)
    block = max(1, int(np.sqrt(n)))
    saved = {}
    L, C = np.zeros((G, 1)), np.ones((G, 1, 1))
    for j in range(n):
        if j % block == 0:
            saved[j] = (L, C)
        L, C = program_step(L, C, lp[:, j], pr[:, j], program, j)
    lp_held = np.empty((G, n, 2, 2))
    pu_held = np.empty((G, n, 2, 2, 2, 2))
    # the outcome law after the last child: its class is the outcome
    lam = np.where(np.broadcast_to(np.eye(2), (G, 2, 2)) == 1, 0.0, -np.inf)  # lam[g, a, Y]
    kap = None if truths_only else np.broadcast_to(np.eye(2)[None, None, :, None, :], (G, 2, 2, 2, 2))
    states: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(n - 1, -1, -1):
            if j not in states:  # rebuild the block of forward states that holds j
                b0 = (j // block) * block
                states = {}
                L, C = saved[b0]
                for jj in range(b0, j + 1):
                    states[jj] = (L, C)
                    if jj < j:
                        L, C = program_step(L, C, lp[:, jj], pr[:, jj], program, jj)
            Lj, Cj = states.pop(j)
            maps = program.maps[j]
            for y in (0, 1):
                t = Lj[:, :, None] + lam[:, maps[y], :]  # (G, A, Y)
                total, w = _lse_weights(t, axis=1)
                lp_held[:, j, y] = total
                if kap is None:
                    continue
                for r in (0, 1):
                    after = kap[:, maps[y]][:, :, maps[r]]  # (G, A, A, Y, u)
                    inner = np.einsum("gab,gabyu->gayu", Cj, after)
                    pu_held[:, j, y, r] = np.einsum("gay,gayu->gyu", w, inner)
            # the outcome law before child j
            parts = [lp[:, j, y, None, None] + lam[:, maps[y], :] for y in (0, 1)]
            new_lam = np.logaddexp(parts[0], parts[1])
            if kap is not None:
                safe = np.where(np.isfinite(new_lam), new_lam, 0.0)
                shares = [np.where(np.isfinite(new_lam), np.exp(p - safe), 1.0 - y) for y, p in enumerate(parts)]
                new_kap = 0.0
                for y in (0, 1):
                    for r in (0, 1):
                        after = kap[:, maps[y]][:, :, maps[r]]
                        coef = shares[y][:, :, None, :, None] * pr[:, j, y, r, None, None, None, None]
                        new_kap = new_kap + coef * after
                kap = new_kap
            lam = new_lam
    return lp_held, (None if truths_only else pu_held)


def _lse_weights(t: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``log sum exp`` over ``axis`` and the normalised weights (a unit weight on the first
    entry where every weight is zero)."""
    peak = t.max(axis=axis, keepdims=True)
    finite = np.isfinite(peak)
    w = np.exp(t - np.where(finite, peak, 0.0))
    w = np.where(finite, w, 0.0)
    s = w.sum(axis=axis, keepdims=True)
    total = np.where(finite, peak + np.log(np.where(s > 0, s, 1.0)), -np.inf)
    w = np.where(s > 0, w / np.where(s > 0, s, 1.0), 0.0)
    empty = ~finite.squeeze(axis)
    if empty.any():
        first = np.zeros(t.shape[axis])
        first[0] = 1.0
        shape = [1] * t.ndim
        shape[axis] = t.shape[axis]
        w = np.where(np.expand_dims(empty, axis), first.reshape(shape), w)
    return total.squeeze(axis), w
