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
position and applied to all instances at once as sparse transition matrices.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ._rule_program import RuleProgram, TooManySums, rule_program
from .errors import RRMError
from .exact import Forward, refuse_rule

__all__ = ["cost_tables", "root_cost_law", "MAX_STATES"]

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
        n = len(program.weights)
        pick = np.maximum if up else np.minimum
        states = np.zeros((1, B + 1), dtype=np.int32)
        ks = np.arange(B + 1)
        self.steps: list[list[Any]] = []  # per child: one sparse matrix per (r, f)
        for j in range(n):
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
            budget[0] -= instances * program.sizes[j + 1] * len(states) * 2 * (B + 1)
            if len(states) > limit or budget[0] < 0:
                what = (f"more than {limit:,} combination states ({len(states):,} after {j + 1} children)"
                        if len(states) > limit else f"more than {MAX_WORK:.3g} state updates")  # fmt: skip
                raise RRMError(
                    f"node {node!r}: the adversary's programme for its rule over {n} children needs {what} at a "
                    f"budget of {B} corruptions; lower the budget (analyze --budget) or skip it (--no-adversary)"
                )
            target = target.reshape(len(nexts), -1)
            self.steps.append([_sparse_ones(t, len(states)) for t in target])
        self.honest = states[:, 0].astype(np.int64)
        crossed = states == (1 if up else 0)
        self.cost = np.where(crossed.any(axis=1), crossed.argmax(axis=1), B + 1)  # fewest k; B + 1: none


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
    table = np.zeros((plan.total, 2, 2, B + 1))
    up = table if plan.trivial else np.zeros((plan.up_total, 2, 2, B + 1))
    keep = np.exp(plan.log_keep)

    def finish(inst: np.ndarray, law_u: np.ndarray) -> None:
        node = plan.node_of[inst]
        types = _response_types(keep[inst], c.false_accept[node], c.false_reject[node])
        corruptible = (node != 0) | root_corruptible
        table[inst] = _report_table(law_u, types, c.audit[node], corruptible, B)
        if not plan.trivial:
            np.add.at(up, plan.up_index[inst], np.exp(plan.log_lift[inst])[:, None, None, None] * table[inst])

    leaves = plan.of(np.flatnonzero(c.is_leaf))
    prior = c.prior[plan.node_of[leaves]]
    law = np.zeros((len(leaves), 2, 2, B + 1))
    law[:, 0, 0, B] = 1.0 - prior  # a leaf's input is the work itself: it cannot be flipped
    law[:, 1, 1, B] = prior
    finish(leaves, law)
    machines: dict[tuple, tuple[_Frontier, _Frontier]] = {}
    instances: dict[tuple, int] = defaultdict(int)
    for nodes, weights, T in run.groups:
        instances[(weights, T)] += int(plan.count[nodes].sum())
    work = [MAX_WORK]
    for nodes, weights, T in run.groups:
        key = (weights, T)
        if key not in machines and len(weights) > 1:
            try:
                program = rule_program(weights, T)
            except TooManySums as exc:
                raise refuse_rule(c, int(nodes[0]), exc, who="the adversary's programme",
                                  alternatives="lower the budget (analyze --budget) or skip it (--no-adversary)") from None
            name = str(c.nodes[int(nodes[0])])
            machines[key] = tuple(_Frontier(program, B, up, MAX_STATES, name, work, instances[key])  # type: ignore[assignment]
                                  for up in (True, False))
        inst = plan.of(nodes)
        kids = plan.children(inst, len(weights))
        if len(weights) == 1:  # one child: the rule passes its truth, report and flip cost through
            rule_law = up[kids[:, 0]].copy()
        else:
            rule_law = _combine(machines[key], up[kids])
        cov = c.coverage[plan.node_of[inst]][:, None, None]
        law = np.empty_like(rule_law)
        law[:, 1] = cov * rule_law[:, 1]
        law[:, 0] = rule_law[:, 0] + (1.0 - cov) * rule_law[:, 1]
        finish(inst, law)
    return table[plan.of(np.array([0]))]


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
