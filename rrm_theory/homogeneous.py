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
    :func:`joint_map` sums the multinomial over the children's four states (symbolically, for
    small k); :func:`metrics_by_depth` evaluates the same map numerically for any k
    (:mod:`rrm_theory._joint_map`, ``O(k^2)`` per level).

Numerics (docs/theory.md section 1)
    Fixed points, limits and thresholds never expand the error map in powers of e: they
    evaluate the binomial tail itself and certify its roots (:mod:`rrm_theory._binomial_map`:
    at most two turning points, monotone pieces between them, every sign either beyond a bound
    on its double-precision error or exact in integers). Exact thresholds where a stable fixed
    point reaches 1/2 are rationals from integer formulas (Evans and Schulman's pitchfork for
    majority of odd k). sympy is imported only by the symbolic maps, their LaTeX, the closed
    forms and the tangencies of small k (:mod:`rrm_theory._symbolic_map`); scipy never.

The sympy symbols ``e`` (a node's error), ``E`` (a symmetric evaluator error) and ``D`` (the
depth, printed ``d``) are attributes of this module, created on first use.

References
----------
J. von Neumann (1956). Probabilistic logics and the synthesis of reliable organisms from
unreliable components. Automata Studies 34.
W. Evans, L. Schulman (2003). On the maximum tolerable noise of k-input gates for reliable
computation by formulas. IEEE Trans. Inf. Theory 49(11), 3094-3098.
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Iterator

import numpy as np

from . import _thresholds
from ._binomial_map import BinomialMap as _Map
from ._binomial_map import decimal as _decimal
from ._binomial_map import expanded_coefficients, polynomial_str
from ._binomial_map import sign as _sign
from ._joint_map import apply as _apply_joint
from ._joint_map import rule_joint as _rule_joint
from .rules import parse_rule, threshold_form

if TYPE_CHECKING:
    import sympy as sp

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
    "metrics_by_depth",
    "iter_metrics_by_depth",
    "max_depth",
    "latex",
]

_SYMBOLS = ("e", "E", "D")


def __getattr__(name: str) -> Any:
    # e, E, D: sympy symbols, made on first use so that importing this module does not import sympy
    if name in _SYMBOLS:
        from ._symbolic_map import symbols

        return symbols()[_SYMBOLS.index(name)]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    Raises
    ------
    ValueError
        If ``rule`` is not a rule, ``branching`` not a whole number >= 1, a rate
        not a probability, or ``at_least:K`` needs more than ``branching`` children.

    Examples
    --------
    >>> m = Homogeneous("majority", 3, false_accept=0.1, false_reject=0.1, leaf_false_accept=0.2)
    >>> m.T, m.rates(leaf=True), m.rates(leaf=False)
    (2, (0.2, 0.1, 0.0, 0.0), (0.1, 0.1, 0.0, 0.0))
    >>> Homogeneous.symmetric("majority", 3, 0.1) == Homogeneous("majority", 3, false_accept=0.1,
    ...     false_reject=0.1, leaf_false_accept=0.1, leaf_false_reject=0.1)
    True
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


# ----------------------------------------------------------------- symbolic maps (sympy, on demand)


def error_map(model: Homogeneous, *, truth: int = 1, root: bool = False, symbol: sp.Symbol | None = None) -> sp.Expr:
    """The per-level error map ``e -> e'`` with every truth equal to ``truth``, as a sympy expression.

    The rates enter as the rationals of the decimals written (0.1 -> 1/10), as in the exact
    thresholds; ``symbol`` defaults to :data:`e`.

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.
    truth : {1, 0}, keyword-only
        Every truth 1 (good work: the error is ``P(R = 0)``) or 0 (bad work:
        ``P(R = 1)``); any value other than 1 is read as 0.
    root : bool, keyword-only
        The root's map: the same without the audit (the root is never audited).
    symbol : sympy.Symbol, optional, keyword-only
        The variable, a child's error.

    Returns
    -------
    sympy.Expr
        The map, unexpanded (a binomial tail in ``symbol``).

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).

    Examples
    --------
    >>> import sympy as sp
    >>> m = Homogeneous.symmetric("majority", 3, 0.1)
    >>> sp.expand(error_map(m))
    -8*e**3/5 + 12*e**2/5 + 1/10
    """
    from ._symbolic_map import symbolic_map, symbols, to_sympy

    fa, fr, d, audit = (to_sympy(x) for x in model.rates(False))
    x = symbols()[0] if symbol is None else symbol
    return symbolic_map(model.branching, model.T, fa, fr, d, 0 if root else audit, truth, x)


def _decimal_map(model: Homogeneous, *, truth: int = 1, root: bool = False) -> _Map:
    """The error map with the rates read as the decimals written (the map :func:`error_map` prints)."""
    fa, fr, d, audit = (_decimal(x) for x in model.rates(False))
    return _Map.from_rates(model.branching, model.T, fa, fr, d, Fraction(0) if root else audit, truth)


def _expanded_error_map(model: Homogeneous, *, truth: int = 1, root: bool = False,
                        symbol: sp.Symbol | None = None) -> sp.Expr:  # fmt: skip
    """``sp.expand(error_map(...))``, fast for wide committees (the same expression)."""
    from ._symbolic_map import expanded_from, symbols

    return expanded_from(_decimal_map(model, truth=truth, root=root), symbols()[0] if symbol is None else symbol)


def _expanded_error_map_str(model: Homogeneous, *, truth: int = 1, root: bool = False) -> str:
    """``str(sp.expand(error_map(...)))`` without sympy: exact coefficients, printed as sympy does.

    >>> _expanded_error_map_str(Homogeneous.symmetric("majority", 3, 0.1))
    '-8*e**3/5 + 12*e**2/5 + 1/10'
    """
    return polynomial_str(expanded_coefficients(_decimal_map(model, truth=truth, root=root)))


def joint_map(model: Homogeneous, *, root: bool = False) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    """The per-level map of the joint law of (truth, report), as sympy expressions.

    It sums ``(k + 1)(k + 2)(k + 3) / 6`` multinomial terms, so it is for small k;
    the numeric :func:`metrics_by_depth` evaluates the same map for any k. The rates
    enter as the floats given.

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters (its prior does not enter the map).
    root : bool, keyword-only
        The root's map: the same without the audit.

    Returns
    -------
    tuple of (sympy.Matrix, tuple of sympy.Symbol)
        The image ``(p11, p10, p01, p00)`` (``pyr = P(Y = y, R = r)``) as a column
        matrix in the symbols of one child's law, and those four symbols.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).

    Examples
    --------
    A chain of evaluators that err 10% of the time each way:

    >>> image, (p11, p10, p01, p00) = joint_map(Homogeneous.symmetric("all", 1, 0.1))
    >>> image[0]                      # P(Y = 1, R = 1) one level up
    0.1*p10 + 0.9*p11
    """
    from ._symbolic_map import joint_map as symbolic_joint_map

    return symbolic_joint_map(model, root=root)


def closed_form(model: Homogeneous, *, truth: int = 1) -> sp.Expr | None:
    """The depth-d error (audited levels) in closed form when the error map is affine (chains), else None.

    Iterating ``e -> c0 + c1 e`` from the leaves' error gives
    ``e* + (e0 - e*) c1**d`` with ``e* = c0 / (1 - c1)`` (``e0 + c0 d`` when ``c1 = 1``).

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.
    truth : {1, 0}, keyword-only
        Good work (1) or bad work (0), as in :func:`error_map`.

    Returns
    -------
    sympy.Expr or None
        An expression in the depth symbol ``d`` (:data:`D`), or None when the map
        is not affine (more than one child).

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).

    Examples
    --------
    >>> closed_form(Homogeneous.symmetric("all", 1, 0.1))
    1/2 - 2*(4/5)**d/5
    """
    from ._symbolic_map import closed_form as affine_closed_form

    return affine_closed_form(error_map(model, truth=truth), leaf_error(model, truth=truth))


def latex(expr: sp.Expr) -> str:
    """LaTeX of any of these expressions, for papers.

    Parameters
    ----------
    expr : sympy.Expr
        An expression of this module (it is simplified first).

    Returns
    -------
    str
        The LaTeX source.

    Raises
    ------
    sympy.SympifyError
        If ``expr`` cannot be read as a sympy expression.

    Examples
    --------
    >>> latex(error_map(Homogeneous.symmetric("all", 1, 0.1)))
    '\\\\frac{4 e}{5} + \\\\frac{1}{10}'
    """
    import sympy as sp

    return sp.latex(sp.simplify(expr))


# ----------------------------------------------------------------- numeric maps, by depth


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

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.
    depth : int
        The deepest tree.
    truth : {1, 0}, keyword-only
        Good work (1) or bad work (0), as in :func:`error_map`.

    Returns
    -------
    list of float
        ``depth + 1`` root errors, entry d for depth d.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).
    TypeError
        If ``depth`` is not an integer.

    Examples
    --------
    >>> [round(x, 6) for x in error_by_depth(Homogeneous.symmetric("majority", 3, 0.1), 3)]
    [0.1, 0.1224, 0.133022, 0.138702]
    """
    inner = _Map.of(model, truth)
    top = _Map.of(model, truth, root=True)
    below = leaf_error(model, truth=truth)
    out = [leaf_error(model, truth=truth, root=True)]
    for _ in range(depth):
        out.append(top(below))
        below = inner(below)
    return out


def _leaf_joint(model: Homogeneous, *, root: bool = False) -> np.ndarray:
    fa, fr, d, audit = (float(x) for x in model.rates(True))
    audit = 0.0 if root else audit
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    p = float(model.prior)
    r1 = (1 - audit) * (1 - b) + audit  # P(R = 1 | Y = 1)
    r0 = (1 - audit) * a  # P(R = 1 | Y = 0)
    return np.array([p * r1, p * (1 - r1), (1 - p) * r0, (1 - p) * (1 - r0)])


def iter_metrics_by_depth(model: Homogeneous) -> Iterator[dict[str, float | None]]:
    """Root metrics (MODEL.md section 3) of the depth-d tree for d = 0, 1, 2, ..., without end.

    Each level applies the joint map numerically (:mod:`rrm_theory._joint_map`, ``O(k^2)``
    operations, so any branching), in plain probabilities renormalised every level. Where every
    truth is equal (prior 0 or 1 with coverage 1, or from the level where one side's probability
    underflows to 0) it is the error map instead, evaluated as in :func:`error_by_depth`
    (``O(k)``). The map is deterministic, so once a level's state repeats
    an earlier one, bit for bit, the root metrics repeat with it: from then on they are replayed,
    not recomputed, and a long scan of depths costs only the levels before the state settles.

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.

    Yields
    ------
    dict
        The root metrics of depth 0, 1, 2, ...: ``p_good``, ``error``, ``false_accept``,
        ``false_reject``, ``youden`` (None where undefined); a new dict each time.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).
        Raised on the first ``next``.

    Examples
    --------
    >>> from itertools import islice
    >>> [round(m["error"], 6) for m in islice(iter_metrics_by_depth(Homogeneous.symmetric("majority", 3, 0.1)), 4)]
    [0.1, 0.1224, 0.133022, 0.138702]
    """
    k, T = model.branching, model.T
    fa, fr, d, audit = (float(x) for x in model.rates(False))
    a, b, coverage = 1 - (1 - fa) * (1 - d), fr * (1 - d), float(model.coverage)
    maps = {truth: (_Map.of(model, truth), _Map.of(model, truth, root=True)) for truth in (0, 1)}

    def level(below: Any) -> tuple[dict[str, float | None], Any]:
        if isinstance(below, tuple):  # (truth, error): every truth equal, the error map
            truth, e = below
            inner, top = maps[truth]
            return _error_metrics(top(e), truth), (truth, inner(e))
        J = _rule_joint(below, k, T)
        root = _metrics(_normalised(_apply_joint(J, a=a, b=b, audit=0.0, coverage=coverage)))
        # the map scales the total by (total)**k: renormalise so rounding cannot grow
        return root, _equal_truths(_normalised(_apply_joint(J, a=a, b=b, audit=audit, coverage=coverage)), coverage)

    if coverage == 1 and model.prior in (0, 1):
        truth = int(model.prior)
        first = _error_metrics(leaf_error(model, truth=truth, root=True), truth)
        below: Any = (truth, leaf_error(model, truth=truth))
    else:
        first, below = _metrics(_leaf_joint(model, root=True)), _leaf_joint(model)
    yield from _replayed(first, below, level, lambda x: x if isinstance(x, tuple) else x.tobytes())


def _equal_truths(law: np.ndarray, coverage: float) -> Any:
    """A law whose truths have all become equal (one side's mass exactly 0, and coverage 1 keeps it
    so) as ``(truth, error)`` for the error map, else the law itself."""
    if coverage == 1:
        if law[2] == 0 and law[3] == 0:
            return (1, float(law[1]))
        if law[0] == 0 and law[1] == 0:
            return (0, float(law[2]))
    return law


def _replayed(first: dict[str, float | None], below: Any, level: Callable[[Any], tuple[dict[str, float | None], Any]],
              key: Callable[[Any], Hashable]) -> Iterator[dict[str, float | None]]:  # fmt: skip
    """``first``, then the root metrics of each level above the state ``below`` (``level`` gives them
    and the next state), replayed once a state repeats: after state n equals state m < n, depth
    n + 1 + i has the metrics of depth m + 1 + (i mod (n - m))."""
    yield dict(first)
    seen = {key(below): 0}
    found: list[dict[str, float | None]] = []  # found[i]: the metrics at depth i + 1
    while True:
        metrics, below = level(below)
        found.append(metrics)
        yield dict(metrics)
        start = seen.setdefault(key(below), len(found))
        if start < len(found):
            for metrics in itertools.cycle(found[start:]):
                yield dict(metrics)


def _error_metrics(error: float, truth: int) -> dict[str, float | None]:
    """The root metrics when every truth is ``truth``: one conditional rate is the error, the other undefined."""
    return {"p_good": float(truth), "error": error, "false_accept": None if truth else error,
            "false_reject": error if truth else None, "youden": None}  # fmt: skip


def metrics_by_depth(model: Homogeneous, depth: int) -> list[dict[str, float | None]]:
    """Root metrics (MODEL.md section 3) of the depth-d tree for d = 0..depth, by the joint map.

    The first ``depth + 1`` items of :func:`iter_metrics_by_depth`. The map works in plain
    probabilities, so a truth rarer than about 1e-300 underflows and its conditional rate
    reads None; :func:`rrm_theory.exact_analysis`, in log space, still gives it.

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.
    depth : int
        The deepest tree.

    Returns
    -------
    list of dict
        Entry d: the root metrics of the depth-d tree (None where undefined).

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).
    TypeError
        If ``depth`` is not an integer.
    ValueError
        If ``depth < -1`` (``depth = -1`` gives an empty list).

    Examples
    --------
    >>> model = Homogeneous.symmetric("majority", 3, 0.1, prior=0.5)
    >>> [round(m["false_accept"], 6) for m in metrics_by_depth(model, 2)]
    [0.1, 0.2088, 0.305526]
    >>> from rrm_theory import exact_analysis
    >>> round(exact_analysis(model.tree(2)).root.false_accept, 6)
    0.305526
    """
    return list(itertools.islice(iter_metrics_by_depth(model), depth + 1))


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


def max_depth(errors_of: Callable[[int], Iterable[float]], target: float, *, cap: int = 10_000) -> dict[str, Any]:
    """The largest depth whose root error stays below ``target`` at every depth up to it.

    Parameters
    ----------
    errors_of : callable
        ``errors_of(d)`` gives the root errors for depths 0..d (a list, or any iterable,
        which is read only up to the first depth that fails and never past ``cap``).
    target : float
        The error every depth up to the answer stays strictly below.
    cap : int, keyword-only
        The deepest tree considered.

    Returns
    -------
    dict
        ``{"max_depth": int | None, "unbounded": bool, "errors": [...]}``: None with
        ``unbounded`` false when even depth 0 fails; None with ``unbounded`` true
        when no depth up to ``cap`` fails (``errors`` then has the first 50). ``errors``
        are those read.

    Raises
    ------
    TypeError
        If ``errors_of(cap)`` is not iterable or its items do not compare with ``target``;
        whatever ``errors_of`` raises propagates.

    Examples
    --------
    >>> model = Homogeneous.symmetric("majority", 3, 0.2)
    >>> max_depth(lambda d: error_by_depth(model, d), 0.4)["max_depth"]  # 0.3876 at depth 6, 0.4005 at 7
    6
    """
    errors: list[float] = []
    for d, err in enumerate(itertools.islice(errors_of(cap), cap + 1)):
        errors.append(err)
        if not err < target:
            return {"max_depth": None if d == 0 else d - 1, "unbounded": False, "errors": errors}
    return {"max_depth": None, "unbounded": True, "errors": errors[:50]}


# ----------------------------------------------------------------- fixed points


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point of the error map in [0, 1/2], with its derivative there.

    Attributes
    ----------
    value : float
        The error ``e`` with ``f(e) = e``.
    derivative : float
        ``f'(e)``; the point is :attr:`stable` (attracting) when ``|f'(e)| < 1``.

    Examples
    --------
    >>> low, half = fixed_points(Homogeneous.symmetric("majority", 3, 0.1))
    >>> round(low.value, 6), round(low.derivative, 6), low.stable, half.stable
    (0.146447, 0.6, True, False)
    """

    value: float
    derivative: float

    @property
    def stable(self) -> bool:
        """Whether iterating the map near the point converges to it (``|f'(e)| < 1``)."""
        return abs(self.derivative) < 1.0 - 1e-12


def fixed_points(model: Homogeneous, *, truth: int = 1) -> list[FixedPoint]:
    """Fixed points of the error map in [0, 1/2], ascending, with their stability.

    Each is the float nearest a zero of ``f(e) - e``, certified (docs/theory.md section 1): the
    map is evaluated unexpanded, as a binomial tail, and every sign decided exactly where double
    precision cannot tell. An identity map (a chain of perfect evaluators) has no isolated fixed
    point and gives an empty list.

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.
    truth : {1, 0}, keyword-only
        Good work (1) or bad work (0), as in :func:`error_map`.

    Returns
    -------
    list of FixedPoint
        Ascending; 1/2 is among them for a map symmetric about it.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).

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

    Parameters
    ----------
    model : Homogeneous
        The tree's parameters.
    truth : {1, 0}, keyword-only
        Good work (1) or bad work (0), as in :func:`error_map`.
    tolerance : float, keyword-only
        With a decreasing map: stop once a step is this small.
    max_iterations : int, keyword-only
        With a decreasing map: stop after this many steps (the last iterate is returned).

    Returns
    -------
    float
        The limit of the root error as the depth grows.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`Homogeneous` (whose values are checked when it is built).

    Examples
    --------
    >>> round(limit(Homogeneous.symmetric("majority", 3, 0.1)), 6)     # the stable fixed point
    0.146447
    >>> limit(Homogeneous.symmetric("majority", 3, 0.2))               # past the threshold 1/6
    0.5
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


# ----------------------------------------------------------------- thresholds


def noise_threshold(rule: str, branching: int) -> dict[str, Any]:
    """The largest symmetric evaluator error keeping a stable fixed point below 1/2.

    Every node alike (``false_accept = false_reject = E``, no deception or
    audit) and truths all equal; reported for good work (truths 1), bad work
    (truths 0) and the smaller of the two. The numeric value is a bisection on
    the certified fixed points; the exact one is a rational where a stable fixed
    point reaches e = 1/2 (the pitchfork of symmetric rules, e.g. Evans and
    Schulman's for majority of odd k; the end E = 1/2), else a tangency found by
    sympy for k <= 7, else None (:mod:`rrm_theory._thresholds`).

    Parameters
    ----------
    rule : str
        The rule of every internal node (MODEL.md section 2.2).
    branching : int
        Children per internal node, k.

    Returns
    -------
    dict
        ``rule``, ``branching``, ``threshold`` (float) and ``exact`` (its exact value
        as a string, or None) of the smaller side, and ``good`` and ``bad``, each a
        dict with that side's ``threshold`` and ``exact``.

    Raises
    ------
    ValueError
        If ``rule`` is not a rule, ``branching`` is not a whole number >= 1, or
        ``at_least:K`` needs more than ``branching`` children.

    Examples
    --------
    >>> noise_threshold("majority", 3)["exact"]
    '1/6'
    >>> noise_threshold("majority", 101)["exact"]  # Evans-Schulman: 1/2 - 2^99 / (101 C(100, 50))
    '1115296899859219265664919877185/2547506449775495881704015555714'
    """
    T = Homogeneous(rule, branching).T
    return {"rule": rule, "branching": branching, **_thresholds.noise(branching, T)}


def deception_threshold(rule: str, branching: int, *, error: float = 0.0) -> dict[str, Any]:
    """The largest deception rate (every node alike) keeping a stable fixed point below 1/2 on bad work.

    Deception makes evaluators approve, so it matters for bad work (truths 0);
    every evaluator also has symmetric error ``error`` (read as the decimal
    number written for the exact value). Exact where the stable fixed point
    reaches e = 1/2 (``f_d(1/2) = 1/2``, rational) or, for k <= 7, at a tangency.

    Parameters
    ----------
    rule : str
        The rule of every internal node (MODEL.md section 2.2).
    branching : int
        Children per internal node, k.
    error : float, keyword-only
        Every evaluator's symmetric error.

    Returns
    -------
    dict
        ``rule``, ``branching``, ``error``, ``threshold`` (float) and ``exact`` (its
        exact value as a string, or None).

    Raises
    ------
    ValueError
        If ``rule`` is not a rule, ``branching`` is not a whole number >= 1,
        ``at_least:K`` needs more than ``branching`` children, or ``error`` is not
        a probability.

    Examples
    --------
    >>> deception_threshold("majority", 3)["exact"]
    '1/9'
    >>> deception_threshold("all", 3)["exact"]
    '3/7'
    """
    T = Homogeneous(rule, branching, false_accept=error, false_reject=error).T  # validates error too
    return {"rule": rule, "branching": branching, "error": error, **_thresholds.deception(branching, T, error)}
