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
    1e-500 or a false-reject rate of 1e-30 are all represented faithfully. The
    logs are pairs of doubles (:mod:`rrm_theory._logpair`) and every node's law
    is renormalised as it is made, so rounding does not compound with the size
    of the tree: on uniform trees of branching 2 or more, up to a million nodes,
    every metric is within a relative 1e-13 of a 60-digit reference
    (tests/test_numerics.py, benchmarks/bench_engine.py), and every reported
    probability lies in [0, 1]. Runs of one-child nodes (chains) are composed by a
    blocked scan (:mod:`rrm_theory._chains`), which rounds a report law about
    ``2 sqrt(L)`` times over a run of L levels instead of L times: relative 9e-15 at
    depth 10,000 with rates of 1e-5 (it was 4.5e-13 level by level).
    All loops are iterative: depth is limited by memory, not the recursion limit.

Work
    The tree is compiled to arrays once (:func:`~rrm_theory.compile_tree`; pass
    the compiled form to skip even that) and its internal nodes are processed
    in groups of one height and one rule form, each group in a few array
    operations: no Python code runs per node. Runs of at least ``CHAIN_MIN`` (8)
    one-child nodes, each with one outcome of the shared events to condition on,
    leave the groups: every node's map from the state below its run is composed
    by a segmented scan (a few dozen array operations whatever the length), then
    applied as soon as that state is known. A chain of depth 10,000 takes about
    4x a plain Python loop over its 2x2 tables (benchmarks/bench_extras.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ._chains import CHAIN_MIN, Runs, apply, by_anchor_step, composites, find_runs
from ._compile import Compiled, compile_tree
from ._conditioning import ALTERNATIVES, Instances, SharedEvents, shared_events
from ._jury import JURY_MIN, iid_instances
from ._kernel import evaluator, node_law, normalise, normalise_log
from ._logpair import add, exp_pair, log1m_pair, log_pair
from ._rule_program import MAX_CLASSES, TooManySums, rule_program
from .errors import ExactRefused
from .results import METRICS, Analysis, NodeMetrics

__all__ = ["exact_analysis", "forward", "analysis_from", "Forward", "MAX_RULE_STATES", "rule_states"]

#: The most classes of partial sums (distinct sums that can still matter) one step of a rule may need.
MAX_RULE_STATES = MAX_CLASSES
_SLICE_STATES = 1 << 22  # instances x states**2 per slice of a rule group: 32 MiB per array


def exact_analysis(
    tree: nx.DiGraph | Compiled, *, max_shared_events: int = 16, max_instances: int = 2**22, max_work: int = 2**30
) -> Analysis:
    """Exact metrics of an evaluation tree's verdict and of every node's report.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree (from :func:`load_spec`, :func:`from_dict`,
        :func:`balanced`, :func:`chain`, or built by hand), or its compiled
        form (:func:`compile_tree`), which a sweep builds once.
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
    SpecError
        If ``tree`` is not a valid evaluation tree.
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
    c = compile_tree(tree)
    run = forward_compiled(c, max_shared_events=max_shared_events, max_instances=max_instances, max_work=max_work)
    return analysis_from(c, run)


def analysis_from(tree: nx.DiGraph | Compiled, run: Forward) -> Analysis:
    """The :class:`Analysis` of a finished exact pass.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        The tree ``run`` was computed from, or its compiled form (its node order
        orders ``per_node``).
    run : Forward
        From :func:`forward`.

    Returns
    -------
    Analysis
        What :func:`exact_analysis` returns for ``tree``.

    Raises
    ------
    KeyError
        If ``tree`` has a node that ``run`` was not computed for.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.chain(1, error=0.1, prior=0.5)
    >>> analysis_from(tree, forward(tree)) == rrm.exact_analysis(tree)
    True
    """
    plan = run.plan
    c = plan.c
    arrays = _node_metrics(plan, run.lp, run.pv, run.lq)
    if isinstance(tree, Compiled):
        order = tree.order
        identity = bool((order == np.arange(c.size)).all())  # breadth-first is the graph's order
        names = c.nodes if identity else list(map(c.nodes.__getitem__, order.tolist()))
    else:
        order = np.fromiter((c.index[v] for v in tree), dtype=np.int64, count=c.size)
        identity, names = False, list(tree)
    per_node = NodeMetrics(names, arrays if identity else {m: arrays[m][order] for m in METRICS})
    return Analysis(
        name=c.name,
        nodes=c.size,
        leaves=int(c.is_leaf.sum()),
        depth=int(c.level.max()),
        method="exact",
        root_node=c.nodes[0],
        root=per_node._row(0 if identity else int(np.flatnonzero(order == 0)[0])),
        per_node=per_node,
    )


def rule_states(weights: tuple[int, ...], T: int) -> tuple[int, int]:
    """The widest step and the total work of one pass of a threshold rule, per instance.

    Exact analysis folds a node's children in one at a time over the classes of
    their partial weighted sums (:mod:`rrm_theory._rule_program`); this is what
    its cost checks count.

    Parameters
    ----------
    weights : tuple of int
        The children's integer weights (:func:`rrm_theory.rules.threshold_form`).
    T : int
        The integer threshold.

    Returns
    -------
    tuple of (int, int)
        ``(widest, work)``: the most classes of partial sums at one step, and the
        (truth class, report class) updates of the whole pass.

    Raises
    ------
    rrm_theory._rule_program.TooManySums
        If a step of a rule with unequal weights needs more than
        :data:`MAX_RULE_STATES` classes.

    Examples
    --------
    >>> rule_states((1, 1, 1), 2)      # majority of 3
    (3, 14)
    >>> rule_states((1, 2, 3), 3)
    (2, 10)
    """
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


def _rule_groups(plan: Instances, max_work: int, skip: np.ndarray | None = None
                 ) -> tuple[list[tuple[np.ndarray, tuple[int, ...], int]], int]:  # fmt: skip
    """Internal nodes grouped by (height, rule form), in evaluation order; checks the cost first.

    Count rules over at least :data:`JURY_MIN` children are checked when their
    children's laws are known (children all alike take the closed form). ``skip``: a
    mask of nodes left out of the groups (they are counted in the cost all the same).
    """
    c = plan.c
    inner = np.flatnonzero(c.shape >= 0)
    shape_of = c.shape[inner]
    count = np.ones(len(inner), dtype=np.int64) if plan.trivial else plan.count[inner]
    per_shape = np.bincount(shape_of, weights=count, minlength=len(c.shapes))  # instances per shape (exact)
    work, refused = 0, []
    for k, form in enumerate(c.shapes):  # the cost per instance, once per shape
        if _jury(form.weights):
            continue
        try:
            work += rule_states(form.weights, form.threshold)[1] * int(per_shape[k])
        except TooManySums as exc:
            refused.append((k, exc))
    if refused:  # the first in evaluation order: the lowest height, then the shape, then the node
        first = [(int(c.height[inner[shape_of == k]].min()), k, exc) for k, exc in refused]
        h, k, exc = min(first, key=lambda t: t[:2])
        node = inner[(shape_of == k) & (c.height[inner] == h)][0]
        raise refuse_rule(c, int(node), exc) from None
    _check_work(c, work, max_work)
    if skip is not None:
        inner = inner[~skip[inner]]
    key = c.height[inner] * max(1, len(c.shapes)) + c.shape[inner]  # by height, then shape
    by_key = np.argsort(key, kind="stable")  # nodes ascending within a group
    key = key[by_key]
    bounds = np.flatnonzero(np.diff(key)) + 1
    nodes = inner[by_key]
    los, his = [0, *bounds.tolist()], [*bounds.tolist(), len(key)]
    forms = [c.shapes[k] for k in c.shape[nodes[los]].tolist()] if len(key) else []
    groups = [(nodes[lo:hi], f.weights, f.threshold) for lo, hi, f in zip(los, his, forms)] if len(key) else []
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
    """The exact pass's per-instance laws, kept for importance and the bounds.

    An instance is a node with one outcome of the shared events it conditions on
    (one per node when there are none); laws are indexed ``[instance, y, x]``.
    ``U``, ``V`` and ``R`` are a node's input, its evaluator's report and the
    report its parent receives (MODEL.md section 2).

    Attributes
    ----------
    plan : rrm_theory._conditioning.Instances
        The instances and how they connect.
    groups : list of (ndarray, tuple of int, int)
        The internal nodes grouped by height and rule, in evaluation order:
        ``(nodes, weights, threshold)``.
    lp : ndarray, shape (instances, 2)
        log P(Y = y).
    pu, pv, pr : ndarray, shape (instances, 2, 2)
        P(U = x | Y = y), P(V = x | Y = y) and P(R = x | Y = y) (``pr`` is ``pv``
        itself when no node has an audit).
    lp_up, pr_up : ndarray
        The states passed up to the parents (mixed over the events closed at
        the node, ``plan.up_index``): what the parents combine.
    lq, lq_up : ndarray or None
        The low parts of ``lp`` and ``lp_up``: the exact value of log P(Y = y) is
        ``lp + lq`` (:mod:`rrm_theory._logpair`); None where not computed.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> run = forward(rrm.chain(1, error=0.1, prior=0.5))
    >>> run.lp.shape, run.pv.shape
    ((2, 2), (2, 2, 2))
    >>> [round(float(x), 4) for x in run.pv[0, 0]]    # the root: P(V = x | Y = 0)
    [0.82, 0.18]
    """

    plan: Instances
    groups: list[tuple[np.ndarray, tuple[int, ...], int]]
    lp: np.ndarray
    pu: np.ndarray
    pv: np.ndarray
    pr: np.ndarray
    lp_up: np.ndarray  # the passed-up states (plan.up_index), what parents combine
    pr_up: np.ndarray
    lq: np.ndarray | None = None  # low parts of lp: log P(Y = y) = lp + lq
    lq_up: np.ndarray | None = None


def forward(tree: nx.DiGraph | Compiled, *, max_shared_events: int = 16, max_instances: int = 2**22,
            max_work: int = 2**30) -> Forward:  # fmt: skip
    """Run the exact pass and keep every intermediate law (for importance and bounds).

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).
    max_shared_events, max_instances, max_work : int, keyword-only
        The limits of :func:`exact_analysis`.

    Returns
    -------
    Forward
        Every instance's laws; :func:`analysis_from` turns them into an :class:`Analysis`.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExactRefused
        Past the limits, as :func:`exact_analysis`.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> run = forward(rrm.chain(2, error=0.1, prior=0.5))
    >>> run.plan.total              # one instance per node: no shared events
    3
    """
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
    """One pass, leaves to root, over every instance (truth logs as pairs of doubles).

    Long runs of one-child nodes with one instance each (:mod:`rrm_theory._chains`) are
    left out of the groups and computed from the state below their run as soon as it is
    known, all such nodes at once.
    """
    c = plan.c
    chainable = (c.n_children == 1) & (c.shape >= 0)
    if not plan.trivial:
        chainable &= plan.count == 1
    runs = find_runs(c, chainable, CHAIN_MIN)
    skip = None
    if runs is not None:
        skip = np.zeros(c.size, dtype=bool)
        skip[runs.nodes] = True
    groups, work = _rule_groups(plan, max_work, skip)
    lp = np.empty((plan.total, 2))
    lq = np.empty((plan.total, 2))
    pu_all = np.empty((plan.total, 2, 2))
    pv = np.empty((plan.total, 2, 2))
    audited = bool(c.audit.any())
    pr = np.empty((plan.total, 2, 2)) if audited else pv  # no audit anywhere: R is V (read-only use)
    if plan.trivial:
        lp_up, lq_up, pr_up = lp, lq, pr
    else:
        lp_up, lq_up = np.empty((plan.up_total, 2)), np.empty((plan.up_total, 2))
        pr_up = np.empty((plan.up_total, 2, 2))

    def finish(inst: np.ndarray | slice, lp_inst: np.ndarray, lq_inst: np.ndarray, pu: np.ndarray | None,
               lift: bool = True) -> None:  # fmt: skip
        node = inst if plan.trivial else plan.node_of[inst]
        lp[inst], lq[inst] = lp_inst, lq_inst
        pu_all[inst] = np.eye(2) if pu is None else pu  # None: a leaf, U = Y
        rates = (pu, c.false_accept[node], c.false_reject[node], plan.log_keep[inst], c.audit[node])
        if isinstance(inst, slice):  # write in place
            evaluator(*rates, out=(pv[inst], pr[inst] if audited else None))
        else:
            pv[inst], got = evaluator(*rates)
            if audited:
                pr[inst] = got
        if lift and not plan.trivial:
            _lift(plan, inst, lp, lq, pr, lp_up, lq_up, pr_up)  # type: ignore[arg-type]

    chains = _Chains(plan, runs, groups) if runs is not None else None
    inst = _span(plan, plan.of(np.flatnonzero(c.is_leaf)))
    prior = c.prior[inst if plan.trivial else plan.node_of[inst]]
    leaf_lp, leaf_lq = np.empty((len(prior), 2)), np.empty((len(prior), 2))
    (leaf_lp[:, 0], leaf_lq[:, 0]), (leaf_lp[:, 1], leaf_lq[:, 1]) = log1m_pair(prior), log_pair(prior)
    finish(inst, leaf_lp, leaf_lq, None)
    if chains is not None:
        chains.run(0, finish, lp_up, lq_up, pr_up)
    for step, (nodes, weights, T) in enumerate(groups, 1):
        n = len(weights)
        all_inst = plan.of(nodes)
        widest, per_instance = rule_states(weights, T)
        if _jury(weights):  # children all alike take the closed form; the others must fit the budget
            kids = plan.children(all_inst, n)
            work += int((~iid_instances(lp_up[kids], pr_up[kids])).sum()) * per_instance
            _check_work(c, work, max_work)
        step_size = max(1, _SLICE_STATES // (widest * widest))
        for lo in range(0, len(all_inst), step_size):
            inst = _span(plan, all_inst[lo : lo + step_size])
            if isinstance(inst, slice):  # consecutive nodes: their children are one block too
                first, g = int(c.first_child[inst.start]), inst.stop - inst.start
                kids = slice(first, first + g * n)
                lp_k, lq_k = lp_up[kids].reshape(g, n, 2), lq_up[kids].reshape(g, n, 2)
                pr_k, coverage = pr_up[kids].reshape(g, n, 2, 2), c.coverage[inst]
            else:
                kids = plan.children(inst, n)
                lp_k, lq_k, pr_k = lp_up[kids], lq_up[kids], pr_up[kids]
                coverage = c.coverage[plan.node_of[inst]]
            # a node's instances may straddle two slices: mix them up once, when all are done
            finish(inst, *node_law(lp_k, lq_k, pr_k, weights, T, coverage), lift=False)
        if not plan.trivial:
            _lift(plan, all_inst, lp, lq, pr, lp_up, lq_up, pr_up)
        if chains is not None:
            chains.run(step, finish, lp_up, lq_up, pr_up)
    if runs is not None:  # the groups by height, the runs' nodes too (for importance and the bounds), when asked
        groups = _Groups(lambda: _rule_groups(plan, 2**62)[0])  # type: ignore[assignment]
    return Forward(plan, groups, lp, pu_all, pv, pr, lp_up, pr_up, lq, lq_up)


class _Groups(Sequence):  # type: ignore[type-arg]
    """A list of groups made on first use (a long chain has one per level)."""

    def __init__(self, make) -> None:  # type: ignore[no-untyped-def]
        self._make, self._list = make, None

    def _get(self) -> list:  # type: ignore[type-arg]
        if self._list is None:
            self._list = self._make()
        return self._list

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())


class _Chains:
    """The runs of one-child nodes of one pass, by the step that finishes their anchors."""

    def __init__(self, plan: Instances, runs: Runs, groups: list[tuple[np.ndarray, tuple[int, ...], int]]):
        c = plan.c
        self.plan, self.runs = plan, runs
        self.inst = plan.of(runs.nodes)  # one instance each
        self.maps = composites(c, runs, plan.log_keep[self.inst])
        self.at_step = by_anchor_step(c, runs, groups)

    def run(self, step: int, finish, lp_up: np.ndarray, lq_up: np.ndarray, pr_up: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        """The nodes of the runs whose anchors step ``step`` finished."""
        J = self.at_step.get(step)
        if J is None:
            return
        plan, c = self.plan, self.plan.c
        nodes, start, inst = self.runs.nodes[J], self.runs.start[J], self.inst[J]
        bottom = np.flatnonzero(start)
        below = plan.children(inst[bottom], 1)[:, 0]  # the anchors' passed-up states
        below = np.repeat(below, np.diff(np.append(bottom, len(J))))
        a_lp, a_lq, a_pr = lp_up[below], lq_up[below], pr_up[below]
        maps = self.maps.take(J)
        s_lp, s_lq, s_pr = apply(maps, a_lp, a_lq, a_pr)
        normalise(s_pr)
        if maps.lc is not None:
            normalise_log(s_lp, s_lq, 1)
        under = ~start  # each node's child: the node before it in its run, or the anchor
        k_lp, k_lq, k_pr = a_lp.copy(), a_lq.copy(), a_pr.copy()
        k_lp[1:][under[1:]], k_lq[1:][under[1:]] = s_lp[:-1][under[1:]], s_lq[:-1][under[1:]]
        k_pr[1:][under[1:]] = s_pr[:-1][under[1:]]
        got = node_law(k_lp[:, None], k_lq[:, None], k_pr[:, None], (1,), 1, c.coverage[nodes])
        finish(inst, *got)


def _span(plan: Instances, inst: np.ndarray) -> np.ndarray | slice:
    """``inst`` as a slice where it is a run of consecutive nodes (views instead of copies)."""
    if plan.trivial and len(inst) and int(inst[-1]) - int(inst[0]) + 1 == len(inst):
        return slice(int(inst[0]), int(inst[-1]) + 1)
    return inst


def _lift(plan: Instances, inst: np.ndarray, lp: np.ndarray, lq: np.ndarray, pr: np.ndarray,
          lp_up: np.ndarray, lq_up: np.ndarray, pr_up: np.ndarray) -> None:  # fmt: skip
    """Pass instances up: mix each node's law over the events closed at it (see _conditioning)."""
    keys = plan.up_index[inst]
    unique, inverse = np.unique(keys, return_inverse=True)
    if len(unique) == len(keys):  # no event closes here: states pass up unchanged
        lp_up[keys], lq_up[keys], pr_up[keys] = lp[inst], lq[inst], pr[inst]
        return
    w, wq = add(plan.log_lift[inst][:, None], 0.0, lp[inst], lq[inst])
    lp_up[unique], lq_up[unique], pr_up[unique] = _mix_pairs(w, wq, pr[inst], inverse, len(unique))


def _mix(w: np.ndarray, p: np.ndarray, segment: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mix rows by segment: ``w`` (I, 2) log P(outcome, Y = y), ``p`` (I, 2, 2) P(X = x | Y = y, outcome).

    Returns per segment ``log P(Y = y)`` (k, 2) and ``P(X = x | Y = y)`` (k, 2, 2), both
    normalised; where ``P(Y = y) = 0`` the row is left as the first instance's (it is never used).
    """
    log_total, _, mixed = _mix_pairs(w, None, p, segment, k)
    return log_total, mixed


def _mix_pairs(w: np.ndarray, wq: np.ndarray | None, p: np.ndarray, segment: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:  # fmt: skip
    """:func:`_mix` with the log-weights as pairs (``wq`` their low parts, or None)."""
    peak = np.full((k, 2), -np.inf)
    np.maximum.at(peak, segment, w)
    finite = np.isfinite(peak)
    safe = np.where(finite, peak, 0.0)
    x = w - safe[segment]
    if wq is not None:  # the peak's low part stays out of the exponentials (it is below their rounding)
        peak_q = np.full((k, 2), -np.inf)
        np.maximum.at(peak_q, segment, np.where(x == 0.0, wq, -np.inf))
        peak_q[~finite] = 0.0
        x += wq - peak_q[segment]
    e = np.exp(x)
    total = np.zeros((k, 2))
    np.add.at(total, segment, e)
    with np.errstate(divide="ignore"):
        log_s = np.log(total)
    if wq is None:
        log_total, log_total_q = np.where(finite, safe + log_s, -np.inf), None
    else:
        log_total, log_total_q = add(peak, peak_q, np.where(finite, log_s, 0.0), 0.0)
    share = e / np.where(total > 0, total, 1.0)[segment]
    mixed = np.zeros((k, 2, 2))
    np.add.at(mixed, segment, share[:, :, None] * p)
    empty = ~finite
    if empty.any():
        first = np.full(k, -1)
        first[segment[::-1]] = np.arange(len(segment))[::-1]
        mixed[empty] = p[first[np.nonzero(empty)[0]], np.nonzero(empty)[1]]
    return normalise_log(log_total, log_total_q), log_total_q, normalise(mixed)


def _node_metrics(plan: Instances, lp: np.ndarray, pv: np.ndarray, lq: np.ndarray | None = None
                  ) -> dict[str, np.ndarray]:  # fmt: skip
    """Mix each node's instances and compute the metrics of MODEL.md section 3 (``lq``: the
    low parts of ``lp``, or None)."""
    if plan.trivial:
        ly, lyq, cond = lp, lq, pv
    else:
        w, wq = (plan.log_weight[:, None] + lp, None) if lq is None else add(plan.log_weight[:, None], 0.0, lp, lq)
        ly, lyq, cond = _mix_pairs(w, wq, pv, plan.node_of, plan.c.size)
    bad, good = np.isfinite(ly[:, 0]), np.isfinite(ly[:, 1])
    fa = np.where(bad, np.minimum(cond[:, 0, 1], 1.0), np.nan)  # a row's rounding may put an entry past 1
    fr = np.where(good, np.minimum(cond[:, 1, 0], 1.0), np.nan)
    p = np.exp(ly) if lyq is None else exp_pair(ly, lyq)  # P(Y = y), the low parts added in
    error = p[:, 0] * np.where(bad, fa, 0.0) + p[:, 1] * np.where(good, fr, 0.0)
    return {
        "p_good": np.minimum(p[:, 1], 1.0),
        "error": np.minimum(error, 1.0),  # a sum of two products: it may round past 1
        "false_accept": fa,
        "false_reject": fr,
        "youden": 1.0 - fa - fr,
    }
