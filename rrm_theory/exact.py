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

Limits
    Exact analysis refuses (:class:`~rrm_theory.errors.ExactRefused`) when
    more than ``max_shared_events`` events (default 16) touch the tree, when
    the instances would exceed ``max_instances`` (default 2**22), or when a
    weighted node's capped sums need more than ``MAX_RULE_STATES`` states.
    The message names Monte Carlo and the bounds as the alternatives.

Numerics
    Truth probabilities are carried in log space and report laws as
    conditional probabilities with both complements kept (see
    :mod:`rrm_theory._kernel`), so a chain of 10,000 levels, a P(Y = 1) of
    1e-500 or a false-reject rate of 1e-30 are all represented faithfully. All
    loops are iterative: depth is limited by memory, not the recursion limit.
"""

from __future__ import annotations

import operator
from collections import defaultdict

import networkx as nx
import numpy as np

from ._compile import Compiled, compile_tree, fold_up
from ._kernel import apply_coverage, evaluator, threshold_rule
from .errors import ExactRefused
from .results import METRICS, Analysis, NodeMetrics

__all__ = ["exact_analysis", "MAX_RULE_STATES"]

#: The largest capped sum (threshold, or rejections counted) a node's rule may need.
MAX_RULE_STATES = 1024

_ALTERNATIVES = "use Monte Carlo or the dependence-free bounds instead"


def exact_analysis(
    tree: nx.DiGraph, *, max_shared_events: int = 16, max_instances: int = 2**22
) -> Analysis:
    """Exact metrics of an evaluation tree's verdict and of every node's report.

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated evaluation tree (from :func:`load_spec`, :func:`from_dict`,
        :func:`balanced`, :func:`chain`, or checked by :func:`validate_tree`).
    max_shared_events : int, keyword-only
        Refuse trees on which more shared events (influence, blind spots with
        probability strictly between 0 and 1) act.
    max_instances : int, keyword-only
        Refuse when the number of (node, outcome of the shared events in its
        subtree) pairs exceeds this; it bounds time and memory.

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
    c = compile_tree(tree)
    events = _shared_events(c, max_shared_events)
    plan = _Plan(c, events, max_instances)
    lp, pv = plan.run()
    arrays = _node_metrics(plan, lp, pv)
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


class _Events:
    """Shared events with 0 < p < 1 (bit e of an outcome) and the constant ones."""

    def __init__(self, c: Compiled):
        n = c.size
        self.labels: list[str] = []
        self.probs: list[float] = []
        self.members: list[np.ndarray] = []  # bool per node
        self.is_influence: list[bool] = []
        exposed = c.exposure > 0
        self.influence_always = c.influence == 1.0
        if 0.0 < c.influence < 1.0 and exposed.any():
            self._add("influence", c.influence, exposed, True)
        self.forced = np.zeros(n, dtype=bool)  # in a blind spot that always fires
        for name, p, idx in c.groups:
            mask = np.zeros(n, dtype=bool)
            mask[idx] = True
            if p == 1.0:
                self.forced |= mask
            elif p > 0.0:
                self._add(f"blind spot {name!r}", p, mask, False)

    def _add(self, label: str, p: float, mask: np.ndarray, influence: bool) -> None:
        self.labels.append(label)
        self.probs.append(p)
        self.members.append(mask)
        self.is_influence.append(influence)

    def __len__(self) -> int:
        return len(self.probs)


def _shared_events(c: Compiled, limit: int) -> _Events:
    events = _Events(c)
    if len(events) > limit:
        raise ExactRefused(
            f"tree {c.name!r}: {len(events)} shared events (influence and blind spots with 0 < p < 1) "
            f"act on it, more than exact analysis conditions on (max_shared_events={limit}); {_ALTERNATIVES}"
        )
    return events


def _popcount(x: np.ndarray, bits: int) -> np.ndarray:
    return sum(((x >> e) & 1 for e in range(bits)), np.zeros_like(x))


def _pack(assign: np.ndarray, mask: np.ndarray, bits: int) -> np.ndarray:
    """The bits of ``assign`` at the positions set in ``mask``, packed low to high."""
    out = np.zeros(np.broadcast_shapes(assign.shape, mask.shape), dtype=np.int64)
    k = np.zeros_like(out)
    for e in range(bits):
        has = (mask >> e) & 1
        out |= ((assign >> e) & has) << k
        k += has
    return out


def _unpack(local: np.ndarray, mask: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`_pack`: spread the low bits of ``local`` over ``mask``'s positions."""
    out = np.zeros(np.broadcast_shapes(local.shape, mask.shape), dtype=np.int64)
    k = np.zeros_like(out)
    for e in range(bits):
        has = (mask >> e) & 1
        out |= ((local >> k) & has) << e
        k += has
    return out


class _Plan:
    """Instances (node x outcome of the shared events in its subtree) and the pass over them."""

    def __init__(self, c: Compiled, events: _Events, max_instances: int):
        self.c, self.events = c, events
        n, E = c.size, len(events)
        self.E = E
        own = np.zeros(n, dtype=np.int64)
        for e, members in enumerate(events.members):
            own |= members.astype(np.int64) << e
        mask = np.array(fold_up(c.parent.tolist(), own.tolist(), operator.or_), dtype=np.int64) if E else own
        self.mask = mask
        self.count = np.int64(1) << _popcount(mask, E)
        total = int(self.count.sum())
        if total > max_instances:
            raise ExactRefused(
                f"tree {c.name!r}: conditioning on its {E} shared events needs {total:,} node instances, "
                f"more than max_instances={max_instances:,}; {_ALTERNATIVES}"
            )
        self.start = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        self.total = total
        if E:
            self.node_of = np.repeat(np.arange(n), self.count)
            local = np.arange(total) - self.start[self.node_of]
            self.assign = _unpack(local, mask[self.node_of], E)
        else:
            self.node_of = np.arange(n)
            self.assign = np.zeros(n, dtype=np.int64)
        self.log_keep = self._log_keep()

    def _log_keep(self) -> np.ndarray:
        """log P(no override fires | the instance's outcome), per instance."""
        c, ev, node = self.c, self.events, self.node_of
        with np.errstate(divide="ignore"):
            log_stay = np.log1p(-c.exposure)  # not swayed, given M = 1
            base = np.log1p(-c.deception)
            if ev.influence_always:
                base = base + log_stay
            base = np.where(ev.forced, -np.inf, base)
        out = base[node]
        for e in range(self.E):
            fired = (((self.assign >> e) & 1) == 1) & ev.members[e][node]
            if ev.is_influence[e]:
                out = np.where(fired, out + log_stay[node], out)
            else:
                out = np.where(fired, -np.inf, out)
        return out

    def instances(self, nodes: np.ndarray) -> np.ndarray:
        if not self.E:
            return nodes
        counts = self.count[nodes]
        offsets = np.repeat(self.start[nodes] - np.cumsum(counts) + counts, counts)
        return offsets + np.arange(int(counts.sum()))

    def child_instances(self, inst: np.ndarray, n: int) -> np.ndarray:
        c = self.c
        child = c.first_child[self.node_of[inst]][:, None] + np.arange(n)
        if not self.E:
            return child
        local = _pack(self.assign[inst][:, None], self.mask[child], self.E)
        return self.start[child] + local

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.c
        lp = np.empty((self.total, 2))
        pv = np.empty((self.total, 2, 2))
        pr = np.empty((self.total, 2, 2))
        by_height: dict[int, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in np.flatnonzero(~c.is_leaf):
            f = c.forms[i]
            by_height[int(c.height[i])][(f.weights, f.threshold)].append(i)  # type: ignore[union-attr]
        leaves = np.flatnonzero(c.is_leaf)
        inst = self.instances(leaves)
        prior = c.prior[self.node_of[inst]]
        with np.errstate(divide="ignore"):
            lp[inst] = np.stack([np.log1p(-prior), np.log(prior)], axis=1)
        pu = np.broadcast_to(np.eye(2), (len(inst), 2, 2))
        self._finish(inst, pu, pv, pr)
        for h in range(1, int(c.height[0]) + 1):
            for (weights, T), group in by_height[h].items():
                nodes = np.asarray(group, dtype=np.int64)
                inst = self.instances(nodes)
                kids = self.child_instances(inst, len(weights))
                states = min(T, sum(weights) - T + 1) + 1
                if states > MAX_RULE_STATES:
                    raise ExactRefused(
                        f"tree {c.name!r}: node {c.nodes[group[0]]!r}: its rule needs {states} count states, "
                        f"more than exact analysis handles ({MAX_RULE_STATES}); weights with fewer decimals "
                        f"help, or {_ALTERNATIVES}"
                    )
                if len(weights) == 1:  # every rule passes a single child's value through
                    lp_rule, pu_rule = lp[kids[:, 0]], pr[kids[:, 0]]
                else:
                    lp_rule, pu_rule = threshold_rule(lp[kids], pr[kids], weights, T)
                lp[inst], pu = apply_coverage(lp_rule, pu_rule, c.coverage[self.node_of[inst]])
                self._finish(inst, pu, pv, pr)
        return lp, pv

    def _finish(self, inst: np.ndarray, pu: np.ndarray, pv: np.ndarray, pr: np.ndarray) -> None:
        c, node = self.c, self.node_of[inst]
        pv[inst], pr[inst] = evaluator(
            pu, c.false_accept[node], c.false_reject[node], self.log_keep[inst], c.audit[node]
        )

    def log_weight(self) -> np.ndarray:
        """log P(instance's outcome of the shared events in its node's subtree)."""
        out = np.zeros(self.total)
        node = self.node_of
        for e, p in enumerate(self.events.probs):
            relevant = ((self.mask[node] >> e) & 1) == 1
            fired = ((self.assign >> e) & 1) == 1
            out += np.where(relevant, np.where(fired, np.log(p), np.log1p(-p)), 0.0)
        return out


def _node_metrics(plan: _Plan, lp: np.ndarray, pv: np.ndarray) -> dict[str, np.ndarray]:
    """Mix each node's instances and compute the metrics of MODEL.md section 3."""
    if plan.E:
        w = plan.log_weight()[:, None] + lp  # log P(outcome, Y = y)
        starts = plan.start
        peak = np.maximum.reduceat(w, starts, axis=0)
        safe = np.where(np.isfinite(peak), peak, 0.0)
        with np.errstate(divide="ignore"):
            ly = safe + np.log(np.add.reduceat(np.exp(w - safe[plan.node_of]), starts, axis=0))
        ly = np.where(np.isfinite(peak), ly, -np.inf)
        share = np.exp(w - np.where(np.isfinite(ly), ly, 0.0)[plan.node_of])
        cond = np.add.reduceat(share[:, :, None] * pv, starts, axis=0)
    else:
        ly, cond = lp, pv
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
