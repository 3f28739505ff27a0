"""The per-level map of the joint law of (truth, report), in floating point, for any branching.

Notation (docs/theory.md section 1): a node's law is ``q = (q11, q10, q01, q00)``,
``qyr = P(Y = y, R = r)``. Of k independent children with law q, ``N_Y`` have good work and
``N_R`` are reported good; a rule of threshold T over them reads ``rule(Y) = [N_Y >= T]`` and
``U = [N_R >= T]``. The parent's law follows from ``J[y, u] = P(rule(Y) = y, U = u)`` by
coverage, the evaluator and the audit (:func:`apply`).

:func:`rule_joint` conditions on ``N_Y = a`` rather than summing the multinomial over the
children's four states (``(k+1)(k+2)(k+3)/6`` terms, as the symbolic ``joint_map`` does):
given a, ``N_R = Bin(a, s1) + Bin(k - a, s0)`` with ``s1 = q11 / (q11 + q10)`` and
``s0 = q01 / (q01 + q00)``, so

    J[y, u] = sum_{a : [a >= T] = y} P(N_Y = a) sum_j P(Bin(a, s1) = j) P([j + Bin(k - a, s0) >= T] = u)

from the tables of ``Bin(a, s)`` for every a: ``O(k^2)`` per level, about a millisecond at
k = 201. Every entry of J is a sum of nonnegative terms (the upper and lower tails of
``Bin(k - a, s0)`` are summed separately, never one as 1 minus the other), each term
``exp(log C(a, j) + j log s + (a - j) log r)`` to a relative error of about
``(k log k + k |log s|) u``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["rule_joint", "apply"]


@lru_cache(maxsize=16)
def _grid(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(log C(a, j), a, j)`` on the (k+1) x (k+1) grid (a down, j across, as floats); ``-inf`` where j > a."""
    a = np.arange(k + 1.0)[:, None]
    j = np.arange(k + 1.0)[None, :]
    lf = np.array([math.lgamma(i + 1.0) for i in range(k + 1)])
    n = np.arange(k + 1)
    log_c = np.where(n[None, :] <= n[:, None], lf[:, None] - lf[None, :] - lf[np.abs(n[:, None] - n[None, :])], -np.inf)
    for arr in (a, j, log_c):
        arr.setflags(write=False)
    return log_c, a, j


def _table(k: int, s: float, r: float) -> np.ndarray:
    """``P(Bin(a, s) = j)`` for a, j = 0..k (rows a), given ``r = 1 - s`` as computed by the caller."""
    if s <= 0.0:
        out = np.zeros((k + 1, k + 1))
        out[:, 0] = 1.0
        return out
    if r <= 0.0:
        return np.eye(k + 1)
    log_c, a, j = _grid(k)
    log_r = math.log(r)
    return np.exp(log_c + (j * (math.log(s) - log_r) + a * log_r))


def _row(k: int, s: float, r: float) -> np.ndarray:
    """``P(Bin(k, s) = a)`` for a = 0..k, given ``r = 1 - s``."""
    if s <= 0.0:
        return np.eye(k + 1)[0]
    if r <= 0.0:
        return np.eye(k + 1)[k]
    log_c, _, j = _grid(k)
    return np.exp(log_c[k] + j[0] * math.log(s) + (k - j[0]) * math.log(r))


def rule_joint(q: np.ndarray, k: int, T: int) -> np.ndarray:
    """``J[y, u] = P(rule(Y) = y, U = u)`` for k independent children of (normalised) law q."""
    q11, q10, q01, q00 = (float(x) for x in q)
    good, bad = q11 + q10, q01 + q00
    B1 = _table(k, q11 / good, q10 / good) if good > 0 else _table(k, 0.0, 1.0)
    B0 = _table(k, q01 / bad, q00 / bad) if bad > 0 else _table(k, 0.0, 1.0)
    by = _row(k, good / (good + bad), bad / (good + bad))
    # up[b, j] = P(Bin(b, s0) >= T - j), down[b, j] = P(Bin(b, s0) < T - j): what the b = k - a children
    # with bad work must add to the j reports of good among the a with good work (1 and 0 once j >= T)
    tail_up = np.cumsum(B0[:, ::-1], axis=1)[:, ::-1]  # P(Bin(b, s0) >= t), t = 0..k
    tail_down = np.cumsum(B0, axis=1)  # P(Bin(b, s0) <= t)
    up, down = np.ones((k + 1, k + 1)), np.zeros((k + 1, k + 1))
    up[:, :T] = tail_up[:, T:0:-1]
    down[:, :T] = tail_down[:, T - 1 :: -1]
    hi = np.einsum("ij,ij->i", B1, up[::-1])  # P(N_R >= T | N_Y = a): row a meets b = k - a
    lo = np.einsum("ij,ij->i", B1, down[::-1])
    accept = np.arange(k + 1) >= T
    return np.array([[float(by[~accept] @ lo[~accept]), float(by[~accept] @ hi[~accept])],
                     [float(by[accept] @ lo[accept]), float(by[accept] @ hi[accept])]])  # fmt: skip


def apply(J: np.ndarray, *, a: float, b: float, audit: float, coverage: float) -> np.ndarray:
    """The parent's law ``(p11, p10, p01, p00)`` from J: coverage (the parent's truth is
    ``rule(Y)`` and a Bernoulli(coverage)), then the evaluator (reports good with probability
    a given U = 0, 1 - b given U = 1), then the audit (which reports the truth)."""
    JU = {(1, u): coverage * J[1, u] for u in (0, 1)}
    JU.update({(0, u): J[0, u] + (1 - coverage) * J[1, u] for u in (0, 1)})
    out = []
    for y, r in ((1, 1), (1, 0), (0, 1), (0, 0)):
        pv = JU[(y, 0)] * (a if r else 1 - a) + JU[(y, 1)] * (1 - b if r else b)
        total = JU[(y, 0)] + JU[(y, 1)]
        out.append((1 - audit) * pv + audit * total * int(r == y))
    return np.array(out, dtype=float)
