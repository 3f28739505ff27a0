"""Reference implementation of the threshold and weighted aggregation rules.

Written from MODEL.md sections 2.2 and 2.3 alone; it imports nothing from ``rrm_theory``
and is meant to be slow but obviously correct.

A child law is a 2x2 nested sequence ``q[y][r] = P(Y_c = y, R_c = r)`` (non-negative,
summing to 1); children are independent.  Every function that combines children returns
a 2x2 numpy array ``J[y][u] = P(rule(Y) = y, rule(R) = u)``: the same rule is applied to
the children's truths (giving y) and to their reports (giving u), as MODEL.md 2.2 says.

- ``count_rule_joint(children, T)``: rule "count of ones >= T" (unit weights).  ``all`` is
  T = n, ``any`` is T = 1, ``majority`` is T = n // 2 + 1, ``at_least:K`` is T = K.  Any
  integer T is allowed (T <= 0 always accepts, T > n never does).  Plain dense 2-D
  dynamic programme over (truth count, report count), child by child.
- ``weighted_rule_joint(children, weights, threshold)``: rule "sum_c w_c x_c >=
  threshold * sum_c w_c", compared exactly in rationals, each float taken as the decimal
  it prints as (``Fraction(repr(x))``).  Dictionary DP over exact (truth sum, report sum)
  pairs; the number of states is at most the number of distinct pairs of subset sums
  (4**n in the worst case, far fewer for weights on a decimal grid).
- ``iid_count_rule_joint(q, n, T)``: closed form for n identical children, by
  conditioning on the truth count (binomial) and splitting the report count into the
  reports of the good and of the bad children (two independent binomials).
- ``conditional(J)``: ``(log P(rule(Y) = y) for y = 0, 1;  P(rule(R) = u | rule(Y) = y))``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from scipy.stats import binom

LAW_ATOL = 1e-9


def child_law(q: Any) -> np.ndarray:
    """Validate one child law ``q[y][r]`` and return it as a float 2x2 array."""
    a = np.asarray(q, dtype=float)
    if a.shape != (2, 2):
        raise ValueError(f"a child law must be 2x2, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"a child law must have finite non-negative entries, got {a.tolist()}")
    if abs(math.fsum(a.ravel()) - 1.0) > LAW_ATOL:
        raise ValueError(f"a child law must sum to 1, got {math.fsum(a.ravel())!r}")
    return a


def _threshold_int(T: Any) -> int:
    if isinstance(T, bool) or not isinstance(T, numbers.Integral):
        raise TypeError(f"T must be an integer, got {T!r}")
    return int(T)


def exact(x: Any) -> Fraction:
    """The exact rational a weight or threshold stands for.

    A float (including numpy floats) is the decimal number its repr shows, e.g. 0.1 is
    1/10, not the binary double nearest to it.  Integers and Fractions are taken as is.
    """
    if isinstance(x, bool):
        raise TypeError(f"not a number: {x!r}")
    if isinstance(x, Fraction):
        return x
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if not math.isfinite(f):
            raise ValueError(f"not a finite number: {x!r}")
        return Fraction(repr(f))
    raise TypeError(f"weights and thresholds must be int, float or Fraction, got {x!r}")


def _region_sums(table: np.ndarray, T: int) -> np.ndarray:
    """Collapse a (truth count, report count) table into J[y][u] for 'count >= T'."""
    m = table.shape[0]
    t = min(max(T, 0), m)  # counts 0..t-1 reject, t..m-1 accept
    J = np.zeros((2, 2))
    for y, rows in ((0, slice(0, t)), (1, slice(t, m))):
        for u, cols in ((0, slice(0, t)), (1, slice(t, m))):
            J[y, u] = math.fsum(table[rows, cols].ravel())
    return J


def count_table(children: Sequence[Any]) -> np.ndarray:
    """Dense table P(truth count = a, report count = b), shape (n + 1, n + 1)."""
    laws = [child_law(q) for q in children]
    n = len(laws)
    P = np.zeros((n + 1, n + 1))
    P[0, 0] = 1.0
    new = np.zeros_like(P)
    for i, q in enumerate(laws):
        # Before child i the counts lie in 0..i; afterwards in 0..i+1.
        k = i + 1
        old = P[:k, :k]
        out = new[:k + 1, :k + 1]
        out[...] = 0.0
        out[:k, :k] += q[0, 0] * old        # Y_c = 0, R_c = 0
        out[:k, 1:] += q[0, 1] * old        # Y_c = 0, R_c = 1: report count + 1
        out[1:, :k] += q[1, 0] * old        # Y_c = 1, R_c = 0: truth count + 1
        out[1:, 1:] += q[1, 1] * old        # Y_c = 1, R_c = 1: both + 1
        P, new = new, P
    return P


def count_rule_joint(children: Sequence[Any], T: int) -> np.ndarray:
    """J[y][u] = P([count(Y) >= T] = y, [count(R) >= T] = u) for independent children."""
    T = _threshold_int(T)
    return _region_sums(count_table(children), T)


def weighted_rule_joint(children: Sequence[Any], weights: Sequence[Any], threshold: Any) -> np.ndarray:
    """J[y][u] for the weighted rule, decided exactly: sum w_c x_c >= threshold * sum w_c."""
    laws = [child_law(q) for q in children]
    if len(weights) != len(laws):
        raise ValueError(f"{len(laws)} children but {len(weights)} weights")
    w = [exact(x) for x in weights]
    if any(x <= 0 for x in w):
        raise ValueError(f"weights must be > 0, got {list(weights)!r}")
    thr = exact(threshold)
    if not 0 < thr <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    cut = thr * sum(w, Fraction(0))

    states: dict[tuple[Fraction, Fraction], float] = {(Fraction(0), Fraction(0)): 1.0}
    for q, wc in zip(laws, w):
        nxt: dict[tuple[Fraction, Fraction], float] = {}
        for (s_y, s_r), p in states.items():
            for y in (0, 1):
                for r in (0, 1):
                    pq = q[y, r]
                    if pq == 0.0:
                        continue
                    key = (s_y + wc * y, s_r + wc * r)
                    nxt[key] = nxt.get(key, 0.0) + p * pq
        states = nxt

    cells: list[list[list[float]]] = [[[], []], [[], []]]
    for (s_y, s_r), p in states.items():
        cells[int(s_y >= cut)][int(s_r >= cut)].append(p)
    return np.array([[math.fsum(cells[y][u]) for u in (0, 1)] for y in (0, 1)])


def iid_count_rule_joint(q: Any, n: int, T: int) -> np.ndarray:
    """Closed form of count_rule_joint for n identical children with law q.

    With p = P(Y = 1), a = P(R = 1 | Y = 1), b = P(R = 1 | Y = 0): the truth count K is
    Bin(n, p); given K = k the report count is Bin(k, a) + Bin(n - k, b), independent, so
    P(report count >= T | K = k) = sum_j Bin(k, a).pmf(j) * P(Bin(n - k, b) >= T - j).
    """
    q = child_law(q)
    n = _threshold_int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    T = _threshold_int(T)
    p1 = q[1, 0] + q[1, 1]
    p0 = q[0, 0] + q[0, 1]
    a = q[1, 1] / p1 if p1 > 0 else 0.0
    b = q[0, 1] / p0 if p0 > 0 else 0.0
    p = p1 / (p0 + p1)

    J = np.zeros((2, 2))
    ks = np.arange(n + 1)
    pk = binom.pmf(ks, n, p)
    for k in range(n + 1):
        if pk[k] == 0.0:
            continue
        j = np.arange(k + 1)
        # P(Bin(n - k, b) >= T - j) = sf(T - j - 1)
        accept = math.fsum(binom.pmf(j, k, a) * binom.sf(T - j - 1, n - k, b))
        accept = min(max(accept, 0.0), 1.0)
        y = int(k >= T)
        J[y, 1] += pk[k] * accept
        J[y, 0] += pk[k] * (1.0 - accept)
    return J


def conditional(J: Any) -> tuple[np.ndarray, np.ndarray]:
    """(log P(rule(Y) = y) for y = 0, 1;  C[y][u] = P(rule(R) = u | rule(Y) = y)).

    log 0 is -inf; a row y with P(rule(Y) = y) = 0 is NaN in C.
    """
    J = np.asarray(J, dtype=float)
    if J.shape != (2, 2):
        raise ValueError(f"J must be 2x2, got shape {J.shape}")
    marg = np.array([math.fsum(J[0]), math.fsum(J[1])])
    with np.errstate(divide="ignore"):
        logm = np.where(marg > 0, np.log(np.where(marg > 0, marg, 1.0)), -np.inf)
    C = np.full((2, 2), np.nan)
    for y in (0, 1):
        if marg[y] > 0:
            C[y] = J[y] / marg[y]
    return logm, C
