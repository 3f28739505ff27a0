"""The tight bounds' linear programme, by column generation (docs/bounds.md section 2).

The programme: the largest ``sum_z q(z) g(z)`` over joint laws ``q`` of the free
response bits with ``P(bit j = 1) = m_j``, where ``g = d0 * FA(z) + d1 * FR(z)``
is a root metric (or its negation) given the configuration ``z``
(:mod:`rrm_theory._lp_tables`). :func:`solve` keeps a restricted master
programme over a few configurations (a revised simplex warm-started from the
last basis, :mod:`rrm_theory._simplex`) and asks a *pricer* for configurations
whose reduced value ``g(z) - y_0 - sum_j y_j z_j`` under the master's dual
prices is positive; they enter, until there is none. Two pricers, both exact:

* :class:`TablePricer`: ``FA`` and ``FR`` tabulated over all ``2**bits``
  configurations once, priced in blocks (up to ``MAX_TABLE_BITS`` bits);
* :class:`HullPricer`: a pass over the tree that keeps, for every node, only
  the configurations of its subtree on the upper convex hull of
  ``(P(R = 1 | Y = 0), P(R = 1 | Y = 1), -sum_j y_j z_j)``, the only ones that
  can be part of a best configuration (section 2.3), and evaluates the root over
  the product of its children's.

:func:`plan` predicts both costs from the tree's shape (no clock) and picks the cheaper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._lp_tables import SEC_ELEMENT, Layout, audit, evaluate, kernel_work, node_rows, node_seconds, respond, root_rates, tabulate
from ._simplex import Master

__all__ = ["Pool", "TablePricer", "HullPricer", "Plan", "plan", "comonotone", "solve", "MAX_TABLE_BITS", "MAX_BITS",
           "TooManyRounds", "planned_rounds"]

#: The most free bits the table pricer tabulates (two float64 tables of ``2**bits``).
MAX_TABLE_BITS = 24
#: The most free bits a configuration can have (an int64 holds one).
MAX_BITS = 62
_LOG_MAX_HULL_ROWS = 22  # log2 of the predicted candidate rows at one node past which the hull pricer declines
_BLOCK = 1 << 16  # configurations priced at once by the table pricer (fits in cache)
_ADD = 64  # configurations entering per pricing round, at most
_MASTER = 10  # master columns kept per row when it is trimmed
_TOL = 1e-12  # a configuration enters when its reduced value exceeds this
# The cost model of plan(), in seconds (measured by benchmarks/bench_tight_bounds.py).
_SEC_PRICE = 4.5e-9  # per configuration priced by the table pricer, per round
_SEC_NODE = 2.5e-4  # per node visited by the hull pricer, per round
_SEC_ROW = 1.5e-7  # per candidate row put through the hull (below the root), per round
_SEC_ROUND = 1.5e-3  # per round, the master programme
_SEC_FIXED = 0.01


class Pool:
    """The configurations seen so far, with the root's ``FA`` and ``FR`` at each, and the master
    programme over the active ones (shared by the six programmes: it keeps their basis)."""

    def __init__(self, configs: np.ndarray, fa: np.ndarray, fr: np.ndarray, m: np.ndarray) -> None:
        self.configs, self.fa, self.fr, self.k = configs, fa, fr, len(m)
        self.index = {z: j for j, z in enumerate(configs.tolist())}
        self.active = np.arange(len(configs))  # pool index of each master column
        self.master = Master(_columns(configs, self.k), np.concatenate([[1.0], m]), np.arange(len(configs)))

    def enter(self, configs: np.ndarray, fa: np.ndarray, fr: np.ndarray) -> int:
        """Make these configurations master columns (adding unseen ones); returns how many were not."""
        fresh = [j for j, z in enumerate(configs.tolist()) if z not in self.index]
        for j in fresh:
            self.index[int(configs[j])] = len(self.index)
        if fresh:
            self.configs = np.concatenate([self.configs, configs[fresh]])
            self.fa, self.fr = np.concatenate([self.fa, fa[fresh]]), np.concatenate([self.fr, fr[fresh]])
        at = np.array([self.index[z] for z in configs.tolist()], dtype=np.int64)
        new = np.setdiff1d(at, self.active)
        if new.size:
            self.active = np.concatenate([self.active, new])
            self.master.add(_columns(self.configs[new], self.k))
        return int(new.size)

    def trim(self, g: np.ndarray, y: np.ndarray) -> None:
        """Drop the master columns farthest from entering the basis, past ``_MASTER`` per row."""
        cap = _MASTER * (self.k + 1)
        if len(self.active) <= 2 * cap:
            return
        reduced = g - y @ self.master.A
        reduced[self.master.basis] = np.inf
        keep = np.sort(np.argsort(-reduced, kind="stable")[:cap])
        self.master.keep(keep)
        self.active = self.active[keep]


@dataclass(frozen=True)
class Solution:
    """An optimal vertex: its value, its support (configurations) and their probabilities."""

    value: float
    configs: np.ndarray
    probs: np.ndarray
    rounds: int


def comonotone(m: np.ndarray) -> np.ndarray:
    """The support of the comonotone law with ``P(bit j = 1) = m[j]`` (bit j is ``W < m[j]``, W uniform):
    configuration j sets the j largest marginals' bits. These k + 1 configurations are a basis of the
    programme (triangular), feasible with probabilities ``s_j - s_{j+1}`` (s the sorted marginals)."""
    order = np.argsort(-m, kind="stable")
    return np.concatenate([[0], np.cumsum(np.left_shift(1, order.astype(np.int64)))]).astype(np.int64)


def _columns(configs: np.ndarray, k: int) -> np.ndarray:
    return np.vstack([np.ones(len(configs)), (configs[None, :] >> np.arange(k)[:, None]) & 1]).astype(float)


class TooManyRounds(ArithmeticError):
    """The column generation went past its cap on rounds (``method="auto"``: the fast bounds instead)."""


def planned_rounds(bits: int) -> int:
    """The rounds :func:`plan` assumes for the six programmes together: ``5 bits + 10``."""
    return 5 * bits + 10


def solve(pricer: TablePricer | HullPricer, d: tuple[float, float], pool: Pool,
          max_rounds: int | None = None) -> Solution:  # fmt: skip
    """The largest ``sum_z q(z) (d0 FA(z) + d1 FR(z))`` over laws q with the bits' marginals.

    Column generation (section 2.2): the master (configurations seen so far,
    from the last optimal basis) is optimised; the pricer's configurations with
    a reduced value above ``_TOL`` under its dual prices enter; until all it
    finds are in the master already. Then no law does better than the master's
    optimum by more than ``_TOL`` (weak duality: any law's value is at most
    ``y . (1, m)``, the master's value, plus the largest reduced value).
    Columns far from the basis leave the master between rounds (while the
    rounds are few: past ``10 (k + 1)`` none leaves, so that none can cycle).
    Past ``max_rounds`` (None: no cap) it raises :class:`TooManyRounds`.
    """
    rounds = 0
    while True:
        rounds += 1
        if max_rounds is not None and rounds > max_rounds:
            raise TooManyRounds(f"more than {max_rounds:,} rounds")
        g = d[0] * pool.fa[pool.active] + d[1] * pool.fr[pool.active]
        y = pool.master.optimise(g, _TOL)
        found = pricer.price(y, d, _ADD)
        if rounds < 10 * (pool.k + 1):
            pool.trim(g, y)
        if not pool.enter(*found):
            break
    master = pool.master
    g = d[0] * pool.fa[pool.active] + d[1] * pool.fr[pool.active]
    x = np.where(master.x > 0.0, master.x, 0.0)
    charged = x > 0.0
    probs = x[charged] / x[charged].sum()
    support = master.basis[charged]
    return Solution(float(probs @ g[support]), pool.configs[pool.active[support]], probs, rounds)


def _keep_best(best: tuple[np.ndarray, ...], red: np.ndarray, *columns: np.ndarray,
               count: int) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Merge rows with reduced value above ``_TOL`` into the running best ``count`` (red first)."""
    hits = np.flatnonzero(red > _TOL)
    if hits.size > count:
        hits = hits[np.argpartition(red[hits], hits.size - count)[hits.size - count :]]
    merged = [np.concatenate([old, new[hits]]) for old, new in zip(best, (red,) + columns)]
    if len(merged[0]) > count:
        top = np.argpartition(merged[0], len(merged[0]) - count)[len(merged[0]) - count :]
        merged = [col[top] for col in merged]
    return tuple(merged)


def _empty_best(n: int) -> tuple[np.ndarray, ...]:
    return (np.empty(0),) + (np.empty(0, dtype=np.int64),) + tuple(np.empty(0) for _ in range(n - 2))


def _sorted(best: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-best[0], kind="stable")
    return best[1][order], best[2][order], best[3][order]


class TablePricer:
    """Pricing over the root's tabulated ``FA`` and ``FR`` (every configuration, in blocks)."""

    def __init__(self, layout: Layout) -> None:
        self.fa, self.fr = tabulate(layout)
        self.k = len(layout.bits)

    def price(self, y: np.ndarray, d: tuple[float, float], count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        low = min(self.k, 16)
        s_low = _bit_sums(y[1 : 1 + low])
        s_high = _bit_sums(y[1 + low :]) + y[0]
        L = len(s_low)
        best = _empty_best(4)
        for h, shift in enumerate(s_high):
            for lo in range(0, L, _BLOCK):
                at = slice(h * L + lo, h * L + min(L, lo + _BLOCK))
                fa, fr = self.fa[at], self.fr[at]
                red = d[0] * fa + d[1] * fr - s_low[lo : lo + len(fa)] - shift
                configs = np.arange(at.start, at.stop, dtype=np.int64)
                best = _keep_best(best, red, configs, fa, fr, count=count)
        return _sorted(best)


def _bit_sums(y: np.ndarray) -> np.ndarray:
    """``sum_j y_j bit_j(z)`` for every z in [0, 2**len(y)), bit 0 lowest."""
    out = np.zeros(1 << len(y))
    width = 1
    for v in y:
        np.add(out[:width], v, out=out[width : 2 * width])
        width *= 2
    return out


def upper_hull(points: np.ndarray) -> np.ndarray:
    """Indices of points ``(x, y, s)`` that include, for every direction ``(w_x, w_y, 1)``, a maximiser.

    In general position: the vertices of the convex hull's facets whose outward
    normal has a positive last component (section 2.3). Flat sets are solved in
    their plane: on a plane that is not vertical (``s`` affine in ``(x, y)``, as
    when a subtree's prices vanish) every vertex of the ``(x, y)`` hull; on a
    vertical one, the upper hull of ``(t, s)`` along the line of the ``(x, y)``.
    """
    if len(points) <= 4:
        return np.arange(len(points))
    order = np.lexsort(points.T)
    ranked = points[order]
    first = order[np.concatenate([[True], (ranked[1:] != ranked[:-1]).any(axis=1)])]  # one of each duplicate
    if len(first) <= 4:
        return np.sort(first)
    pts = points[first]
    from scipy.spatial import ConvexHull, QhullError  # the hull pricer only: loaded when it runs

    try:
        hull = ConvexHull(pts)
    except QhullError:
        return np.sort(first[_flat_upper(pts)])
    upward = hull.equations[:, 2] > 0.0  # (vertical facets, n_s = 0, hold no maximiser that an upward one lacks)
    return np.sort(first[np.unique(hull.simplices[upward])])


def _flat_upper(pts: np.ndarray) -> np.ndarray:
    """:func:`upper_hull` for points on a plane (or a line)."""
    centred = pts - pts.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    scale = max(sv[0], 1e-300)
    if sv[1] <= 1e-12 * scale:  # on a line: its two ends (the top one if the line is vertical)
        t = centred @ vt[0]
        ends = np.unique([int(np.argmin(t)), int(np.argmax(t))])
        flat_xy = np.hypot(vt[0][0], vt[0][1]) <= 1e-12
        return np.array([int(np.argmax(pts[:, 2]))]) if flat_xy else ends
    normal = vt[2]
    if abs(normal[2]) > 1e-9:  # s is affine in (x, y): every extreme point of the (x, y) hull
        return _hull_2d(pts[:, :2])
    direction = np.array([-normal[1], normal[0]])  # the (x, y) line of a vertical plane
    t = pts[:, :2] @ direction
    return _upper_2d(t, pts[:, 2])


def _hull_2d(xy: np.ndarray) -> np.ndarray:
    from scipy.spatial import ConvexHull, QhullError

    try:
        return np.sort(ConvexHull(xy).vertices)
    except QhullError:  # collinear: the two ends
        t = (xy - xy.mean(axis=0)) @ np.linalg.svd(xy - xy.mean(axis=0), full_matrices=False)[2][0]
        return np.unique([int(np.argmin(t)), int(np.argmax(t))])


def _upper_2d(t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Vertices of the upper hull of the points ``(t, s)`` (monotone chain, with both ends)."""
    order = np.lexsort((-s, t))  # by t, the highest first among equal t
    chain: list[int] = []
    for j in order.tolist():
        if chain and t[chain[-1]] == t[j]:
            continue  # a lower point at the same t
        while len(chain) >= 2:
            a, b = chain[-2], chain[-1]
            if (t[b] - t[a]) * (s[j] - s[a]) - (s[b] - s[a]) * (t[j] - t[a]) >= 0.0:
                chain.pop()  # b is on or below the segment from a to j
            else:
                break
        chain.append(j)
    return np.array(sorted(chain))


class HullPricer:
    """Pricing by a pass over the tree, keeping each subtree's upper-hull configurations (section 2.3)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        c = layout.c
        self.own = []  # per node: rho(0), rho(1), own configurations' bits, their penalty's bit positions
        self.leaf_tables = {}
        for i in range(c.size):
            r0, r1, ids = layout.responses(i)
            self.own.append((r0, r1, ids))
            if c.n_children[i] == 0:  # (is_leaf builds the whole mask)
                pv = respond(np.eye(2)[None], r0, r1)
                self.leaf_tables[i] = pv if i == 0 else audit(pv, c.audit[i])

    def price(self, y: np.ndarray, d: tuple[float, float], count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        layout, c = self.layout, self.layout.c
        penalty = y[1:]
        kept: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # node: (table, configs, penalties)
        for i in range(c.size - 1, -1, -1):  # children before parents
            r0, r1, own_ids = self.own[i]
            own_pen = np.zeros(len(own_ids))
            for at in layout.pos[i]:
                own_pen += ((own_ids >> at) & 1) * penalty[at]
            if c.n_children[i] == 0:  # (is_leaf builds the whole mask)
                if i == 0:
                    parts, ids, pens = [np.eye(2)[None]], np.zeros(1, dtype=np.int64), np.zeros(1)
                else:  # at most four configurations: all kept
                    kept[i] = (self.leaf_tables[i], own_ids, own_pen)
                    continue
            else:
                kids = [kept.pop(k) for k in layout.order[i]]
                parts = node_rows(layout, i, [t for t, _, _ in kids])
                ids, pens = np.zeros(1, dtype=np.int64), np.zeros(1)
                for _, kid_ids, kid_pen in kids:  # the first child varies fastest
                    ids = (ids[None, :] | kid_ids[:, None]).ravel()
                    pens = (pens[None, :] + kid_pen[:, None]).ravel()
            ids = (ids[:, None] | own_ids[None, :]).ravel()  # own configuration lowest, as respond's rows
            pens = (pens[:, None] + own_pen[None, :]).ravel()
            at = 0
            if i == 0:
                best = _empty_best(4)
                for pu in parts:
                    fa, fr = root_rates(pu, r0, r1)
                    rows = slice(at, at + len(fa))
                    at += len(fa)
                    red = d[0] * fa + d[1] * fr - pens[rows] - y[0]
                    best = _keep_best(best, red, ids[rows], fa, fr, count=count)
                return _sorted(best)
            if len(own_ids) == 1 and c.n_children[i] == 1:  # an affine image of the child's rows:
                pv = np.concatenate([audit(respond(pu, r0, r1), c.audit[i]) for pu in parts])
                kept[i] = (pv, ids, pens)  # its kept set serves (a direction w becomes A^T w)
                continue
            table, tid, tpen = np.empty((0, 2, 2)), np.empty(0, dtype=np.int64), np.empty(0)
            for pu in parts:  # the hull of a union is the hull of the parts' hulls
                pv = audit(respond(pu, r0, r1), c.audit[i])
                rows = slice(at, at + len(pv))
                at += len(pv)
                table = np.concatenate([table, pv])
                tid, tpen = np.concatenate([tid, ids[rows]]), np.concatenate([tpen, pens[rows]])
                keep = upper_hull(np.stack([table[:, 0, 1], table[:, 1, 1], -tpen], axis=1))
                table, tid, tpen = table[keep], tid[keep], tpen[keep]
            kept[i] = (table, tid, tpen)
        raise AssertionError("unreachable: the root is node 0")


@dataclass(frozen=True)
class Plan:
    """How the tight bounds would be computed: the pricer, and the predicted seconds (inf: beyond reach)."""

    bits: int
    pricer: str  # "table", "hull" or "" (beyond reach)
    seconds: float
    stopped: int = 0  # the rounds past which method="auto" stopped the column generation (0: it did not)


def plan(layout: Layout) -> Plan:
    """Predict the cost of each pricer from the tree's shape, and pick the cheaper (deterministic).

    Both: ``5 bits + 10`` rounds in all (the benchmark's trees need 3 to 12 per
    bit), each solving the master. Table pricer: every node's table built once
    (:func:`node_seconds`: the multilinear form or the count-state kernel), then
    every configuration priced per round. Hull pricer: per round, every node's
    rows built (the same way) over its children's kept sets, plus a cost per
    node and per row put through the hull (the root's rows are only
    evaluated), a subtree of ``k`` bits assumed to keep ``k + 2``
    configurations (about what the benchmark's trees keep on average).
    """
    c = layout.c
    k = len(layout.bits)
    rounds = planned_rounds(k)
    log_sub, own = layout.sub_count.astype(float), layout.own_count
    table = hull = 0.0
    widest = 0.0
    log_kept = [0.0] * c.size  # log2 of the configurations a subtree is assumed to keep
    for i in range(c.size - 1, -1, -1):
        if c.n_children[i] == 0:  # (is_leaf builds the whole mask)
            log_kept[i] = float(own[i])
            continue
        kids = layout.order[i]
        states = _states(c, i)
        width = 2.0 ** own[i]
        if k <= MAX_TABLE_BITS:
            sizes = [2.0 ** log_sub[j] for j in kids]
            respond_audit = SEC_ELEMENT * float(np.prod(sizes)) * width * 4.0
            table += node_seconds(sizes, states, kernel_work(c, i))[1] + respond_audit
        log_rows = sum(log_kept[j] for j in kids) + float(own[i])
        widest = max(widest, log_rows)
        log_kept[i] = min(log_rows, math.log2(log_sub[i] + 2.0))
        if widest <= _LOG_MAX_HULL_ROWS:
            built = node_seconds([2.0 ** log_kept[j] for j in kids], states, kernel_work(c, i))[1] + SEC_ELEMENT * 2.0**log_rows * 4.0
            no_hull = i == 0 or (own[i] == 0 and len(kids) == 1)  # evaluated only, or an affine image
            hull += built + (0.0 if no_hull else _SEC_ROW * 2.0**log_rows)
    seconds = {}
    if k <= MAX_TABLE_BITS:
        seconds["table"] = table + rounds * (_SEC_PRICE * 2.0**k + _SEC_ROUND)
    if k <= MAX_BITS and widest <= _LOG_MAX_HULL_ROWS:
        seconds["hull"] = rounds * (hull + _SEC_NODE * c.size + _SEC_ROUND)
    if not seconds:
        return Plan(k, "", math.inf)
    pricer = min(seconds, key=seconds.__getitem__)
    return Plan(k, pricer, float(_SEC_FIXED + seconds[pricer]))


def _states(c, i: int) -> int:  # type: ignore[no-untyped-def]
    form = c.forms[i]
    assert form is not None
    return 1 if len(form.weights) == 1 else min(form.threshold, form.total - form.threshold + 1) + 1


def pricer_for(layout: Layout, kind: str) -> TablePricer | HullPricer:
    return TablePricer(layout) if kind == "table" else HullPricer(layout)


def start_pool(layout: Layout) -> Pool:
    """A pool holding the comonotone law's support, a feasible basis."""
    m = layout.marginals()
    configs = comonotone(m)
    return Pool(configs, *evaluate(layout, configs), m)
