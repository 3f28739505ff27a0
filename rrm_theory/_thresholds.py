"""Noise and deception thresholds of a homogeneous tree's error map (docs/theory.md section 1).

Notation: a rule of threshold ``T`` over ``k`` children; every node alike, with symmetric error
``E`` (``false_accept = false_reject = E``), or with error ``error`` and deception rate ``d``;
truths all 1 (good work) or all 0 (bad work). A threshold is the largest parameter in
[0, 1/2] at which the error map keeps a stable fixed point below 1/2: found by bisection on
the certified fixed points of :class:`~rrm_theory._binomial_map.BinomialMap`, then made exact
where it can be (a rational event where a stable fixed point reaches e = 1/2, or, for k <= 7,
a tangency found by sympy, imported only then). :mod:`rrm_theory.homogeneous` validates the
rule and wraps these as ``noise_threshold`` and ``deception_threshold``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

from ._binomial_map import BinomialMap, decimal, exact_events, rational

__all__ = ["noise", "deception"]


def _bisect(make: Callable[[float], BinomialMap]) -> float:
    """The largest parameter in [0, 1/2] keeping a stable fixed point below 1/2 (monotone in it)."""
    if not make(0.0).stable_below_half():
        return 0.0
    lo, hi = 0.0, 0.5
    if make(hi).stable_below_half():
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if not lo < mid < hi:
            break
        lo, hi = (mid, hi) if make(mid).stable_below_half() else (lo, mid)
    return lo


def _exact(numeric: float, candidates: list[list[Fraction]], degree: int, tangency: Callable[[], Any]) -> Any:
    """The exact threshold: a rational candidate (:func:`~rrm_theory._binomial_map.exact_events`,
    events first) within 1e-9 of the numeric value, else, for maps of degree at most 7, a
    tangency (``f(e) = e`` and ``f'(e) = 1``, by a sympy resultant) within 1e-9; else None.

    The bisection is accurate to about 1e-12 (the margin of ``FixedPoint.stable`` near a
    pitchfork), far better elsewhere; 1e-9 leaves room and no two kinds of event that close.
    A rational is a :class:`~fractions.Fraction` (no sympy needed), a tangency a sympy number.
    """
    if numeric == 0.0:
        return Fraction(0)
    for group in candidates:
        near = [c for c in group if abs(c - Fraction(numeric)) <= Fraction(1, 10**9)]
        if near:
            return min(near, key=lambda c: abs(c - Fraction(numeric)))
    if degree > 7:
        return None
    return tangency()


def _side(numeric: float, exact: Any) -> dict[str, Any]:
    return {"threshold": numeric if exact is None else float(exact), "exact": None if exact is None else str(exact)}


def noise(k: int, T: int) -> dict[str, Any]:
    """``{"threshold", "exact", "good", "bad"}``: the symmetric-error threshold, the smaller side's."""
    sides: dict[str, dict[str, Any]] = {}
    for name, truth in (("good", 1), ("bad", 0)):

        def at(p: Fraction, truth: int = truth) -> BinomialMap:
            return BinomialMap.from_rates(k, T, p, p, Fraction(0), Fraction(0), truth)

        if name == "bad" and all(at(p) == at(p, 1) for p in (Fraction(0), Fraction(1))):
            sides[name] = dict(sides["good"])  # a symmetric rule: both sides have one map
            continue
        numeric = _bisect(lambda x, truth=truth: BinomialMap.from_rates(k, T, rational(x), rational(x), Fraction(0),
                                                                        Fraction(0), truth))  # fmt: skip

        def tangent(truth: int = truth, numeric: float = numeric) -> Any:
            from ._symbolic_map import tangency

            return tangency("noise", k, T, truth, numeric)

        sides[name] = _side(numeric, _exact(numeric, exact_events(at), k, tangent))
    worst = min(sides, key=lambda side: float(sides[side]["threshold"]))
    return {"threshold": sides[worst]["threshold"], "exact": sides[worst]["exact"], **sides}


def deception(k: int, T: int, error: float) -> dict[str, Any]:
    """``{"threshold", "exact"}``: the deception threshold on bad work, evaluators' error ``error``."""
    numeric = _bisect(lambda x: BinomialMap.from_rates(k, T, rational(error), rational(error), rational(x),
                                                       Fraction(0), 0))  # fmt: skip
    err = decimal(error)

    def at(p: Fraction) -> BinomialMap:
        return BinomialMap.from_rates(k, T, err, err, p, Fraction(0), 0)

    def tangent() -> Any:
        from ._symbolic_map import tangency

        return tangency("deception", k, T, 0, numeric, error=err)

    return _side(numeric, _exact(numeric, exact_events(at), k, tangent))
