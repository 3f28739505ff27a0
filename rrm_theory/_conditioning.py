"""Local conditioning on the shared events, for exact analysis (MODEL.md section 4).

The influence event ``M`` and the blind-spot events ``B_g`` are the only
dependence between subtrees. Given their outcomes, children are independent,
so a node's law is computed once per joint outcome of the events it needs:

* ``U_v``, the events a node's law is *computed* under: those touching the
  node itself plus those its children pass up;
* ``E_v``, the events it *passes up*: ``U_v`` minus the events whose members
  all lie in v's subtree (v is, or is above, their lowest common ancestor).
  Nothing outside the subtree depends on such an event, so v's law is mixed
  over it ("lifted") before the parent sees it.

A blind spot on two siblings is thus conditioned on by the two siblings and
their parent only, and a group with one member costs what extra deception
would. One (node, outcome of ``U_v``) pair is an *instance*; the number of
events a single node conditions on at once, ``|U_v|``, is the width that the
``max_shared_events`` limit bounds. Events with probability 0 or 1 are
constants, not conditions.

An instance of v is numbered by its outcome: bit k of the local index is the
outcome of the k-th event of ``U_v`` (events in global order); the same holds
for the passed-up states over ``E_v``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ._compile import Compiled
from .errors import ExactRefused

__all__ = ["SharedEvents", "shared_events", "Instances", "ALTERNATIVES"]

ALTERNATIVES = "use Monte Carlo or the dependence-free bounds instead"


@dataclass
class SharedEvents:
    """The shared events with 0 < p < 1, and the constant effects of the others."""

    labels: list[str] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    members: list[np.ndarray] = field(default_factory=list)  # node indices
    is_influence: list[bool] = field(default_factory=list)
    influence_always: bool = False  # influence == 1: M is a constant 1
    forced: np.ndarray | None = None  # bool per node: in a blind spot that always fires

    def add(self, label: str, p: float, members: np.ndarray, influence: bool) -> None:
        self.labels.append(label)
        self.probs.append(p)
        self.members.append(members)
        self.is_influence.append(influence)

    def __len__(self) -> int:
        return len(self.probs)


def shared_events(c: Compiled) -> SharedEvents:
    """The tree's shared events (MODEL.md section 2.3, overrides)."""
    events = SharedEvents(influence_always=c.influence == 1.0, forced=np.zeros(c.size, dtype=bool))
    exposed = np.flatnonzero(c.exposure > 0)
    if 0.0 < c.influence < 1.0 and exposed.size:
        events.add("influence", c.influence, exposed, True)
    for name, p, members in c.groups:
        if p == 1.0:
            events.forced[members] = True  # type: ignore[index]
        elif p > 0.0:
            events.add(f"blind spot {name!r}", p, members, False)
    return events


def _lca(c: Compiled, members: np.ndarray) -> int:
    parent, level = c.parent, c.level
    a = int(members[0])
    for m in members[1:]:
        b = int(m)
        while level[a] > level[b]:
            a = parent[a]
        while level[b] > level[a]:
            b = parent[b]
        while a != b:
            a, b = parent[a], parent[b]
    return a


def _bits(mask: int) -> tuple[int, ...]:
    out, e = [], 0
    while mask:
        if mask & 1:
            out.append(e)
        mask >>= 1
        e += 1
    return tuple(out)


def _extract(local: np.ndarray, positions: list[int]) -> np.ndarray:
    """Pack the bits of ``local`` at ``positions`` into a new index, low to high."""
    out = np.zeros_like(local)
    for k, pos in enumerate(positions):
        out |= ((local >> pos) & 1) << k
    return out


class Instances:
    """Which instances exact analysis computes, and how they connect.

    Attributes (``I`` computed instances, ``J`` passed-up states)
        ``start``, ``count`` (per node): the node's instances ``start : start + count``;
        ``node_of``, ``local`` (I,): owner node and outcome index;
        ``up_start`` (per node), ``up_index`` (I,): the passed-up state of an instance;
        ``log_keep`` (I,): log P(no override fires at the node | outcome);
        ``log_weight`` (I,): log P(outcome of ``U_v``), for per-node metrics;
        ``log_lift`` (I,): log P(outcome of ``U_v - E_v``), for lifting.
    """

    def __init__(self, c: Compiled, events: SharedEvents, *, max_shared_events: int, max_instances: int):
        self.c, self.events = c, events
        n = c.size
        self.trivial = len(events) == 0
        if self.trivial:
            self.count = np.ones(n, dtype=np.int64)
            self.up_count = self.count
            self.total = self.up_total = n
            self.start = self.up_start = np.arange(n)
            self.node_of = np.arange(n)
            self.local = np.zeros(n, dtype=np.int64)
            self.up_index = self.node_of
            self.log_weight = self.log_lift = np.zeros(n)
            self.log_keep = self._log_keep_base()
            return
        self._conditioning_sets(c, events, max_shared_events)
        width = np.array([len(u) for u in self.U], dtype=np.int64)
        up_width = np.array([len(u) for u in self.E], dtype=np.int64)
        self.count = np.int64(1) << width
        self.up_count = np.int64(1) << up_width
        self.total = int(self.count.sum())
        if self.total > max_instances:
            raise ExactRefused(
                f"tree {c.name!r}: conditioning on its shared events needs {self.total:,} node instances, "
                f"more than max_instances={max_instances:,}; {ALTERNATIVES}"
            )
        self.up_total = int(self.up_count.sum())
        self.start = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        self.up_start = np.concatenate([[0], np.cumsum(self.up_count)[:-1]])
        self.node_of = np.repeat(np.arange(n), self.count)
        self.local = np.arange(self.total) - self.start[self.node_of]
        self.up_index = self.up_start[self.node_of].copy()
        self.log_weight = np.zeros(self.total)
        self.log_lift = np.zeros(self.total)
        self.log_keep = self._log_keep_base()
        # Offsets of the children's passed-up states, per instance (CSR over instances).
        per_instance = c.n_children[self.node_of]
        self._kid_ptr = np.concatenate([[0], np.cumsum(per_instance)[:-1]])
        self._kid_offset = np.zeros(int(per_instance.sum()), dtype=np.int64)
        log_p = np.log(events.probs)
        log_q = np.log1p(-np.asarray(events.probs))
        with np.errstate(divide="ignore"):
            log_stay = np.log1p(-c.exposure)
        # Nodes with the same conditioning pattern are set up together.
        patterns: dict[tuple, list[int]] = defaultdict(list)
        first_child, n_children = c.first_child.tolist(), c.n_children.tolist()
        for v in np.flatnonzero(width).tolist():
            kids = range(first_child[v], first_child[v] + n_children[v])
            acting = tuple(e for e in self.U[v] if self._own[v] >> e & 1)
            patterns[(self.U[v], self.E[v], acting, tuple(self.E[k] for k in kids))].append(v)
        for (U, E, acting, kid_events), members in patterns.items():
            nodes = np.asarray(members, dtype=np.int64)
            local = np.arange(1 << len(U))
            inst = self.of(nodes).reshape(len(nodes), len(local))
            position = {e: k for k, e in enumerate(U)}
            fired = {e: ((local >> position[e]) & 1) == 1 for e in U}
            self.up_index[inst] += _extract(local, [position[e] for e in E])
            for e in U:
                term = np.where(fired[e], log_p[e], log_q[e])
                self.log_weight[inst] += term
                if e not in E:
                    self.log_lift[inst] += term
            for e in acting:  # the event acts on these nodes themselves
                if events.is_influence[e]:
                    self.log_keep[inst] += np.where(fired[e], log_stay[nodes][:, None], 0.0)
                else:
                    self.log_keep[inst] = np.where(fired[e], -np.inf, self.log_keep[inst])
            for j, child_events in enumerate(kid_events):
                if child_events:
                    offset = _extract(local, [position[e] for e in child_events])
                    self._kid_offset[self._kid_ptr[inst] + j] = offset

    def _conditioning_sets(self, c: Compiled, events: SharedEvents, limit: int) -> None:
        n = c.size
        own = [0] * n
        closed = [0] * n
        for e, members in enumerate(events.members):
            bit = 1 << e
            for v in members.tolist():
                own[v] |= bit
            closed[_lca(c, members)] |= bit
        self._own = own.copy()
        U = own
        parent = c.parent.tolist()
        for v in range(n - 1, 0, -1):  # children (higher BFS index) before parents
            U[parent[v]] |= U[v] & ~closed[v]
        widest = max(range(n), key=lambda v: U[v].bit_count())
        if U[widest].bit_count() > limit:
            raise ExactRefused(
                f"tree {c.name!r}: node {c.nodes[widest]!r}: exact analysis would condition on "
                f"{U[widest].bit_count()} shared events (influence and blind spots with 0 < p < 1) at once, "
                f"more than max_shared_events={limit}; {ALTERNATIVES}"
            )
        self.U = [_bits(u) for u in U]
        self.E = [_bits(u & ~closed[v]) for v, u in enumerate(U)]

    def _log_keep_base(self) -> np.ndarray:
        """log P(no override fires), from deception and the constant shared events."""
        c, ev = self.c, self.events
        with np.errstate(divide="ignore"):
            base = np.log1p(-c.deception)
            if ev.influence_always:
                base = base + np.log1p(-c.exposure)
        base = np.where(ev.forced, -np.inf, base)  # type: ignore[arg-type]
        return base[self.node_of]

    def of(self, nodes: np.ndarray) -> np.ndarray:
        """The instances of ``nodes``, node by node."""
        if self.trivial:
            return nodes
        counts = self.count[nodes]
        offsets = np.repeat(self.start[nodes] - np.cumsum(counts) + counts, counts)
        return offsets + np.arange(int(counts.sum()))

    def children(self, inst: np.ndarray, n: int) -> np.ndarray:
        """The passed-up states (G, n) that instances ``inst`` of n-child nodes combine."""
        c = self.c
        owner = self.node_of[inst]
        kids = self.up_start[c.first_child[owner][:, None] + np.arange(n)]
        if self.trivial:
            return kids
        return kids + self._kid_offset[self._kid_ptr[inst][:, None] + np.arange(n)]
