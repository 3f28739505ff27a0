"""Exact analysis of an evaluation tree (MODEL.md section 4).

Dynamic programming over the tree: for every node the joint law of its truth
and the report its parent receives, ``(Y_v, R_v)``, is carried upward;
children are combined by a convolution over their (weighted) counts of
acceptances, which covers every rule of MODEL.md section 2.2 (see
:mod:`rrm_theory.rules`).

Shared events
    The influence event ``M`` and the blind-spot events ``B_g`` are the only
    dependence between subtrees. They are handled by conditioning, *locally*:
    a node's law is computed once per joint outcome of the shared events that
    touch its own subtree (an "instance"), so a blind spot among three leaves
    multiplies the work of their ancestors only. Events with probability 0 or
    1 are constants, not conditions. Per-node metrics mix a node's instances
    with the probabilities of their outcomes.

Rules
    A node's children are folded in one at a time over the *classes* of their
    partial weighted sums (:mod:`rrm_theory._rule_program`): sums that compare
    alike with the threshold whatever the remaining children do are one class.
    Weights compare as the decimals written; a panel of n helpers of unrelated
    weights needs at most about ``2**(n/2)`` classes, a count rule at most the
    counts that can still matter. A count rule over at least 48 children that
    are all alike (per outcome of the shared events) takes the closed form of
    :mod:`rrm_theory._jury` instead.

Limits
    Exact analysis refuses (:class:`~rrm_theory.errors.ExactRefused`), before
    doing the work, when one node would condition on more than
    ``max_shared_events`` shared events at once (default 16; events closed
    off below a node do not count at it, so a tree may have many more), when
    the instances would exceed ``max_instances`` (default 2**22), when a
    rule needs more than ``MAX_RULE_STATES`` (2,048) classes of partial sums
    at one step (about 22 children of unrelated weights), or when the
    class updates of all rules (instances x sum over children of classes
    before x classes after) exceed ``max_work`` (default 2**30, about half a
    minute; for count rules over 48 or more children this is checked once
    their children's laws are known, as alike children take the closed
    form). The message names Monte Carlo and the bounds as the alternatives.
    Memory stays bounded: large rule groups are processed in slices.

Numerics
    Truth probabilities are carried in log space and report laws as
    conditional probabilities with both complements kept (see
    :mod:`rrm_theory._kernel`), so a chain of 10,000 levels, a P(Y = 1) of
    1e-500 or a false-reject rate of 1e-30 are all represented faithfully. All
    loops are iterative: depth is limited by memory, not the recursion limit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ._compile import Compiled, compile_tree
from ._conditioning import ALTERNATIVES, Instances, SharedEvents, shared_events
from ._jury import JURY_MIN, iid_instances
from ._kernel import evaluator, node_input
from ._rule_program import MAX_CLASSES, TooManySums, rule_program
from .errors import ExactRefused
from .results import METRICS, Analysis, NodeMetrics

__all__ = ["exact_analysis", "forward", "analysis_from", "Forward", "MAX_RULE_STATES", "rule_states"]

#: The most classes of partial sums (distinct sums that can still matter) one step of a rule may need.
MAX_RULE_STATES = MAX_CLASSES
_SLICE_STATES = 1 << 22  # instances x states**2 per slice of a rule group: 32 MiB per array


def exact_analysis(
    tree: nx.DiGraph, *, max_shared_events: int = 16, max_instances: int = 2**22, max_work: int = 2**30
) -> Analysis:
    """Exact metrics of an evaluation tree's verdict and of every node's report.

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated evaluation tree (from :func:`load_spec`, :func:`from_dict`,
        :func:`balanced`, :func:`chain`, or checked by :func:`validate_tree`).
    max_shared_events : int, keyword-only
        Refuse when one node would condition on more shared events (influence,
        blind spots with probability strictly between 0 and 1) at once. An
        event is conditioned on only between its members and their lowest
        common ancestor, so a tree may carry many more events than this.
    max_instances : int, keyword-only
        Refuse when the number of (node, outcome of the shared events it
        conditions on) pairs exceeds this; it bounds memory.
    max_work : int, keyword-only
        Refuse when the rules' class updates (instances x, over the children,
        classes before x classes after) exceed this; it bounds time.

    Returns
    -------
    Analysis
        Root metrics and per-node metrics (MODEL.md section 3).

    Raises
    ------
    ExactRefused
        Past the limits above; the message names the alternatives.

    References
    ----------
    J. Leike, D. Krueger, T. Everitt, M. Martic, V. Maini, S. Legg (2018).
    Scalable agent alignment via reward modeling: a research direction.
    arXiv:1811.07871.

    Examples
    --------
    Two helpers with 10% error rates, both of which must approve:

    >>> from rrm_theory import from_dict, exact_analysis
    >>> tree = from_dict({"defaults": {"error": 0.1, "prior": 0.9},
    ...                   "nodes": {"root": {"rule": "all", "error": 0.0},
    ...                             "a": {"parent": "root"}, "b": {"parent": "root"}}})
    >>> result = exact_analysis(tree)
    >>> round(result.root.p_good, 4), round(result.root.false_reject, 4)
    (0.81, 0.19)
    >>> round(result.per_node["a"].error, 4)
    0.1
    """
    run = forward(tree, max_shared_events=max_shared_events, max_instances=max_instances, max_work=max_work)
    return analysis_from(tree, run)


def analysis_from(tree: nx.DiGraph, run: Forward) -> Analysis:
    """The :class:`Analysis` of a finished exact pass."""
    plan = run.plan
    c = plan.c
    arrays = _node_metrics(plan, run.lp, run.pv)
    order = np.fromiter((c.index[v] for v in tree), dtype=np.int64, count=c.size)
    per_node = NodeMetrics(list(tree), {m: arrays[m][order] for m in METRICS})
    return Analysis(
        name=c.name,
        nodes=c.size,
        leaves=int(c.is_leaf.sum()),
        depth=int(c.level.max()),
        method="exact",
        root_node=c.nodes[0],
        root=per_node[c.nodes[0]],
        per_node=per_node,
    )


def rule_states(weights: tuple[int, ...], T: int) -> tuple[int, int]:
    """``(widest, work)`` of a rule's pass per instance: the most classes of partial sums at
    one step and the (truth class, report class) updates of the whole pass."""
    n = len(weights)
    if n == 1:
        return 1, 0
    if all(w == 1 for w in weights):  # counts: the classes are known without building the program
        sizes = []
        for j in range(n + 1):
            r = n - j
            live = max(0, min(j, T - 1) - max(0, T - r) + 1)
            sizes.append(live + int(T - r > 0) + int(j >= T))
        return max(sizes), sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    program = rule_program(weights, T)
    return program.widest, program.work()


def refuse_rule(c: Compiled, node: int, exc: TooManySums, *, who: str = "exact analysis",
                alternatives: str = ALTERNATIVES) -> ExactRefused:  # fmt: skip
    """The one-line refusal for a rule whose partial sums have too many classes."""
    f = c.forms[node]
    n = len(f.weights)  # type: ignore[union-attr]
    if len(set(f.weights)) == 1:  # type: ignore[union-attr]
        need = (f"more than {exc.limit:,} counts of approvals that still matter at once (after {exc.position:,} "
                f"of its children; children that are all alike take a closed form in exact analysis)")  # fmt: skip
        hint = ""
    else:
        need = (f"more than {exc.limit:,} distinct partial sums of weights at once ({exc.needed:,} after "
                f"{exc.position} of its children; {exc.limit:,} is about {2 * exc.limit.bit_length() - 2} "
                f"children of unrelated weights)")  # fmt: skip
        hint = "fewer children or weights with fewer distinct values help, or "
    return ExactRefused(
        f"tree {c.name!r}: node {c.nodes[node]!r}: {who} of its rule over {n:,} children needs {need}; "
        f"{hint}{alternatives}"
    )


def _rule_groups(plan: Instances, max_work: int) -> tuple[list[tuple[np.ndarray, tuple[int, ...], int]], int]:
    """Internal nodes grouped by (height, rule form), in evaluation order; checks the cost first.

    Count rules over at least :data:`JURY_MIN` children are checked when their
    children's laws are known (children all alike take the closed form).
    """
    c = plan.c
    by_height: dict[int, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i in np.flatnonzero(~c.is_leaf).tolist():
        f = c.forms[i]
        by_height[int(c.height[i])][(f.weights, f.threshold)].append(i)  # type: ignore[union-attr]
    groups: list[tuple[np.ndarray, tuple[int, ...], int]] = []
    work = 0
    for h in sorted(by_height):
        for (weights, T), members in by_height[h].items():
            nodes = np.asarray(members, dtype=np.int64)
            if not _jury(weights):
                try:
                    widest, per_instance = rule_states(weights, T)
                except TooManySums as exc:
                    raise refuse_rule(c, members[0], exc) from None
                work += int(plan.count[nodes].sum()) * per_instance
            groups.append((nodes, weights, T))
    _check_work(c, work, max_work)
    return groups, work


def _check_work(c: Compiled, work: int, max_work: int) -> None:
    if work > max_work:
        raise ExactRefused(
            f"tree {c.name!r}: exact analysis would need {work:.3g} updates of partial-sum states, more than "
            f"max_work={max_work:.3g} (about half a minute per 2**30); {ALTERNATIVES}"
        )


def _jury(weights: tuple[int, ...]) -> bool:
    return len(weights) >= JURY_MIN and all(w == 1 for w in weights)


@dataclass
class Forward:
    """The exact pass's per-instance laws: ``lp`` log P(Y = y); ``pu``, ``pv``, ``pr``
    P(U = x | Y = y), P(V = x | Y = y), P(R = x | Y = y); and the rule groups in order."""

    plan: Instances
    groups: list[tuple[np.ndarray, tuple[int, ...], int]]
    lp: np.ndarray
    pu: np.ndarray
    pv: np.ndarray
    pr: np.ndarray
    lp_up: np.ndarray  # the passed-up states (plan.up_index), what parents combine
    pr_up: np.ndarray


def forward(tree: nx.DiGraph, *, max_shared_events: int = 16, max_instances: int = 2**22,
            max_work: int = 2**30) -> Forward:  # fmt: skip
    """Run the exact pass and keep every intermediate law (for importance and bounds)."""
    return forward_compiled(compile_tree(tree), max_shared_events=max_shared_events,
                            max_instances=max_instances, max_work=max_work)  # fmt: skip


def forward_compiled(c: Compiled, *, truths_only: bool = False, max_shared_events: int = 16,
                     max_instances: int = 2**22, max_work: int = 2**30) -> Forward:  # fmt: skip
    """:func:`forward` from a compiled tree; ``truths_only`` ignores the shared events
    (the truths' law does not depend on them, so nothing is conditioned on)."""
    events = SharedEvents(forced=np.zeros(c.size, dtype=bool)) if truths_only else shared_events(c)
    plan = Instances(c, events, max_shared_events=max_shared_events, max_instances=max_instances)
    return _evaluate(plan, max_work)


def _evaluate(plan: Instances, max_work: int) -> Forward:
    """One pass, leaves to root, over every instance."""
    c = plan.c
    groups, work = _rule_groups(plan, max_work)
    lp = np.empty((plan.total, 2))
    pu_all = np.empty((plan.total, 2, 2))
    pv = np.empty((plan.total, 2, 2))
    pr = np.empty((plan.total, 2, 2))
    if plan.trivial:
        lp_up, pr_up = lp, pr
    else:
        lp_up, pr_up = np.empty((plan.up_total, 2)), np.empty((plan.up_total, 2, 2))

    def finish(inst: np.ndarray, lp_inst: np.ndarray, pu: np.ndarray) -> None:
        node = plan.node_of[inst]
        lp[inst] = lp_inst
        pu_all[inst] = pu
        pv[inst], pr[inst] = evaluator(
            pu, c.false_accept[node], c.false_reject[node], plan.log_keep[inst], c.audit[node]
        )
        if not plan.trivial:
            _lift(plan, inst, lp, pr, lp_up, pr_up)

    inst = plan.of(np.flatnonzero(c.is_leaf))
    prior = c.prior[plan.node_of[inst]]
    with np.errstate(divide="ignore"):
        finish(inst, np.stack([np.log1p(-prior), np.log(prior)], axis=1), np.broadcast_to(np.eye(2), (len(inst), 2, 2)))
    for nodes, weights, T in groups:
        all_inst = plan.of(nodes)
        widest, per_instance = rule_states(weights, T)
        if _jury(weights):  # children all alike take the closed form; the others must fit the budget
            kids = plan.children(all_inst, len(weights))
            work += int((~iid_instances(lp_up[kids], pr_up[kids])).sum()) * per_instance
            _check_work(c, work, max_work)
        step = max(1, _SLICE_STATES // (widest * widest))
        for lo in range(0, len(all_inst), step):
            inst = all_inst[lo : lo + step]
            kids = plan.children(inst, len(weights))
            finish(inst, *node_input(lp_up[kids], pr_up[kids], weights, T, c.coverage[plan.node_of[inst]]))
    return Forward(plan, groups, lp, pu_all, pv, pr, lp_up, pr_up)


def _lift(plan: Instances, inst: np.ndarray, lp: np.ndarray, pr: np.ndarray,
          lp_up: np.ndarray, pr_up: np.ndarray) -> None:  # fmt: skip
    """Pass instances up: mix each node's law over the events closed at it (see _conditioning)."""
    keys = plan.up_index[inst]
    unique, inverse = np.unique(keys, return_inverse=True)
    if len(unique) == len(keys):  # no event closes here: states pass up unchanged
        lp_up[keys], pr_up[keys] = lp[inst], pr[inst]
        return
    lp_up[unique], pr_up[unique] = _mix(plan.log_lift[inst][:, None] + lp[inst], pr[inst], inverse, len(unique))


def _mix(w: np.ndarray, p: np.ndarray, segment: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mix rows by segment: ``w`` (I, 2) log P(outcome, Y = y), ``p`` (I, 2, 2) P(X = x | Y = y, outcome).

    Returns per segment ``log P(Y = y)`` (k, 2) and ``P(X = x | Y = y)`` (k, 2, 2); where
    ``P(Y = y) = 0`` the row is left as the first instance's (it is never used).
    """
    peak = np.full((k, 2), -np.inf)
    np.maximum.at(peak, segment, w)
    safe = np.where(np.isfinite(peak), peak, 0.0)
    total = np.zeros((k, 2))
    np.add.at(total, segment, np.exp(w - safe[segment]))
    with np.errstate(divide="ignore"):
        log_total = np.where(np.isfinite(peak), safe + np.log(total), -np.inf)
    share = np.exp(w - np.where(np.isfinite(log_total), log_total, 0.0)[segment])
    share = np.where(np.isfinite(log_total)[segment], share, 0.0)
    mixed = np.zeros((k, 2, 2))
    np.add.at(mixed, segment, share[:, :, None] * p)
    empty = ~np.isfinite(log_total)
    if empty.any():
        first = np.full(k, -1)
        first[segment[::-1]] = np.arange(len(segment))[::-1]
        mixed[empty] = p[first[np.nonzero(empty)[0]], np.nonzero(empty)[1]]
    return log_total, mixed


def _node_metrics(plan: Instances, lp: np.ndarray, pv: np.ndarray) -> dict[str, np.ndarray]:
    """Mix each node's instances and compute the metrics of MODEL.md section 3."""
    if plan.trivial:
        ly, cond = lp, pv
    else:
        ly, cond = _mix(plan.log_weight[:, None] + lp, pv, plan.node_of, plan.c.size)
    bad, good = np.isfinite(ly[:, 0]), np.isfinite(ly[:, 1])
    fa = np.where(bad, cond[:, 0, 1], np.nan)
    fr = np.where(good, cond[:, 1, 0], np.nan)
    error = np.exp(ly[:, 0]) * np.where(bad, fa, 0.0) + np.exp(ly[:, 1]) * np.where(good, fr, 0.0)
    return {
        "p_good": np.exp(ly[:, 1]),
        "error": error,
        "false_accept": fa,
        "false_reject": fr,
        "youden": 1.0 - fa - fr,
    }
