"""Bounds on the root metrics that hold without independence (docs/bounds.md sections 1-4).

The class C keeps the truths' law and each evaluator's marginal response rates
``a_v = P(rho_v(0) = 1)``, ``b_v = P(rho_v(1) = 0)``, and allows any joint law of
the responses (independent of the truths). :func:`bounds` returns the smallest
and largest root ``false_accept``, ``false_reject`` and ``error`` over C:

* ``method="tight"``: the exact extremes, by a linear programme over joint laws
  of the free response bits, solved by column generation (:mod:`rrm_theory._lp`);
  within the default budget of 5 s, every tree of up to 22 free response bits
  and many larger ones (book-summarization's 40); :func:`lp_bounds` also
  returns extremal joint laws;
* ``method="fast"``: Fréchet, union, Bonferroni and Markov inequalities
  propagated up the tree (:mod:`rrm_theory._fast_bounds`), valid for any
  tree, at about the cost of a few exact analyses;
* ``method="auto"`` (the default): tight where its predicted cost fits the budget, else fast;
  fast too where the column generation would need more than ``AUTO_ROUNDS`` (2) times the
  rounds the prediction assumes (a count of rounds, not a clock: the same on every machine).

:func:`concentration` reports Hoeffding and Chernoff bounds beside the exact
tail for count rules (section 4).

References
----------
M. Fréchet (1951). Sur les tableaux de corrélation dont les marges sont données.
L. Rüschendorf (1981). Sharpness of Fréchet-bounds. Z. Wahrscheinlichkeitstheorie verw. Gebiete 57.
G. B. Dantzig, P. Wolfe (1960). Decomposition principle for linear programs. Operations Research 8(1).
W. Hoeffding (1963). Probability inequalities for sums of bounded random variables. JASA 58(301).
H. Chernoff (1952). A measure of asymptotic efficiency for tests of a hypothesis based on the
sum of observations. Ann. Math. Statist. 23(4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Hashable

import networkx as nx
import numpy as np

from . import _lp
from ._compile import Compiled, compile_tree
from ._fast_bounds import fast_rates
from ._lp_tables import Layout, evaluate
from .errors import RRMError
from .exact import Forward, analysis_from, forward, forward_compiled
from .results import Analysis
from .rules import parse_rule

__all__ = [
    "Bounds",
    "bounds",
    "fast_bounds",
    "lp_bounds",
    "LPBounds",
    "tight_cost",
    "response_marginals",
    "concentration",
    "DEFAULT_BUDGET",
    "AUTO_ROUNDS",
    "MAX_TIGHT_BITS",
    "METHODS",
    "poisson_binomial_tail",
]

#: The methods :func:`bounds` accepts.
METHODS = ("auto", "tight", "fast")
#: ``method="auto"`` stops the tight bounds' column generation past this many times the rounds
#: their plan assumes (``5 bits + 10``), and gives the fast bounds instead.
AUTO_ROUNDS = 2
#: Seconds the tight bounds may be predicted to take before ``method="auto"`` falls back to fast.
DEFAULT_BUDGET = 5.0
#: The most free response bits the tight bounds ever handle (a configuration is an int64);
#: :func:`tight_cost` says whether a given tree is within reach.
MAX_TIGHT_BITS = _lp.MAX_BITS
_METRICS = ("false_accept", "false_reject", "error")


@dataclass(frozen=True)
class Bounds:
    """Bounds over the class C (None where the metric is undefined).

    Attributes
    ----------
    false_accept, false_reject, error : tuple of float, or None
        ``(lo, hi)``.
    method : str
        ``"tight"`` (the exact extremes over C) or ``"fast"`` (valid, possibly loose).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.chain(1, error=0.1, prior=0.5)
    >>> b = rrm.bounds(tree)
    >>> b.method, [round(x, 4) for x in b.false_accept]
    ('tight', [0.0, 0.2])
    >>> round(rrm.exact_analysis(tree).root.false_accept, 4)    # independent errors: inside
    0.18
    >>> sorted(b.to_dict())
    ['error', 'false_accept', 'false_reject', 'method']
    """

    false_accept: tuple[float, float] | None
    false_reject: tuple[float, float] | None
    error: tuple[float, float]
    method: str

    def to_dict(self) -> dict[str, Any]:
        """The ``"bounds"`` object of ``rrm-theory analyze --json``."""
        out: dict[str, Any] = {m: (None if getattr(self, m) is None else list(getattr(self, m))) for m in _METRICS}
        out["method"] = self.method
        return out


def response_marginals(tree: nx.DiGraph | Compiled) -> dict[Hashable, tuple[float, float]]:
    """Every evaluator's marginal response rates ``(a_v, b_v)`` (docs/bounds.md section 1).

    ``a_v = P(rho_v(0) = 1)`` is the probability that ``v`` approves bad input
    and ``b_v = P(rho_v(1) = 0)`` that it rejects good input, deception,
    influence and blind spots included.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).

    Returns
    -------
    dict
        Node -> ``(a_v, b_v)``, in breadth-first order from the root.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"a": {"prior": 0.5, "false_accept": 0.1,
    ...                                       "false_reject": 0.2, "deception": 0.5}}})
    >>> response_marginals(tree)["a"]
    (0.55, 0.1)
    """
    c = compile_tree(tree)
    a, b = _marginals(c)
    return {v: (float(a[i]), float(b[i])) for i, v in enumerate(c.nodes)}


def _marginals(c: Compiled) -> tuple[np.ndarray, np.ndarray]:
    keep = (1.0 - c.deception) * (1.0 - c.influence * c.exposure)
    for _, p, members in c.groups:
        keep[members] *= 1.0 - p
    return 1.0 - (1.0 - c.false_accept) * keep, c.false_reject * keep


def bounds(tree: nx.DiGraph | Compiled, *, method: str = "auto", budget: float = DEFAULT_BUDGET) -> Bounds:
    """The least and greatest root metrics over the class C (docs/bounds.md).

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).
    method : {"auto", "tight", "fast"}, keyword-only
        ``"tight"``: the exact extremes (section 2), whatever they cost, on
        trees within reach (:func:`tight_cost` is finite). ``"fast"``: the
        propagated inequalities (section 3), any tree. ``"auto"``: tight when
        its predicted time is at most ``budget``, else fast; fast as well when
        the tight bounds' column generation passes ``AUTO_ROUNDS`` times the
        rounds the prediction assumes (``5 bits + 10``).
    budget : float, keyword-only
        Seconds, for ``"auto"`` (ignored otherwise). The decision compares a
        cost predicted from the tree's shape (:func:`tight_cost`) with the
        budget, never a clock, so a tree gets the same method on every machine.

    Returns
    -------
    Bounds
        With ``method`` ``"tight"`` or ``"fast"``: what was computed.

    Raises
    ------
    ValueError
        For an unknown ``method`` or a ``budget`` that is not a number >= 0.
    SpecError
        If ``tree`` is not a valid evaluation tree.
    RRMError
        ``method="tight"`` on a tree beyond the tight bounds' reach.
    ExactRefused
        If a rule needs more classes of partial sums than exact analysis
        allows (the truths' law is computed exactly first), as a ``weighted``
        rule over more than about 22 children of unrelated weights.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/chip-design.toml")   # 14 free response bits
    >>> b = bounds(tree)
    >>> b.method, [round(x, 4) for x in b.false_accept]
    ('tight', [0.1521, 0.3156])
    >>> b.false_accept[0] <= rrm.exact_analysis(tree).root.false_accept <= b.false_accept[1]
    True
    >>> [round(x, 4) for x in bounds(tree, method="fast").false_accept]
    [0.0995, 0.3237]
    >>> bounds(rrm.load_spec("models/ternary-majority.toml")).method   # 2,186 bits
    'fast'
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(repr(m) for m in METHODS)}")
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 0:
        raise ValueError(f"budget={budget!r} is not a number of seconds >= 0")
    return _choose(compile_tree(tree), method, budget)[0]


def _choose(c: Compiled, method: str, budget: float) -> tuple[Bounds, _lp.Plan | None]:
    """:func:`bounds` on valid arguments, and the tight bounds' plan if one was made (for its cost)."""
    if method == "fast":
        return _fast(c), None
    run = forward_compiled(c, truths_only=True)  # one truths' pass for the plan and the fast bounds
    bits = _free_bits(c)
    if bits > _lp.MAX_BITS and method == "auto":  # beyond reach whatever the shape: no layout to build
        return _fast(c, run), _lp.Plan(bits, "", math.inf)
    layout = _layout(c, run)
    chosen = _lp.plan(layout)
    if method == "auto" and (not chosen.pricer or chosen.seconds > budget):
        return _fast(c, run), chosen
    cap = max(1, int(AUTO_ROUNDS * _lp.planned_rounds(chosen.bits))) if method == "auto" else None
    try:
        return _tight(layout, chosen, cap).bounds, chosen
    except _lp.TooManyRounds:  # the plan's rounds were far off for this tree: not worth the wait
        return _fast(c, run), replace(chosen, stopped=cap)  # type: ignore[arg-type]
    except ArithmeticError as exc:  # the master programme's simplex gave up (never seen; a guard)
        if method == "auto":
            return _fast(c, run), chosen
        raise RRMError(f"tree {c.name!r}: the tight bounds' linear programme failed ({exc}); use method='fast'") from None


def tight_cost(tree: nx.DiGraph | Compiled) -> tuple[int, float]:
    """The free response bits and the predicted seconds of the tight bounds (``inf``: beyond reach).

    The prediction is what ``bounds(method="auto")`` compares with its budget:
    a function of the tree's shape (section 2.4) with constants measured once
    (benchmarks/bench_tight_bounds.py), right within a factor of about two.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).

    Returns
    -------
    tuple of (int, float)
        The number of free response bits and the predicted seconds (``math.inf``
        when the tight bounds cannot handle the tree).

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExactRefused
        If a rule needs more classes of partial sums than exact analysis
        allows (the truths' law is computed exactly first), as a ``weighted``
        rule over more than about 22 children of unrelated weights.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> bits, seconds = tight_cost(rrm.load_spec("models/chip-design.toml"))
    >>> bits, seconds < 1.0
    (14, True)
    """
    c = compile_tree(tree)
    bits = _free_bits(c)
    if bits > _lp.MAX_BITS:  # beyond reach whatever the shape (the plan would say so, after building a layout)
        return bits, math.inf
    chosen = _lp.plan(_layout(c))
    return chosen.bits, chosen.seconds


def _free_bits(c: Compiled) -> int:
    """The free response bits (docs/bounds.md section 2): the response rates strictly between 0 and 1."""
    a, b = _marginals(c)
    return int(((0.0 < a) & (a < 1.0)).sum() + ((0.0 < b) & (b < 1.0)).sum())


def _layout(c: Compiled, run: Forward | None = None) -> Layout:
    a, b = _marginals(c)
    return Layout(c, a, b, (forward_compiled(c, truths_only=True) if run is None else run).lp)


# ----------------------------------------------------------------- fast bounds


def fast_bounds(tree: nx.DiGraph | Compiled) -> Bounds:
    """Bounds valid over the class C for any tree, by inequalities propagated upward.

    See docs/bounds.md section 3 for each inequality. Conditional error rates
    are propagated (not joint probabilities), so the bounds stay meaningful
    however rare the conditioning events are.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).

    Returns
    -------
    Bounds
        With ``method="fast"``.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExactRefused
        If a rule needs more classes of partial sums than exact analysis
        allows (the truths' law is computed exactly first), as a ``weighted``
        rule over more than about 22 children of unrelated weights.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/book-summarization.toml")
    >>> b = fast_bounds(tree)
    >>> b.method, b.false_accept[0] <= rrm.exact_analysis(tree).root.false_accept <= b.false_accept[1]
    ('fast', True)
    """
    return _fast(compile_tree(tree))


def _fast(c: Compiled, run: Forward | None = None) -> Bounds:
    a, b = _marginals(c)
    lp_root, alpha, beta = fast_rates(c, a, b, run)
    defined = (bool(np.isfinite(lp_root[0])), bool(np.isfinite(lp_root[1])))
    fa = (float(alpha[0]), float(alpha[1])) if defined[0] else None
    fr = (float(beta[0]), float(beta[1])) if defined[1] else None
    p_bad, p_good = np.exp(lp_root)
    error = tuple(
        float(min(1.0, (p_bad * alpha[k] if defined[0] else 0.0) + (p_good * beta[k] if defined[1] else 0.0)))
        for k in (0, 1)
    )
    return Bounds(fa, fr, error, "fast")  # type: ignore[arg-type]


# ----------------------------------------------------------------- the linear programme


@dataclass(frozen=True)
class LPBounds:
    """Tight bounds over C, with extremal joint laws that attain them.

    Attributes
    ----------
    bounds : Bounds
    bits : list of (node, int)
        The free response bits: ``(v, 0)`` is ``rho_v(0)``, ``(v, 1)`` is ``rho_v(1)``.
        Configuration ``k`` sets bit ``j`` to ``(k >> j) & 1``.
    couplings : dict
        ``(metric, "lo" | "hi")`` -> ``(configurations, probabilities)``: an
        extremal joint law of the responses, as the configurations it charges
        (int64, at most ``len(bits) + 1`` of them: a vertex of the programme)
        and their probabilities (summing to 1). Undefined metrics have no entry.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> result = rrm.lp_bounds(rrm.chain(1, error=0.1, prior=0.5))
    >>> result.bits
    [('L0_0', 0), ('L0_0', 1), ('L1_0', 0), ('L1_0', 1)]
    >>> configs, probs = result.couplings["false_accept", "hi"]
    >>> round(float(probs @ result.values("false_accept", configs)), 4)
    0.2
    """

    bounds: Bounds
    bits: list[tuple[Hashable, int]]
    couplings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]
    _layout: Layout = field(repr=False, compare=False)

    def values(self, metric: str, configs: np.ndarray) -> np.ndarray:
        """The root ``metric`` given each configuration (truths and audits averaged out; NaN if undefined).

        Raises
        ------
        ValueError
            If ``metric`` is not ``"false_accept"``, ``"false_reject"`` or ``"error"``.
        """
        if metric not in _METRICS:
            raise ValueError(f"metric={metric!r} is not one of {', '.join(repr(m) for m in _METRICS)}")
        configs = np.asarray(configs, dtype=np.int64)
        fa, fr = evaluate(self._layout, configs)
        p_bad, p_good = np.exp(self._layout.lp[0])
        nan = np.full(len(configs), np.nan)
        if metric == "false_accept":
            return fa if p_bad > 0 else nan
        if metric == "false_reject":
            return fr if p_good > 0 else nan
        return p_bad * fa + p_good * fr


def lp_bounds(tree: nx.DiGraph | Compiled, *, max_bits: int | None = None) -> LPBounds:
    """The tight bounds over C by linear programming (docs/bounds.md section 2), whatever they cost.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).
    max_bits : int, optional, keyword-only
        Refuse trees with more free response bits than this.

    Returns
    -------
    LPBounds
        The tight :class:`Bounds` with the joint laws that attain them.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    RRMError
        On a tree beyond reach (:func:`tight_cost` is infinite) or past ``max_bits``
        (use :func:`fast_bounds`).
    ExactRefused
        If a rule needs more classes of partial sums than exact analysis
        allows (the truths' law is computed exactly first), as a ``weighted``
        rule over more than about 22 children of unrelated weights.
    ArithmeticError
        If the master programme's simplex gives up (a guard, never seen;
        :func:`bounds` turns it into an RRMError).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> result = lp_bounds(rrm.load_spec("models/flat-ai-feedback.toml"))
    >>> configs, probs = result.couplings["false_accept", "hi"]
    >>> len(result.bits), len(configs) <= len(result.bits) + 1, round(float(probs.sum()), 12)
    (4, True, 1.0)
    >>> value = probs @ result.values("false_accept", configs)
    >>> bool(abs(value - result.bounds.false_accept[1]) < 1e-12)
    True
    """
    layout = _layout(compile_tree(tree))
    chosen = _lp.plan(layout)
    if max_bits is not None and chosen.bits > max_bits:
        chosen = _lp.Plan(chosen.bits, "", math.inf)
    return _tight(layout, chosen)


def _tight(layout: Layout, chosen: _lp.Plan, max_rounds: int | None = None) -> LPBounds:
    """Six programmes (each metric's least and greatest value) sharing one pool of configurations,
    with at most ``max_rounds`` rounds of column generation in all (None: no cap)."""
    c = layout.c
    if not chosen.pricer:
        raise RRMError(
            f"tree {c.name!r}: {chosen.bits} free response bits are beyond the tight bounds' reach "
            f"(section 2.4 of docs/bounds.md); use method=\"fast\" (fast_bounds)"
        )
    pricer = _lp.pricer_for(layout, chosen.pricer)
    pool = _lp.start_pool(layout)
    p_bad, p_good = np.exp(layout.lp[0])
    directions = {"false_accept": (1.0, 0.0), "false_reject": (0.0, 1.0), "error": (p_bad, p_good)}
    defined = {"false_accept": p_bad > 0, "false_reject": p_good > 0, "error": True}
    found: dict[str, tuple[float, float] | None] = {}
    couplings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    used = 0
    for metric in _METRICS:
        if not defined[metric]:
            found[metric] = None
            continue
        ends = []
        for side, sign in (("lo", -1.0), ("hi", 1.0)):
            d = (sign * directions[metric][0], sign * directions[metric][1])
            sol = _lp.solve(pricer, d, pool, None if max_rounds is None else max_rounds - used)
            used += sol.rounds
            couplings[(metric, side)] = (sol.configs, sol.probs)
            ends.append(float(np.clip(sign * sol.value, 0.0, 1.0)) + 0.0)  # + 0.0: no -0.0
        found[metric] = (ends[0], ends[1])
    result = Bounds(found["false_accept"], found["false_reject"], found["error"], "tight")  # type: ignore[arg-type]
    return LPBounds(result, [(c.nodes[i], w) for i, w in layout.bits], couplings, layout)


# ----------------------------------------------------------------- concentration


def _tail(p: np.ndarray, k: int) -> float:
    """P(S >= k) for S a sum of independent Bernoulli(p) (Poisson binomial), exactly.

    A dynamic programme over the distribution of the partial sums, ``O(n^2)``.

    Parameters
    ----------
    p : array_like of float
        The n success probabilities, each in [0, 1] (not checked).
    k : int
        The threshold; ``k <= 0`` gives 1.0 and ``k > n`` gives 0.0.

    Returns
    -------
    float
        ``P(S >= k)``.

    Raises
    ------
    TypeError
        If ``p`` is not a sequence or array of numbers.

    Examples
    --------
    >>> poisson_binomial_tail([0.5, 0.5], 1)
    0.75
    >>> round(poisson_binomial_tail([0.1, 0.2, 0.3], 2), 6)
    0.098
    """
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1.0 - q) + dist[:-1] * q
        dist[0] *= 1.0 - q
    return float(dist[max(k, 0):].sum())


poisson_binomial_tail = _tail


def _kl(x: float, y: float) -> float:
    """Relative entropy between Bernoulli(x) and Bernoulli(y)."""
    out = 0.0
    if x > 0:
        out += x * math.log(x / y)
    if x < 1:
        out += (1 - x) * math.log((1 - x) / (1 - y))
    return out


def _tails(p: np.ndarray, k: int) -> dict[str, float]:
    n, mu = len(p), float(p.sum())
    hoeffding = math.exp(-2.0 * (k - mu) ** 2 / n) if k > mu else 1.0
    chernoff = 1.0
    if k / n > mu / n:
        chernoff = 0.0 if mu == 0.0 else math.exp(-n * _kl(k / n, mu / n))
    return {"errors_needed": k, "exact": _tail(p, k), "hoeffding": hoeffding, "chernoff": chernoff}


def concentration(tree: nx.DiGraph, *, analysis: Analysis | None = None) -> list[dict[str, Any]]:
    """Hoeffding and Chernoff bounds beside the exact tail, for count-rule nodes (section 4).

    For every ``majority`` or ``at_least:K`` node: the probability that its
    input is wrong when all its children's truths are equal, if its children err
    independently at the rates the exact analysis gives them (what the parent
    sees: ``(1 - audit) * false_reject`` when the truth is good,
    ``(1 - audit) * false_accept`` when bad).

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated evaluation tree.
    analysis : Analysis, optional, keyword-only
        Its exact analysis, if the caller has it (:func:`exact_analysis`); by
        default it is computed.

    Returns
    -------
    list of dict
        One per count-rule node, in graph order: ``node``, ``rule``, ``children``,
        and for ``good`` and ``bad`` work a dict with ``errors_needed`` (children
        wrong for the input to be wrong), ``exact`` (that tail), ``hoeffding``
        and ``chernoff`` (bounds on it), or None where the children's rate is
        undefined.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExactRefused
        Where exact analysis declines the tree.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.balanced(1, 5, rule="majority", error=0.1, prior=0.5)
    >>> row = concentration(tree)[0]
    >>> row["good"]["errors_needed"], round(row["good"]["exact"], 5)
    (3, 0.00856)
    >>> row["good"]["exact"] <= row["good"]["chernoff"] <= row["good"]["hoeffding"]
    True
    """
    if analysis is None:
        analysis = analysis_from(tree, forward(tree))
    found = []  # (node, rule, children) of the count-rule nodes, in graph order
    parsed: dict[object, Any] = {}  # rule text -> the rule, once per distinct text (trees repeat a few)
    for v, text in tree.nodes(data="rule"):
        if text is None or not tree.succ[v]:
            continue
        key = (type(text), text) if isinstance(text, (str, int, float)) else id(text)
        rule = parsed.get(key)
        if rule is None:
            rule = parsed[key] = parse_rule(text)
        if rule.kind in ("majority", "at_least"):
            found.append((v, rule, list(tree.successors(v))))
    if not found:
        return []
    row_of = analysis.per_node._index if analysis.per_node._index is not None else None
    if row_of is None:
        row_of = dict(zip(analysis.per_node, range(len(analysis.per_node))))
    rates = {m: analysis.per_node._arrays[m] for m in ("false_reject", "false_accept")}
    audit = tree.nodes(data="audit")
    out: list[dict[str, Any]] = [{} for _ in found]
    by_width: dict[int, list[int]] = {}
    for j, (_, _, kids) in enumerate(found):
        by_width.setdefault(len(kids), []).append(j)
    for n, rows in by_width.items():  # every node of n children at once
        kids = np.array([[row_of[k] for k in found[j][2]] for j in rows], dtype=np.int64)
        keep = 1.0 - np.array([[audit[k] for k in found[j][2]] for j in rows], dtype=float)
        T = np.array([n // 2 + 1 if found[j][1].kind == "majority" else int(found[j][1].k) for j in rows])
        sides = {}
        for side, metric, k in (("good", "false_reject", n - T + 1), ("bad", "false_accept", T)):
            p = keep * rates[metric][kids]
            defined = ~np.isnan(p).any(axis=1)
            tails = _tails_batch(np.where(defined[:, None], p, 0.0), k)
            sides[side] = (defined, k, tails)
        for i, j in enumerate(rows):
            v, rule, _ = found[j]
            row: dict[str, Any] = {"node": str(v), "rule": str(rule), "children": n}
            for side, (defined, k, tails) in sides.items():
                row[side] = None if not defined[i] else {
                    "errors_needed": int(k[i]), "exact": tails[0][i], "hoeffding": tails[1][i], "chernoff": tails[2][i],
                }  # fmt: skip
            out[j] = row
    return out


def _tails_batch(p: np.ndarray, k: np.ndarray) -> tuple[list[float], list[float], list[float]]:
    """:func:`_tails` for rows of rates ``p`` (G, n) and thresholds ``k`` (G,): the exact tails,
    Hoeffding's and Chernoff's bounds, as lists of floats."""
    G, n = p.shape
    dist = np.zeros((G, n + 1))
    dist[:, 0] = 1.0
    for j in range(n):  # the Poisson-binomial law of the count, one child at a time
        q = p[:, j, None]
        dist[:, 1:] = dist[:, 1:] * (1.0 - q) + dist[:, :-1] * q
        dist[:, 0] *= 1.0 - q[:, 0]
    at = np.clip(k, 0, n + 1)
    upper = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # upper[g, i] = P(S >= i)
    exact = np.where(at <= n, upper[np.arange(G), np.minimum(at, n)], 0.0)
    mu = p.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hoeffding = np.where(k > mu, np.exp(-2.0 * (k - mu) ** 2 / n), 1.0)
        x, y = k / n, mu / n
        kl = np.where(x > 0, x * np.log(x / y), 0.0) + np.where(x < 1, (1 - x) * np.log((1 - x) / (1 - y)), 0.0)
        chernoff = np.where(x > y, np.where(mu == 0.0, 0.0, np.exp(-n * kl)), 1.0)
    return exact.tolist(), hoeffding.tolist(), chernoff.tolist()


