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

__all__ = ["threshold_rule", "apply_coverage", "node_input", "evaluator"]

_IDENTITY = np.eye(2)


def _logmix(t: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge k weighted rows: ``t`` (G, k) log-weights, ``C`` (G, k, S) rows.

    Returns ``log sum exp(t)`` (G,) and the weighted average row (G, S); where
    every weight is zero, the first row stands in (it is never used).
    """
    m = t.max(axis=1)
    finite = np.isfinite(m)
    with np.errstate(invalid="ignore"):
        w = np.exp(t - np.where(finite, m, 0.0)[:, None])
    w[~finite] = 0.0
    w[~finite, 0] = 1.0
    s = w.sum(axis=1)
    with np.errstate(divide="ignore"):
        total = np.where(finite, m + np.log(s), -np.inf)
    row = np.einsum("gk,gks->gs", w / s[:, None], C)
    return total, row


def _mix2(t0: np.ndarray, C0: np.ndarray, t1: np.ndarray, C1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise mixture of two sources: ``t`` (G, S) log-weights, ``C`` (G, S, S) rows."""
    total = np.logaddexp(t0, t1)
    empty = ~np.isfinite(total)
    safe = np.where(empty, 0.0, total)
    w0 = np.where(empty, 1.0, np.exp(t0 - safe))
    w1 = np.where(empty, 0.0, np.exp(t1 - safe))
    return total, w0[..., None] * C0 + w1[..., None] * C1


def _shift_rows(t: np.ndarray, C: np.ndarray, w: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Move row a to row min(a + w, T), merging the rows that land on T."""
    ts = np.full_like(t, -np.inf)
    Cs = np.zeros_like(C)
    lo = max(T - w, 0)
    if w < T:
        ts[:, w:T] = t[:, : T - w]
        Cs[:, w:T] = C[:, : T - w]
    ts[:, T], Cs[:, T] = _logmix(t[:, lo:], C[:, lo:])
    return ts, Cs


def _shift_columns(C: np.ndarray, w: int, T: int) -> np.ndarray:
    """Move probability mass from column b to column min(b + w, T)."""
    out = np.zeros_like(C)
    if w < T:
        out[..., w:T] = C[..., : T - w]
        out[..., T] = C[..., T - w :].sum(axis=-1)
    else:
        out[..., T] = C.sum(axis=-1)
    return out


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
    Children are folded in one at a time, carrying for every value ``a`` of
    the capped truth sum ``min(sum w Y, T)`` its log-probability ``L[a]`` and
    the conditional law ``C[a, b]`` of the capped report sum. When counting
    rejections needs fewer states (``W - T + 1 < T``, as for ``all``), values
    are relabelled 0 <-> 1 and the complementary rule is computed.
    """
    W = sum(weights)
    flip = W - T + 1 < T
    if flip:
        lp, pr, T = lp[..., ::-1], pr[..., ::-1, ::-1], W - T + 1
    G = lp.shape[0]
    S = T + 1
    L = np.full((G, S), -np.inf)
    L[:, 0] = 0.0
    C = np.zeros((G, S, S))
    C[:, :, 0] = 1.0
    for j, w in enumerate(weights):
        r = pr[:, j, :, :, None, None]
        Cs = _shift_columns(C, w, T)
        C0 = C * r[:, 0, 0] + Cs * r[:, 0, 1]
        C1 = C * r[:, 1, 0] + Cs * r[:, 1, 1]
        t1, C1 = _shift_rows(L + lp[:, j, 1, None], C1, w, T)
        L, C = _mix2(L + lp[:, j, 0, None], C0, t1, C1)
    low, low_row = _logmix(L[:, :T], C[:, :T])
    lp_rule = np.stack([low, L[:, T]], axis=1)
    pu = np.empty((G, 2, 2))
    pu[:, 0, 0] = low_row[:, :T].sum(axis=1)
    pu[:, 0, 1] = low_row[:, T]
    pu[:, 1, 0] = C[:, T, :T].sum(axis=1)
    pu[:, 1, 1] = C[:, T, T]
    if flip:
        lp_rule, pu = lp_rule[:, ::-1], pu[:, ::-1, ::-1]
    return np.ascontiguousarray(lp_rule), np.ascontiguousarray(pu)


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
