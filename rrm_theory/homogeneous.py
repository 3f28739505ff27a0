"""How oversight degrades with depth in homogeneous trees (MODEL.md sections 2 and 5; docs/theory.md).

A homogeneous tree: every internal node has the same rule over ``k`` children;
leaves and internal nodes each have their own ``false_accept``, ``false_reject``,
``deception`` and ``audit``; a fixed prior, coverage 1 unless given. Nodes at
the same height are identically distributed and independent, so one level's
law is a fixed function of the level below: the **per-level map**.

Error map (truths all equal)
    With prior 1 every truth is 1 ("good work") and a node's state is one
    number, its error ``e = P(R = 0)``; with prior 0 every truth is 0 ("bad
    work") and ``e = P(R = 1)``. Writing ``a = 1 - (1 - fa)(1 - d)`` and
    ``b = fr (1 - d)`` for the evaluator's response rates (docs/bounds.md) and
    ``m(e)`` for the probability that the rule's input is wrong when each
    child is wrong independently with probability e,

        good:  e' = (1 - audit) * (m(e) (1 - a) + (1 - m(e)) b),   m(e) = P(Bin(k, e) >= k - T + 1)
        bad:   e' = (1 - audit) * (m(e) (1 - b) + (1 - m(e)) a),   m(e) = P(Bin(k, e) >= T)

    with T the rule's threshold; the root uses the same map without audit.
    With a symmetric error (``fa = fr = E``, no deception or audit) both read
    ``e' = E + (1 - 2E) m(e)``, the noisy-gate recursion of the reliable
    computation literature.

Joint map (general prior)
    A node's state is the joint law ``(P(Y=1,R=1), P(Y=1,R=0), P(Y=0,R=1), P(Y=0,R=0))``;
    the map sums the multinomial over the children's four states.

Numerics (docs/theory.md section 1)
    Fixed points, limits and thresholds never expand the error map in powers of e: they
    evaluate the binomial tail itself and certify its roots (at most two turning points,
    monotone pieces between them, every sign either beyond a bound on its double-precision
    error or exact in integers). Exact thresholds where a stable fixed point reaches 1/2 are
    rationals from integer formulas (Evans and Schulman's pitchfork for majority of odd k);
    sympy is kept for the symbolic maps, LaTeX and tangencies of small k.

References
----------
J. von Neumann (1956). Probabilistic logics and the synthesis of reliable organisms from
unreliable components. Automata Studies 34.
W. Evans, L. Schulman (2003). On the maximum tolerable noise of k-input gates for reliable
computation by formulas. IEEE Trans. Inf. Theory 49(11), 3094-3098.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from .rules import parse_rule, threshold_form

__all__ = [
    "Homogeneous",
    "FixedPoint",
    "error_map",
    "joint_map",
    "closed_form",
    "fixed_points",
    "limit",
    "noise_threshold",
    "deception_threshold",
    "error_by_depth",
    "max_depth",
    "latex",
]

e, E, D = sp.symbols("e E d", nonnegative=True)


@dataclass(frozen=True)
class Homogeneous:
    """A homogeneous evaluation tree's parameters (depth aside).

    Attributes
    ----------
    rule : str
        The internal nodes' rule (``weighted`` means equal weights here).
    branching : int
        Children per internal node, k.
    false_accept, false_reject, deception, audit : float
        Internal nodes' rates (audit applies below the root only).
    leaf_false_accept, leaf_false_reject, leaf_deception, leaf_audit : float or None
        Leaves' rates; None means the internal node's.
    prior : float
        P(a leaf's work is acceptable).
    coverage : float
        Internal nodes' coverage.
    threshold : float
        The threshold of a ``weighted`` rule.
    """

    rule: str
    branching: int
    false_accept: float = 0.0
    false_reject: float = 0.0
    deception: float = 0.0
    audit: float = 0.0
    leaf_false_accept: float | None = None
    leaf_false_reject: float | None = None
    leaf_deception: float | None = None
    leaf_audit: float | None = None
    prior: float = 1.0
    coverage: float = 1.0
    threshold: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.branching, bool) or not isinstance(self.branching, int) or self.branching < 1:
            raise ValueError(f"branching={self.branching!r} is not a whole number >= 1")
        rule = parse_rule(self.rule)
        if rule.kind == "at_least" and rule.k is not None and rule.k > self.branching:
            raise ValueError(f"rule={self.rule!r} needs at least {rule.k} children, branching is {self.branching}")
        for name in ("false_accept", "false_reject", "deception", "audit", "prior", "coverage", "threshold",
                     "leaf_false_accept", "leaf_false_reject", "leaf_deception", "leaf_audit"):  # fmt: skip
            value = getattr(self, name)
            if value is None and name.startswith("leaf_"):
                continue
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name}={value!r} is not a probability in [0, 1]")

    @classmethod
    def symmetric(cls, rule: str, branching: int, error: float, *, leaf_error: float | None = None,
                  prior: float = 1.0) -> Homogeneous:  # fmt: skip
        """Every internal evaluator with both rates ``error``; leaves with ``leaf_error`` (default the same)."""
        leaf = error if leaf_error is None else leaf_error
        return cls(rule, branching, false_accept=error, false_reject=error,
                   leaf_false_accept=leaf, leaf_false_reject=leaf, prior=prior)  # fmt: skip

    @property
    def T(self) -> int:
        """The rule's threshold over k equal weights."""
        rule = parse_rule(self.rule)
        form = threshold_form(rule, self.branching, weights=[1.0] * self.branching, threshold=self.threshold)
        return form.threshold

    def rates(self, leaf: bool) -> tuple[float, float, float, float]:
        """``(false_accept, false_reject, deception, audit)`` of a leaf or an internal node."""
        own = (self.false_accept, self.false_reject, self.deception, self.audit)
        if not leaf:
            return own
        given = (self.leaf_false_accept, self.leaf_false_reject, self.leaf_deception, self.leaf_audit)
        return tuple(o if g is None else g for g, o in zip(given, own))  # type: ignore[return-value]

    @classmethod
    def from_spec(cls, spec: Any, *, source: str = "spec") -> Homogeneous:
        """The homogeneous model of a ``[generate]`` spec (a dict as parsed), depth aside.

        Raises
        ------
        SpecError
            If the spec is not a ``[generate]`` spec, or has shared events (the
            per-level map assumes independent subtrees).
        """
        import copy

        from .errors import SpecError
        from .spec import from_dict

        if not isinstance(spec, dict) or "generate" not in spec:
            raise SpecError(f"{source}: needs a [generate] spec (a homogeneous tree) to vary its depth")
        if spec.get("blind_spots") or spec.get("influence", 0.0):
            raise SpecError(f"{source}: blind_spots and influence correlate subtrees; the per-level map needs "
                            "independent ones (use analyze on each depth instead)")  # fmt: skip
        shallow = copy.deepcopy(spec)
        if not isinstance(shallow["generate"], dict):
            from_dict(shallow, source=source)  # reports the error
        shallow["generate"]["depth"] = 2
        G = from_dict(shallow, source=source)
        root, inner, leaf = G.nodes["L0_0"], G.nodes["L1_0"], G.nodes["L2_0"]
        return cls(
            rule=root["rule"],
            branching=G.out_degree("L0_0"),
            false_accept=inner["false_accept"],
            false_reject=inner["false_reject"],
            deception=inner["deception"],
            audit=inner["audit"],
            leaf_false_accept=leaf["false_accept"],
            leaf_false_reject=leaf["false_reject"],
            leaf_deception=leaf["deception"],
            leaf_audit=leaf["audit"],
            prior=leaf["prior"],
            coverage=inner["coverage"],
            threshold=inner.get("threshold", 0.5),
        )

    def tree(self, depth: int) -> Any:
        """The same tree as a validated networkx graph (for the exact analysis)."""
        from .generators import balanced

        leaf = dict(zip(("false_accept", "false_reject", "deception", "audit"), self.rates(True)))
        internal = dict(zip(("false_accept", "false_reject", "deception", "audit"), self.rates(False)))
        internal["coverage"] = self.coverage
        if parse_rule(self.rule).kind == "weighted":
            internal["threshold"] = self.threshold
        return balanced(depth, self.branching, rule=self.rule, prior=self.prior, leaves=leaf, internal=internal)


def _wrong_input(k: int, need: int, x: sp.Expr) -> sp.Expr:
    """P(at least ``need`` of k independent children are wrong), each wrong with probability x."""
    return sp.Add(*(sp.binomial(k, j) * x**j * (1 - x) ** (k - j) for j in range(max(need, 0), k + 1)))


def error_map(model: Homogeneous, *, truth: int = 1, root: bool = False, symbol: sp.Symbol = e) -> sp.Expr:
    """The per-level error map ``e -> e'`` with every truth equal to ``truth``, as a sympy expression.

    Examples
    --------
    >>> m = Homogeneous.symmetric("majority", 3, 0.1)
    >>> sp.expand(error_map(m))
    -8*e**3/5 + 12*e**2/5 + 1/10
    """
    fa, fr, d, audit = (sp.nsimplify(x) for x in model.rates(False))
    return _map(model, fa, fr, d, 0 if root else audit, truth, symbol)


def _map(model: Homogeneous, fa, fr, d, audit, truth: int, x: sp.Symbol) -> sp.Expr:  # type: ignore[no-untyped-def]
    a = 1 - (1 - fa) * (1 - d)
    b = fr * (1 - d)
    k, T = model.branching, model.T
    if truth == 1:
        m = _wrong_input(k, k - T + 1, x)
        return (1 - audit) * (m * (1 - a) + (1 - m) * b)
    m = _wrong_input(k, T, x)
    return (1 - audit) * (m * (1 - b) + (1 - m) * a)


def _expanded_map(model: Homogeneous, fa, fr, d, audit, truth: int,  # type: ignore[no-untyped-def]
                  x: sp.Symbol) -> sp.Expr:  # fmt: skip
    """``sp.expand(_map(...))`` without sympy's slow expansion, m(x) in powers of x by the identity
    ``P(Bin(k, x) >= need) = sum_{i >= need} (-1)^(i - need) C(k, i) C(i - 1, need - 1) x^i``.
    """
    a = 1 - (1 - fa) * (1 - d)
    b = fr * (1 - d)
    k, T = model.branching, model.T
    hit, miss = (1 - a, b) if truth == 1 else (1 - b, a)
    need = k - T + 1 if truth == 1 else T
    c0, c1 = (1 - audit) * miss, (1 - audit) * (hit - miss)
    if need <= 0:
        return sp.expand(c0 + c1)
    terms = [sp.expand(c1 * (-1) ** (i - need) * math.comb(k, i) * math.comb(i - 1, need - 1)) * x**i
             for i in range(need, k + 1)]  # fmt: skip
    return sp.expand(sp.Add(sp.expand(c0), *terms))


def _expanded_error_map(model: Homogeneous, *, truth: int = 1, root: bool = False,
                        symbol: sp.Symbol = e) -> sp.Expr:  # fmt: skip
    """``sp.expand(error_map(...))``, fast for wide committees (the same expression)."""
    fa, fr, d, audit = (sp.nsimplify(x) for x in model.rates(False))
    return _expanded_map(model, fa, fr, d, 0 if root else audit, truth, symbol)


def leaf_error(model: Homogeneous, *, truth: int = 1, root: bool = False) -> float:
    """The leaves' error with every truth equal to ``truth`` (e_0)."""
    fa, fr, d, audit = model.rates(True)
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    return (1 - (0 if root else audit)) * (b if truth == 1 else a)


def error_by_depth(model: Homogeneous, depth: int, *, truth: int = 1) -> list[float]:
    """The root error of the depth-d tree for d = 0..depth, with every truth equal to ``truth``.

    The tree of depth d is d applications of the map (with audits) to the
    leaves, the last one without the audit (the root is never audited). The map
    is evaluated unexpanded, as a binomial tail (see :func:`fixed_points`).
    """
    inner = _Map.of(model, truth)
    top = _Map.of(model, truth, root=True)
    below = leaf_error(model, truth=truth)
    out = [leaf_error(model, truth=truth, root=True)]
    for _ in range(depth):
        out.append(top(below))
        below = inner(below)
    return out


def joint_map(model: Homogeneous, *, root: bool = False) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    """The per-level map of the joint law of (truth, report), as sympy expressions.

    Returns the image ``(p11, p10, p01, p00)`` (``pyr = P(Y = y, R = r)``) as a
    column matrix in the symbols of one child's law, and those symbols.
    """
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


def _leaf_joint(model: Homogeneous, *, root: bool = False) -> np.ndarray:
    fa, fr, d, audit = model.rates(True)
    audit = 0.0 if root else audit
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    p = model.prior
    r1 = (1 - audit) * (1 - b) + audit  # P(R = 1 | Y = 1)
    r0 = (1 - audit) * a  # P(R = 1 | Y = 0)
    return np.array([p * r1, p * (1 - r1), (1 - p) * r0, (1 - p) * (1 - r0)])


def metrics_by_depth(model: Homogeneous, depth: int) -> list[dict[str, float | None]]:
    """Root metrics (MODEL.md section 3) of the depth-d tree for d = 0..depth, by the joint map.

    The map works in plain probabilities (renormalised every level), so a truth
    rarer than about 1e-300 underflows and its conditional rate reads None;
    :func:`rrm_theory.exact_analysis`, in log space, still gives it.
    """
    inner_expr, q = joint_map(model)
    top_expr, _ = joint_map(model, root=True)
    inner = sp.lambdify(q, list(inner_expr), "math")
    top = sp.lambdify(q, list(top_expr), "math")
    below = _leaf_joint(model)
    laws = [_leaf_joint(model, root=True)]
    for _ in range(depth):
        laws.append(_normalised(top(*below)))
        # the map scales the total by (total)**k: renormalise so rounding cannot grow
        below = _normalised(inner(*below))
    return [_metrics(law) for law in laws]


def _normalised(values: Any) -> np.ndarray:
    law = np.clip(np.array(values, dtype=float), 0.0, None)
    return law / law.sum()


def _metrics(law: np.ndarray) -> dict[str, float | None]:
    p11, p10, p01, p00 = (float(x) for x in law)
    good, bad = p11 + p10, p01 + p00
    fa = p01 / bad if bad > 0 else None
    fr = p10 / good if good > 0 else None
    return {
        "p_good": good,
        "error": p10 + p01,
        "false_accept": fa,
        "false_reject": fr,
        "youden": None if fa is None or fr is None else 1.0 - fa - fr,
    }


# ----------------------------------------------------------------- closed forms and fixed points


def closed_form(model: Homogeneous, *, truth: int = 1) -> sp.Expr | None:
    """The depth-d error (audited levels) in closed form when the error map is affine (chains), else None.

    Examples
    --------
    >>> closed_form(Homogeneous.symmetric("all", 1, 0.1))
    1/2 - 2*(4/5)**d/5
    """
    f = sp.expand(error_map(model, truth=truth))
    poly = sp.Poly(f, e)
    if poly.degree() > 1:
        return None
    slope, intercept = poly.coeff_monomial(e), poly.coeff_monomial(1)
    e0 = sp.nsimplify(leaf_error(model, truth=truth), rational=True)
    if slope == 1:
        return e0 + intercept * D
    star = intercept / (1 - slope)
    return star + (e0 - star) * slope**D


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point of the error map in [0, 1/2], with its derivative there."""

    value: float
    derivative: float

    @property
    def stable(self) -> bool:
        return abs(self.derivative) < 1.0 - 1e-12


# ------------------------------------------------- the error map unexpanded, and certified roots
#
# The numeric paths never expand the map into powers of e (that polynomial's coefficients grow like
# C(k, j) and cancel). They evaluate f(x) = c0 + c1 m(x), m(x) = P(Bin(k, x) >= need), as the binomial
# tail itself, a sum of positive terms, and decide every sign that matters (of h = f - x and of h')
# either in double precision, when the double is farther from zero than its error bound, or
# else exactly, in rational arithmetic with Python integers (x is a float, hence a dyadic rational).

_U = 2.0**-53  # unit roundoff


def _rational(x: Any) -> Fraction:
    """The exact value of a rate (a float's binary value)."""
    return Fraction(x) if isinstance(x, numbers.Rational) else Fraction(float(x))


def _decimal(x: Any) -> Fraction:
    """A rate as the decimal number written (0.05 -> 1/20), for exact thresholds."""
    return Fraction(x) if isinstance(x, numbers.Rational) else Fraction(str(float(x)))


class _Tail:
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
def _tail(k: int, need: int) -> _Tail:
    return _Tail(k, need)


@dataclass(frozen=True)
class _Map:
    """The error map unexpanded: ``f(x) = c0 + c1 m(x)``, ``m(x) = P(Bin(k, x) >= need)``, exact c0, c1.

    ``h(x) = f(x) - x``; its fixed points are the zeros of h. A constant m (need outside 1..k)
    is folded into c0 with c1 = 0.
    """

    k: int
    need: int
    c0: Fraction
    c1: Fraction

    @classmethod
    def of(cls, model: Homogeneous, truth: int = 1, *, root: bool = False) -> _Map:
        fa, fr, d, audit = (_rational(x) for x in model.rates(False))
        return cls.from_rates(model.branching, model.T, fa, fr, d, Fraction(0) if root else audit, truth)

    @classmethod
    def from_rates(cls, k: int, T: int, fa: Fraction, fr: Fraction, d: Fraction, audit: Fraction,
                   truth: int) -> _Map:  # fmt: skip
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
    def _t(self) -> _Tail:
        return _tail(self.k, self.need)

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
        """A bound on ``|h_double(x) - h(x)|`` given ``m = m_double(x)`` and its ``rel`` (:meth:`_Tail.double`).

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
                out.append(_bisect_float(self._dh_sign, a, b, sa))
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
                u, v = _bisect_float(lambda x: _sign(self.h(x)), a, b, _sign(ha))
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


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _bisect_float(sign: Any, a: float, b: float, sa: int) -> tuple[float, float]:
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


def fixed_points(model: Homogeneous, *, truth: int = 1) -> list[FixedPoint]:
    """Fixed points of the error map in [0, 1/2], ascending, with their stability.

    Each is the float nearest a zero of ``f(e) - e``, certified (docs/theory.md section 1): the
    map is evaluated unexpanded, as a binomial tail, and every sign decided exactly where double
    precision cannot tell. An identity map (a chain of perfect evaluators) has no isolated fixed
    point and gives an empty list.

    Examples
    --------
    >>> [round(p.value, 6) for p in fixed_points(Homogeneous.symmetric("majority", 3, 0.1))]
    [0.146447, 0.5]
    >>> [(round(p.value, 12), p.stable) for p in fixed_points(Homogeneous.symmetric("majority", 101, 0.4))]
    [(0.405455370187, True), (0.5, False)]
    """
    f = _Map.of(model, truth)
    if f.k == 1 and f.c1 == 1 and f.c0 == 0:
        return []
    return [FixedPoint(x, f.derivative(x)) for x in f.roots(0.0, 0.5)]


def limit(model: Homogeneous, *, truth: int = 1, tolerance: float = 1e-15, max_iterations: int = 1_000_000) -> float:
    """Where the error converges as the depth grows, iterating the map from the leaves' error.

    When the map is nondecreasing (every evaluator no worse than a coin, ``c1 >= 0``), the
    iterates move monotonically to the first fixed point in the direction of ``f(e0) - e0``:
    that fixed point is returned, located as in :func:`fixed_points` (exact even where the
    iteration converges too slowly to reach, at a threshold). Otherwise the map is iterated
    until a step is at most ``tolerance``.
    """
    f = _Map.of(model, truth)
    x = leaf_error(model, truth=truth)
    if f.c1 >= 0:
        side = _sign(f.h(x))
        if side == 0:
            return x
        roots = f.roots(0.0, 1.0)
        ahead = [r for r in roots if r > x] if side > 0 else [r for r in roots if r < x]
        if ahead:
            return min(ahead) if side > 0 else max(ahead)
    for _ in range(max_iterations):
        y = f(x)
        if abs(y - x) <= tolerance:
            return y
        x = y
    return x


def _has_stable(model: Homogeneous, truth: int) -> bool:
    return _Map.of(model, truth).stable_below_half()


def _bisect(make, truth: int) -> float:  # type: ignore[no-untyped-def]
    """The largest parameter in [0, 1/2] keeping a stable fixed point below 1/2 (monotone in it)."""
    if not _has_stable(make(0.0), truth):
        return 0.0
    lo, hi = 0.0, 0.5
    if _has_stable(make(hi), truth):
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if not lo < mid < hi:
            break
        lo, hi = (mid, hi) if _has_stable(make(mid), truth) else (lo, mid)
    return lo


def _candidates(at: Any) -> list[list[Fraction]]:
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
    t = _tail(k, need)
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


def _exact(expr_of: Any, parameter: sp.Symbol, numeric: float, candidates: list[list[Fraction]],
           degree: int) -> sp.Expr | None:  # fmt: skip
    """The exact threshold: a rational candidate (:func:`_candidates`, events first) within 1e-9 of
    the numeric value, else, for maps of degree at most 7, a tangency (``f(e) = e`` and
    ``f'(e) = 1``, by a sympy resultant) within 1e-9.

    The bisection is accurate to about 1e-12 (the margin of :attr:`FixedPoint.stable` near a
    pitchfork), far better elsewhere; 1e-9 leaves room and no two kinds of event that close.
    """
    if numeric == 0.0:
        return sp.Integer(0)
    for group in candidates:
        near = [c for c in group if abs(c - Fraction(numeric)) <= Fraction(1, 10**9)]
        if near:
            best = min(near, key=lambda c: abs(c - Fraction(numeric)))
            return sp.Rational(best.numerator, best.denominator)
    if degree > 7:
        return None
    try:
        g = sp.expand(expr_of(parameter)) - e
        resultant = sp.resultant(sp.Poly(g, e), sp.Poly(sp.diff(g, e), e))
        for cand in sp.Poly(resultant, parameter).all_roots():
            value = complex(sp.N(cand))
            if abs(value.imag) < 1e-12 and abs(value.real - numeric) <= 1e-9:
                return cand
    except (NotImplementedError, sp.PolynomialError, ValueError):
        return None
    return None


def noise_threshold(rule: str, branching: int) -> dict[str, Any]:
    """The largest symmetric evaluator error keeping a stable fixed point below 1/2.

    Every node alike (``false_accept = false_reject = E``, no deception or
    audit) and truths all equal; reported for good work (truths 1), bad work
    (truths 0) and the smaller of the two. The numeric value is a bisection on
    the certified fixed points; the exact one is a rational where a stable fixed
    point reaches e = 1/2 (the pitchfork of symmetric rules, e.g. Evans and
    Schulman's for majority of odd k; the end E = 1/2), else a tangency found by
    sympy for k <= 7, else None.

    Examples
    --------
    >>> noise_threshold("majority", 3)["exact"]
    '1/6'
    >>> noise_threshold("majority", 101)["exact"]  # Evans-Schulman: 1/2 - 2^99 / (101 C(100, 50))
    '1115296899859219265664919877185/2547506449775495881704015555714'
    """
    out: dict[str, Any] = {"rule": rule, "branching": branching}
    model = Homogeneous(rule, branching)
    sides: dict[str, dict[str, Any]] = {}
    for name, truth in (("good", 1), ("bad", 0)):

        def at(p: Fraction, truth: int = truth) -> _Map:
            return _Map.from_rates(branching, model.T, p, p, Fraction(0), Fraction(0), truth)

        same = name == "bad" and all(at(p) == at(p, 1) for p in (Fraction(0), Fraction(1)))
        if same:  # a symmetric rule: both sides have one map
            sides[name] = dict(sides["good"])
            continue
        numeric = _bisect(lambda x: Homogeneous.symmetric(rule, branching, x), truth)
        exact = _exact(lambda s, t=truth: _symbolic_error_map(rule, branching, s, t), E, numeric,
                       _candidates(at), branching)  # fmt: skip
        if exact is not None:
            numeric = float(exact)
        sides[name] = {"threshold": numeric, "exact": None if exact is None else str(exact)}
    worst = min(sides, key=lambda side: float(sides[side]["threshold"]))
    out["threshold"] = sides[worst]["threshold"]
    out["exact"] = sides[worst]["exact"]
    out.update(sides)
    return out


def _symbolic_error_map(rule: str, branching: int, x: sp.Symbol, truth: int) -> sp.Expr:
    model = Homogeneous(rule, branching)
    return _map(model, x, x, 0, 0, truth, e)


def deception_threshold(rule: str, branching: int, *, error: float = 0.0) -> dict[str, Any]:
    """The largest deception rate (every node alike) keeping a stable fixed point below 1/2 on bad work.

    Deception makes evaluators approve, so it matters for bad work (truths 0);
    every evaluator also has symmetric error ``error`` (read as the decimal
    number written for the exact value). Exact where the stable fixed point
    reaches e = 1/2 (``f_d(1/2) = 1/2``, rational) or, for k <= 7, at a tangency.

    Examples
    --------
    >>> deception_threshold("majority", 3)["exact"]
    '1/9'
    >>> deception_threshold("all", 3)["exact"]
    '3/7'
    """
    numeric = _bisect(lambda x: Homogeneous(rule, branching, false_accept=error, false_reject=error, deception=x), 0)
    model = Homogeneous(rule, branching)
    err = _decimal(error)

    def at(p: Fraction) -> _Map:
        return _Map.from_rates(branching, model.T, err, err, p, Fraction(0), 0)

    exact = _exact(lambda s: _map(model, sp.nsimplify(error), sp.nsimplify(error), s, 0, 0, e), D, numeric,
                   _candidates(at), branching)  # fmt: skip
    if exact is not None:
        numeric = float(exact)
    return {"rule": rule, "branching": branching, "error": error, "threshold": numeric,
            "exact": None if exact is None else str(exact)}  # fmt: skip


def max_depth(errors_of: Any, target: float, *, cap: int = 10_000) -> dict[str, Any]:
    """The largest depth whose root error stays below ``target`` at every depth up to it.

    ``errors_of(d)`` gives the root errors for depths 0..d. Returns
    ``{"max_depth": int | None, "unbounded": bool, "errors": [...]}``: None
    with ``unbounded`` false when even depth 0 fails; None with ``unbounded``
    true when no depth up to ``cap`` fails and the error has settled.
    """
    errors = errors_of(cap)
    for d, err in enumerate(errors):
        if not err < target:
            return {"max_depth": None if d == 0 else d - 1, "unbounded": False, "errors": errors[: d + 1]}
    return {"max_depth": None, "unbounded": True, "errors": errors[: min(len(errors), 50)]}


def latex(expr: sp.Expr) -> str:
    """LaTeX of any of these expressions, for papers.

    Examples
    --------
    >>> latex(error_map(Homogeneous.symmetric("all", 1, 0.1)))
    '\\\\frac{4 e}{5} + \\\\frac{1}{10}'
    """
    return sp.latex(sp.simplify(expr))

