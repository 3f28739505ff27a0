"""The per-level maps of a homogeneous tree as sympy expressions (docs/theory.md section 1).

Only the symbolic parts of :mod:`rrm_theory.homogeneous` live here: the maps for papers
(``error_map``, ``joint_map``, their LaTeX), the closed forms of affine maps and the exact
tangency thresholds of small committees. That module imports this one inside the functions
that need it, so that nothing numeric waits for sympy.

Notation as there: ``e`` a node's error, ``E`` a symmetric evaluator error, ``d`` a depth or a
deception rate; rates enter as the rationals of the decimals written (0.05 -> 1/20, as
``Fraction(str(x))``), the convention of the exact thresholds.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp

from ._binomial_map import BinomialMap, decimal, expanded_coefficients

__all__ = [
    "symbols",
    "to_sympy",
    "symbolic_map",
    "expanded_map",
    "expanded_from",
    "joint_map",
    "closed_form",
    "tangency",
]


@lru_cache(maxsize=1)
def symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
    """``(e, E, D)``: a node's error, a symmetric evaluator error, the depth (printed ``d``)."""
    e, E, D = sp.symbols("e E d", nonnegative=True)
    return e, E, D


def to_sympy(x: Any) -> sp.Expr:
    """A rate as a sympy rational, read as the decimal written (a sympy expression is kept)."""
    if isinstance(x, sp.Basic):
        return x
    f = decimal(x)
    return sp.Rational(f.numerator, f.denominator)


def _wrong_input(k: int, need: int, x: sp.Expr) -> sp.Expr:
    """P(at least ``need`` of k independent children are wrong), each wrong with probability x."""
    return sp.Add(*(sp.binomial(k, j) * x**j * (1 - x) ** (k - j) for j in range(max(need, 0), k + 1)))


def symbolic_map(k: int, T: int, fa: Any, fr: Any, d: Any, audit: Any, truth: int, x: sp.Symbol) -> sp.Expr:
    """The error map of a rule of threshold T over k children, unexpanded, in the symbol x."""
    a = 1 - (1 - fa) * (1 - d)
    b = fr * (1 - d)
    if truth == 1:
        m = _wrong_input(k, k - T + 1, x)
        return (1 - audit) * (m * (1 - a) + (1 - m) * b)
    m = _wrong_input(k, T, x)
    return (1 - audit) * (m * (1 - b) + (1 - m) * a)


def expanded_map(k: int, T: int, fa: Any, fr: Any, d: Any, audit: Any, truth: int, x: sp.Symbol) -> sp.Expr:
    """``sp.expand(symbolic_map(...))`` for rates that may be symbols, without sympy's slow expansion:
    ``P(Bin(k, x) >= need) = sum_{i >= need} (-1)^(i - need) C(k, i) C(i - 1, need - 1) x^i``.
    """
    a = 1 - (1 - fa) * (1 - d)
    b = fr * (1 - d)
    hit, miss = (1 - a, b) if truth == 1 else (1 - b, a)
    need = k - T + 1 if truth == 1 else T
    c0, c1 = (1 - audit) * miss, (1 - audit) * (hit - miss)
    if need <= 0:
        return sp.expand(c0 + c1)
    terms = [sp.expand(c1 * (-1) ** (i - need) * math.comb(k, i) * math.comb(i - 1, need - 1)) * x**i
             for i in range(need, k + 1)]  # fmt: skip
    return sp.expand(sp.Add(sp.expand(c0), *terms))


def expanded_from(f: BinomialMap, x: sp.Symbol) -> sp.Expr:
    """The expanded polynomial of a map with exact rational coefficients (fast for any k)."""
    return sp.Add(*(sp.Rational(c.numerator, c.denominator) * x**i for i, c in expanded_coefficients(f).items()))


def joint_map(model: Any, *, root: bool = False) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    """The joint map of a :class:`~rrm_theory.homogeneous.Homogeneous`: the multinomial over the
    children's four states, ``(k + 1)(k + 2)(k + 3) / 6`` terms (see ``homogeneous.joint_map``)."""
    q = sp.symbols("p11 p10 p01 p00", nonnegative=True)
    k, T = model.branching, model.T
    fa, fr, d, audit = model.rates(False)
    audit = 0.0 if root else audit
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    cov = model.coverage
    # joint law of (rule(Y), U) over the multinomial of the children's four states
    J = {(y, u): sp.Integer(0) for y in (0, 1) for u in (0, 1)}
    for n11 in range(k + 1):
        for n10 in range(k + 1 - n11):
            for n01 in range(k + 1 - n11 - n10):
                n00 = k - n11 - n10 - n01
                coef = sp.factorial(k) / (sp.factorial(n11) * sp.factorial(n10) * sp.factorial(n01) * sp.factorial(n00))
                term = coef * q[0] ** n11 * q[1] ** n10 * q[2] ** n01 * q[3] ** n00
                J[(int(n11 + n10 >= T), int(n11 + n01 >= T))] += term
    # coverage: Y = rule(Y) and H
    JU = {(1, u): cov * J[(1, u)] for u in (0, 1)}
    JU.update({(0, u): J[(0, u)] + (1 - cov) * J[(1, u)] for u in (0, 1)})
    # evaluator: V = 1 with probability a given U = 0, 1 - b given U = 1; audit shows Y
    out = []
    for y, r in ((1, 1), (1, 0), (0, 1), (0, 0)):
        pv = JU[(y, 0)] * (a if r else 1 - a) + JU[(y, 1)] * (1 - b if r else b)
        total = JU[(y, 0)] + JU[(y, 1)]
        out.append(sp.expand((1 - audit) * pv + audit * total * int(r == y)))
    return sp.Matrix(out), q


def closed_form(f: sp.Expr, e0: float) -> sp.Expr | None:
    """The depth-d value of iterating the map ``f`` (in ``e``) from ``e0``, when f is affine; else None."""
    e, _, D = symbols()
    poly = sp.Poly(sp.expand(f), e)
    if poly.degree() > 1:
        return None
    slope, intercept = poly.coeff_monomial(e), poly.coeff_monomial(1)
    start = sp.nsimplify(e0, rational=True)
    if slope == 1:
        return start + intercept * D
    star = intercept / (1 - slope)
    return star + (start - star) * slope**D


def tangency(kind: str, k: int, T: int, truth: int, numeric: float, *, error: Fraction = Fraction(0)) -> Any:
    """An exact threshold where the stable fixed point merges with an unstable one, or None.

    ``kind`` is ``"noise"`` (the parameter is the symmetric error E) or ``"deception"`` (the
    parameter is the deception rate d, the evaluators' error ``error``). Solves ``f(e) = e``,
    ``f'(e) = 1`` by a resultant in the parameter and keeps the real root within 1e-9 of
    ``numeric`` (a sympy algebraic number), for maps of degree at most 7.
    """
    e, E, D = symbols()
    if kind == "noise":
        parameter, f = E, symbolic_map(k, T, E, E, 0, 0, truth, e)
    else:
        err = to_sympy(error)
        parameter, f = D, symbolic_map(k, T, err, err, D, 0, truth, e)
    try:
        g = sp.expand(f) - e
        resultant = sp.resultant(sp.Poly(g, e), sp.Poly(sp.diff(g, e), e))
        for cand in sp.Poly(resultant, parameter).all_roots():
            value = complex(sp.N(cand))
            if abs(value.imag) < 1e-12 and abs(value.real - numeric) <= 1e-9:
                return cand
    except (NotImplementedError, sp.PolynomialError, ValueError):
        return None
    return None
