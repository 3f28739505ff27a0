"""Numerically careful building blocks of the exact analysis (MODEL.md sections 2.3 and 4).

A node's state, per conditioning scenario ("instance"), is

* ``lp[y] = log P(Y = y)``: both outcomes in log space, so neither underflows
  however deep the tree or rare the event; the exact pass carries each as a
  pair of doubles (``lq`` the low part, :mod:`rrm_theory._logpair`), so that a
  log of -400 built from thousands of nodes is still exact to about 1e-16;
* ``p[y, x] = P(X = x | Y = y)`` for a 0/1 report X (the input U, the
  evaluator's report V or the parent's view R), with *both* entries of each
  row kept, each computed as a sum of non-negative terms. A rate of 1e-20 is
  therefore carried as 1e-20, never as ``1 - (1 - 1e-20) = 0``.

Every step below (error channel, overrides, audit, coverage, aggregation)
is a mixture with non-negative weights in this representation: there is no
subtraction of probabilities anywhere, hence no cancellation.

Because both complements are kept, rounding can leave a law's total slightly
off 1; a parent's law is a product of its children's, so such an excess would
compound with the number of nodes below (a relative error growing like n, and a
``P(Y = 1)`` above 1 on a big tree). Every node's law is therefore renormalised
as it is made (:func:`node_law`): the error stays that of a few roundings per
level, whatever the size of the tree.

The functions taking ``lq`` accept None there: plain doubles, for the callers
that do not need the extra precision (importance, the bounds).
"""

from __future__ import annotations

import numpy as np

from ._binary_rule import binary_rule
from ._jury import JURY_MIN, iid_instances, iid_rule
from ._logpair import add, log1m_pair, log_pair, lse2, shift
from ._rule_program import RuleProgram, rule_program

__all__ = ["threshold_rule", "held_rule", "program_step", "apply_coverage", "node_input", "node_law", "evaluator",
           "normalise", "normalise_log"]  # fmt: skip

_IDENTITY = np.eye(2)


def normalise(p: np.ndarray) -> np.ndarray:
    """Rows ``p[..., x]`` of 0/1 laws scaled to sum to 1, in place (a zero row is left as it is)."""
    total = p[..., 0] + p[..., 1]
    np.divide(p, total[..., None], out=p, where=total[..., None] > 0)
    return p


def normalise_log(lp: np.ndarray, lq: np.ndarray | None = None, keep: int | None = None) -> np.ndarray:
    """``log P(Y = y)`` (``lp[..., y]``, low parts ``lq`` or None) corrected to total 1, in place.

    ``keep`` (0 or 1, with ``lq``) names an outcome whose log is a plain sum of the
    children's (``all``: P(Y = 1) is a product), exact to the pairs' precision: it is
    left alone and the other outcome takes the whole correction. Shifting it too would
    put a rounding of the total into a log that the nodes above add up thousands of
    times. Without ``keep`` both logs are shifted alike.
    """
    if lq is None:
        total = np.logaddexp(lp[..., 0], lp[..., 1])
        lp -= np.where(np.isfinite(total), total, 0.0)[..., None]
        return lp
    hi, lo, _, _ = lse2(lp[..., 0], lq[..., 0], lp[..., 1], lq[..., 1], shares=False)
    finite = np.isfinite(hi)
    total = np.where(finite, hi + lo, 0.0)
    if np.abs(total).max(initial=0.0) >= 1e-8:  # not a rounding's worth: a proper shift
        lp[...], lq[...] = add(lp, lq, -np.where(finite, hi, 0.0)[..., None], -np.where(finite, lo, 0.0)[..., None])
        return lp
    if keep is None:
        shift(lq, lp, total[..., None])
        return lp
    other = lp[..., 1 - keep]
    with np.errstate(over="ignore", invalid="ignore"):
        excess = np.expm1(total) * np.exp(-other)  # the excess mass, as a share of the other outcome's
    ok = np.isfinite(other) & (np.abs(excess) < 0.5)  # (NaN fails)
    lq[..., 1 - keep] += np.log1p(-np.where(ok, excess, 0.0))
    odd = ~ok & (total != 0.0)
    if odd.any():  # the other outcome too unlikely to take it: both shift
        lq[odd] -= np.where(np.isfinite(lp[odd]), total[odd, None], 0.0)
    return lp


def _mix2(t0: np.ndarray, q0: np.ndarray | None, C0: np.ndarray, t1: np.ndarray, q1: np.ndarray | None,
          C1: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """Row-wise mixture of two sources: ``t`` (G, S) log-weights (``q`` low parts), ``C`` (G, S, S) rows."""
    total, tq, w0, w1 = lse2(t0, 0.0 if q0 is None else q0, t1, 0.0 if q1 is None else q1)
    return total, (None if q0 is None else tq), w0[..., None] * C0 + w1[..., None] * C1


def _segments(t: np.ndarray, tq: np.ndarray | None, C: np.ndarray, starts: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """Mix runs of consecutive rows: ``t`` (G, A) log-weights (``tq`` low parts), ``C`` (G, A, S)
    rows, runs beginning at ``starts``. Returns per run ``log sum exp(t)`` (G, k) and the weighted
    average row (G, k, S); where every weight of a run is zero its first row stands in."""
    if len(starts) == t.shape[1]:  # nothing merges
        return t, tq, C
    peak = np.maximum.reduceat(t, starts, axis=1)
    finite = np.isfinite(peak)
    lengths = np.diff(np.append(starts, t.shape[1]))
    seg = np.repeat(np.arange(len(starts)), lengths)
    with np.errstate(invalid="ignore"):
        x = t - np.where(finite, peak, 0.0)[:, seg]
        if tq is not None:  # the peak's low part stays out of the exponentials (it is below their rounding)
            peak_q = np.maximum.reduceat(np.where(x == 0.0, tq, -np.inf), starts, axis=1)
            peak_q[~finite] = 0.0
            x += tq - peak_q[:, seg]
        w = np.exp(x)
    w[~finite[:, seg]] = 0.0
    first = np.zeros(t.shape[1], dtype=bool)
    first[starts] = True
    w[~finite[:, seg] & first[None, :]] = 1.0
    s = np.add.reduceat(w, starts, axis=1)
    log_s = np.log(s)
    if tq is None:
        total, total_q = np.where(finite, peak + log_s, -np.inf), None
    else:
        total, total_q = add(peak, peak_q, np.where(finite, log_s, 0.0), 0.0)
    row = np.add.reduceat(w[..., None] * C, starts, axis=1) / s[..., None]
    return total, total_q, row


def _scatter_columns(C: np.ndarray, runs: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """Move column b's mass to column ``map[b]`` (``runs`` of the non-decreasing map)."""
    starts, targets = runs
    if len(starts) == C.shape[-1] == size:  # a non-decreasing bijection is the identity
        return C
    out = np.zeros(C.shape[:-1] + (size,))
    out[..., targets] = np.add.reduceat(C, starts, axis=-1)
    return out


def _expand(t: np.ndarray, tq: np.ndarray | None, C: np.ndarray, targets: np.ndarray, size: int
            ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """Rows placed at ``targets`` of ``size`` rows; the others impossible (a unit row stands in)."""
    if len(targets) == size:
        return t, tq, C
    G, _, S = C.shape
    tf = np.full((G, size), -np.inf)
    Cf = np.zeros((G, size, S))
    Cf[:, :, 0] = 1.0
    tf[:, targets] = t
    Cf[:, targets] = C
    qf = None
    if tq is not None:
        qf = np.zeros((G, size))
        qf[:, targets] = tq
    return tf, qf, Cf


def _step(L: np.ndarray, Lq: np.ndarray | None, C: np.ndarray, lp: np.ndarray, lq: np.ndarray | None,
          pr: np.ndarray, program: RuleProgram, j: int
          ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """:func:`program_step` with the truth logs as pairs (``Lq``, ``lq`` low parts, or None)."""
    size = program.sizes[j + 1]
    moved = [_scatter_columns(C, program.runs[j][r], size) for r in (0, 1)]
    parts = []
    for y in (0, 1):
        Cy = pr[:, y, 0, None, None] * moved[0] + pr[:, y, 1, None, None] * moved[1]
        starts, targets = program.runs[j][y]
        if Lq is None or lq is None:
            t, tq = L + lp[:, y, None], None
        else:
            t, tq = add(L, Lq, lp[:, y, None], lq[:, y, None])
        t, tq, row = _segments(t, tq, Cy, starts)
        parts.append(_expand(t, tq, row, targets, size))
    (t0, q0, C0), (t1, q1, C1) = parts
    return _mix2(t0, q0, C0, t1, q1, C1)


def program_step(
    L: np.ndarray, C: np.ndarray, lp: np.ndarray, pr: np.ndarray, program: RuleProgram, j: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fold child j into the state: ``L`` (G, A) log P(truth class), ``C`` (G, A, A)
    P(report class | truth class); ``lp`` (G, 2) and ``pr`` (G, 2, 2) the child's laws."""
    L, _, C = _step(L, None, C, lp, None, pr, program, j)
    return L, C


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
    report's class. Two unit-weight children take a closed form
    (:mod:`rrm_theory._binary_rule`), and instances whose many unit-weight
    children are all alike the closed form of :mod:`rrm_theory._jury`.
    """
    out_lp, _, out_pu = _rule(lp, None, pr, weights, T)
    return out_lp, out_pu


def _rule(lp: np.ndarray, lq: np.ndarray | None, pr: np.ndarray, weights: tuple[int, ...], T: int
          ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """:func:`threshold_rule` with the truth logs as pairs (``lq`` low parts, or None)."""
    G, n = lp.shape[:2]
    if n == 2 and weights == (1, 1):
        return binary_rule(lp, lq, pr, T)
    out_lp = np.empty((G, 2))
    out_lq = None if lq is None else np.zeros((G, 2))
    out_pu = np.empty((G, 2, 2))
    rest = np.arange(G)
    if n >= JURY_MIN and all(w == 1 for w in weights):
        alike = iid_instances(lp, pr)
        if alike.any():  # the closed form is in plain doubles (its low parts stay 0)
            out_lp[alike], out_pu[alike] = iid_rule(lp[alike, 0], pr[alike, 0], n, T, T)
            rest = np.flatnonzero(~alike)
    if len(rest):
        program = rule_program(weights, T)
        L = np.zeros((len(rest), 1))
        Lq = None if lq is None else np.zeros((len(rest), 1))
        C = np.ones((len(rest), 1, 1))
        lp_r, pr_r = lp[rest], pr[rest]
        lq_r = None if lq is None else lq[rest]
        for j in range(n):
            L, Lq, C = _step(L, Lq, C, lp_r[:, j], None if lq_r is None else lq_r[:, j], pr_r[:, j], program, j)
        out_lp[rest], out_pu[rest] = L, C
        if out_lq is not None:
            out_lq[rest] = Lq
    return out_lp, out_lq, out_pu


def apply_coverage(lp_rule: np.ndarray, pu: np.ndarray, coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Y = rule(Y_c) AND H`` with ``P(H = 1) = coverage``; U is independent of H."""
    lp, _, out = _coverage(lp_rule, None, pu, coverage)
    return lp, out


def _coverage(lp_rule: np.ndarray, lq: np.ndarray | None, pu: np.ndarray, coverage: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """:func:`apply_coverage` with the truth logs as pairs (``lq`` low parts, or None)."""
    if (coverage == 1.0).all():
        return lp_rule, lq, pu
    log_h, log_h_lo = log_pair(coverage)
    log_not_h, log_not_h_lo = log1m_pair(coverage)
    q = np.zeros_like(lp_rule) if lq is None else lq
    uncovered = add(lp_rule[:, 1], q[:, 1], log_not_h, log_not_h_lo)  # rule holds, H = 0
    lp0, lq0, w_rule, w_unc = lse2(lp_rule[:, 0], q[:, 0], *uncovered)
    lp1, lq1 = add(lp_rule[:, 1], q[:, 1], log_h, log_h_lo)
    out = pu.copy()
    out[:, 0] = w_rule[:, None] * pu[:, 0] + w_unc[:, None] * pu[:, 1]
    return np.stack([lp0, lp1], axis=1), (None if lq is None else np.stack([lq0, lq1], axis=1)), out


def node_input(
    lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int, coverage: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A node's truth and input from its children's: ``lp`` (G, n, 2), ``pr`` (G, n, 2, 2)
    -> ``log P(Y = y)`` (G, 2) and ``P(U = u | Y = y)`` (G, 2, 2), both normalised."""
    lp_out, _, pu_out = node_law(lp, None, pr, weights, T, coverage)
    return lp_out, pu_out


def node_law(lp: np.ndarray, lq: np.ndarray | None, pr: np.ndarray, weights: tuple[int, ...], T: int,
             coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """:func:`node_input` with the truth logs as pairs: ``lq`` (G, n, 2) the children's low parts
    (or None) -> the node's ``lp``, ``lq`` (G, 2) and ``pu`` (G, 2, 2), normalised (fresh arrays)."""
    covered = not (coverage == 1.0).all()
    if len(weights) == 1:  # every rule passes a single child's value through
        lp_rule, lq_rule, pu_rule = lp[:, 0].copy(), None if lq is None else lq[:, 0].copy(), pr[:, 0].copy()
        if not covered:  # the child's law, as normalised as it was
            return lp_rule, lq_rule, pu_rule
        keep: int | None = 1
    else:
        lp_rule, lq_rule, pu_rule = _rule(lp, lq, pr, weights, T)
        keep = _sum_outcome(weights, T)
    lp_out, lq_out, pu_out = _coverage(lp_rule, lq_rule, pu_rule, coverage)
    if covered and keep == 0:  # P(Y = 0) now mixes in the uncovered defects; P(Y = 1) is still a sum
        keep = None
    return normalise_log(lp_out, lq_out, keep), lq_out, normalise(pu_out)


def _sum_outcome(weights: tuple[int, ...], T: int) -> int | None:
    """The outcome whose log a rule makes as a plain sum of its children's (no log-sum-exp),
    or None: 1 when every child must accept, 0 when any acceptance suffices."""
    if len(weights) >= JURY_MIN and all(w == 1 for w in weights):
        return None  # alike children take the closed form, a sum of binomial terms
    if T == sum(weights):
        return 1
    if T <= min(weights):
        return 0
    return None


def evaluator(
    pu: np.ndarray | None,
    false_accept: np.ndarray,
    false_reject: np.ndarray,
    log_keep: np.ndarray,
    audit: np.ndarray,
    *,
    out: tuple[np.ndarray, np.ndarray | None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """From the input law ``P(U | Y)`` to the report ``P(V | Y)`` and the parent's view ``P(R | Y)``.

    ``log_keep`` is the log-probability that no override (deception,
    influence, blind spot) fires, given the instance's shared events. A row of
    ``pu`` that sums to 1 gives rows that do, to a rounding (the parent renormalises).
    ``pu`` None stands for a leaf's input, ``U = Y``. ``out``: the arrays to write the two
    laws into (the second None: R is V, no audit anywhere); by default new ones.
    """
    shape = (len(false_accept), 2, 2)
    pv, pr = (np.empty(shape), np.empty(shape)) if out is None else out
    v0, v1 = pv[..., 0], pv[..., 1]
    if pu is None:  # a leaf: U = Y, so W is the channel itself
        pv[:, 0, 0], pv[:, 0, 1] = 1.0 - false_accept, false_accept
        pv[:, 1, 0], pv[:, 1, 1] = false_reject, 1.0 - false_reject
    else:
        fa = false_accept[:, None]
        fr = false_reject[:, None]
        u0, u1 = pu[..., 0], pu[..., 1]
        np.multiply(u1, 1.0 - fr, out=v1)  # the honest judgement W, then the overrides
        v1 += u0 * fa
        np.multiply(u1, fr, out=v0)
        v0 += u0 * (1.0 - fa)
    if log_keep.any():
        v1 += v0 * -np.expm1(log_keep)[:, None]
        v0 *= np.exp(log_keep)[:, None]
    if pr is not None:
        if audit.any():
            a = audit[:, None, None]
            np.multiply(pv, 1.0 - a, out=pr)
            pr += a * _IDENTITY
        else:
            pr[...] = pv
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
