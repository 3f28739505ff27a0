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


def leaf_error(model: Homogeneous, *, truth: int = 1, root: bool = False) -> float:
    """The leaves' error with every truth equal to ``truth`` (e_0)."""
    fa, fr, d, audit = model.rates(True)
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    return (1 - (0 if root else audit)) * (b if truth == 1 else a)


def _numeric(expr: sp.Expr, symbol: sp.Symbol = e):  # type: ignore[no-untyped-def]
    return sp.lambdify(symbol, expr, "math")


def error_by_depth(model: Homogeneous, depth: int, *, truth: int = 1) -> list[float]:
    """The root error of the depth-d tree for d = 0..depth, with every truth equal to ``truth``.

    The tree of depth d is d applications of the map (with audits) to the
    leaves, the last one without the audit (the root is never audited).
    """
    inner = _numeric(error_map(model, truth=truth))
    top = _numeric(error_map(model, truth=truth, root=True))
    below = leaf_error(model, truth=truth)
    out = [leaf_error(model, truth=truth, root=True)]
    for _ in range(depth):
        out.append(float(top(below)))
        below = float(inner(below))
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


def _polynomial(model: Homogeneous, truth: int, root: bool = False) -> np.polynomial.Polynomial:
    """The error map as a numeric polynomial in e (fast; same formula as :func:`error_map`)."""
    P = np.polynomial.Polynomial
    fa, fr, d, audit = model.rates(False)
    audit = 0.0 if root else audit
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    k, T = model.branching, model.T
    need = k - T + 1 if truth == 1 else T
    x, one = P([0.0, 1.0]), P([1.0])
    m = sum((math.comb(k, j) * x**j * (one - x) ** (k - j) for j in range(max(need, 0), k + 1)), P([0.0]))
    hit, miss = (1 - a, b) if truth == 1 else (1 - b, a)
    return (1 - audit) * (m * hit + (one - m) * miss)


def fixed_points(model: Homogeneous, *, truth: int = 1) -> list[FixedPoint]:
    """Fixed points of the error map in [0, 1/2], ascending, with their stability.

    Examples
    --------
    >>> [round(p.value, 6) for p in fixed_points(Homogeneous.symmetric("majority", 3, 0.1))]
    [0.146447, 0.5]
    """
    f = _polynomial(model, truth)
    g = f - np.polynomial.Polynomial([0.0, 1.0])
    roots = g.roots() if g.degree() > 0 else np.array([])
    df = f.deriv()
    found = sorted({round(float(r.real), 12) for r in np.atleast_1d(roots)
                    if abs(r.imag) < 1e-7 and -1e-9 <= r.real <= 0.5 + 1e-9})  # fmt: skip
    points = [min(max(x, 0.0), 0.5) for x in found]
    return [FixedPoint(x, float(df(x))) for x in points]


def limit(model: Homogeneous, *, truth: int = 1, tolerance: float = 1e-15, max_iterations: int = 1_000_000) -> float:
    """Where the error converges as the depth grows, iterating the map from the leaves' error."""
    f = _numeric(error_map(model, truth=truth))
    x = leaf_error(model, truth=truth)
    for _ in range(max_iterations):
        y = float(f(x))
        if abs(y - x) <= tolerance:
            return y
        x = y
    return x


def _has_stable(model: Homogeneous, truth: int) -> bool:
    return any(p.stable and p.value < 0.5 - 1e-9 for p in fixed_points(model, truth=truth))


def _bisect(make, truth: int) -> float:  # type: ignore[no-untyped-def]
    """The largest parameter in [0, 1/2] keeping a stable fixed point below 1/2 (monotone in it)."""
    if not _has_stable(make(0.0), truth):
        return 0.0
    lo, hi = 0.0, 0.5
    if _has_stable(make(hi), truth):
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _has_stable(make(mid), truth) else (lo, mid)
    return lo


def _exact(expr_of: Any, parameter: sp.Symbol, numeric: float) -> sp.Expr | None:
    """An exact threshold where sympy can: where two fixed points meet.

    First the pitchfork at e = 1/2 (symmetric rules: ``f'(1/2) = 1``), then, for
    maps of degree at most 7, any tangency (``f(e) = e`` and ``f'(e) = 1``, by a
    resultant). A candidate counts if it is within 1e-6 of the numeric value
    (1e-4 for the pitchfork, where the map is flat and the bisection coarser).
    """
    if numeric == 0.0:
        return sp.Integer(0)
    f = sp.expand(expr_of(parameter))
    g = f - e
    dg = sp.diff(g, e)

    def matching(candidates: list[sp.Expr], tolerance: float = 1e-6) -> sp.Expr | None:
        for cand in candidates:
            value = complex(sp.N(cand))
            if abs(value.imag) < 1e-12 and abs(value.real - numeric) < tolerance:
                return cand
        return None

    try:
        half = sp.Rational(1, 2)
        if sp.simplify(g.subs(e, half)) == 0:
            # near the pitchfork the map is flat, so the bisection is less accurate there
            found = matching(sp.solve(dg.subs(e, half), parameter), tolerance=1e-4)
            if found is not None:
                return sp.nsimplify(found)
        if sp.Poly(g, e).degree() <= 7:
            resultant = sp.resultant(sp.Poly(g, e), sp.Poly(dg, e))
            return matching([s for s in sp.Poly(resultant, parameter).all_roots()])
    except (NotImplementedError, sp.PolynomialError, ValueError):
        return None
    return None


def noise_threshold(rule: str, branching: int) -> dict[str, Any]:
    """The largest symmetric evaluator error keeping a stable fixed point below 1/2.

    Every node alike (``false_accept = false_reject = E``, no deception or
    audit) and truths all equal; reported for good work (truths 1), bad work
    (truths 0) and the smaller of the two, with the exact value where sympy
    finds it.

    Examples
    --------
    >>> noise_threshold("majority", 3)["exact"]
    '1/6'
    """
    out: dict[str, Any] = {"rule": rule, "branching": branching}
    sides: dict[str, dict[str, Any]] = {}
    for name, truth in (("good", 1), ("bad", 0)):
        numeric = _bisect(lambda x: Homogeneous.symmetric(rule, branching, x), truth)
        exact = _exact(lambda s, t=truth: _symbolic_error_map(rule, branching, s, t), E, numeric)
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
    every evaluator also has symmetric error ``error``.

    Examples
    --------
    >>> deception_threshold("majority", 3)["exact"]
    '1/9'
    """
    numeric = _bisect(lambda x: Homogeneous(rule, branching, false_accept=error, false_reject=error, deception=x), 0)
    model = Homogeneous(rule, branching)
    exact = _exact(lambda s: _map(model, sp.nsimplify(error), sp.nsimplify(error), s, 0, 0, e), D, numeric)
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

