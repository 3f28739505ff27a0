"""The adversary's dynamic programme (docs/bounds.md section 5).

For every node (per outcome of the shared events it conditions on, as in the
exact analysis) the joint law of

    (Y_v, r_v, f_v):  its truth, the honest report its parent sees, and the
                      fewest corruptions that flip that report (capped at B + 1)

is carried up the tree. Corruption makes an evaluator approve, so flipping a
report to 1 costs at most 1 below the root, while flipping it to 0 has to go
through the node's input and its response; responses need not be monotone
(a channel that flips both ways negates its input), which is why both
directions are tracked.

Children combine through two frontiers of the rule's weight sum: for every
k <= B, the largest and the smallest report sum reachable with at most k
corruptions (the cheapest set of children to flip is a knapsack over the
children), together with the truth sum. Every sum is kept as its class in
the rule's program (:mod:`rrm_theory._rule_program`), so the states do not
grow with the size of the weights or of the threshold, only with the
number of children. The reachable states are enumerated once per child
position and applied to all instances at once as sparse transition matrices
(built once per rule and budget, and kept for the next analysis).

Runs of one-child nodes
    A node with one child passes its child's table through a fixed linear map
    (coverage, response, audit), so a run of such nodes (a chain) is a product
    of maps, and products are associative. Below the root, only ten states of
    the table are ever reached (see ``_link_maps``), so a run of n nodes costs n
    10x10 products: pieces of ``_PIECE`` maps are multiplied position by position,
    all pieces at once, and the pieces' products folded the same way, in a few
    dozen array operations whatever n. Nodes with several children go by groups
    of one height and rule; a run is taken whole once the node below its bottom
    is done. Shared events can cut a run (several instances reading, or passing
    up, one state); the cut runs follow those below them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._compile import Compiled
from ._rule_program import RuleProgram, TooManySums, rule_program
from .errors import RRMError
from .exact import Forward, refuse_rule

__all__ = ["cost_tables", "root_cost_law", "MAX_STATES", "Chains", "chains", "multi_groups"]

#: The most combination states one rule may need (per direction).
MAX_STATES = 200_000
#: The most (instance, truth class, state) updates the programme may make, all rules together
#: (about ten seconds).
MAX_WORK = 1 << 29


def _response_types(keep: np.ndarray, fa: np.ndarray, fr: np.ndarray) -> np.ndarray:
    """P(rho = const 1, identity, const 0, negation) per instance."""
    const1 = 1.0 - keep + keep * fa * (1.0 - fr)
    identity = keep * (1.0 - fa) * (1.0 - fr)
    const0 = keep * (1.0 - fa) * fr
    negation = keep * fa * fr
    return np.stack([const1, identity, const0, negation], axis=-1)


def _report_table(
    law_u: np.ndarray, types: np.ndarray, audit: np.ndarray, corruptible: np.ndarray, B: int
) -> np.ndarray:
    """From the law of (Y, honest U, cost k to flip U) to that of (Y, honest R, cost to flip R).

    ``law_u``: (G, 2, 2, B + 1), cost index ``k - 1`` (the last: more than B).
    Flipping V to 1 may corrupt the node (cost 1, if allowed); flipping it to 0
    must flip U, and works only where the response maps the new input to 0.
    """
    G = law_u.shape[0]
    cap = B  # index of "more than B"
    out = np.zeros((G, 2, 2, B + 1))
    one = np.where(corruptible, 0, cap)  # index of cost 1, or "impossible"
    rows = np.arange(G)
    for u in (0, 1):
        for k in range(B + 1):
            mass = law_u[:, :, u, k]  # (G, y)
            if not mass.any():
                continue
            direct = np.full(G, k)  # flipping through U costs k (index k)
            for kind in range(4):
                p = mass * types[:, kind, None]
                if not p.any():
                    continue
                rho = ((1, 1), (0, 1), (0, 0), (1, 0))[kind]
                v = rho[u]
                changes = rho[1 - u] != v  # flipping U flips V
                if v == 0:  # to approve: corrupt (cost 1) or flip U if that approves
                    cost = np.minimum(one, direct) if changes else one
                else:  # to reject: only by flipping U, if that rejects
                    cost = direct if changes else np.full(G, cap)
                out[rows[:, None], np.arange(2)[None, :], v, cost[:, None]] += p
    a = audit[:, None]
    audited = np.zeros_like(out)
    p_y = law_u.sum(axis=(2, 3))  # (G, y)
    audited[:, 0, 0, cap] = p_y[:, 0]  # the parent sees the truth; nothing flips it
    audited[:, 1, 1, cap] = p_y[:, 1]
    return (1.0 - a)[..., None, None] * out + a[..., None, None] * audited


class _Frontier:
    """One direction of a rule's flip cost, on the classes of its partial sums.

    A state is ``(e_0, ..., e_B)``: for every k <= B the class of the largest
    (``up``) or smallest (``down``) report sum reachable with at most k
    corruptions of the children (``e_0`` is the honest sum). The class of a sum
    plus a child's weight is the program's map, and classes are ordered like
    sums, so maxima and minima are taken on class indices. Flipping the input to
    1 only needs the largest sums and flipping it to 0 only the smallest, so the
    two directions are separate programmes; the truth's class is carried beside
    the states as a dense axis, not in them.
    """

    def __init__(self, program: RuleProgram, B: int, up: bool, limit: int, node: str, budget: list[int],
                 instances: int):  # fmt: skip
        self.B, self.program = B, program

        def check(j: int, width: int) -> None:  # after each child, in order: the limits
            budget[0] -= instances * program.sizes[j + 1] * width * 2 * (B + 1)
            if width > limit or budget[0] < 0:
                what = (f"more than {limit:,} combination states ({width:,} after {j + 1} children)"
                        if width > limit else f"more than {MAX_WORK:.3g} state updates")  # fmt: skip
                raise RRMError(
                    f"node {node!r}: the adversary's programme for its rule over {len(program.weights)} children "
                    f"needs {what} at a budget of {B} corruptions; lower the budget (analyze --budget) or skip it "
                    "(--no-adversary)"
                )

        built = _machine(program, B, up, check)
        self.steps, self.honest, self.cost = built.steps, built.honest, built.cost


@dataclass(frozen=True, eq=False)
class _Machine:
    """A frontier's states, built once per (program, budget, direction): ``widths`` the number
    of states after each child."""

    steps: list[list[Any]]  # per child: one sparse matrix per (r, f)
    widths: list[int]
    honest: np.ndarray
    cost: np.ndarray


_MACHINES: OrderedDict[tuple, _Machine] = OrderedDict()  # the most recently used, small ones
_MACHINES_KEPT = 64
_MACHINE_STATES_KEPT = 1 << 16  # a machine with more states in all is rebuilt when needed (memory)
_MACHINES_LOCK = threading.Lock()


def _machine(program: RuleProgram, B: int, up: bool, check: Any) -> _Machine:
    """The frontier's machine, from the cache or built; ``check(j, width)`` sees every step's
    number of states in order (and may refuse: building stops there, as it always did)."""
    key = (program.weights, program.T, B, up)
    with _MACHINES_LOCK:
        built = _MACHINES.get(key)
        if built is not None:
            _MACHINES.move_to_end(key)
    if built is not None:
        for j, width in enumerate(built.widths):
            check(j, width)
        return built
    built = _build_machine(program, B, up, check)
    if sum(built.widths) <= _MACHINE_STATES_KEPT:
        with _MACHINES_LOCK:
            _MACHINES[key] = built
            while len(_MACHINES) > _MACHINES_KEPT:
                _MACHINES.popitem(last=False)
    return built


def _build_machine(program: RuleProgram, B: int, up: bool, check: Any) -> _Machine:
    pick = np.maximum if up else np.minimum
    states = np.zeros((1, B + 1), dtype=np.int32)
    ks = np.arange(B + 1)
    steps: list[list[Any]] = []
    widths: list[int] = []
    for j in range(len(program.weights)):
        maps = program.maps[j]
        nexts = []
        for r in (0, 1):
            for f in range(1, B + 2):
                e = maps[r][states]
                if f <= B:  # the child's report flipped at cost f
                    shifted = ks >= f
                    e[:, shifted] = pick(e[:, shifted], maps[1 - r][states[:, ks[shifted] - f]])
                nexts.append(e)
        states, target = np.unique(np.concatenate(nexts), axis=0, return_inverse=True)
        check(j, len(states))
        widths.append(len(states))
        target = target.reshape(len(nexts), -1)
        steps.append([_sparse_ones(t, len(states)) for t in target])
    honest = states[:, 0].astype(np.int64)
    crossed = states == (1 if up else 0)
    cost = np.where(crossed.any(axis=1), crossed.argmax(axis=1), B + 1)  # fewest k; B + 1: none
    honest.setflags(write=False)
    cost.setflags(write=False)
    return _Machine(steps, widths, honest, cost)


def _sparse_ones(target: np.ndarray, columns: int) -> Any:
    from scipy import sparse

    rows = np.arange(len(target))
    return sparse.csr_matrix((np.ones(len(target)), (rows, target)), shape=(len(target), columns))


def _scatter_truth(P: np.ndarray, runs: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """Move the mass of truth class a (axis 1) to class ``map[a]`` (``runs`` of the map)."""
    starts, targets = runs
    if len(starts) == P.shape[1] == size:
        return P
    out = np.zeros((P.shape[0], size, P.shape[2]))
    out[:, targets] = np.add.reduceat(P, starts, axis=1)
    return out


def _run(frontier: _Frontier, child: np.ndarray) -> np.ndarray:
    """``P(rule(Y) = y, honest U = u, cost = k)`` (G, 2, 2, B + 1) where the frontier's direction applies."""
    G = child.shape[0]
    B, program = frontier.B, frontier.program
    P = np.ones((G, 1, 1))
    for j, matrices in enumerate(frontier.steps):
        size = program.sizes[j + 1]
        moved = [_scatter_truth(P, program.runs[j][y], size) for y in (0, 1)]
        new = None
        o = 0
        for r in (0, 1):
            for f in range(B + 1):
                X = moved[0] * child[:, j, 0, r, f, None, None] + moved[1] * child[:, j, 1, r, f, None, None]
                if X.any():
                    part = (matrices[o].T @ X.reshape(-1, X.shape[2]).T).T
                    new = part if new is None else new + part
                o += 1
        P = np.asarray(new).reshape(G, size, -1) if new is not None else np.zeros((G, size, matrices[0].shape[1]))
    law = np.zeros((G, 2, 2, B + 1))
    k = frontier.cost - 1  # cost f at index f - 1; B + 1 (impossible) at index B
    for t in (0, 1):
        np.add.at(law[:, t], (slice(None), frontier.honest, k), P[:, t])
    return law


def _combine(frontiers: tuple[_Frontier, _Frontier], child: np.ndarray) -> np.ndarray:
    """Law of (rule(Y), honest U, cost to flip U) from the children's tables (G, n, y, r, f)."""
    up, down = (_run(f, child) for f in frontiers)
    law = np.empty_like(up)
    law[:, :, 0] = up[:, :, 0]  # an input that rejects is flipped upward ...
    law[:, :, 1] = down[:, :, 1]  # ... one that approves downward
    return law


def cost_tables(run: Forward, B: int, root_corruptible: bool) -> np.ndarray:
    """The root instances' tables ``P(Y, r, f)`` (I_root, 2, 2, B + 1), after the whole pass."""
    plan, c = run.plan, run.plan.c
    up = np.zeros((plan.up_total, 2, 2, B + 1))  # the passed-up states (untouched pages cost nothing)
    keep = np.exp(plan.log_keep)
    root: list[np.ndarray] = []

    def finish(inst: np.ndarray, law_u: np.ndarray) -> None:
        node = plan.node_of[inst]
        types = _response_types(keep[inst], c.false_accept[node], c.false_reject[node])
        corruptible = (node != 0) | root_corruptible
        table = _report_table(law_u, types, c.audit[node], corruptible, B)
        if node[0] == 0:  # the root is alone in its group (or the tree is one leaf)
            root.append(table[node == 0])
        _lift(plan, up, inst, table)

    leaves = plan.of(np.flatnonzero(c.is_leaf))
    prior = c.prior[plan.node_of[leaves]]
    law = np.zeros((len(leaves), 2, 2, B + 1))
    law[:, 0, 0, B] = 1.0 - prior  # a leaf's input is the work itself: it cannot be flipped
    law[:, 1, 1, B] = prior
    finish(leaves, law)
    groups = multi_groups(c)
    links = _instance_chains(plan)
    machines: dict[tuple, tuple[_Frontier, _Frontier]] = {}
    instances: dict[tuple, int] = defaultdict(int)
    for nodes, weights, T in groups:
        instances[(weights, T)] += int(plan.count[nodes].sum())
    work = [MAX_WORK]
    done = 0
    for nodes, weights, T in groups:
        ready = int(np.searchsorted(links.chains.top_height, c.height[nodes[0]]))  # tops below this height
        _chain_batch(plan, links, done, ready, up, keep, B)
        done = ready
        key = (weights, T)
        if key not in machines:
            try:
                program = rule_program(weights, T)
            except TooManySums as exc:
                raise refuse_rule(c, int(nodes[0]), exc, who="the adversary's programme",
                                  alternatives="lower the budget (analyze --budget) or skip it (--no-adversary)") from None
            name = str(c.nodes[int(nodes[0])])
            machines[key] = tuple(_Frontier(program, B, upward, MAX_STATES, name, work, instances[key])  # type: ignore[assignment]
                                  for upward in (True, False))
        inst = plan.of(nodes)
        finish(inst, _covered(c, plan, inst, _combine(machines[key], up[plan.children(inst, len(weights))])))
    _chain_batch(plan, links, done, len(links.chains.start), up, keep, B)
    if c.n_children[0] == 1:  # a one-child root: the rule passes its truth, report and flip cost through
        inst = plan.of(np.array([0]))
        finish(inst, _covered(c, plan, inst, up[plan.children(inst, 1)[:, 0]].copy()))
    return root[0]


def _covered(c: Compiled, plan: Any, inst: np.ndarray, rule_law: np.ndarray) -> np.ndarray:
    """The law of (Y, U, cost) from that of (rule(Y_children), U, cost): an uncovered defect rejects."""
    cov = c.coverage[plan.node_of[inst]][:, None, None]
    law = np.empty_like(rule_law)
    law[:, 1] = cov * rule_law[:, 1]
    law[:, 0] = rule_law[:, 0] + (1.0 - cov) * rule_law[:, 1]
    return law


def _lift(plan: Any, up: np.ndarray, inst: np.ndarray, table: np.ndarray) -> None:
    """Pass instances' tables up, mixed over the events closed at their nodes (as the exact pass)."""
    if plan.trivial:
        up[inst] = table
    else:
        np.add.at(up, plan.up_index[inst], np.exp(plan.log_lift[inst])[:, None, None, None] * table)


def root_cost_law(run: Forward, B: int, root_corruptible: bool) -> tuple[np.ndarray, float]:
    """``P(Y_root = 0, cost = t)`` for t = 0..B, and ``P(Y_root = 0)``."""
    plan = run.plan
    tables = cost_tables(run, B, root_corruptible)
    weight = np.exp(plan.log_weight[plan.of(np.array([0]))])
    bad = (weight[:, None, None] * tables[:, 0]).sum(axis=0)  # (r, f)
    out = np.zeros(B + 1)
    out[0] = bad[1].sum()  # the root approves already
    out[1:] += bad[0, :B]  # cost f = index + 1
    return out, float(bad.sum())


# ----------------------------------------------------------------- runs of one-child nodes


@dataclass(frozen=True)
class Chains:
    """Maximal paths of a forest of links, each run from its bottom up, runs by the height of their tops.

    Attributes
    ----------
    order : ndarray
        The elements, run after run, each run from its bottom to its top.
    start, length : ndarray
        Each run's slice of ``order``.
    top_height : ndarray
        The height of each run's top (non-decreasing).
    """

    order: np.ndarray
    start: np.ndarray
    length: np.ndarray
    top_height: np.ndarray


def chains(nxt: np.ndarray, height: np.ndarray) -> Chains:
    """The runs of the links ``i -> nxt[i]`` (-1: a top), where every element has at most one
    link in and one out and ``height`` grows by one along each link.

    Tops are found by pointer jumping (log of the longest run rounds of O(m) array work);
    an element's place in its run is its height below the top, so no run is walked.
    """
    m = len(nxt)
    top = np.where(nxt < 0, np.arange(m), nxt)
    while True:
        hop = top[top]
        if np.array_equal(hop, top):
            break
        top = hop
    tops = np.flatnonzero(nxt < 0)
    tops = tops[np.argsort(height[tops], kind="stable")]
    rank = np.empty(m, dtype=np.int64)
    rank[tops] = np.arange(len(tops))
    run = rank[top]
    length = np.bincount(run, minlength=len(tops))
    start = np.cumsum(length) - length
    order = np.empty(m, dtype=np.int64)
    order[start[run] + length[run] - 1 - (height[top] - height)] = np.arange(m)
    return Chains(order, start, length, height[tops])


def multi_groups(c: Compiled) -> list[tuple[np.ndarray, tuple[int, ...], int]]:
    """The nodes with two or more children, by height and rule form: the exact pass's groups
    without the one-child ones (those go by runs)."""
    inner = np.flatnonzero(c.n_children > 1)
    key = c.height[inner] * max(1, len(c.shapes)) + c.shape[inner]
    by_key = np.argsort(key, kind="stable")
    key = key[by_key]
    bounds = (np.flatnonzero(np.diff(key)) + 1).tolist()
    groups = []
    for lo, hi in zip([0, *bounds], [*bounds, len(key)]) if len(key) else ():
        nodes = inner[by_key[lo:hi]]
        form = c.shapes[int(c.shape[nodes[0]])]
        groups.append((nodes, form.weights, form.threshold))
    return groups


@dataclass(frozen=True)
class _Links:
    """The one-child instances below the root (``inst``) and their runs: instance j continues
    instance i when j reads the state that i alone passes up, and nothing else reads it."""

    inst: np.ndarray
    chains: Chains
    dependent: np.ndarray  # per run: its bottom reads what other runs' tops pass up


def _instance_chains(plan: Any) -> _Links:
    c = plan.c
    nodes = np.flatnonzero(c.n_children == 1)
    inst = plan.of(nodes[nodes != 0])
    m = len(inst)
    where = np.full(plan.total, -1, dtype=np.int64)
    where[inst] = np.arange(m)
    if plan.trivial:  # an instance is its node, which its parent alone reads
        nxt = where[c.parent[inst]]
    else:
        slot = plan.children(inst, 1)[:, 0] if m else np.zeros(0, dtype=np.int64)  # the state each reads
        writers = np.bincount(plan.up_index, minlength=plan.up_total)
        readers = np.bincount(slot, minlength=plan.up_total)
        writer = np.empty(plan.up_total, dtype=np.int64)
        writer[plan.up_index] = np.arange(plan.total)
        below = where[writer[slot]]
        linked = (writers[slot] == 1) & (readers[slot] == 1) & (below >= 0)
        nxt = np.full(m, -1, dtype=np.int64)
        nxt[below[linked]] = np.flatnonzero(linked)
    ch = chains(nxt, c.height[plan.node_of[inst]])
    bottom = plan.node_of[inst[ch.order[ch.start]]]
    return _Links(inst, ch, c.n_children[c.first_child[bottom]] == 1)


# A one-child node below the root maps its child's table linearly. The states reached are, per
# truth y: (r=0, f=1), (r=0, f>B), (r=1, f=1), (r=1, f>B), and (r=1, f=k) for 2 <= k <= B, which
# all move alike (kept by an honest identity response, else leaving for the first four): one
# "label" state L stands for each of them. (r=0 with 2 <= f <= B never occurs below the root:
# a corruptible evaluator that rejects is flipped by corrupting it.) Index of (y, s): 5 * y + s.
_R0_ONE, _R0_NONE, _R1_ONE, _R1_NONE, _LABEL = range(5)


def _link_maps(types: np.ndarray, audit: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """The 10x10 map of each instance on the reduced states (columns: from, rows: to).

    Block triangular in the truth, ``[[N0, (1 - c) N0], [0, c N1]]`` (a missed defect,
    probability 1 - c, moves truth 1 to 0 first), with ``N_y = S + a e_y 1'``: the unaudited
    response ``S`` (scaled by 1 - a) and an audit a that shows the parent the truth y. In
    ``S``, a constant-1 response approves beyond any flip, an identity keeps the state (a
    rejection becomes a flip of cost 1), a constant 0 rejects, a negation swaps the report
    (flipping a rejection costs what flipping the input did). Written one entry (a column of
    all instances) at a time, which numpy does in one loop each.
    """
    q = 1.0 - audit
    t1, ti, t0, tn = (types[:, k] * q for k in range(4))
    covered, missed = coverage, 1.0 - coverage
    kept, rejected = ti + t0, t0 + tn
    entries = ((_R1_NONE, _R0_ONE, t1), (_R0_ONE, _R0_ONE, kept), (_R1_ONE, _R0_ONE, tn),
               (_R1_NONE, _R0_NONE, t1 + tn), (_R0_ONE, _R0_NONE, kept),
               (_R1_NONE, _R1_ONE, t1), (_R1_ONE, _R1_ONE, ti), (_R0_ONE, _R1_ONE, rejected),
               (_R1_NONE, _R1_NONE, t1 + ti), (_R0_ONE, _R1_NONE, rejected),
               (_R1_NONE, _LABEL, t1), (_LABEL, _LABEL, ti), (_R0_ONE, _LABEL, rejected))  # fmt: skip
    A = np.zeros((len(audit), 100))
    for to, source, value in entries:
        A[:, 10 * to + source] = value
        A[:, 10 * to + 5 + source] = value * missed
        A[:, 10 * (5 + to) + 5 + source] = value * covered
    seen = 10 * _R0_NONE, 10 * (5 + _R1_NONE) + 5  # audited: the parent sees the truth, 0 or 1
    A[:, seen[0] : seen[0] + 5] = audit[:, None]
    A[:, seen[0] + 5 : seen[0] + 10] = (audit * missed)[:, None]
    A[:, seen[1] : seen[1] + 5] += (audit * covered)[:, None]
    return A.reshape(-1, 10, 10)


def _reduce(table: np.ndarray, B: int) -> np.ndarray:
    """Tables (R, 2, 2, B + 1) as reduced states (R, 10, K): column 0 with every label in L,
    column k (1 <= k < B) with only the label f = k + 1 (in L)."""
    X = np.zeros((len(table), 10, max(B, 1)))
    for y in (0, 1):
        o = 5 * y
        if B >= 1:
            X[:, o + _R0_ONE, 0], X[:, o + _R1_ONE, 0] = table[:, y, 0, 0], table[:, y, 1, 0]
        X[:, o + _R0_NONE, 0], X[:, o + _R1_NONE, 0] = table[:, y, 0, B], table[:, y, 1, B]
        if B >= 2:
            X[:, o + _LABEL, 1:] = table[:, y, 1, 1:B]
            X[:, o + _LABEL, 0] = table[:, y, 1, 1:B].sum(axis=1)
    return X


def _expand(X: np.ndarray, B: int) -> np.ndarray:
    """Reduced states back to tables (f = 1 and f > B share index 0 when B = 0)."""
    table = np.zeros((len(X), 2, 2, B + 1))
    for y in (0, 1):
        o = 5 * y
        table[:, y, 0, 0] += X[:, o + _R0_ONE, 0]
        table[:, y, 1, 0] += X[:, o + _R1_ONE, 0]
        table[:, y, 0, B] += X[:, o + _R0_NONE, 0]
        table[:, y, 1, B] += X[:, o + _R1_NONE, 0]
        if B >= 2:
            table[:, y, 1, 1:B] = X[:, o + _LABEL, 1:]
    return table


def _chain_batch(plan: Any, links: _Links, lo: int, hi: int, up: np.ndarray, keep: np.ndarray, B: int) -> None:
    """Runs ``lo:hi``, whose inputs are ready but for those cut from the runs below them by
    shared events (several instances reading or passing up one state): those go after, by
    the heights of their tops (a run's input comes from tops lower than its own)."""
    if hi <= lo:
        return
    runs = np.arange(lo, hi)
    dependent = links.dependent[lo:hi]
    if not dependent.all():
        _chain_pass(plan, links, runs[~dependent], up, keep, B)
    runs = runs[dependent]
    heights = links.chains.top_height[runs]
    for part in np.split(runs, np.flatnonzero(np.diff(heights)) + 1) if len(runs) else ():
        _chain_pass(plan, links, part, up, keep, B)


def _chain_pass(plan: Any, links: _Links, runs: np.ndarray, up: np.ndarray, keep: np.ndarray, B: int) -> None:
    """Independent runs, their inputs ready: each top's table from its bottom's input."""
    c, ch = plan.c, links.chains
    length = ch.length[runs]
    start = np.cumsum(length) - length  # in ``inst``
    inst = links.inst[ch.order[np.repeat(ch.start[runs] - start, length) + np.arange(int(length.sum()))]]
    node = plan.node_of[inst]
    types = _response_types(keep[inst], c.false_accept[node], c.false_reject[node])
    audit, coverage = c.audit[node], c.coverage[node]
    X = _reduce(up[plan.children(inst[start], 1)[:, 0]], B)

    fresh = np.ones(len(inst), dtype=bool)  # a link unlike the one below it (or a run's first)
    fresh[1:] = coverage[1:] != coverage[:-1]
    for column in (audit, *types.T):
        fresh[1:] |= column[1:] != column[:-1]
    fresh[start] = True
    if 2 * int(fresh.sum()) <= len(inst):  # long stretches of equal links (a generated chain): M ** k
        first = np.flatnonzero(fresh)
        stretch = _powers(_link_maps(types[first], audit[first], coverage[first]), np.diff(np.append(first, len(inst))))
        at = np.searchsorted(first, start)
        _apply_runs(stretch.__getitem__, at, np.diff(np.append(at, len(first))), np.arange(len(runs)), X)
    else:

        def links_at(at: np.ndarray) -> np.ndarray:
            return _link_maps(types[at], audit[at], coverage[at])

        _apply_runs(links_at, start, length, np.arange(len(runs)), X)
    _lift(plan, up, inst[start + length - 1], _expand(X, B))


def _powers(base: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``base[i] ** k[i]`` by squaring (log k products, all at once)."""
    out = np.broadcast_to(np.eye(10), base.shape).copy()
    k = k.copy()
    while True:
        odd = np.flatnonzero(k & 1)
        out[odd] = base[odd] @ out[odd]
        k >>= 1
        live = np.flatnonzero(k)
        if not len(live):
            return out
        base[live] = base[live] @ base[live]


_PIECE = 32  # links multiplied into one map before the runs' maps are folded again
_ROWS = 2048  # runs or pieces handled at once (their states stay in cache)
_BUILT = 1024  # maps made at once (several positions of few runs together; they stay in cache)


def _apply_runs(maps: Any, start: np.ndarray, length: np.ndarray, rows: np.ndarray, X: np.ndarray) -> None:
    """``X[rows[r]] <- M[start[r] + length[r] - 1] @ ... @ M[start[r]] @ X[rows[r]]``, where
    ``maps(at)`` gives the maps M at flat positions ``at``. Runs of up to _PIECE maps apply
    them one position at a time, all runs at once; longer ones first multiply pieces of
    _PIECE maps (the same way, from the identity) and fold the pieces' products, so that the
    numpy rounds stay few, O(_PIECE log n), and the work O(n)."""
    short = length <= _PIECE
    if short.any():
        _by_position(maps, start[short], length[short], X, rows[short])
    if short.all():
        return
    start, length, rows = start[~short], length[~short], rows[~short]
    count = -(-length // _PIECE)
    first = np.cumsum(count) - count
    k = np.arange(int(count.sum())) - np.repeat(first, count)  # piece number within its run
    piece_start = np.repeat(start, count) + k * _PIECE
    piece_length = np.minimum(_PIECE, np.repeat(start + length, count) - piece_start)
    products = np.broadcast_to(np.eye(10), (len(k), 10, 10)).copy()
    _by_position(maps, piece_start, piece_length, products, np.arange(len(k)))
    _apply_runs(products.__getitem__, first, count, rows, X)


def _by_position(maps: Any, start: np.ndarray, length: np.ndarray, out: np.ndarray, rows: np.ndarray) -> None:
    """``out[rows[r]]`` with the maps ``start[r] : start[r] + length[r]`` applied in turn."""
    order = np.argsort(-length, kind="stable")  # the longest first: the runs still going are a prefix
    for lo in range(0, len(order), _ROWS):
        part = order[lo : lo + _ROWS]
        s, n = start[part], length[part]
        alive = np.searchsorted(-n, -np.arange(int(n[0])), side="left")  # how many are longer than j
        acc = out[rows[part]]
        j = 0
        while j < n[0]:
            columns = range(j, min(int(n[0]), j + max(1, _BUILT // int(alive[j]))))
            M = maps(np.concatenate([s[: alive[k]] + k for k in columns]))
            at = 0
            for k in columns:
                m = alive[k]
                acc[:m] = M[at : at + m] @ acc[:m]
                at += m
            j = columns.stop
        out[rows[part]] = acc
