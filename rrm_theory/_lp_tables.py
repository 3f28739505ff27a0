"""Tables of a node's report given its subtree's responses, for the tight bounds (docs/bounds.md section 2).

Notation. ``bits`` are the free response bits ``(node, which)``: ``which = 0`` is
``rho_v(0)``, ``which = 1`` is ``rho_v(1)``. They are listed in depth-first
preorder (a node's own bits, then each child's subtree, children with fewer
bits first), and configuration ``z`` sets bit ``j`` to ``(z >> j) & 1``. So the
configurations of every subtree are a contiguous block of bits, and a node's
table over its subtree is indexed by the product of its children's.

A node's *table* holds, for each of a set of configurations of its subtree,
``P(R_v = x | Y_v = y, z)`` (shape ``(rows, 2, 2)``; truths and audits averaged
out, being independent of z). A parent's table over the product of sets of
its children's rows is computed by :func:`node_rows`, as a multilinear form
in the children's tables (every term a product of probabilities), or through
the count-state kernel for nodes with many children.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ._compile import Compiled
from ._kernel import node_input
from ._rule_program import TooManySums
from .exact import rule_states

__all__ = ["Layout", "node_rows", "node_seconds", "respond", "root_rates", "audit", "tabulate", "evaluate"]

_MAX_PATTERN_CHILDREN = 10  # the pattern weights of n children take 32 * 4**n bytes (32 MiB at 10)
SLICE = 1 << 20  # array elements per slice of a node's table (8 MiB per array)
SEC_ELEMENT = 1.5e-8  # seconds per element a multilinear contraction (or a table) writes, measured
SEC_KERNEL = 6e-8  # seconds per row x child x rule state**2 through the count-state kernel, measured
SEC_FLOP = 5e-10  # seconds per multiply-add of a matrix product, measured


class Layout:
    """The free bits of a compiled tree, their order, and each node's share of them."""

    def __init__(self, c: Compiled, a: np.ndarray, b: np.ndarray, lp: np.ndarray) -> None:
        self.c, self.a, self.b, self.lp = c, a, b, lp
        own = ((0.0 < a) & (a < 1.0)).astype(np.int64) + ((0.0 < b) & (b < 1.0))
        sub = own.copy()
        for i in range(c.size - 1, 0, -1):  # children come after parents (breadth-first)
            sub[c.parent[i]] += sub[i]
        self.own_count, self.sub_count = own, sub
        self.order = []
        for i in range(c.size):
            first, n = int(c.first_child[i]), int(c.n_children[i])
            self.order.append(sorted(range(first, first + n), key=lambda k: int(sub[k])))
        self.bits: list[tuple[int, int]] = []
        self.own: list[list[int]] = [[] for _ in range(c.size)]  # which, per free bit of the node
        self.pos: list[list[int]] = [[] for _ in range(c.size)]  # its global bit positions
        stack = [0]
        while stack:  # depth-first preorder
            i = stack.pop()
            for which, free in ((0, 0.0 < a[i] < 1.0), (1, 0.0 < b[i] < 1.0)):
                if free:
                    self.own[i].append(which)
                    self.pos[i].append(len(self.bits))
                    self.bits.append((i, which))
            stack.extend(reversed(self.order[i]))
        self._weights: dict[int, np.ndarray] = {}

    def marginals(self) -> np.ndarray:
        """``P(bit j = 1)``: ``a_v`` for ``rho_v(0)``, ``1 - b_v`` for ``rho_v(1)``."""
        return np.array([self.a[i] if which == 0 else 1.0 - self.b[i] for i, which in self.bits])

    def responses(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``rho(0)``, ``rho(1)`` and the global configuration bits over node i's own configurations."""
        width = 1 << len(self.own[i])
        r0 = np.full(width, 1.0 if self.a[i] >= 1.0 else 0.0)
        r1 = np.full(width, 0.0 if self.b[i] >= 1.0 else 1.0)
        ids = np.zeros(width, dtype=np.int64)
        local = np.arange(width)
        for j, (which, at) in enumerate(zip(self.own[i], self.pos[i])):
            bit = (local >> j) & 1
            (r0 if which == 0 else r1)[:] = bit
            ids |= bit << at
        return r0, r1, ids

    def pattern_weights(self, i: int) -> np.ndarray:
        """``W[p_{n-1}, ..., p_0, o] = P(Y_c = y_c for all c | Y_i = y) [rule(x) = u]``, with
        ``p_c = 2 y_c + x_c`` (child c's truth and report, children in :attr:`order`) and ``o = 2 y + u``."""
        if i not in self._weights:
            self._weights[i] = _pattern_weights(self.c, i, self.order[i], self.lp)
        return self._weights[i]


def _pattern_weights(c: Compiled, i: int, kids: list[int], lp: np.ndarray) -> np.ndarray:
    form = c.forms[i]
    assert form is not None
    first, n = int(c.first_child[i]), len(kids)
    weights = np.array([form.weights[k - first] for k in kids])
    y = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1  # (2**n, n): child c's value
    accept = y @ weights >= form.threshold
    cov = c.coverage[i]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_truth = np.where(y == 1, lp[kids][:, 1], lp[kids][:, 0]).sum(axis=1)  # log P(Y_c = y_c)
        log_given = np.stack([np.where(accept, np.log1p(-cov), 0.0), np.where(accept, np.log(cov), -np.inf)], 1)
        w = np.exp(log_truth[:, None] + log_given - lp[i][None, :])  # (truths, y)
    w = np.where(np.isfinite(lp[i])[None, :], np.nan_to_num(w), 0.0)  # rows of an impossible y are never used
    says = np.stack([~accept, accept], axis=1).astype(float)  # (reports, u)
    W = w[:, None, :, None] * says[None, :, None, :]  # (truths, reports, y, u)
    W = W.reshape((2,) * (2 * n) + (2, 2))  # C order: truth axis n-1-c and report axis 2n-1-c are child c's
    perm = [ax for k in range(n - 1, -1, -1) for ax in (n - 1 - k, 2 * n - 1 - k)] + [2 * n, 2 * n + 1]
    return W.transpose(perm).reshape((4,) * n + (4,))


def _partials(sizes: list[int]) -> list[int]:
    """Elements of each partial contraction of the multilinear form (children in order)."""
    n, M, out = len(sizes), 1, []
    for j, K in enumerate(sizes):
        M *= K
        out.append(M * 4 ** (n - 1 - j) * 4)
    return out


def node_seconds(sizes: list[float], states: int, work: float | None = None) -> tuple[str, float]:
    """How a node whose children keep tables of these sizes builds its rows, and the predicted seconds:
    the cheapest of the multilinear form (``"patterns"``), the two-group count form (``"split"``, on
    the dense grid of ``states`` capped sums) and the rule kernel (``"kernel"``, ``work`` updates of
    classes of partial sums per row, :func:`rrm_theory.exact.rule_states`)."""
    n = len(sizes)
    rows = float(np.prod(sizes))
    states = min(states, 1 << 40)  # a grid past this is never chosen; keeps the arithmetic finite
    options = {"kernel": SEC_KERNEL * rows * (n * states**2 if work is None else work)}
    if n <= _MAX_PATTERN_CHILDREN:
        partials = _partials(sizes)  # type: ignore[arg-type]
        if max(partials[:-1], default=0) <= 4 * SLICE:
            options["patterns"] = SEC_ELEMENT * sum(partials)
    if n >= 2:
        h = _split_at(sizes)
        groups = (sizes[:h], sizes[h:])
        size = max(float(np.prod(g)) for g in groups) * states**2
        if size <= 4 * SLICE:
            fold = sum(float(np.prod(g[: j + 1])) for g in groups for j in range(len(g))) * states**2 * 4
            options["split"] = SEC_ELEMENT * (fold + rows * 16) + SEC_FLOP * rows * states**2 * 8
    best = min(options, key=options.__getitem__)
    return best, options[best]


def _split_at(sizes: list[float]) -> int:
    """Where to cut the children (in order) into two groups of about equal products."""
    logs = np.log2(np.maximum(np.asarray(sizes, dtype=float), 1.0))
    before = np.concatenate([[0.0], np.cumsum(logs)])
    return int(np.argmin(np.maximum(before, before[-1] - before)[1:-1])) + 1 if len(sizes) > 1 else 1


def _states(c: Compiled, i: int) -> int:
    form = c.forms[i]
    assert form is not None
    return min(form.threshold, form.total - form.threshold + 1) + 1


def kernel_work(c: Compiled, i: int) -> float:
    """Class updates of one pass of node i's rule (inf where the rule has too many classes)."""
    form = c.forms[i]
    assert form is not None
    try:
        return float(rule_states(form.weights, form.threshold)[1])
    except TooManySums:
        return math.inf


def node_rows(layout: Layout, i: int, tabs: list[np.ndarray]) -> Iterator[np.ndarray]:
    """``P(U_i = u | Y_i = y)`` over the product of the children's rows, in slices.

    ``tabs`` are the children's tables in :attr:`Layout.order`; flat index
    ``i_0 + K_0 (i_1 + K_1 (...))``, the first child's row varying fastest.
    """
    c = layout.c
    kids = layout.order[i]
    sizes = [len(t) for t in tabs]
    states = _states(c, i)
    how = node_seconds(sizes, states, kernel_work(c, i))[0]  # type: ignore[arg-type]
    if how == "patterns":
        yield from _rows_multilinear(layout.pattern_weights(i), tabs)
        return
    if how == "split":
        yield from _rows_split(layout, i, tabs)
        return
    form = c.forms[i]
    assert form is not None
    first, n = int(c.first_child[i]), len(kids)
    weights = tuple(form.weights[k - first] for k in kids)
    total = int(np.prod(sizes))
    strides = np.cumprod([1] + sizes[:-1])
    step = max(1, SLICE // (n * states**2))
    lp_kids = layout.lp[kids]
    cov = c.coverage[i : i + 1]
    for lo in range(0, total, step):
        idx = np.arange(lo, min(total, lo + step))
        pr_k = np.stack([t[(idx // s) % m] for t, s, m in zip(tabs, strides, sizes)], axis=1)
        lp_k = np.broadcast_to(lp_kids, (len(idx), n, 2))
        yield node_input(lp_k, pr_k, weights, form.threshold, np.repeat(cov, len(idx)))[1]


def _rows_multilinear(W: np.ndarray, tabs: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Contract the pattern weights with the children's tables, child by child.

    After children 0..j the array runs over their joint rows (child j
    outermost), the remaining children's patterns and the output; the last
    child is contracted in slices.
    """
    n = len(tabs)
    R = W[None]  # (1, p_{n-1}, ..., p_0, o)
    P = [t.reshape(len(t), 4) for t in tabs]
    M = 1
    for j in range(n - 1):
        R = np.einsum("jp,m...po->jm...o", P[j], R)
        M *= len(P[j])
        R = R.reshape((M,) + (4,) * (n - 1 - j) + (4,))
    R = R.reshape(M, 4, 4)
    last = P[-1]
    step = max(1, SLICE // M)
    for lo in range(0, len(last), step):
        yield np.einsum("jp,mpo->jmo", last[lo : lo + step], R).reshape(-1, 2, 2)


def _rows_split(layout: Layout, i: int, tabs: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Rows of a wide threshold node: two groups of children, each folded into the joint law of
    its capped (truth, report) weight sums, met by one matrix product per outcome.

    Group A (the first children) and group B hold ``Q[m, a, b] = P(sum w Y = a, sum w R = b | z)``
    with sums capped at T (counting rejections instead when that needs fewer states, as the
    kernel does); ``P(total truth >= T, total report >= T) = sum_{a, b} Q_A[a, b] G_B[T - a, T - b]``
    with ``G_B`` the tail sums of ``Q_B``, and likewise for the other three outcomes. Every
    term is a product of probabilities; the last step divides by ``P(Y_i = y)``.
    """
    c = layout.c
    form = c.forms[i]
    assert form is not None
    kids = layout.order[i]
    first = int(c.first_child[i])
    weights = [form.weights[k - first] for k in kids]
    T = form.threshold
    flip = form.total - T + 1 < T
    truth = np.exp(layout.lp[kids])  # (n, 2)
    if flip:  # count rejections: relabel 0 <-> 1
        T = form.total - T + 1
        truth, tabs = truth[:, ::-1], [t[:, ::-1, ::-1] for t in tabs]
    h = _split_at([len(t) for t in tabs])
    QA = _fold(tabs[:h], truth[:h], weights[:h], T)
    QB = _fold(tabs[h:], truth[h:], weights[h:], T)
    S = T + 1
    # tails of B over (truth, report): at least / below alpha, beta; indexed by (T - a, T - b)
    at_least = np.cumsum(QB[:, ::-1], axis=1)[:, ::-1]  # sum over a2 >= alpha
    below = np.concatenate([np.zeros((len(QB), 1, S)), np.cumsum(QB, axis=1)[:, :-1]], axis=1)
    G = {}
    for ya, A in ((1, at_least), (0, below)):
        G[ya, 1] = np.cumsum(A[:, :, ::-1], axis=2)[:, :, ::-1]
        G[ya, 0] = np.concatenate([np.zeros((len(QB), S, 1)), np.cumsum(A, axis=2)[:, :, :-1]], axis=2)
    G = {q: g[:, ::-1, ::-1].reshape(len(QB), S * S) for q, g in G.items()}  # index (a, b) -> (T - a, T - b)
    A_flat = QA.reshape(len(QA), S * S)
    cov = c.coverage[i]
    with np.errstate(divide="ignore"):
        inv = np.where(np.isfinite(layout.lp[i]), np.exp(-layout.lp[i]), 0.0)  # 1 / P(Y_i = y)
    step = max(1, SLICE // max(1, len(QA)))
    for lo in range(0, len(QB), step):
        joint = np.empty((min(step, len(QB) - lo), len(QA), 2, 2))  # [rule(Y), U], in the flipped labels
        for (ya, ub), g in G.items():
            joint[:, :, ya, ub] = g[lo : lo + step] @ A_flat.T
        if flip:
            joint = joint[:, :, ::-1, ::-1]
        pu = np.empty_like(joint)
        pu[:, :, 1] = cov * joint[:, :, 1] * inv[1]
        pu[:, :, 0] = (joint[:, :, 0] + (1.0 - cov) * joint[:, :, 1]) * inv[0]
        yield pu.reshape(-1, 2, 2)


def _fold(tabs: list[np.ndarray], truth: np.ndarray, weights: list[int], T: int) -> np.ndarray:
    """``Q[m, a, b] = P(min(sum w Y, T) = a, min(sum w R, T) = b | z)`` over the group's joint rows."""
    S = T + 1
    Q = np.zeros((1, S, S))
    Q[0, 0, 0] = 1.0
    for tab, t, w in zip(tabs, truth, weights):
        new = np.zeros((len(tab), len(Q), S, S))
        for y in (0, 1):
            moved_y = _shift(Q, 1, w * y, T)
            for x in (0, 1):
                coef = t[y] * tab[:, y, x]
                new += coef[:, None, None, None] * _shift(moved_y, 2, w * x, T)[None]
        Q = new.reshape(-1, S, S)
    return Q


def _shift(Q: np.ndarray, axis: int, by: int, T: int) -> np.ndarray:
    """Move mass from index s to min(s + by, T) along ``axis``."""
    if by == 0:
        return Q
    out = np.zeros_like(Q)
    src = [slice(None)] * 3
    dst = [slice(None)] * 3
    if by < T:
        src[axis], dst[axis] = slice(0, T - by), slice(by, T)
        out[tuple(dst)] = Q[tuple(src)]
    src[axis] = slice(max(T - by, 0), T + 1)
    dst[axis] = T
    out[tuple(dst)] += Q[tuple(src)].sum(axis=axis)
    return out


def respond(pu: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> np.ndarray:
    """``P(V = x | Y = y)`` for ``V = rho(U)``: every input row times every own configuration (lowest)."""
    G, width = len(pu), len(r0)
    pv = np.empty((G, width, 2, 2))
    p0, p1 = pu[:, None, :, 0], pu[:, None, :, 1]  # (G, 1, 2): P(U = u | Y = y)
    pv[..., 1] = p0 * r0[None, :, None] + p1 * r1[None, :, None]
    pv[..., 0] = p0 * (1.0 - r0)[None, :, None] + p1 * (1.0 - r1)[None, :, None]
    return pv.reshape(G * width, 2, 2)


def root_rates(pu: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(V = 1 | Y = 0)`` and ``P(V = 0 | Y = 1)`` for ``V = rho(U)``, rows as :func:`respond`'s."""
    fa = pu[:, 0, 0, None] * r0[None, :] + pu[:, 0, 1, None] * r1[None, :]
    fr = pu[:, 1, 0, None] * (1.0 - r0)[None, :] + pu[:, 1, 1, None] * (1.0 - r1)[None, :]
    return fa.ravel(), fr.ravel()


def audit(pv: np.ndarray, audit_rate: float, out: np.ndarray | None = None) -> np.ndarray:
    """``P(R = x | Y = y)``: the audit shows the truth with probability ``audit_rate``."""
    keep = 1.0 - audit_rate
    out = np.multiply(pv, keep, out=out)
    out[:, 0, 0] += audit_rate
    out[:, 1, 1] += audit_rate
    return out


def tabulate(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """The root's ``P(V = 1 | Y = 0, z)`` and ``P(V = 0 | Y = 1, z)`` for every configuration z.

    Each node's table runs over its own subtree's configurations and is
    dropped once its parent is done.
    """
    c = layout.c
    tables: dict[int, np.ndarray] = {}
    fa = fr = np.empty(0)
    for i in range(c.size - 1, -1, -1):  # children before parents
        r0, r1, _ = layout.responses(i)
        if c.n_children[i] == 0:  # (is_leaf builds the whole mask)
            rows, pieces = 1, iter([np.eye(2)[None]])
        else:
            tabs = [tables.pop(k) for k in layout.order[i]]
            rows = int(np.prod([len(t) for t in tabs]))
            pieces = node_rows(layout, i, tabs)
        total = rows * len(r0)
        if i == 0:
            fa, fr = np.empty(total), np.empty(total)
        else:
            out = tables[i] = np.empty((total, 2, 2))
        at = 0
        for pu in pieces:
            done = slice(at, at + len(pu) * len(r0))
            at = done.stop
            if i == 0:
                fa[done], fr[done] = root_rates(pu, r0, r1)
            else:
                audit(respond(pu, r0, r1), c.audit[i], out=out[done])
    return fa, fr


def evaluate(layout: Layout, configs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The root's ``P(V = 1 | Y = 0, z)`` and ``P(V = 0 | Y = 1, z)`` at the given configurations only."""
    c = layout.c
    B = len(configs)
    tables: dict[int, np.ndarray] = {}
    for i in range(c.size - 1, -1, -1):
        r0, r1, _ = layout.responses(i)
        own = np.zeros(B, dtype=np.int64)  # each configuration's own bits, as a local index
        for j, at in enumerate(layout.pos[i]):
            own |= ((configs >> at) & 1) << j
        if c.n_children[i] == 0:  # (is_leaf builds the whole mask)
            pu = np.broadcast_to(np.eye(2), (B, 2, 2))
        else:
            kids = layout.order[i]
            form = c.forms[i]
            assert form is not None
            first = int(c.first_child[i])
            weights = tuple(form.weights[k - first] for k in kids)
            pr_k = np.stack([tables.pop(k) for k in kids], axis=1)
            lp_k = np.broadcast_to(layout.lp[kids], (B, len(kids), 2))
            pu = node_input(lp_k, pr_k, weights, form.threshold, np.repeat(c.coverage[i], B))[1]
        r0_z, r1_z = r0[own][:, None], r1[own][:, None]
        pv = np.empty((B, 2, 2))
        pv[..., 1] = pu[..., 0] * r0_z + pu[..., 1] * r1_z
        pv[..., 0] = pu[..., 0] * (1.0 - r0_z) + pu[..., 1] * (1.0 - r1_z)
        if i == 0:
            return pv[:, 0, 1].copy(), pv[:, 1, 0].copy()
        tables[i] = audit(pv, c.audit[i])
    raise AssertionError("unreachable: the root is node 0")
