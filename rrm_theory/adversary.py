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

Work
    Both passes over the episode run on the compiled tree's arrays: nodes with two
    or more children by groups of one height and rule (the knapsacks of a group at
    once), and runs of one-child nodes (chains) whole, each run in a few array
    operations (the episode's values along a run are compositions of maps of {0, 1}:
    a truth passed or cut, a report kept, negated or replaced, a flip passed on or
    restarted). The one sequential piece is the max-product recursion along a run
    where coverage is below 1, a loop over plain floats that keeps the scalar
    recursion's roundings, so that ties break as they always did.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Hashable

import networkx as nx
import numpy as np

from ._adversary_dp import Chains, chains, multi_groups, root_cost_law
from ._compile import Compiled, compile_tree
from ._rule_program import rule_program
from .errors import ExactRefused
from .exact import Forward, forward

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
    outcome : mapping
        The most likely bad outcome: every independent variable of the
        episode, keyed ``("Y", v)``, ``("H", v)``, ``("FA", v)``, ``("FR", v)``,
        ``("D", v)``, ``("X", v)``, ``("A", v)``, ``("M",)``, ``("B", group)``
        (values 0 or 1). A read-only mapping computed on access from arrays (a
        tree of a million nodes has six million variables); ``dict(outcome)``
        copies it; empty when no outcome is bad.
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
    >>> result.outcome[("Y", "L1_0")], len(result.outcome)
    (0, 13)
    """

    budget: int
    worst_false_accept: list[float] | None
    min_corruptions: int | None
    chosen: list[Hashable]
    outcome: Mapping[tuple, int] = field(repr=False)
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
        Where exact analysis declines the tree, or where the root's truth is
        bad with a probability below the smallest double (its tables carry plain
        probabilities).

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
    c = compile_tree(tree)
    run = forward(c)
    curve = None
    if _can_be_bad(run):  # exactly when exact analysis reports a false accept rate
        joint, p_bad = root_cost_law(run, budget, root_corruptible)
        if not p_bad > 0.0:  # P(Y_root = 0) > 0 in the exact pass's logs, but not as a double
            raise ExactRefused(
                f"tree {c.name!r}: robustness: P(the root's truth is bad) = exp({float(run.lp[0, 0]):.6g}) is below "
                "the smallest double, and the adversary's tables carry plain probabilities; exact analysis "
                "reports the rates"
            )  # fmt: skip
        curve = [float(x) for x in np.clip(np.cumsum(joint) / p_bad, 0.0, 1.0)]
    outcome, probability, cost, chosen = _most_likely_bad(c, root_corruptible)
    return Robustness(budget, curve, cost, chosen, outcome, probability, root_corruptible)


def _can_be_bad(run: Forward) -> bool:
    """P(Y_root = 0) > 0, as the exact pass has it (some instance of the root has it)."""
    plan = run.plan
    inst = plan.of(np.array([0]))
    return bool(np.isfinite(plan.log_weight[inst] + run.lp[inst, 0]).any())


# ----------------------------------------------------------------- the order of the passes


@dataclass(frozen=True)
class _Schedule:
    """Children before parents: before the k-th group of nodes with several children (by
    height and rule), the runs of one-child nodes ``cut[k - 1]:cut[k]``; the rest at the end.
    A run's bottom child is a leaf or in an earlier group, its top's parent in a later one."""

    groups: list[tuple[np.ndarray, tuple[int, ...], int]]
    one: np.ndarray  # the one-child nodes, which the runs' elements index
    runs: Chains
    cut: list[int]

    def steps(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        done = 0
        for group, k in zip(self.groups, self.cut):
            if k > done:
                out.append(("runs", (done, k)))
            out.append(("group", group))
            done = k
        if done < len(self.runs.start):
            out.append(("runs", (done, len(self.runs.start))))
        return out

    def run_nodes(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Runs ``lo:hi``: their nodes (run after run, bottom up), each node's run (0-based),
        each run's first position, each run's length."""
        ch = self.runs
        first = int(ch.start[lo])
        length = ch.length[lo:hi]
        nodes = self.one[ch.order[first : int(ch.start[hi - 1] + length[-1])]]
        return nodes, np.repeat(np.arange(hi - lo), length), ch.start[lo:hi] - first, length


def _schedule(c: Compiled) -> _Schedule:
    one = np.flatnonzero(c.n_children == 1)
    where = np.full(c.size, -1, dtype=np.int64)
    where[one] = np.arange(len(one))
    parent = c.parent[one]
    runs = chains(np.where(parent >= 0, where[parent], -1), c.height[one])
    groups = multi_groups(c)
    heights = [int(c.height[nodes[0]]) for nodes, _, _ in groups]
    return _Schedule(groups, one, runs, np.searchsorted(runs.top_height, heights).tolist())


def _last_at_or_before(flag: np.ndarray, start: np.ndarray, run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position, the last flagged position at or before it in its run (clipped to 0
    where there is none), and whether there is one."""
    last = np.maximum.accumulate(np.where(flag, np.arange(len(flag)), -1))
    found = last >= start[run]
    return np.maximum(last, 0), found


# ----------------------------------------------------------------- the most likely bad outcome

_CHANNELS = ("FA", "FR", "D", "X", "A")


def _most_likely_bad(c: Compiled, root_corruptible: bool
                     ) -> tuple[Mapping[tuple, int], float, int | None, list[Hashable]]:  # fmt: skip
    schedule = _schedule(c)
    columns = (c.false_accept, c.false_reject, c.deception, c.exposure, c.audit)
    modes = np.stack([p > 0.5 for p in columns], axis=1).astype(np.int8)  # a tie goes to 0
    shared = {("M",): int(c.influence > 0.5)}
    shared.update({("B", name): int(p > 0.5) for name, p, _ in c.groups})
    log_p = _log(c.influence if shared[("M",)] else 1.0 - c.influence)
    for name, p, _ in c.groups:
        log_p += _log(p if shared[("B", name)] else 1.0 - p)
    terms = np.stack([_logs(np.where(mode == 1, p, 1.0 - p)) for p, mode in zip(columns, modes.T)], axis=1).ravel()
    for lo in range(0, len(terms), 1 << 20):  # added in the scalar code's order, node by node
        log_p = float(np.cumsum(np.concatenate([[log_p], terms[lo : lo + (1 << 20)]]))[-1])
    truth_log, truth = _map_truths(c, schedule)
    if truth_log == -math.inf:
        return {}, 0.0, None, []
    probability = math.exp(log_p + truth_log)
    cost, chosen = _min_corruptions(c, schedule, modes, shared, truth, root_corruptible)
    return _Outcome(c, shared, modes, truth), probability, cost, chosen


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf


def _logs(x: np.ndarray) -> np.ndarray:
    """``math.log`` of each entry, -inf at 0: the scalar function, whose roundings the
    truths' ties depend on (numpy's vectorised log may differ in the last bit)."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, -math.inf)
    positive = x > 0
    values = x[positive]
    if len(values) and values.min() == values.max():
        out[positive] = math.log(float(values[0]))
    elif len(values):
        distinct, inverse = np.unique(values, return_inverse=True)
        out[positive] = np.fromiter(map(math.log, distinct.tolist()), dtype=float, count=len(distinct))[inverse]
    return out


def _map_truths(c: Compiled, schedule: _Schedule) -> tuple[float, np.ndarray]:
    """The most probable truth assignment with Y_root = 0 (max-product over the tree): its log
    probability and, per node, the value of its own truth variable (Y on a leaf, H inside).

    Bottom up, ``b[v, y]`` is the best log-probability of v's subtree given ``Y_v = y``;
    ``bad[v]`` is the choice (H_v, rule outcome) that attains ``b[v, 0]`` (Y_v = 1 needs
    H_v = 1 and the rule accepting) and ``pick[k, o]`` child k's truth when its parent's
    rule outcome is o. Top down, from ``Y_root = 0``, the choices give every truth.
    """
    n = c.size
    leaf = c.is_leaf
    b = np.full((n, 2), -math.inf)
    b[leaf, 0] = _logs(1.0 - c.prior[leaf])
    b[leaf, 1] = _logs(c.prior[leaf])
    log_uncovered = np.full(n, -math.inf)
    log_covered = np.full(n, -math.inf)
    log_uncovered[~leaf] = _logs(1.0 - c.coverage[~leaf])
    log_covered[~leaf] = _logs(c.coverage[~leaf])
    bad = np.zeros((n, 2), dtype=np.int8)  # (H_v, rule outcome) when Y_v = 0
    pick = np.zeros((n, 2), dtype=np.int8)
    steps = schedule.steps()
    for kind, what in steps:
        if kind == "group":
            nodes, weights, T = what
            kids = c.first_child[nodes][:, None] + np.arange(len(weights))
            if all(w == 1 for w in weights):
                rule_best, picks = _count_knapsack(b[kids], T)
            else:
                rule_best, picks = _program_knapsack(b[kids], weights, T)
            pick[kids] = picks.transpose(0, 2, 1)
            _choose(b, bad, nodes, log_uncovered[nodes], log_covered[nodes], rule_best[:, 0], rule_best[:, 1])
        else:
            nodes, run, start, _ = schedule.run_nodes(*what)
            kids = c.first_child[nodes]
            pick[kids] = (0, 1)  # one child: the rule passes its truth through
            below = _run_values(b, kids, run, start, c.coverage[nodes], log_uncovered[nodes], log_covered[nodes])
            _choose(b, bad, nodes, log_uncovered[nodes], log_covered[nodes], below[:, 0], below[:, 1])
    if b[0, 0] == -math.inf:
        return -math.inf, np.zeros(0, dtype=np.int8)
    y = np.zeros(n, dtype=np.int8)
    own = np.zeros(n, dtype=np.int8)  # H inside, Y on the leaves
    for kind, what in reversed(steps):
        if kind == "group":
            nodes, weights, _ = what
            good = y[nodes] == 1
            own[nodes] = np.where(good, 1, bad[nodes, 0])
            outcome = np.where(good, 1, bad[nodes, 1])
            kids = c.first_child[nodes][:, None] + np.arange(len(weights))
            y[kids] = np.where(outcome[:, None] == 1, pick[kids, 1], pick[kids, 0])
        else:
            nodes, run, start, length = schedule.run_nodes(*what)
            # Y = 1 below the highest node of the run that has Y = 0 and picks an accepting child
            ones = np.cumsum(bad[nodes, 1] == 1)
            end = ones[start + length - 1]
            above = end[run] - ones  # nodes above in the run that pass a 1 down
            top_good = y[nodes[start + length - 1]] == 1
            good = top_good[run] | (above > 0)
            y[nodes] = good
            own[nodes] = np.where(good, 1, bad[nodes, 0])
            y[c.first_child[nodes[start]]] = good[start] | (bad[nodes[start], 1] == 1)
    own[leaf] = y[leaf]
    return float(b[0, 0]), own


def _choose(b: np.ndarray, bad: np.ndarray, nodes: np.ndarray, log_uncovered: np.ndarray, log_covered: np.ndarray,
            reject: np.ndarray, accept: np.ndarray) -> None:  # fmt: skip
    """Node values from the best rule outcomes: Y = 0 by an uncovered defect (H = 0, either
    outcome) or a rejecting rule (H = 1); the first best of the three, in that order."""
    options = (log_uncovered + reject, log_uncovered + accept, log_covered + reject)
    first = (options[0] >= options[1]) & (options[0] >= options[2])
    second = ~first & (options[1] >= options[2])
    b[nodes, 0] = np.maximum(np.maximum(options[0], options[1]), options[2])
    b[nodes, 1] = log_covered + accept
    bad[nodes, 0] = ~(first | second)
    bad[nodes, 1] = second


def _run_values(b: np.ndarray, kids: np.ndarray, run: np.ndarray, start: np.ndarray, coverage: np.ndarray,
                log_uncovered: np.ndarray, log_covered: np.ndarray) -> np.ndarray:  # fmt: skip
    """Along runs of one-child nodes (bottom up), each node's child's values ``b[child]``.

    ``b[v] = (max(u + b0, u + b1, k + b0), k + b1)`` with u, k the logs of 1 - coverage
    and coverage; where coverage is 1 that is ``b[child]`` itself. Elsewhere the recursion
    runs as the scalar code did, one float at a time (the same roundings, so the same ties).
    """
    L = len(run)
    bottom = b[kids[start]]  # the runs' anchors: done before the runs
    moves = np.flatnonzero(coverage != 1.0)
    after = np.empty((len(moves), 2))
    if len(moves):
        fresh = np.ones(len(moves), dtype=bool)  # the first move of its run starts from the anchor
        fresh[1:] = run[moves[1:]] != run[moves[:-1]]
        after[:, 0], after[:, 1] = _max_plus(fresh, bottom[run[moves]], log_uncovered[moves], log_covered[moves])
    rank = np.cumsum(coverage != 1.0) - 1
    last, found = _last_at_or_before(coverage != 1.0, start, run)
    values = np.where(found[:, None], after[np.maximum(rank[last], 0)] if len(moves) else 0.0, bottom[run])
    below = np.empty((L, 2))
    below[1:] = values[:-1]
    below[start] = bottom
    return below


def _max_plus(fresh: np.ndarray, bottom: np.ndarray, log_uncovered: np.ndarray, log_covered: np.ndarray
              ) -> tuple[list[float], list[float]]:  # fmt: skip
    """The recursion at the nodes where coverage < 1, in order: max(u + b0, k + b0) is
    (max(u, k) + b0) exactly (rounding is monotone)."""
    out0, out1 = [0.0] * len(fresh), [0.0] * len(fresh)
    b0 = b1 = 0.0
    rows = zip(fresh.tolist(), bottom[:, 0].tolist(), bottom[:, 1].tolist(), log_uncovered.tolist(),
               log_covered.tolist(), np.maximum(log_uncovered, log_covered).tolist())  # fmt: skip
    for t, (new, s0, s1, u, k, m) in enumerate(rows):
        if new:
            b0, b1 = s0, s1
        cut = u + b1
        b1 = k + b1
        b0 = m + b0
        if cut > b0:
            b0 = cut
        out0[t], out1[t] = b0, b1
    return out0, out1


def _knapsack(child_best: list[np.ndarray], weights: tuple[int, ...], T: int):  # type: ignore[no-untyped-def]
    """Best log-probability of the children's truths with the rule rejecting / accepting, and the picks."""
    best = np.array(child_best, dtype=float)[None]
    if all(w == 1 for w in weights):
        value, picks = _count_knapsack(best, T)
    else:
        value, picks = _program_knapsack(best, weights, T)
    return (float(value[0, 0]), float(value[0, 1])), tuple(tuple(int(x) for x in p) for p in picks[0])


def _count_knapsack(best: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """For G nodes at once (``best`` (G, n, 2)): each child at its better value, then the fewest
    cheapest changes that put the count on the wanted side of T (exact for unit weights).
    Returns the values (G, 2) and the picks (G, 2, n) for the rule rejecting and accepting."""
    G, n, _ = best.shape
    prefer = (best[:, :, 1] > best[:, :, 0]).astype(np.int8)  # ties to 0
    with np.errstate(invalid="ignore"):  # both values impossible: the child cannot move
        loss = np.abs(best[:, :, 1] - best[:, :, 0])
    loss = np.where(np.isnan(loss), math.inf, loss)
    count = prefer.sum(axis=1, dtype=np.int64)
    values = np.empty((G, 2))
    picks = np.empty((G, 2, n), dtype=np.int8)
    for accept in (0, 1):
        need = (T - count) if accept else (count - T + 1)  # changes 0 -> 1 (accept) or 1 -> 0 (reject)
        movable = prefer == (0 if accept else 1)
        order = np.lexsort((loss, ~movable), axis=-1)  # the movable first, cheapest first, then by place
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(n)[None].repeat(G, axis=0), axis=-1)
        possible = need <= movable.sum(axis=1)
        change = movable & (rank < need[:, None]) & possible[:, None]
        p = prefer ^ change
        picks[:, accept] = p
        total = np.take_along_axis(best, p[:, :, None].astype(np.int64), axis=2)[:, :, 0].sum(axis=1)
        values[:, accept] = np.where(possible | (need <= 0), total, -math.inf)
    return values, picks


def _program_knapsack(best: np.ndarray, weights: tuple[int, ...], T: int) -> tuple[np.ndarray, np.ndarray]:
    """The same over the classes of the rule's partial sums (any weights), G nodes at once:
    per class the best value and the (class before, child's value) that reached it first."""
    G, n, _ = best.shape
    program = rule_program(weights, T)
    value = np.zeros((G, 1))
    choices = []
    rows = np.arange(G)[:, None]
    for j in range(n):
        cand = np.concatenate([value + best[:, j, 0, None], value + best[:, j, 1, None]], axis=1)
        target = np.concatenate(program.maps[j])
        order = np.argsort(target, kind="stable")
        sorted_target = target[order]
        starts = np.flatnonzero(np.concatenate([[True], sorted_target[1:] != sorted_target[:-1]]))
        ranked = cand[:, order]
        top = np.maximum.reduceat(ranked, starts, axis=1)
        size = np.diff(np.append(starts, len(order)))
        at_top = ranked == np.repeat(top, size, axis=1)
        first = np.minimum.reduceat(np.where(at_top, order[None], len(order)), starts, axis=1)
        new = np.full((G, program.sizes[j + 1]), -math.inf)
        new[:, sorted_target[starts]] = top
        pick = np.zeros((G, program.sizes[j + 1]), dtype=np.int64)
        pick[:, sorted_target[starts]] = first
        choices.append(pick)
        value = new
    picks = np.empty((G, 2, n), dtype=np.int8)
    for final in (0, 1):
        cls = np.full(G, final)
        for j in range(n - 1, -1, -1):
            y, cls = np.divmod(choices[j][rows[:, 0], cls], program.sizes[j])
            picks[:, final, j] = y
    return value[:, :2].copy(), picks


# ----------------------------------------------------------------- the fewest corruptions on one episode

_NONE, _SELF, _THROUGH = 0, 1, 2  # a flip: impossible, by corrupting the node itself, through its input
_NEVER = np.iinfo(np.int64).max // 4


def _min_corruptions(c: Compiled, schedule: _Schedule, modes: np.ndarray, shared: dict[tuple, int], own: np.ndarray,
                     root_corruptible: bool) -> tuple[int | None, list[Hashable]]:  # fmt: skip
    """The fewest corruptions making the root approve on one episode, and one such set.

    The same recursion as the curve, on concrete values: for every node its truth, the
    report its parent sees, and how that report is flipped most cheaply (``kind``: not at
    all, by corrupting the node, or through its input, ``cost`` corruptions; ``picked``:
    the children whose flips a node's input flip uses). A run of one-child nodes resolves
    a flip through its input to the nearest node below that starts one (``source``).
    """
    n = c.size
    fa, fr, deceived, exposed, audited = (modes[:, k].astype(bool) for k in range(5))
    override = deceived | (bool(shared[("M",)]) & exposed)
    for name, _, members in c.groups:
        if shared[("B", name)]:
            override[members] = True
    rho = np.stack([override | fa, override | ~fr], axis=1)  # the response to an input of 0 / 1
    corruptible = np.ones(n, dtype=bool)
    corruptible[0] = root_corruptible
    leaf = c.is_leaf
    Y = np.where(leaf, own, 0).astype(bool)
    H = own.astype(bool)
    R = np.zeros(n, dtype=bool)
    V = np.zeros(n, dtype=bool)
    kind = np.zeros(n, dtype=np.int8)
    cost = np.full(n, _NEVER, dtype=np.int64)
    source = np.arange(n)
    picked = np.zeros(n, dtype=bool)

    def settle(nodes: np.ndarray, U: np.ndarray, y: np.ndarray, through_cost: np.ndarray) -> None:
        """V from the input; the flip (``through_cost``: flipping the input, _NEVER if it cannot be)."""
        r = rho[nodes]
        v = np.where(U, r[:, 1], r[:, 0])
        other = np.where(U, r[:, 0], r[:, 1])  # the response to the flipped input
        through = (other != v) & (through_cost < _NEVER)
        k = np.where(~v & corruptible[nodes], _SELF, np.where(through, _THROUGH, _NONE))
        a = audited[nodes]
        Y[nodes], V[nodes], R[nodes] = y, v, np.where(a, y, v)
        kind[nodes] = np.where(a, _NONE, k)
        cost[nodes] = np.where(a | (k == _NONE), _NEVER, np.where(k == _SELF, 1, through_cost))

    leaves = np.flatnonzero(leaf)
    settle(leaves, Y[leaves], Y[leaves], np.full(len(leaves), _NEVER))
    for step, what in schedule.steps():
        if step == "group":
            nodes, weights, T = what
            kids = c.first_child[nodes][:, None] + np.arange(len(weights))
            w = np.array(weights, dtype=np.int64 if sum(weights) < 2**62 else object)
            y = ((Y[kids] * w).sum(axis=1) >= T) & H[nodes]
            seen = (R[kids] * w).sum(axis=1)
            U = seen >= T
            gap = np.where(U, seen - T + 1, T - seen)  # what flipping children must move the sum by
            usable = (R[kids] == U[:, None]) & (kind[kids] != _NONE)  # children reporting what the input says
            chosen, through_cost = _cheapest(usable, cost[kids], w, gap)
            picked[kids] = chosen
            settle(nodes, U, y, through_cost)
        else:
            nodes, run, start, _ = schedule.run_nodes(*what)
            _settle_runs(c, nodes, run, start, rho, corruptible, audited, H, Y, R, V, kind, cost, source)
    if V[0]:
        return 0, []
    if kind[0] == _NONE:
        return None, []
    found: list[np.ndarray] = []
    frontier = np.array([0])
    one = c.n_children == 1
    while len(frontier):  # down the flips: a node itself, or the children its input flip uses
        at = np.where(one[frontier], source[frontier], frontier)
        self_ = kind[at] == _SELF
        found.append(at[self_])
        inner = at[~self_]
        counts = c.n_children[inner]
        kids = np.repeat(c.first_child[inner] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        frontier = kids[picked[kids]]
    return int(cost[0]), sorted((c.nodes[k] for k in np.concatenate(found).tolist()), key=str)


def _cheapest(usable: np.ndarray, costs: np.ndarray, w: np.ndarray, gap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fewest corruptions (disjoint sets of the usable children) whose weights reach ``gap``, per
    node: with equal weights the cheapest enough of them, else a small knapsack. Returns the
    children used and the cost (_NEVER where the gap cannot be reached)."""
    G, n = usable.shape
    chosen = np.zeros((G, n), dtype=bool)
    total = np.full(G, _NEVER, dtype=np.int64)
    heaviest = np.where(usable, w, 0).max(axis=1)
    lightest = np.where(usable, w, heaviest[:, None]).min(axis=1)
    equal = usable.any(axis=1) & (heaviest == lightest)
    if equal.any():
        rows = np.flatnonzero(equal)
        need = np.minimum(-(-gap[rows] // heaviest[rows]), n + 1).astype(np.int64)
        order = np.lexsort((costs[rows], ~usable[rows]), axis=-1)  # usable first, cheapest first, then by place
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(n)[None].repeat(len(rows), axis=0), axis=-1)
        possible = need <= usable[rows].sum(axis=1)
        take = usable[rows] & (rank < need[:, None]) & possible[:, None]
        chosen[rows] = take
        total[rows] = np.where(possible, np.where(take, costs[rows], 0).sum(axis=1), _NEVER)
    for g in np.flatnonzero(usable.any(axis=1) & ~equal).tolist():  # unequal weights: rare, node by node
        items = [(w[j], int(costs[g, j]), j) for j in np.flatnonzero(usable[g]).tolist()]
        best: dict[Any, tuple[int, tuple[int, ...]]] = {0: (0, ())}
        target = gap[g]
        for weight, k, j in items:
            for reached, (size, used) in list(best.items()):
                key = min(target, reached + weight)
                if key not in best or size + k < best[key][0]:
                    best[key] = (size + k, used + (j,))
        if target in best:
            total[g] = best[target][0]
            chosen[g, list(best[target][1])] = True
    return chosen, total


def _settle_runs(c: Compiled, nodes: np.ndarray, run: np.ndarray, start: np.ndarray, rho: np.ndarray,
                 corruptible: np.ndarray, audited: np.ndarray, H: np.ndarray, Y: np.ndarray, R: np.ndarray,
                 V: np.ndarray, kind: np.ndarray, cost: np.ndarray, source: np.ndarray) -> None:  # fmt: skip
    """The episode along runs of one-child nodes (bottom up): each node's truth is its child's
    and H; its report R a function of its child's (kept, negated, or a constant: an audit, a
    response blind to its input); its flip its own or its child's."""
    L = len(nodes)
    anchor = c.first_child[nodes[start]]
    cut = np.cumsum(~H[nodes])  # uncovered defects so far
    y = Y[anchor][run] & (cut - (cut[start] - ~H[nodes[start]])[run] == 0)
    a, r = audited[nodes], rho[nodes]
    constant = a | (r[:, 0] == r[:, 1])
    value = np.where(a, y, r[:, 0])
    negate = ~a & r[:, 0] & ~r[:, 1]
    flips = np.cumsum(negate)
    last, found = _last_at_or_before(constant, start, run)
    before = (flips[start] - negate[start])[run]  # negations before the run
    parity = np.where(found, flips - flips[last], flips - before) & 1
    report = np.where(found, value[last], R[anchor][run]) ^ parity.astype(bool)
    U = np.empty(L, dtype=bool)
    U[1:] = report[:-1]
    U[start] = R[anchor]
    v = np.where(U, r[:, 1], r[:, 0])
    other = np.where(U, r[:, 0], r[:, 1])
    own = np.where(~v & corruptible[nodes], _SELF, np.where(other != v, _THROUGH, _NONE))
    own = np.where(a, _NONE, own)  # an audited report is the truth: nothing flips it
    last, found = _last_at_or_before(own != _THROUGH, start, run)
    Y[nodes], R[nodes], V[nodes] = y, report, v
    kind[nodes] = np.where(found, own[last], kind[anchor][run])
    cost[nodes] = np.where(found, np.where(own[last] == _SELF, 1, _NEVER), cost[anchor][run])
    source[nodes] = np.where(found, nodes[last], anchor[run])


# ----------------------------------------------------------------- the outcome, on demand


class _Outcome(Mapping):  # type: ignore[type-arg]
    """The most likely bad outcome as a read-only mapping (kind, node) -> 0/1, read from arrays.

    Keys in the order a dict of it always had: ``("M",)``, the groups' ``("B", g)``, each
    node's channels ``("FA", v)`` ... ``("A", v)`` breadth first, then the truths (``("H",
    v)`` inside, ``("Y", v)`` on leaves) depth first from the root, last child first.
    """

    def __init__(self, c: Compiled, shared: dict[tuple, int], modes: np.ndarray, own: np.ndarray):
        self._c, self._shared, self._modes, self._own = c, shared, modes, own
        modes.setflags(write=False)
        own.setflags(write=False)

    def __getitem__(self, key: tuple) -> int:
        if key in self._shared:
            return self._shared[key]
        if isinstance(key, tuple) and len(key) == 2:
            kind, v = key
            i = self._c.index.get(v) if kind in _KINDS else None
            if i is not None:
                if kind in ("Y", "H"):
                    if (kind == "Y") == bool(self._c.n_children[i] == 0):
                        return int(self._own[i])
                else:
                    return int(self._modes[i, _CHANNELS.index(kind)])
        raise KeyError(key)

    def __iter__(self) -> Iterator[tuple]:
        yield from self._shared
        nodes = self._c.nodes
        for v in nodes:
            for kind in _CHANNELS:
                yield (kind, v)
        first, count = self._c.first_child.tolist(), self._c.n_children.tolist()
        stack = [0]
        while stack:
            i = stack.pop()
            yield ("H" if count[i] else "Y", nodes[i])
            stack.extend(range(first[i], first[i] + count[i]))

    def __len__(self) -> int:
        return len(self._shared) + 6 * self._c.size

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Outcome):
            same_tree = self._c.nodes == other._c.nodes and np.array_equal(self._c.n_children, other._c.n_children)
            return (same_tree and self._shared == other._shared and np.array_equal(self._modes, other._modes)
                    and np.array_equal(self._own, other._own))  # fmt: skip
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<outcome of {len(self):,} variables>"


_KINDS = frozenset(("Y", "H", *_CHANNELS))
