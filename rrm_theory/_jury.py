"""Large juries in closed form: a count rule over many identical children (MODEL.md section 2.2).

For ``m`` independent children with the same joint law of (truth, report),
the truth count ``K`` is binomial, and given ``K = k`` the report count is
``X_k + Z_{m-k}`` with ``X_k ~ Bin(k, P(R=1 | Y=1))`` (the good children's
approvals) and ``Z_{m-k} ~ Bin(m - k, P(R=1 | Y=0))`` (the bad children's),
independent. So

    P(K >= T_y, report count >= T_r) = sum_{k >= T_y} P(K = k) P(X_k + Z_{m-k} >= T_r)

and likewise for the other three quadrants. ``P(K = k)`` is computed in log
space by Loader's saddle-point formula (relative error about 1e-15 however
small it is); ``P(X_k + Z_{m-k} >= T_r)`` for every k from the binomial
laws of X and Z, built by folding in one Bernoulli at a time (sums of
non-negative terms only), each on its support (entries below the smallest
normal double are dropped from the ends), for blocks of up to 64
consecutive k at once. The whole costs O(m s) time and O(64 s) memory, with s
the laws' spread (at most m + 1, about 75 standard deviations): about 0.3 s
for 10,001 children, against O(m * T**2) for a dynamic programme over both
counts.

References
----------
C. Loader (2000). Fast and accurate computation of binomial probabilities.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["JURY_MIN", "iid_instances", "iid_rule", "log_binomial_pmf"]

#: Unit-weight rules over at least this many children use the closed form where the children are alike.
JURY_MIN = 48
_MEMORY = 1 << 25  # doubles of X laws kept at once, all instances of a slice together (256 MiB)
_LN_2PI = math.log(2.0 * math.pi)
# log(n!) - log(sqrt(2 pi n) (n/e)^n) for n = 1..15, from exact factorials
_STIRLERR = [0.0] + [
    math.log(math.factorial(n)) - (n + 0.5) * math.log(n) + n - 0.5 * _LN_2PI for n in range(1, 16)
]


def iid_instances(lp: np.ndarray, pr: np.ndarray) -> np.ndarray:
    """Instances (G,) whose children all have the first child's laws: ``lp`` (G, n, 2), ``pr`` (G, n, 2, 2)."""
    same_lp = (lp == lp[:, :1]).all(axis=(1, 2))
    same_pr = (pr == pr[:, :1]).all(axis=(1, 2, 3))
    return same_lp & same_pr


def _stirlerr(n: np.ndarray) -> np.ndarray:
    """Stirling's error log(n!) - log(sqrt(2 pi n)(n/e)^n), n >= 1 (float array of integers)."""
    small = n <= 15
    out = np.empty_like(n)
    out[small] = np.take(_STIRLERR, n[small].astype(np.int64))
    big = n[~small]
    nn = big * big
    s0, s1, s2, s3, s4 = 1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188
    out[~small] = (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / big
    return out


def _bd0(x: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Loader's deviance term x log(x/M) + M - x, without cancellation (x, M > 0)."""
    out = x * np.log(x / M) + M - x
    close = np.abs(x - M) < 0.1 * (x + M)
    if close.any():
        xc, Mc = x[close], M[close]
        v = (xc - Mc) / (xc + Mc)
        s = (xc - Mc) * v
        ej = 2.0 * xc * v
        v2 = v * v
        for j in range(1, 200):
            ej = ej * v2
            term = ej / (2 * j + 1)
            s1 = s + term
            if (s1 == s).all():
                break
            s = s1
        out[close] = s
    return out


def log_binomial_pmf(m: int, log_t: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``log P(Bin(m, t) = k)`` for k = 0..m and each of G probabilities, given ``log t`` and ``log(1 - t)``.

    Loader's saddle-point form where ``m t`` and ``m (1 - t)`` are normal
    doubles; the plain formula with exact log-binomial coefficients otherwise.

    >>> import numpy as np
    >>> p = np.exp(log_binomial_pmf(4, np.log([0.5]), np.log([0.5])))
    >>> [round(float(x), 10) for x in p[0]]
    [0.0625, 0.25, 0.375, 0.25, 0.0625]
    """
    G = len(log_t)
    k = np.arange(m + 1, dtype=float)
    out = np.empty((G, m + 1))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        t, q = np.exp(log_t), np.exp(log_q)
        Mt, Mq = m * t, m * q
    normal = (Mt > 1e-300) & (Mq > 1e-300) & np.isfinite(log_t) & np.isfinite(log_q)
    if normal.any() and m >= 1:
        inner = k[1:-1]
        rest = m - inner
        base = _stirlerr(np.array([float(m)]))[0] - _stirlerr(inner) - _stirlerr(rest)
        lf = _LN_2PI + np.log(inner) + np.log1p(-inner / m)
        for g in np.flatnonzero(normal):
            middle = base - _bd0(inner, np.full_like(inner, Mt[g])) - _bd0(rest, np.full_like(rest, Mq[g])) - 0.5 * lf
            out[g, 1:-1] = middle
            out[g, 0] = m * log_q[g]
            out[g, m] = m * log_t[g]
    if (~normal).any():
        coef = np.array([math.lgamma(m + 1) - math.lgamma(j + 1) - math.lgamma(m - j + 1) for j in range(m + 1)])
        for g in np.flatnonzero(~normal):
            with np.errstate(invalid="ignore"):
                yes = np.where(k > 0, k * log_t[g], 0.0)
                no = np.where(k < m, (m - k) * log_q[g], 0.0)
            out[g] = np.where(np.isnan(yes) | np.isnan(no), -np.inf, coef + yes + no)
    return out


_TINY = np.finfo(float).tiny  # below: subnormal, dropped from a law's support
_BLOCK = 64  # consecutive k per block, their laws side by side


def _binomial_rows(c: int, p: float, q: float) -> np.ndarray:
    """``B[j, i] = P(Bin(j, p) = i)`` for j = 0..c (rows folded one Bernoulli at a time)."""
    B = np.zeros((c + 1, c + 1))
    B[0, 0] = 1.0
    for j in range(1, c + 1):
        B[j, :j] = B[j - 1, :j] * q
        B[j, 1 : j + 1] += B[j - 1, :j] * p
    return B


def _trim(lo: int, rows: np.ndarray) -> tuple[int, np.ndarray]:
    """Drop end columns where every row is below the smallest normal double."""
    keep = np.flatnonzero((rows >= _TINY).any(axis=0))
    if len(keep) == 0:
        return lo, rows[:, :1]
    return lo + int(keep[0]), rows[:, keep[0] : keep[-1] + 1]


def _spread(lo: int, law: np.ndarray, p: float, q: float, count: int) -> tuple[int, np.ndarray]:
    """The laws of ``law`` plus Bin(j, p) for j = 0..count - 1, one row each, folding in one
    Bernoulli at a time (plain array steps: small matrix products would go through a
    multithreaded BLAS, which is slow on a busy machine)."""
    w = len(law)
    rows = np.zeros((count, w + count - 1))
    rows[0, :w] = law
    for i in range(1, count):
        prev = rows[i - 1, : w + i - 1]
        rows[i, : w + i - 1] = prev * q
        rows[i, 1 : w + i] += prev * p
    return _trim(lo, rows)


def _report_tails(pr: np.ndarray, m: int, Tr: int) -> tuple[np.ndarray, np.ndarray]:
    """``P(X_k + Z_{m-k} >= Tr)`` and ``P(... < Tr)`` for k = 0..m, per instance (G, m + 1).

    The k are taken in blocks of ``c = min(64, sqrt(m))``: the block's X laws are one law
    (kept at the block's start) plus Bin(j, p1) for j < c, and its Z laws likewise.
    """
    G = pr.shape[0]
    up = np.zeros((G, m + 1))
    down = np.zeros((G, m + 1))
    if Tr <= 0:
        up[:] = 1.0
        return up, down
    if Tr > m:
        down[:] = 1.0
        return up, down
    c = max(1, min(_BLOCK, math.isqrt(m + 1)))
    starts = list(range(0, m + 1, c))
    for g in range(G):
        p1, q1, p0, q0 = pr[g, 1, 1], pr[g, 1, 0], pr[g, 0, 1], pr[g, 0, 0]
        BX, BZ = _binomial_rows(c, p1, q1), _binomial_rows(c, p0, q0)
        # X_k at the block starts k0, and Z_n at the blocks' lowest n, nb = max(0, m - k0 - c + 1)
        x_at = {0: (0, np.ones(1))}
        for k0 in starts[1:]:
            lo, law = x_at[k0 - c]
            x_at[k0] = _trim(lo, np.convolve(law, BX[c, : c + 1])[None, :])
            x_at[k0] = (x_at[k0][0], x_at[k0][1][0])
        lows = sorted({max(0, m - k0 - c + 1) for k0 in starts})
        z_at = {}
        lo, law, at = 0, np.ones(1), 0
        for nb in lows:
            while at < nb:  # fold in at most c at a time
                step = min(c, nb - at)
                lo, rows = _trim(lo, np.convolve(law, BZ[step, : step + 1])[None, :])
                law, at = rows[0], at + step
            z_at[nb] = (lo, law)
        for k0 in starts:
            k1 = min(k0 + c, m + 1)  # this block's k: k0 .. k1 - 1
            nb = max(0, m - k1 + 1)  # and its n = m - k: nb .. m - k0
            x_lo, X = _spread(*x_at[k0], p1, q1, k1 - k0)  # row i: k = k0 + i
            z_lo, Z = _spread(*z_at[nb], p0, q0, m - k0 - nb + 1)  # row j: n = nb + j
            Z = Z[::-1][: k1 - k0]  # row i: n = m - k0 - i, paired with k = k0 + i
            width = Z.shape[1]
            sf = np.zeros((len(Z), width + 1))  # sf[., i] = P(Z >= z_lo + i)
            sf[:, :width] = np.cumsum(Z[:, ::-1], axis=1)[:, ::-1]
            cdf = np.zeros((len(Z), width + 1))  # cdf[., i] = P(Z <= z_lo + i - 1)
            cdf[:, 1:] = np.cumsum(Z, axis=1)
            index = np.clip(Tr - (x_lo + np.arange(X.shape[1])) - z_lo, 0, width)
            up[g, k0:k1] = (X * sf[:, index]).sum(axis=1)
            down[g, k0:k1] = (X * cdf[:, index]).sum(axis=1)
    return up, down


def iid_rule(lp: np.ndarray, pr: np.ndarray, m: int, Ty: int, Tr: int) -> tuple[np.ndarray, np.ndarray]:
    """The rule over m children alike with laws ``lp`` (G, 2), ``pr`` (G, 2, 2): truth accepts
    when at least ``Ty`` truths are 1, the input when at least ``Tr`` reports are.

    Returns ``log P(rule(Y) = y)`` (G, 2) and ``P(rule(R) = u | rule(Y) = y)`` (G, 2, 2).
    """
    G = lp.shape[0]
    out_lp = np.empty((G, 2))
    out_pu = np.empty((G, 2, 2))
    step = max(1, _MEMORY // (4 * (m + 1)))
    k = np.arange(m + 1)
    for lo in range(0, G, step):
        sl = slice(lo, lo + step)
        logb = log_binomial_pmf(m, lp[sl, 1], lp[sl, 0])
        up, down = _report_tails(pr[sl], m, Tr)
        for y, mask in ((0, k < Ty), (1, k >= Ty)):
            if not mask.any():
                out_lp[sl, y] = -np.inf
                out_pu[sl, y] = (1.0, 0.0)
                continue
            t = logb[:, mask]
            peak = t.max(axis=1)
            finite = np.isfinite(peak)
            with np.errstate(invalid="ignore"):
                w = np.exp(t - np.where(finite, peak, 0.0)[:, None])
            w[~finite] = 0.0
            w[~finite, 0] = 1.0
            s = w.sum(axis=1)
            with np.errstate(divide="ignore"):
                out_lp[sl, y] = np.where(finite, peak + np.log(s), -np.inf)
            out_pu[sl, y, 1] = (w * up[:, mask]).sum(axis=1) / s
            out_pu[sl, y, 0] = (w * down[:, mask]).sum(axis=1) / s
    return out_lp, out_pu
