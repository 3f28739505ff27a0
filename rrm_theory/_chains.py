"""Runs of one-child nodes (chains) in a few array operations (exact analysis, MODEL.md section 4).

A node with one child passes the child's report through its rule (every rule of one
child is the identity), so its law is a fixed linear map of its child's: with
``J[y, x] = P(Y = y, R = x)`` as two rows,

    J_v[1] = coverage_v * J_c[1] @ E_v(1)
    J_v[0] = (J_c[0] + (1 - coverage_v) * J_c[1]) @ E_v(0)

where ``E_v(y)[u, x] = P(R_v = x | U_v = u, Y_v = y)`` is the node's evaluator (error
channel, overrides, audit; a stochastic 2x2 matrix). A run of such nodes composes
these maps, and composition is associative: a *segmented scan* over the runs gives
every node's map from the state below its run (its "anchor") in a few dozen array
operations, whatever the length. The exact pass then applies each node's map to
its anchor's state, which is known once the anchor's group is done, instead of
one round of array operations per level.

The maps are carried in the engine's representation (:mod:`rrm_theory._kernel`): a
composite from the anchor to a node is

* ``C[0]``, ``C[1]``: products of the ``E(0)``'s and of the ``E(1)``'s (stochastic),
* ``log c`` (a pair of doubles): the log of the product of the coverages, the
  probability that no node of the stretch has an uncovered defect,
* ``log(1 - c)``, carried directly (``1 - c_x c_z = (1 - c_x) + c_x (1 - c_z)``, a sum
  of non-negative terms), and ``C[2]``: the law of the report given a truth that was 1
  at the anchor and is 0 at the node (some defect uncovered on the way), stochastic.

Every entry is a sum of products of non-negative numbers: no subtraction, no
cancellation, and the scan rounds each composite about ``2 sqrt(L)`` times rather
than once per level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._logpair import add, log_pair, log1m_pair, lse2

__all__ = ["CHAIN_MIN", "Runs", "find_runs", "by_anchor_step", "composites", "apply"]

#: The shortest run of one-child nodes that the scan takes (shorter ones go level by level).
CHAIN_MIN = 8
_SMALL = 64  # scans of at most this many maps use pointer doubling instead of blocks


@dataclass
class Runs:
    """The one-child nodes taken by the scan, run by run, each run bottom first.

    Attributes
    ----------
    nodes : ndarray of int64
        The nodes, each run contiguous, from the node just above its anchor up.
    start : ndarray of bool
        True where a run begins (the node's child is the anchor).
    anchor : ndarray of int64
        Each node's anchor: the child of its run's bottom node.
    """

    nodes: np.ndarray
    start: np.ndarray
    anchor: np.ndarray


def find_runs(c, chainable: np.ndarray, minimum: int = CHAIN_MIN) -> Runs | None:  # type: ignore[no-untyped-def]
    """The runs of at least ``minimum`` nodes among ``chainable`` ones (one child each), or None.

    ``chainable`` is a boolean mask over the nodes. A run is a maximal path of chainable
    nodes, each the only child of the next.
    """
    cand = np.flatnonzero(chainable)
    if len(cand) < minimum:
        return None
    parent = c.parent[cand]
    up_ok = parent >= 0
    up_ok[up_ok] = chainable[parent[up_ok]]
    top = np.where(up_ok, parent, cand)  # pointer towards the run's top node
    where = np.full(c.size, -1, dtype=np.int64)
    where[cand] = np.arange(len(cand))
    ptr = np.where(up_ok, where[np.maximum(parent, 0)], np.arange(len(cand)))  # positions in cand
    while True:  # pointer doubling: every node learns its run's top
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):
            break
        ptr = nxt
    top = cand[ptr]
    length = np.bincount(ptr, minlength=len(cand))[ptr]
    keep = length >= minimum
    if not keep.any():
        return None
    cand, top = cand[keep], top[keep]
    n = np.int64(c.size)
    order = np.argsort(top * n + (n - 1 - cand), kind="stable")  # by run, then from the bottom (highest index)
    nodes = cand[order]
    start = np.ones(len(nodes), dtype=bool)
    start[1:] = top[order][1:] != top[order][:-1]
    bottom = np.flatnonzero(start)
    anchor = np.repeat(c.first_child[nodes[bottom]], np.diff(np.append(bottom, len(nodes))))
    return Runs(nodes=nodes, start=start, anchor=anchor)


def by_anchor_step(c, runs: Runs, groups: list) -> dict[int, np.ndarray]:  # type: ignore[no-untyped-def, type-arg]
    """Positions in ``runs`` by the step that finishes their anchors (0: the leaves; k: the k-th of
    ``groups``, each ``(nodes, weights, threshold)``), each run still contiguous and bottom first."""
    step_of = np.zeros(c.size, dtype=np.int64)
    for k, (nodes, _, _) in enumerate(groups, 1):
        step_of[nodes] = k
    anchor_step = step_of[runs.anchor]
    order = np.argsort(anchor_step, kind="stable")  # runs stay contiguous: their nodes share the anchor
    bounds = np.searchsorted(anchor_step[order], np.arange(len(groups) + 2)).tolist()
    return {k: order[lo:hi] for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])) if hi > lo}


@dataclass
class _Maps:
    """Composite maps, one per row: ``C`` (m, k, 2, 2) with k = 2 (every coverage 1) or 3,
    ``lc``/``lcq`` log c as pairs and ``l1m`` log(1 - c) (None when every coverage is 1)."""

    C: np.ndarray
    lc: np.ndarray | None = None
    lcq: np.ndarray | None = None
    l1m: np.ndarray | None = None

    def take(self, index) -> _Maps:  # type: ignore[no-untyped-def]
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return _Maps(self.C[index], pick(self.lc), pick(self.lcq), pick(self.l1m))

    def copy(self) -> _Maps:
        dup = lambda a: None if a is None else a.copy()  # noqa: E731
        return _Maps(self.C.copy(), dup(self.lc), dup(self.lcq), dup(self.l1m))

    def reshape(self, *shape: int) -> _Maps:
        r = lambda a: None if a is None else a.reshape(shape)  # noqa: E731
        return _Maps(self.C.reshape(shape + self.C.shape[-3:]), r(self.lc), r(self.lcq), r(self.l1m))


def _compose(x: _Maps, z: _Maps) -> _Maps:
    """``x`` then ``z`` (x nearer the anchor), row by row."""
    if x.lc is None:
        return _Maps(x.C @ z.C)
    P = x.C[..., [0, 1, 2, 1], :, :] @ z.C[..., [0, 1, 0, 2], :, :]
    lc, lcq = add(x.lc, x.lcq, z.lc, z.lcq)  # type: ignore[arg-type]
    through = x.lc + z.l1m  # covered up to z, uncovered in z
    with np.errstate(invalid="ignore"):
        l1m = np.logaddexp(x.l1m, through)
        empty = np.isneginf(l1m)
        safe = np.where(empty, 0.0, l1m)
        w1 = np.where(empty, 1.0, np.exp(x.l1m - safe))
        w2 = np.where(empty, 0.0, np.exp(through - safe))
    C = P[..., :3, :, :].copy()
    C[..., 2, :, :] = w1[..., None, None] * P[..., 2, :, :] + w2[..., None, None] * P[..., 3, :, :]
    return _Maps(C, lc, lcq, l1m)


def _identity(m: int, covered: bool) -> _Maps:
    k = 3 if covered else 2
    C = np.broadcast_to(np.eye(2), (m, k, 2, 2)).copy()
    if not covered:
        return _Maps(C)
    return _Maps(C, np.zeros(m), np.zeros(m), np.full(m, -np.inf))


def _scan(maps: _Maps, start: np.ndarray) -> _Maps:
    """Segmented inclusive scan: row j becomes the composite from its segment's first row to j."""
    m = len(start)
    if m <= _SMALL:  # pointer doubling (Hillis-Steele)
        out = maps.copy()
        done = start.copy()
        d = 1
        while not done.all():
            todo = np.flatnonzero(~done)
            todo = todo[todo >= d]
            _assign(out, todo, _compose(out.take(todo - d), out.take(todo)))
            done[todo] = done[todo - d]
            d *= 2
        return out
    B = int(np.ceil(np.sqrt(m)))  # blocks of B: B rounds within them, then the blocks' totals
    nb = -(-m // B)
    pad = nb * B - m
    if pad:
        ident = _identity(pad, maps.lc is not None)
        join = lambda a, b: None if a is None else np.concatenate([a, b])  # noqa: E731
        maps = _Maps(join(maps.C, ident.C), join(maps.lc, ident.lc), join(maps.lcq, ident.lcq),
                     join(maps.l1m, ident.l1m))  # fmt: skip
        start = np.concatenate([start, np.ones(pad, dtype=bool)])
    else:
        maps = maps.copy()
    local = maps.reshape(nb, B)
    flags = start.reshape(nb, B)
    for k in range(1, B):  # within the blocks, all blocks at once
        go = ~flags[:, k]
        rows = slice(None) if go.all() else np.flatnonzero(go)  # (a slice: views, not copies)
        if not isinstance(rows, np.ndarray) or len(rows):
            _assign(local, (rows, k), _compose(local.take((rows, k - 1)), local.take((rows, k))))
    begun = np.logical_or.accumulate(flags, axis=1)  # a segment starts in the block at or before k
    totals = _scan(local.take((slice(None), B - 1)), begun[:, B - 1])
    flat = local.reshape(nb * B)
    go = B + np.flatnonzero(~begun[1:].reshape(-1))  # rows whose segment began in an earlier block
    if len(go):
        _assign(flat, go, _compose(totals.take(go // B - 1), flat.take(go)))
    return flat.take(slice(0, m))


def _assign(maps: _Maps, index, value: _Maps) -> None:  # type: ignore[no-untyped-def]
    maps.C[index] = value.C
    if maps.lc is not None:
        maps.lc[index], maps.lcq[index], maps.l1m[index] = value.lc, value.lcq, value.l1m  # type: ignore[index]


def composites(c, runs: Runs, log_keep: np.ndarray) -> _Maps:  # type: ignore[no-untyped-def]
    """Every run node's map from its anchor's state (``log_keep``: each node's log P(no override))."""
    v = runs.nodes
    m = len(v)
    fa, fr, a = c.false_accept[v], c.false_reject[v], c.audit[v]
    keep = np.exp(log_keep)
    fire = -np.expm1(log_keep)
    V = np.empty((m, 2, 2))  # V[u, x] = P(V = x | U = u)
    V[:, 0, 0], V[:, 0, 1] = keep * (1.0 - fa), keep * fa + fire
    V[:, 1, 0], V[:, 1, 1] = keep * fr, keep * (1.0 - fr) + fire
    cov = c.coverage[v]
    covered = bool((cov != 1.0).any())
    C = np.empty((m, 3 if covered else 2, 2, 2))
    for y in (0, 1):
        np.multiply(V, (1.0 - a)[:, None, None], out=C[:, y])
        C[:, y, :, y] += a[:, None]  # the audit reveals the node's truth
    if not covered:
        return _scan(_Maps(C), runs.start)
    C[:, 2] = C[:, 0]  # a defect uncovered at the node: the truth is 0 there
    lc, lcq = log_pair(cov)
    l1m, _ = log1m_pair(cov)
    return _scan(_Maps(C, lc, lcq, l1m), runs.start)


def apply(maps: _Maps, lp: np.ndarray, lq: np.ndarray, pr: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The states ``maps`` make from the anchors' (``lp``, ``lq`` (m, 2) log P(Y = y) as pairs,
    ``pr`` (m, 2, 2) P(R = x | Y = y)): the nodes' ``lp``, ``lq`` and ``pr`` (not normalised)."""
    out_pr = np.empty_like(pr)
    out_pr[:, 1] = (pr[:, 1, None, :] @ maps.C[:, 1])[:, 0]
    if maps.lc is None:  # every coverage 1: the truths pass through
        out_pr[:, 0] = (pr[:, 0, None, :] @ maps.C[:, 0])[:, 0]
        return lp.copy(), lq.copy(), out_pr
    lp1, lq1 = add(lp[:, 1], lq[:, 1], maps.lc, maps.lcq)  # type: ignore[arg-type]
    lost, lost_q = add(lp[:, 1], lq[:, 1], maps.l1m, 0.0)  # type: ignore[arg-type]
    lp0, lq0, w_kept, w_lost = lse2(lp[:, 0], lq[:, 0], lost, lost_q)
    kept_row = (pr[:, 0, None, :] @ maps.C[:, 0])[:, 0]
    lost_row = (pr[:, 1, None, :] @ maps.C[:, 2])[:, 0]
    out_pr[:, 0] = w_kept[:, None] * kept_row + w_lost[:, None] * lost_row  # type: ignore[index]
    return np.stack([lp0, lp1], axis=1), np.stack([lq0, lq1], axis=1), out_pr
