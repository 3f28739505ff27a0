"""The error map of a homogeneous tree, unexpanded, and its certified roots (docs/theory.md section 1).

Notation: ``f(x) = c0 + c1 m(x)`` with ``m(x) = P(Bin(k, x) >= need)``, exact rationals ``c0``,
``c1``; ``h(x) = f(x) - x``, whose zeros are the fixed points. :mod:`rrm_theory.homogeneous`
builds a :class:`BinomialMap` from a model's rates and asks it for values, derivatives and roots.

The numeric paths never expand the map into powers of x (that polynomial's coefficients grow like
C(k, j) and cancel). They evaluate the binomial tail itself, a sum of positive terms, and decide
every sign that matters (of h and of h') either in double precision, when the double is farther
from zero than its error bound, or else exactly, in rational arithmetic with Python integers (x
is a float, hence a dyadic rational). The expanded polynomial is only ever *printed*
(:func:`polynomial_str`), from exact coefficients.

Standard library and numpy only: no sympy, no scipy.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, Callable

import numpy as np

__all__ = [
    "BinomialMap",
    "Tail",
    "tail",
    "rational",
    "decimal",
    "sign",
    "bisect_float",
    "exact_events",
    "expanded_coefficients",
    "polynomial_str",
]

_U = 2.0**-53  # unit roundoff


def rational(x: Any) -> Fraction:
    """The exact value of a rate (a float's binary value)."""
    return Fraction(x) if isinstance(x, numbers.Rational) else Fraction(float(x))


def decimal(x: Any) -> Fraction:
    """A rate as the decimal number written (0.05 -> 1/20), for exact thresholds."""
    return Fraction(x) if isinstance(x, numbers.Rational) else Fraction(str(float(x)))


class Tail:
    """Tables for m(x) = P(Bin(k, x) >= need), 1 <= need <= k (cached per (k, need))."""

    def __init__(self, k: int, need: int) -> None:
        self.k, self.need = k, need
        self.combs = tuple(math.comb(k, j) for j in range(need, k + 1))  # exact, for the rational path
        self.low_combs = tuple(math.comb(k, j) for j in range(need)) if need - 1 < k - need + 1 else None
        self.K = k * math.comb(k - 1, need - 1)  # m'(x) = K x^(need-1) (1-x)^(k-need)
        self.log_K = math.log(self.K)
        self.js = np.arange(need, k + 1)
        self.direct = k <= 1000  # C(k, j) fits a double
        if self.direct:
            self.float_combs = np.array([float(c) for c in self.combs])
            self.tiny = 4 * (k + 1) * (float(max(self.combs)) + 1.0) * 2.0**-1074  # terms in subnormals
        else:
            self.log_combs = np.array([math.log(c) for c in self.combs])
            self.tiny = 4 * (k + 1) * 2.0**-1074

    def double(self, x: float) -> tuple[float, float]:
        """m(x) in double precision, and r with ``|m_double - m| <= r u m + tiny``.

        A sum of positive terms ``C(k, j) x^j (1-x)^(k-j)``, added by ``math.fsum`` (one rounding).
        Each term's relative error, in units u = 2^-53, allowing 4 ulp for numpy's pow and exp:
        for x >= 1/2, ``1 - x`` is exact and a term costs at most 11 (conversion of C(k, j), two
        powers, two products); for 1/4 <= x < 1/2, ``1 - x`` is rounded once and its power adds
        ``k - j``; for x < 1/4, ``(1-x)^(k-j) = exp((k-j) log1p(-x))`` adds ``3 (k-j) |log1p(-x)|``
        instead (tiny near 0, where roots near 0 need it). For k > 1000, where C(k, j) overflows a
        double, whole terms are ``exp(log C(k, j) + j log x + (k-j) log1p(-x))``, whose exponent
        is off by at most 3 u times ``2 k log 2 + 745`` for any term above the subnormals.
        """
        if x <= 0.0:
            return 0.0, 0.0
        if x >= 1.0:
            return 1.0, 0.0
        k, js = self.k, self.js
        if not self.direct:
            terms = np.exp(self.log_combs + js * math.log(x) + (k - js) * math.log1p(-x))
            rel = 4.2 * k + 2240.0
        elif x < 0.25:
            log_y = math.log1p(-x)
            terms = self.float_combs * x**js * np.exp((k - js) * log_y)
            rel = 11.0 - 3.0 * k * log_y
        else:
            terms = self.float_combs * x**js * (1.0 - x) ** (k - js)
            rel = 11.0 + (k if x < 0.5 else 0)
        return math.fsum(terms.tolist()), rel + 1.0

    def exact(self, n: int, d: int) -> int:
        """``d^k m(n/d)`` in integers: the sum over j >= need of ``C(k, j) n^j (d - n)^(k - j)``, or
        ``d^k`` minus the sum over j < need when that side is shorter; by Horner's rule in n."""
        k, need, y = self.k, self.need, d - n
        if self.low_combs is not None:
            return d**k - _homogeneous_horner(self.low_combs, n, y) * y ** (k - need + 1)
        return _homogeneous_horner(self.combs, n, y) * n**need


def _homogeneous_horner(coefficients: Any, n: int, y: int) -> int:
    """``sum_i c_i n^i y^(J - i)`` for ``c_0..c_J`` (products of one big and one small factor only)."""
    acc, ypow = coefficients[-1], 1
    for c in reversed(coefficients[:-1]):
        ypow *= y
        acc = acc * n + c * ypow
    return acc


@lru_cache(maxsize=256)
def tail(k: int, need: int) -> Tail:
    return Tail(k, need)


@dataclass(frozen=True)
class BinomialMap:
    """The error map unexpanded: ``f(x) = c0 + c1 m(x)``, ``m(x) = P(Bin(k, x) >= need)``, exact c0, c1.

    ``h(x) = f(x) - x``; its fixed points are the zeros of h. A constant m (need outside 1..k)
    is folded into c0 with c1 = 0.
    """

    k: int
    need: int
    c0: Fraction
    c1: Fraction

    @classmethod
    def of(cls, model: Any, truth: int = 1, *, root: bool = False) -> BinomialMap:
        """The map of a :class:`~rrm_theory.homogeneous.Homogeneous` (its ``rates``, ``branching`` and ``T``)."""
        fa, fr, d, audit = (rational(x) for x in model.rates(False))
        return cls.from_rates(model.branching, model.T, fa, fr, d, Fraction(0) if root else audit, truth)

    @classmethod
    def from_rates(cls, k: int, T: int, fa: Fraction, fr: Fraction, d: Fraction, audit: Fraction,
                   truth: int) -> BinomialMap:  # fmt: skip
        a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
        hit, miss = (1 - a, b) if truth == 1 else (1 - b, a)
        need = k - T + 1 if truth == 1 else T
        c0, c1 = (1 - audit) * miss, (1 - audit) * (hit - miss)
        if need <= 0:
            return cls(k, 1, c0 + c1, Fraction(0))
        if need > k:
            return cls(k, 1, c0, Fraction(0))
        return cls(k, need, c0, c1)

    # ------------------------------------------------------------------ double evaluation

    @cached_property
    def _t(self) -> Tail:
        return tail(self.k, self.need)

    @cached_property
    def _floats(self) -> tuple[float, float]:
        return float(self.c0), float(self.c1)

    def __call__(self, x: float) -> float:
        c0, c1 = self._floats
        return c0 + c1 * self._t.double(x)[0]

    def derivative(self, x: float) -> float:
        """f'(x) = c1 K x^(need-1) (1-x)^(k-need)."""
        t, c1 = self._t, self._floats[1]
        i, j = self.need - 1, self.k - self.need
        if c1 == 0.0:
            return 0.0
        if x <= 0.0 or x >= 1.0:  # x^i (1-x)^j is 1 at an end only with the exponent 0 there, and then K = k
            return c1 * self.k if (x <= 0.0 and i == 0) or (x >= 1.0 and j == 0) else 0.0
        if t.K < 1e300:
            return c1 * float(t.K) * x**i * (1.0 - x) ** j
        return c1 * math.exp(t.log_K + i * math.log(x) + j * math.log1p(-x))

    def _bound(self, x: float, m: float, rel: float) -> float:
        """A bound on ``|h_double(x) - h(x)|`` given ``m = m_double(x)`` and its ``rel`` (:meth:`Tail.double`).

        ``h_double = fl(fl(c0 + fl(c1 m)) - x)`` with c0, c1 rounded: to first order the error is at
        most ``u [(rel + 2) |c1| m + 3 (|c0| + |c1| m + x)]``; this is twice that, plus the
        subnormal slack.
        """
        c0, c1 = self._floats
        return 2 * _U * (rel + 5) * (abs(c0) + abs(c1) * m + x) + self._t.tiny * abs(c1) + 2.0**-1070

    # ------------------------------------------------------------------ exact evaluation

    def _h_exact(self, n: int, d: int) -> tuple[int, int]:
        """h(n/d) as N/Q with Q > 0, exactly."""
        p0, q0, p1, q1 = self.c0.numerator, self.c0.denominator, self.c1.numerator, self.c1.denominator
        dk1 = d ** (self.k - 1)
        S = self._t.exact(n, d) if p1 else 0
        return p0 * q1 * dk1 * d + p1 * q0 * S - n * q0 * q1 * dk1, q0 * q1 * dk1 * d

    def _dh_exact(self, n: int, d: int) -> tuple[int, int]:
        """h'(n/d) = c1 m'(n/d) - 1 as N/Q with Q > 0, exactly."""
        p1, q1, t = self.c1.numerator, self.c1.denominator, self._t
        dk1 = d ** (self.k - 1)
        return p1 * t.K * n ** (self.need - 1) * (d - n) ** (self.k - self.need) - q1 * dk1, q1 * dk1

    def _d2h_exact(self, x: Fraction) -> Fraction:
        """h''(x) = c1 m''(x), exactly."""
        i, j = self.need - 1, self.k - self.need
        second = Fraction(0)
        if i >= 1:
            second += i * x ** (i - 1) * (1 - x) ** j
        if j >= 1:
            second -= j * x**i * (1 - x) ** (j - 1)
        return self.c1 * self._t.K * second

    def h(self, x: float) -> float:
        """h(x) = f(x) - x as a double whose sign is certain (0.0 only where h is exactly 0)."""
        c0, c1 = self._floats
        m, rel = self._t.double(x)
        value = (c0 + c1 * m) - x
        if abs(value) > self._bound(x, m, rel):
            return value
        N, Q = self._h_exact(*x.as_integer_ratio())
        return 0.0 if N == 0 else (1.0 if N > 0 else -1.0) * max(abs(N / Q), 5e-324)

    def _dh_sign(self, x: float) -> int:
        """The sign of h'(x) = c1 m'(x) - 1, certain (for c1 > 0)."""
        if 0.0 < x < 1.0:
            i, j = self.need - 1, self.k - self.need
            terms = (math.log(self.c1.numerator) - math.log(self.c1.denominator) + self._t.log_K,
                     i * math.log(x), j * math.log1p(-x))  # fmt: skip
            psi = math.fsum(terms)  # log(c1 m'(x)): same sign as h'(x)
            if abs(psi) > 8 * _U * (1.0 + sum(abs(t) for t in terms)):
                return 1 if psi > 0 else -1
        N, _ = self._dh_exact(*x.as_integer_ratio())
        return (N > 0) - (N < 0)

    # ------------------------------------------------------------------ roots

    def _critical_brackets(self, lo: float, hi: float) -> list[tuple[float, float]]:
        """Float brackets [l, r] (l = r when exact) holding every zero of h' in [lo, hi].

        m' is unimodal (its log is concave, peaked at x_m = (need-1)/(k-1)), so h' = c1 m' - 1 has
        at most two zeros, one on each side of x_m; each is bracketed by bisection on the sign of h'.
        """
        k, need = self.k, self.need
        if self.c1 <= 0 or k == 1:
            return []  # h' <= -1, or h' constant
        pieces, mode = [(lo, hi)], None  # h' monotone on each piece
        if 1 < need < k:
            xm = Fraction(need - 1, k - 1)
            below = float(xm) if Fraction(float(xm)) <= xm else math.nextafter(float(xm), 0.0)
            above = below if Fraction(below) == xm else math.nextafter(below, 1.0)
            if lo < above and below < hi:
                pieces, mode = [(lo, below), (above, hi)], (below, above, xm)
        out = []
        for a, b in pieces:
            sa, sb = self._dh_sign(a), self._dh_sign(b)
            if sa == 0:
                out.append((a, a))
            if sb == 0:
                out.append((b, b))
            if sa * sb < 0:
                out.append(bisect_float(self._dh_sign, a, b, sa))
        if mode is not None and mode[0] < mode[1]:
            # the one-ulp interval around the mode holds zeros of h' iff h'(x_m) >= 0 > h' at an end
            N, _ = self._dh_exact(mode[2].numerator, mode[2].denominator)
            if N >= 0 and min(self._dh_sign(mode[0]), self._dh_sign(mode[1])) < 0:
                out.append((mode[0], mode[1]))
        return sorted(set(out))

    def roots(self, lo: float = 0.0, hi: float = 0.5) -> list[float]:
        """Every zero of h in [lo, hi], ascending, each to within one ulp (certified).

        Between consecutive brackets of zeros of h' the function h is strictly monotone, so such
        a piece holds a zero iff h changes sign across it (or vanishes at an end), and bisection
        on certain signs converges to it. A piece one ulp wide with h of one sign at both ends may
        still hide two zeros closer than an ulp (a tangency): :meth:`_touching` decides that.
        """
        cuts = sorted({lo, hi, *(x for bracket in self._critical_brackets(lo, hi) for x in bracket)})
        cuts = [x for x in cuts if lo <= x <= hi]
        found: list[float] = []
        values = [self.h(x) for x in cuts]
        for x, v in zip(cuts, values):
            if v == 0.0:
                found.append(x)
        for (a, ha), (b, hb) in zip(zip(cuts, values), zip(cuts[1:], values[1:])):
            if ha * hb < 0:
                u, v = bisect_float(lambda x: sign(self.h(x)), a, b, sign(ha))
                found.append(u if abs(self.h(u)) <= abs(self.h(v)) else v)
            elif ha * hb > 0 and math.nextafter(a, math.inf) >= b and max(abs(ha), abs(hb)) <= self._near(b - a):
                touch = self._touching(a, b)
                if touch is not None:
                    found.append(touch)
        return sorted(set(found))

    def _near(self, w: float) -> float:
        """Above this |h| (as :meth:`h` gives it) at either end of a piece w wide, it holds no zero."""
        return abs(self._floats[1]) * self.k**2 * w * w + self._bound(1.0, 1.0, 4.2 * self.k + 2240.0)

    def _touching(self, a: float, b: float) -> float | None:
        """Where h, of one sign s at the adjacent floats a < b, has two zeros (or a double one) between them.

        A zero needs a zero of h' in [a, b] (else h is monotone there), and then
        ``|h'| <= |h''| (b - a)`` on it, with ``|h''| = |c1 m''| <= |c1| k (k - 1)``: if
        ``|h(a)| > |c1| k (k - 1) (b - a)^2`` there is none. Otherwise, exactly in rationals:
        ``s h`` is at least its quadratic Taylor polynomial at a minus ``|c1| 2 k^3 (b - a)^3 / 6``
        (the third derivative of m is at most ``2 k^3``); if that lower bound stays positive on
        [a, b] there is no zero, else the float nearest its minimum is reported as a (double)
        fixed point.
        """
        k, c1 = self.k, abs(self.c1)
        A, B = Fraction(a), Fraction(b)
        w = B - A
        N, Q = self._h_exact(A.numerator, A.denominator)
        ha = Fraction(N, Q)
        if ha == 0 or abs(ha) > c1 * k * (k - 1) * w**2:
            return None
        s = 1 if ha > 0 else -1
        N, Q = self._dh_exact(A.numerator, A.denominator)
        g0, g1, g2 = s * ha, s * Fraction(N, Q), s * self._d2h_exact(A)

        def q(t: Fraction) -> Fraction:
            return g0 + g1 * t + g2 * t * t / 2

        ends = [(q(Fraction(0)), A), (q(w), B)]
        if g2 > 0 and 0 <= -g1 / g2 <= w:
            ends.append((q(-g1 / g2), A - g1 / g2))
        low, where = min(ends)
        if low > c1 * 2 * k**3 * w**3 / 6:
            return None
        return a if abs(where - A) <= abs(B - where) else b

    def stable_below_half(self) -> bool:
        return any(x < 0.5 and abs(self.derivative(x)) < 1.0 - 1e-12 for x in self.roots(0.0, 0.5))


def sign(x: float) -> int:
    return (x > 0) - (x < 0)


def bisect_float(sign: Any, a: float, b: float, sa: int) -> tuple[float, float]:
    """Adjacent floats (or one float twice, at an exact zero) bracketing the sign change of ``sign`` in [a, b]."""
    while True:
        mid = a + (b - a) / 2
        if not a < mid < b:
            return a, b
        s = sign(mid)
        if s == 0:
            return mid, mid
        if s == sa:
            a = mid
        else:
            b = mid


def exact_events(at: Callable[[Fraction], BinomialMap]) -> list[list[Fraction]]:
    """Exact thresholds where a stable fixed point reaches e = 1/2, for a map affine in its parameter p.

    ``at(p)`` is the exact map at p. The boundary ``f_p(1/2) = 1/2`` is linear in p; where it
    holds for every p (a symmetric rule) the threshold is the pitchfork ``f_p'(1/2) = 1``,
    linear too, with ``m(1/2) = sum_{j >= need} C(k, j) / 2^k`` and ``m'(1/2) = K / 2^(k-1)``,
    ``K = k C(k-1, need-1)``, in integers. Returns ``[events, ends]``: that event, then the ends
    of the range, 0 and 1/2 (an event can lie within an ulp of 1/2, as for ``all`` over more
    than about 53 children under deception, and is then the threshold, not the end).
    """
    ends = [Fraction(0), Fraction(1, 2)]
    zero, one, half = at(Fraction(0)), at(Fraction(1)), at(Fraction(1, 2))
    k, need = zero.k, zero.need
    if (one.k, one.need) != (k, need):
        return [[], ends]
    if any(h_ != (z + o) / 2 for h_, z, o in ((half.c0, zero.c0, one.c0), (half.c1, zero.c1, one.c1))):
        return [[], ends]  # not affine in p
    t = tail(k, need)
    m_half = Fraction(sum(t.combs), 2**k)
    dm_half = Fraction(t.K, 2 ** (k - 1))
    events = []
    A, B = zero.c0 + zero.c1 * m_half - Fraction(1, 2), (one.c0 - zero.c0) + (one.c1 - zero.c1) * m_half
    if B != 0:
        events.append(-A / B)
    elif A == 0:
        C, D = zero.c1 * dm_half - 1, (one.c1 - zero.c1) * dm_half
        if D != 0:
            events.append(-C / D)
    return [[p for p in events if 0 < p < Fraction(1, 2)], ends]


def expanded_coefficients(f: BinomialMap) -> dict[int, Fraction]:
    """The map in powers of x, exactly: ``{power: coefficient}`` (zeros left out).

    By ``P(Bin(k, x) >= need) = sum_{i >= need} (-1)^(i - need) C(k, i) C(i - 1, need - 1) x^i``.

    >>> expanded_coefficients(BinomialMap(3, 2, Fraction(1, 10), Fraction(4, 5)))
    {0: Fraction(1, 10), 2: Fraction(12, 5), 3: Fraction(-8, 5)}
    """
    out = {0: f.c0}
    if f.c1 != 0:
        k, need = f.k, f.need
        for i in range(need, k + 1):
            out[i] = out.get(i, Fraction(0)) + f.c1 * (-1) ** (i - need) * math.comb(k, i) * math.comb(i - 1, need - 1)
    return {i: c for i, c in sorted(out.items()) if c != 0}


def polynomial_str(coefficients: dict[int, Fraction], symbol: str = "e") -> str:
    """A polynomial with rational coefficients as sympy's ``str`` prints it, highest power first.

    ``-8*e**3/5 + 12*e**2/5 + 1/10``: a coefficient's numerator before the power, its
    denominator after it, 1 left out, ``e`` for ``e**1``, ``0`` for the zero polynomial; and,
    as sympy orders ``c - a e^i`` (a positive constant and one negative term), the constant
    first (the tests check it against sympy).

    >>> polynomial_str({0: Fraction(1, 10), 2: Fraction(12, 5), 3: Fraction(-8, 5)})
    '-8*e**3/5 + 12*e**2/5 + 1/10'
    >>> polynomial_str({1: Fraction(-1), 0: Fraction(3)}), polynomial_str({})
    ('3 - e', '0')
    """
    powers = sorted((p for p, c in coefficients.items() if c != 0), reverse=True)
    if len(powers) == 2 and powers[1] == 0 and coefficients[0] > 0 and coefficients[powers[0]] < 0:
        powers.reverse()
    parts = []
    for power in powers:
        c = Fraction(coefficients[power])
        p, q = abs(c.numerator), c.denominator
        if power == 0:
            body = str(p)
        else:
            body = symbol if power == 1 else f"{symbol}**{power}"
            if p != 1:
                body = f"{p}*{body}"
        if q != 1:
            body = f"{body}/{q}"
        if not parts:
            parts.append(f"-{body}" if c < 0 else body)
        else:
            parts.append(f"{'-' if c < 0 else '+'} {body}")
    return " ".join(parts) or "0"
