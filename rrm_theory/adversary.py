"""Adversarial robustness: deception as a worst case (docs/bounds.md section 5).

An adversary sees the whole episode (truths, every evaluator's response, the
audit coins, the shared events) and corrupts at most t evaluators, never the
root unless asked, so that the root approves; a corrupted evaluator approves
whatever its input. Honest evaluators answer the inputs they then get with
their realised responses, which need not be monotone: a channel that flips
both ways negates, so corrupting a helper deep in the tree can matter.

The curve is exact, by a dynamic programme over the tree (see
:mod:`rrm_theory._adversary_dp`); the most likely bad outcome and an optimal
corruption on it come from a max-product pass and the same recursion on that
one episode.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Hashable

import networkx as nx
import numpy as np

from .errors import RRMError
from ._adversary_dp import root_cost_law
from ._compile import Compiled
from ._rule_program import rule_program
from .exact import Forward, analysis_from, forward

__all__ = ["Robustness", "robustness"]


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

    Examples
    --------
    One helper under the root, both erring 10% of the time; corrupting the
    helper makes the root approve bad work unless the root itself catches it:

    >>> import rrm_theory as rrm
    >>> result = rrm.robustness(rrm.chain(1, error=0.1, prior=0.5), budget=1)
    >>> [round(x, 4) for x in result.worst_false_accept], result.chosen
    ([0.18, 0.909], ['L1_0'])
    >>> result.to_dict()["min_corruptions"]
    1
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


def robustness(tree: nx.DiGraph | Compiled, *, budget: int = 3, root_corruptible: bool = False) -> Robustness:
    """Exact worst-case false accept rate against an adversary corrupting up to ``budget`` evaluators.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).
    budget : int, keyword-only
        T: the curve is reported for t = 0..T corruptions.
    root_corruptible : bool, keyword-only
        Whether the adversary may corrupt the root overseer.

    Returns
    -------
    Robustness
        The curve for t = 0..budget and the most likely bad outcome.

    Raises
    ------
    ValueError
        If ``budget`` is not a whole number >= 0.
    SpecError
        If ``tree`` is not a valid evaluation tree.
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
        joint, p_bad = root_cost_law(run, budget, root_corruptible)
        curve = [float(x) for x in np.clip(np.cumsum(joint) / p_bad, 0.0, 1.0)]
    outcome, probability, cost, chosen = _most_likely_bad(tree, run, root_corruptible)
    return Robustness(budget, curve, cost, chosen, outcome, probability, root_corruptible)


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
        if len(kids) == 1:  # the rule passes its one child's truth through (what _knapsack finds, sooner)
            rule_best, rule_pick = (float(best[kids[0], 0]), float(best[kids[0], 1])), ((0,), (1,))
        else:
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
    best = np.array(child_best, dtype=float)  # (n, 2): best log-prob of each child's subtree given its truth
    if all(w == 1 for w in weights):
        return _count_knapsack(best, T)
    program = rule_program(weights, T)
    value = np.zeros(1)
    choices = []  # per child: for every new class, the (old class, value) that reached it best
    for j in range(len(weights)):
        cand = np.concatenate([value + best[j, 0], value + best[j, 1]])
        target = np.concatenate(program.maps[j])
        size = program.sizes[j + 1]
        order = np.lexsort((-cand, target))  # by target, best first (ties: the first candidate)
        first = order[np.concatenate([[True], target[order][1:] != target[order][:-1]])]
        new = np.full(size, -math.inf)
        new[target[first]] = cand[first]
        pick = np.zeros(size, dtype=np.int64)
        pick[target[first]] = first
        choices.append(pick)
        value = new
    out_value, out_picks = [], []
    for final in (0, 1):
        picks = []
        cls = final
        for j in range(len(weights) - 1, -1, -1):
            source = int(choices[j][cls])
            width = program.sizes[j]
            y, cls = divmod(source, width)
            picks.append(y)
        out_value.append(float(value[final]))
        out_picks.append(tuple(reversed(picks)))
    return (out_value[0], out_value[1]), (out_picks[0], out_picks[1])


def _count_knapsack(best: np.ndarray, T: int):  # type: ignore[no-untyped-def]
    """The same for a count rule, greedily: each child at its better value, then the fewest
    cheapest changes that put the count on the wanted side of T (exact for unit weights)."""
    n = len(best)
    prefer = (best[:, 1] > best[:, 0]).astype(np.int64)  # ties to 0
    with np.errstate(invalid="ignore"):  # both values impossible: the child cannot move
        loss = np.abs(best[:, 1] - best[:, 0])
    loss = np.where(np.isnan(loss), math.inf, loss)
    out_value, out_picks = [], []
    for accept in (0, 1):
        picks = prefer.copy()
        count = int(picks.sum())
        need = (T - count) if accept else (count - T + 1)  # changes 0 -> 1 (accept) or 1 -> 0 (reject)
        if need > 0:
            movable = np.flatnonzero(picks == (0 if accept else 1))
            if len(movable) < need:
                out_value.append(-math.inf)
                out_picks.append(tuple(int(x) for x in picks))
                continue
            cheapest = movable[np.argsort(loss[movable], kind="stable")[:need]]
            picks[cheapest] = 1 - picks[cheapest]
        total = float(best[np.arange(n), picks].sum()) if n else 0.0
        out_value.append(total)
        out_picks.append(tuple(int(x) for x in picks))
    return (out_value[0], out_value[1]), (out_picks[0], out_picks[1])


def _min_corruptions(tree: nx.DiGraph, c, outcome: dict[tuple, int], root_corruptible: bool):  # type: ignore[no-untyped-def]
    """The fewest corruptions making the root approve on one episode, and one such set.

    The same recursion as the curve, on concrete values: for every node its
    honest report and the cheapest set of corruptions that flips it.
    """
    n = c.size
    groups_of: dict[int, list[str]] = {}
    for name, _, members in c.groups:
        for m in members.tolist():
            groups_of.setdefault(m, []).append(name)
    Y = [0] * n
    R = [0] * n
    flip: list[tuple[int, ...] | None] = [None] * n  # corruptions flipping R_v (None: impossible)
    root_V = 0
    root_flip: tuple[int, ...] | None = None
    for i in range(n - 1, -1, -1):
        v = c.nodes[i]
        if c.n_children[i] == 0:
            Y[i] = outcome[("Y", v)]
            U, flip_u = Y[i], None
        else:
            kids = list(range(c.first_child[i], c.first_child[i] + c.n_children[i]))
            form = c.forms[i]
            Y[i] = int(sum(w * Y[k] for w, k in zip(form.weights, kids)) >= form.threshold) * outcome[("H", v)]
            seen = sum(w * R[k] for w, k in zip(form.weights, kids))
            U = int(seen >= form.threshold)
            gap = form.threshold - seen if not U else seen - form.threshold + 1
            # flip children that report what the input says (0s up to reach T, or 1s down below it)
            items = [(w, f) for w, k in zip(form.weights, kids) if R[k] == U and (f := flip[k]) is not None]
            flip_u = _cheapest(items, gap)
        override = outcome[("D", v)] or (outcome[("M",)] and outcome[("X", v)]) or any(
            outcome[("B", g)] for g in groups_of.get(i, ())
        )
        rho = (int(bool(override or outcome[("FA", v)])), int(bool(override or not outcome[("FR", v)])))
        V = rho[U]
        through = flip_u if rho[1 - U] != V else None
        if V == 0 and (i != 0 or root_corruptible):
            through = (i,)  # corrupting the node itself costs 1, never more than any other way
        if i == 0:
            root_V, root_flip = V, through
        R[i] = Y[i] if outcome[("A", v)] else V
        flip[i] = None if outcome[("A", v)] else through
    if root_V:
        return 0, []
    if root_flip is None:
        return None, []
    return len(root_flip), sorted((c.nodes[k] for k in root_flip), key=str)


def _cheapest(items: list[tuple[int, tuple[int, ...]]], gap: int) -> tuple[int, ...] | None:
    """Fewest corruptions (union of disjoint sets) whose weights reach ``gap``: a small knapsack."""
    if items and all(w == items[0][0] for w, _ in items):  # equal weights: the cheapest enough of them
        need = -(-gap // items[0][0])
        if need > len(items):
            return None
        chosen = sorted(items, key=lambda item: len(item[1]))[:need]
        return tuple(k for _, cost_set in chosen for k in cost_set)
    best: dict[int, tuple[int, ...]] = {0: ()}
    for w, cost_set in items:
        for reached, chosen in list(best.items()):
            key = min(gap, reached + w)
            candidate = chosen + cost_set
            if key not in best or len(candidate) < len(best[key]):
                best[key] = candidate
    return best.get(gap)
