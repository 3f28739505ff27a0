"""Adversarial robustness: deception as a worst case (docs/bounds.md section 5).

An adversary sees the whole episode and corrupts at most t evaluators (never
the root unless asked) so that the root approves; a corrupted evaluator
approves whatever its input.

Why the root's children suffice
    Below the root, making a node v approve costs 0 if it already does, and
    otherwise exactly 1: corrupting v itself works (unless v is audited, when
    its parent sees the truth and nothing helps), and going through its
    children instead costs at least one corruption too. So an optimal
    adversary corrupts only children of the root (or the root itself), each
    rejecting, unaudited child costing 1, and the minimum cost to make the
    root's input approve is the fewest such children whose weights close the
    gap to the threshold (heaviest first).

The exact pass gives each child's joint law of (truth, report) per outcome of
the shared events the root conditions on; a count dynamic programme over the
root's children then gives the joint law of (root truth, cost) exactly.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Hashable

import networkx as nx
import numpy as np

from .errors import RRMError
from .exact import Forward, analysis_from, forward

__all__ = ["Robustness", "robustness", "MAX_ROOT_STATES"]

#: The most states the root's count programme may have.
MAX_ROOT_STATES = 1 << 22


@dataclass(frozen=True)
class Robustness:
    """The root's false accept rate against an adversary with a corruption budget.

    Attributes
    ----------
    budget : int
        The largest number of corruptions considered, T.
    worst_false_accept : list of float, or None
        ``P(the adversary can make the root approve | Y_root = 0)`` with at
        most t corruptions, for t = 0..T (None when P(Y_root = 0) = 0). Entry
        0 is the ordinary ``false_accept``; the list never decreases.
    min_corruptions : int or None
        On the most likely bad outcome: the fewest corruptions that make the
        root approve (None if none do; 0 if it approves already). Among equally
        likely outcomes, each variable's tie goes to 0 and the truths to the
        first assignment found; with ties, another outcome may need a different
        number.
    chosen : list
        The evaluators an optimal adversary corrupts on that outcome.
    outcome : dict
        The most likely bad outcome: every independent variable of the
        episode, keyed ``("Y", v)``, ``("H", v)``, ``("FA", v)``, ``("FR", v)``,
        ``("D", v)``, ``("X", v)``, ``("A", v)``, ``("M",)``, ``("B", group)``.
    outcome_probability : float
        Its probability.
    root_corruptible : bool
        Whether the adversary may corrupt the root.
    """

    budget: int
    worst_false_accept: list[float] | None
    min_corruptions: int | None
    chosen: list[Hashable]
    outcome: dict[tuple, int] = field(repr=False)
    outcome_probability: float
    root_corruptible: bool

    def to_dict(self) -> dict[str, Any]:
        """The ``"robustness"`` object of ``rrm-theory analyze --json``."""
        return {
            "budget": self.budget,
            "worst_false_accept": self.worst_false_accept,
            "min_corruptions": self.min_corruptions,
            "chosen": [str(v) for v in self.chosen],
            "root_corruptible": self.root_corruptible,
        }


def robustness(tree: nx.DiGraph, *, budget: int = 3, root_corruptible: bool = False) -> Robustness:
    """Exact worst-case false accept rate against an adversary corrupting up to ``budget`` evaluators.

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated evaluation tree.
    budget : int, keyword-only
        T: the curve is reported for t = 0..T corruptions.
    root_corruptible : bool, keyword-only
        Whether the adversary may corrupt the root overseer.

    Raises
    ------
    ExactRefused
        Where exact analysis declines the tree.

    Examples
    --------
    Two independent helpers, both needed; every evaluator perfect. A bad design
    has one or two bad properties; faking approval costs one corruption per bad
    one. P(bad) = 1 - 0.9 * 0.8 = 0.28, P(exactly one bad) = 0.26:

    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"defaults": {"error": 0.0},
    ...     "nodes": {"r": {"rule": "all"}, "a": {"parent": "r", "prior": 0.9},
    ...               "b": {"parent": "r", "prior": 0.8}}})
    >>> result = robustness(tree, budget=2)
    >>> [round(x, 4) for x in result.worst_false_accept]
    [0.0, 0.9286, 1.0]
    >>> result.min_corruptions, result.chosen            # most likely bad outcome: b alone is bad
    (1, ['b'])
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise ValueError(f"budget={budget!r} is not a whole number >= 0")
    run = forward(tree)
    analysis = analysis_from(tree, run)
    curve = None
    if analysis.root.false_accept is not None:
        joint, p_bad = _cost_law(run, budget, root_corruptible)
        curve = [float(x) for x in np.clip(np.cumsum(joint) / p_bad, 0.0, 1.0)]
    outcome, probability, cost, chosen = _most_likely_bad(tree, run, root_corruptible)
    return Robustness(budget, curve, cost, chosen, outcome, probability, root_corruptible)


# ----------------------------------------------------------------- the curve


def _cost_law(run: Forward, budget: int, root_corruptible: bool) -> tuple[np.ndarray, float]:
    """``P(Y_root = 0, cost = t)`` for t = 0..budget, and ``P(Y_root = 0)``.

    The root's cost given its honest input and its response rho: input approves,
    rho(1) = 1: 0; input rejects and rho(0) = 1: 0; input rejects, rho(0) = 0,
    rho(1) = 1: the cost k of making the input approve; otherwise infinite, and
    with a corruptible root every non-zero cost is at most 1.
    """
    plan, c = run.plan, run.plan.c
    inst = plan.of(np.array([0]))
    weight = np.exp(plan.log_weight[inst])  # P(outcome of the root's shared events)
    keep = np.exp(plan.log_keep[inst])
    fa, fr = c.false_accept[0], c.false_reject[0]
    yes0 = 1.0 - (1.0 - fa) * keep  # P(rho(0) = 1)
    yes1 = 1.0 - fr * keep  # P(rho(1) = 1)
    only1 = keep * (1.0 - fa) * (1.0 - fr)  # P(rho(0) = 0, rho(1) = 1)
    out = np.zeros(budget + 1)
    if c.n_children[0] == 0:  # a single human judging directly: nothing below to corrupt
        bad_yes, bad_no = np.zeros_like(weight), np.exp(run.lp[inst, 0])
        by_cost = np.zeros((len(inst), budget + 2))
    else:
        n = int(c.n_children[0])
        form = c.forms[0]
        assert form is not None
        classes = _child_classes(run, c.first_child[0] + np.arange(n), plan.children(inst, n))
        law = _count_programme(classes, form.weights, form.threshold, budget)  # (I, ruleY, U, cost)
        bad = law[:, 0] + (1.0 - c.coverage[0]) * law[:, 1]  # Y_root = 0: the rule rejects, or coverage fails
        bad_yes, by_cost = bad[:, 1].sum(axis=1), bad[:, 0]
        bad_no = by_cost.sum(axis=1)
    p_bad = float((weight * (bad_yes + bad_no)).sum())
    out[0] = float((weight * (bad_yes * yes1 + bad_no * yes0)).sum())
    if root_corruptible:
        if budget >= 1:
            out[1] = float((weight * (bad_yes * (1.0 - yes1) + bad_no * (1.0 - yes0))).sum())
    else:
        for t in range(1, budget + 1):
            out[t] = float((weight * by_cost[:, t] * only1).sum())
    return out, p_bad


def _child_classes(run: Forward, nodes: np.ndarray, kids: np.ndarray) -> np.ndarray:
    """Per root instance and child: ``P(Y_c = y, class)`` for the classes approves /
    rejects and is corruptible / rejects and is audited (its parent sees Y_c = 0)."""
    a = run.plan.c.audit[nodes][None, :, None]
    p_y = np.exp(run.lp_up[kids])  # (I, n, 2)
    # P(R_c = 0 | Y_c = y) = a [y = 0] + (1 - a) P(V_c = 0 | Y_c = y)
    audited_reject = p_y * a * np.array([1.0, 0.0])
    corruptible = np.clip(p_y * run.pr_up[kids][..., 0] - audited_reject, 0.0, None)
    approve = np.clip(p_y - corruptible - audited_reject, 0.0, None)
    return np.stack([approve, corruptible, audited_reject], axis=-1)


def _count_programme(classes: np.ndarray, weights: tuple[int, ...], T: int, budget: int) -> np.ndarray:
    """Joint law of (rule(Y), honest U, cost to make U approve, capped at budget + 1) per instance.

    State: truth weight (capped at T), approved weight (capped at T), and for
    each distinct weight the number of corruptible rejecting children (capped
    at budget + 1).
    """
    I = classes.shape[0]
    distinct = sorted(set(weights), reverse=True)
    cap = budget + 1
    shape = (I, T + 1, T + 1) + (cap + 1,) * len(distinct)
    if math.prod(shape) > MAX_ROOT_STATES:
        raise RRMError(
            f"the root's rule needs {math.prod(shape):,} adversary states, more than {MAX_ROOT_STATES:,}; "
            "lower the budget"
        )
    state = np.zeros(shape)
    state[(slice(None), 0, 0) + (0,) * len(distinct)] = 1.0
    for j, w in enumerate(weights):
        d = distinct.index(w)
        new = np.zeros_like(state)
        for y in (0, 1):
            moved = _shift(state, 1, w * y, T)  # truth weight
            p = classes[:, j, y]  # (I, 3)
            expand = (slice(None),) + (None,) * (len(shape) - 1)
            new += p[:, 0][expand] * _shift(moved, 2, w, T)  # approves
            new += p[:, 1][expand] * _shift(moved, 3 + d, 1, cap)  # corruptible rejection
            new += p[:, 2][expand] * moved  # audited rejection: can never help
        state = new
    out = np.zeros((I, 2, 2, cap + 1))
    for index in itertools.product(*(range(s) for s in shape[1:])):
        truth, approved, counts = index[0], index[1], index[2:]
        cost = _fewest(T - approved, distinct, counts, cap)
        out[:, int(truth >= T), int(approved >= T), cost] += state[(slice(None),) + index]
    return out


def _shift(state: np.ndarray, axis: int, by: int, cap: int) -> np.ndarray:
    """Move mass from index i to min(i + by, cap) along ``axis``."""
    if by == 0:
        return state
    out = np.zeros_like(state)
    src: list[Any] = [slice(None)] * state.ndim
    dst: list[Any] = [slice(None)] * state.ndim
    if by < cap:
        src[axis], dst[axis] = slice(0, cap - by), slice(by, cap)
        out[tuple(dst)] = state[tuple(src)]
    src[axis] = slice(max(cap - by, 0), cap + 1)
    dst[axis] = cap
    out[tuple(dst)] += state[tuple(src)].sum(axis=axis)
    return out


def _fewest(gap: int, distinct: list[int], counts: tuple[int, ...], cap: int) -> int:
    """Fewest corruptions closing a weight gap, heaviest first (``cap`` = impossible within budget)."""
    used = 0
    for w, k in zip(distinct, counts):
        if gap <= 0:
            break
        take = min(k, -(-gap // w))
        used += take
        gap -= take * w
    return min(used, cap) if gap <= 0 else cap


# ----------------------------------------------------------------- the most likely bad outcome


def _mode(p: float) -> int:
    return int(p > 0.5)  # a tie goes to 0


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def _most_likely_bad(
    tree: nx.DiGraph, run: Forward, root_corruptible: bool
) -> tuple[dict[tuple, int], float, int | None, list[Hashable]]:
    c = run.plan.c
    nodes = c.nodes
    outcome: dict[tuple, int] = {}
    log_p = 0.0
    influence = c.influence
    outcome[("M",)] = _mode(influence)
    log_p += _log(influence if outcome[("M",)] else 1.0 - influence)
    for name, p, _ in c.groups:
        outcome[("B", name)] = _mode(p)
        log_p += _log(p if outcome[("B", name)] else 1.0 - p)
    for i, v in enumerate(nodes):
        for key, p in (("FA", c.false_accept[i]), ("FR", c.false_reject[i]), ("D", c.deception[i]),
                       ("X", c.exposure[i]), ("A", c.audit[i])):  # fmt: skip
            outcome[(key, v)] = _mode(p)
            log_p += _log(p if outcome[(key, v)] else 1.0 - p)
    truth_log, truths = _map_truths(tree, c)
    if truth_log == -math.inf:
        return {}, 0.0, None, []
    outcome.update(truths)
    probability = math.exp(log_p + truth_log)
    cost, chosen = _min_corruptions(tree, c, outcome, root_corruptible)
    return outcome, probability, cost, chosen


def _map_truths(tree: nx.DiGraph, c) -> tuple[float, dict[tuple, int]]:  # type: ignore[no-untyped-def]
    """The most probable truth assignment with Y_root = 0 (max-product over the tree)."""
    n = c.size
    best = np.full((n, 2), -math.inf)  # best log-probability of the subtree given Y_v = y
    choice: list[Any] = [None] * n
    for i in range(n - 1, -1, -1):  # children (higher BFS index) first
        if c.n_children[i] == 0:
            p = c.prior[i]
            best[i] = (_log(1.0 - p), _log(p))
            continue
        kids = list(range(c.first_child[i], c.first_child[i] + c.n_children[i]))
        form = c.forms[i]
        rule_best, rule_pick = _knapsack([best[k] for k in kids], form.weights, form.threshold)
        cov = c.coverage[i]
        options_bad = [(_log(1.0 - cov) + rule_best[y], (0, y)) for y in (0, 1)] + [(_log(cov) + rule_best[0], (1, 0))]
        bad = max(options_bad, key=lambda o: o[0])
        best[i] = (bad[0], _log(cov) + rule_best[1])
        choice[i] = (bad[1], (1, 1), rule_pick)
    if best[0, 0] == -math.inf:
        return -math.inf, {}
    truths: dict[tuple, int] = {}
    stack = [(0, 0)]
    while stack:
        i, y = stack.pop()
        v = c.nodes[i]
        if c.n_children[i] == 0:
            truths[("Y", v)] = y
            continue
        h, rule_y = choice[i][y]
        truths[("H", v)] = h
        picks = choice[i][2][rule_y]
        for j, yc in enumerate(picks):
            stack.append((int(c.first_child[i]) + j, yc))
    return float(best[0, 0]), truths


def _knapsack(child_best: list[np.ndarray], weights: tuple[int, ...], T: int):  # type: ignore[no-untyped-def]
    """Best log-probability of the children's truths with the rule rejecting / accepting, and the picks."""
    # table[s] = (best log-prob, picks) with truth weight s capped at T
    table: dict[int, tuple[float, tuple[int, ...]]] = {0: (0.0, ())}
    for b, w in zip(child_best, weights):
        new: dict[int, tuple[float, tuple[int, ...]]] = {}
        for s, (lp, picks) in table.items():
            for y in (0, 1):
                key = min(T, s + w * y)
                cand = (lp + float(b[y]), picks + (y,))
                if key not in new or cand[0] > new[key][0]:
                    new[key] = cand
        table = new
    reject = max((v for s, v in table.items() if s < T), key=lambda v: v[0], default=(-math.inf, ()))
    accept = table.get(T, (-math.inf, ()))
    return (reject[0], accept[0]), (reject[1], accept[1])


def _min_corruptions(tree: nx.DiGraph, c, outcome: dict[tuple, int], root_corruptible: bool):  # type: ignore[no-untyped-def]
    """Honest reports on the outcome, then the fewest corruptions making the root approve."""
    n = c.size
    Y = np.zeros(n, dtype=int)
    R = np.zeros(n, dtype=int)
    V = np.zeros(n, dtype=int)
    U = np.zeros(n, dtype=int)
    rho = {}
    groups_of: dict[int, list[str]] = {}
    for name, _, members in c.groups:
        for m in members.tolist():
            groups_of.setdefault(m, []).append(name)
    for i in range(n - 1, -1, -1):
        v = c.nodes[i]
        if c.n_children[i] == 0:
            Y[i] = outcome[("Y", v)]
            U[i] = Y[i]
        else:
            below = range(c.first_child[i], c.first_child[i] + c.n_children[i])
            form = c.forms[i]
            truth = sum(w * Y[k] for w, k in zip(form.weights, below))
            seen = sum(w * R[k] for w, k in zip(form.weights, below))
            Y[i] = int(truth >= form.threshold) * outcome[("H", v)]
            U[i] = int(seen >= form.threshold)
        override = outcome[("D", v)] or (outcome.get(("M",), 0) and outcome[("X", v)]) or any(
            outcome[("B", g)] for g in groups_of.get(i, ())
        )
        rho0 = int(bool(override or outcome[("FA", v)]))
        rho1 = int(bool(override or not outcome[("FR", v)]))
        rho[i] = (rho0, rho1)
        V[i] = rho1 if U[i] else rho0
        R[i] = Y[i] if outcome[("A", v)] else V[i]
    if V[0]:
        return 0, []
    root = c.nodes[0]
    if c.n_children[0] == 0 or not rho[0][1]:
        return (1, [root]) if root_corruptible else (None, [])
    form = c.forms[0]
    kids = list(range(c.first_child[0], c.first_child[0] + c.n_children[0]))
    gap = form.threshold - sum(w * R[k] for w, k in zip(form.weights, kids))
    candidates = sorted(
        ((w, k) for w, k in zip(form.weights, kids) if not R[k] and not outcome[("A", c.nodes[k])]),
        key=lambda wk: (-wk[0], wk[1]),
    )
    chosen = []
    for w, k in candidates:
        if gap <= 0:
            break
        chosen.append(c.nodes[k])
        gap -= w
    if gap > 0:
        return (1, [root]) if root_corruptible else (None, [])
    if root_corruptible and len(chosen) > 1:
        return 1, [root]
    return len(chosen), chosen

