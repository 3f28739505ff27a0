"""Log-probabilities carried as unevaluated sums of two doubles (MODEL.md section 4, numerics).

Exact analysis carries each truth law in log space, ``log P(Y = y)``. Deep in a big
tree such a log is large: ``P(Y = 1) = 0.9**4096`` has a log of about -431, a sum over
thousands of nodes. In plain doubles every addition rounds it by up to half an ulp of
431, a relative error of the probability of about 3e-14 per rounding, and the
roundings of a thousand-level tree add up. Here the exact pass keeps such a log as a
pair ``hi + lo``: ``lo`` collects the rounding error of every addition (Knuth's
TwoSum, exact), and a log-sum-exp adds one small, accurately computed term to the
largest value. The error of a log is then about 1e-16 *absolute*, whatever its size,
so the relative error of the probability no longer grows with the tree.

``lo`` is not renormalised (it stays far below the rounding threshold of ``hi``'s
neighbours in practice, and every use adds it in explicitly). An impossible outcome
is ``hi = -inf`` with ``lo = 0``.

The leaves' and coverages' logs start from :data:`numpy.longdouble` where it is
wider than a double (x86-64 Linux: 64-bit mantissa), from doubles elsewhere.
"""

from __future__ import annotations

import numpy as np

__all__ = ["add", "lse2", "log_pair", "log1m_pair", "shift", "exp_pair"]

_WIDE = np.finfo(np.longdouble).eps < np.finfo(float).eps


def add(a: np.ndarray, alo: np.ndarray, b: np.ndarray, blo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a + alo) + (b + blo)`` as a pair (broadcasting): the rounding error of ``a + b`` is kept."""
    s = a + b
    with np.errstate(invalid="ignore"):
        t = s - a
        lo = (a - (s - t)) + (b - t) + alo + blo
    np.copyto(lo, 0.0, where=np.isnan(lo))  # s = -inf, an impossible outcome: its error is NaN
    return s, lo


def lse2(a: np.ndarray, alo: np.ndarray | float, b: np.ndarray, blo: np.ndarray | float, *, shares: bool = True
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:  # fmt: skip
    """``log(exp(a + alo) + exp(b + blo))`` as a pair, and the two terms' shares of the sum.

    The larger term's pair is kept as it is and the other's share added to it
    (``log1p``), so a low part far below the rounding of 1 is not lost. Where both
    are impossible the sum is too, and the first term takes the whole share
    (``shares=False``: the shares are not computed, None).
    """
    first = a >= b  # (both -inf: the first)
    m, m_lo = np.where(first, a, b), np.where(first, alo, blo)
    other, other_lo = np.where(first, b, a), np.where(first, blo, alo)
    empty = np.isneginf(m)
    with np.errstate(invalid="ignore"):
        e = np.exp((other - np.where(empty, 0.0, m)) + (other_lo - m_lo))
    e[empty] = 0.0
    hi, lo = add(m, m_lo, np.log1p(e), 0.0)
    if not shares:
        return hi, lo, None, None
    big = 1.0 / (1.0 + e)
    small = e * big
    return hi, lo, np.where(first, big, small), np.where(first, small, big)


def shift(lo: np.ndarray, hi: np.ndarray, by: np.ndarray) -> None:
    """Subtract a small ``by`` (a rounding-sized total) from pairs, in ``lo``; -inf stays -inf."""
    lo -= np.where(np.isfinite(hi), by, 0.0)


def exp_pair(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``exp(hi + lo)`` without rounding ``hi + lo`` first."""
    return np.exp(hi) * np.exp(lo)


def _log_wide(x: np.ndarray, f) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """``f(x)`` (``np.log`` or a log1p) as a pair, the correction from long double where it is wider."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        hi = f(x)
        lo = np.zeros_like(hi)
        if _WIDE and x.size:
            values, inverse = (x[:1], np.zeros(x.shape, dtype=np.intp)) if (x == x.flat[0]).all() else \
                np.unique(x, return_inverse=True)  # fmt: skip
            with np.errstate(invalid="ignore"):
                exact = f(values.astype(np.longdouble))
                corr = (exact - f(values).astype(np.longdouble)).astype(float)
            corr[~np.isfinite(corr)] = 0.0
            lo = corr[inverse.reshape(x.shape)]
    return hi, lo


def log_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(x)`` as a pair (``-inf`` where x = 0)."""
    return _log_wide(x, np.log)


def log1m_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(1 - x)`` as a pair (``-inf`` where x = 1)."""
    return _log_wide(x, lambda v: np.log1p(-v))
