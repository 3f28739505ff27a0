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

Children combine through two min-plus frontiers over the rule's weight sum,
``A(j)`` = fewest corruptions to make the children's weight reach >= j and
``Z(j)`` = fewest to keep it <= j, together with the capped truth weight. The
reachable states are enumerated once per child position and applied to all
instances at once as sparse transition matrices.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .errors import RRMError
from .exact import Forward

__all__ = ["cost_tables", "root_cost_law", "MAX_STATES"]

#: The most combination states one rule may need.
MAX_STATES = 50_000


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


class _Machine:
    """Combination states of one rule: (capped truth weight, A frontier, Z frontier)."""

    def __init__(self, weights: tuple[int, ...], T: int, B: int):
        self.weights, self.T, self.B = weights, T, B
        inf = B + 1
        start = (0, (0,) + (inf,) * T, (0,) * T)
        self.layers: list[list[tuple]] = [[start]]
        self.steps: list[list[sparse.csr_matrix]] = []  # per child: one matrix per outcome (y, r, f)
        for w in weights:
            current = self.layers[-1]
            index: dict[tuple, int] = {}
            targets = []
            for y in (0, 1):
                for r in (0, 1):
                    for f in range(1, B + 2):
                        targets.append([self._next(s, w, y, r, f, index) for s in current])
            if len(index) > MAX_STATES:
                raise RRMError(
                    f"the adversary's programme for a rule with threshold {T} needs more than {MAX_STATES:,} "
                    "states; lower the budget"
                )
            self.layers.append(sorted(index, key=index.__getitem__))
            self.steps.append([
                sparse.csr_matrix((np.ones(len(t)), (np.arange(len(t)), t)), shape=(len(current), len(index)))
                for t in targets
            ])  # fmt: skip
        final = self.layers[-1]
        self.truth = np.array([int(s[0] >= T) for s in final])
        self.honest = np.array([int(s[1][T] == 0) for s in final])
        self.flip = np.array([s[1][T] if s[1][T] else s[2][T - 1] for s in final])  # cost to flip U

    def _next(self, s: tuple, w: int, y: int, r: int, f: int, index: dict) -> int:
        t, A, Z = s
        T, inf = self.T, self.B + 1
        options = ((r, 0), (1 - r, f))  # the child's value, at what cost
        A2 = tuple(min(inf, min(A[max(0, j - w * x)] + c for x, c in options)) for j in range(T + 1))
        Z2 = tuple(
            min(inf, min((Z[j - w * x] + c if j - w * x >= 0 else inf) for x, c in options)) for j in range(T)
        )
        key = (min(T, t + w * y), A2, Z2)
        if key not in index:
            index[key] = len(index)
        return index[key]


def _combine(machine: _Machine, child: np.ndarray) -> np.ndarray:
    """Law of (rule(Y), honest U, cost to flip U) from the children's tables (G, n, y, r, f)."""
    G = child.shape[0]
    B = machine.B
    prob = np.ones((G, 1))
    for j, matrices in enumerate(machine.steps):
        new = np.zeros((G, matrices[0].shape[1]))
        o = 0
        for y in (0, 1):
            for r in (0, 1):
                for f in range(B + 1):
                    q = child[:, j, y, r, f]
                    if q.any():
                        new += (matrices[o].T @ (prob * q[:, None]).T).T
                    o += 1
        prob = new
    law = np.zeros((G, 2, 2, B + 1))
    for s in range(prob.shape[1]):
        k = min(machine.flip[s], B + 1) - 1
        law[:, machine.truth[s], machine.honest[s], k] += prob[:, s]
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
    machines: dict[tuple, _Machine] = {}
    for nodes, weights, T in run.groups:
        key = (weights, T)
        if key not in machines and len(weights) > 1:
            machines[key] = _Machine(weights, T, B)
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
