"""Exact analysis of one tree under many draws of its parameters at once (MODEL.md section 4).

The exact pass of :mod:`rrm_theory.exact` evaluates arrays of *instances* (a node
under one outcome of the shared events it conditions on). Here every instance is
evaluated under D parameter draws at once: each array gets a leading draw axis, and
the kernels (:func:`~rrm_theory._kernel.node_input`, :func:`~rrm_theory._kernel.evaluator`)
see ``D x instances`` rows. The tree's structure (its rules, which shared events each
node conditions on) is the same for every draw and is set up once, from a *structural*
tree in which every shared-event probability or exposure that varies between draws is
put at 1/2 (so it is conditioned on, as it is in each draw, where it lies strictly
between 0 and 1); the per-draw weights of the outcomes (``log_weight``, ``log_lift``)
and the per-draw chance that no override fires (``log_keep``) are then computed from
the draws. A probability that is the same in every draw keeps its value, so the
constants 0 and 1 are handled as exact analysis handles them.

Per draw, the numbers are those of :func:`~rrm_theory.exact_analysis` on the tree with
that draw written in, up to rounding (the same operations in the same order, row by
row). Draws are processed in chunks that bound memory; chunking changes no number.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from ._compile import Compiled
from ._conditioning import Instances, shared_events
from ._kernel import evaluator, node_input
from .exact import _SLICE_STATES, _check_work, _jury, _mix, _rule_groups, rule_states
from ._jury import iid_instances
from .results import METRICS

__all__ = ["Varying", "root_metrics_batched"]

_NODE_KEYS = ("prior", "coverage", "false_accept", "false_reject", "deception", "audit", "exposure")
#: Instance-draws per chunk: about 120 MB of laws at this many.
_CHUNK = 1 << 19


@dataclass
class Varying:
    """Per-draw values of a compiled tree's parameters, each an array of shape (D,).

    ``nodes[key][i]`` replaces ``c.<key>[i]`` (node index i, breadth-first); ``influence``
    replaces ``c.influence``; ``groups[j]`` replaces the probability of ``c.groups[j]``.
    """

    draws: int
    nodes: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    influence: np.ndarray | None = None
    groups: dict[int, np.ndarray] = field(default_factory=dict)


def _constant(x: np.ndarray) -> bool:
    return bool(len(x)) and bool(np.all(x == x[0]))


def _structure(c: Compiled, v: Varying) -> Compiled:
    """The tree whose shared events are those of every draw: a varying probability is put at
    1/2, a probability that is the same in every draw keeps its value."""
    exposure = c.exposure.copy()
    for i, x in v.nodes.get("exposure", {}).items():
        exposure[i] = x[0] if _constant(x) else 0.5
    influence = c.influence
    if v.influence is not None:
        influence = float(v.influence[0]) if _constant(v.influence) else 0.5
    groups = [
        (g, (float(v.groups[j][0]) if _constant(v.groups[j]) else 0.5) if j in v.groups else p, members)
        for j, (g, p, members) in enumerate(c.groups)
    ]
    return replace(c, exposure=exposure, influence=influence, groups=tuple(groups))


def _columns(c: Compiled, v: Varying, lo: int, hi: int) -> dict[str, np.ndarray]:
    """Every node parameter for draws lo:hi, shape (hi - lo, n)."""
    out = {}
    for key in _NODE_KEYS:
        base = getattr(c, key)
        changed = v.nodes.get(key)
        if not changed:
            out[key] = np.broadcast_to(base, (hi - lo, c.size))
            continue
        col = np.repeat(base[None, :], hi - lo, axis=0)
        for i, x in changed.items():
            col[:, i] = x[lo:hi]
        out[key] = col
    return out


@dataclass
class _EventLayout:
    """Per instance: whether the event is conditioned on, fired, passed up, and acts on the node."""

    in_u: np.ndarray
    fired: np.ndarray
    lifted: np.ndarray  # conditioned on but not passed up: mixed over when lifting
    acting: np.ndarray
    influence: bool
    source: int  # -1: the influence event; else the blind-spot group's index in c.groups


def _layouts(plan: Instances, events, c: Compiled) -> list[_EventLayout]:  # type: ignore[no-untyped-def]
    if plan.trivial:
        return []
    sources = []
    if events.is_influence and events.is_influence[0]:
        sources.append(-1)
    sources += [j for j, (_, p, _) in enumerate(c.groups) if 0.0 < p < 1.0]
    n, k = c.size, len(events)
    pos = np.full((k, n), -1, dtype=np.int64)  # the event's bit in the node's outcome index
    passed = np.zeros((k, n), dtype=bool)
    for v, conditioned in enumerate(plan.U):
        for bit, e in enumerate(conditioned):
            pos[e, v] = bit
            passed[e, v] = e in plan.E[v]
    node_of, local = plan.node_of, plan.local
    out = []
    for e, members in enumerate(events.members):
        member = np.zeros(n, dtype=bool)
        member[members] = True
        p = pos[e, node_of]
        in_u = p >= 0
        fired = in_u & (((local >> np.maximum(p, 0)) & 1) == 1)
        out.append(_EventLayout(in_u, fired, in_u & ~passed[e, node_of], in_u & member[node_of],
                                bool(events.is_influence[e]), sources[e]))  # fmt: skip
    return out


def root_metrics_batched(
    c: Compiled, varying: Varying, *, max_shared_events: int = 16, max_instances: int = 2**22,
    max_work: int = 2**30, chunk: int = _CHUNK,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The root metrics (MODEL.md section 3) of every draw: metric -> array of shape (D,), NaN
    where undefined. Refuses (:class:`~rrm_theory.errors.ExactRefused`) past the limits of
    :func:`~rrm_theory.exact_analysis`, as exact analysis of one draw would."""
    struct = _structure(c, varying)
    events = shared_events(struct)
    plan = Instances(struct, events, max_shared_events=max_shared_events, max_instances=max_instances)
    groups, work = _rule_groups(plan, max_work)
    layouts = _layouts(plan, events, struct)
    D = varying.draws
    out = {m: np.empty(D) for m in METRICS}
    step = max(1, chunk // max(plan.total, 1))
    for lo in range(0, D, step):
        hi = min(D, lo + step)
        got = _chunk(struct, plan, events, layouts, groups, work, max_work, varying, lo, hi)
        for m in METRICS:
            out[m][lo:hi] = got[m]
    return out


def _event_probability(struct: Compiled, varying: Varying, layout: _EventLayout, lo: int, hi: int) -> np.ndarray:
    if layout.source < 0:
        x = varying.influence
        return np.full(hi - lo, struct.influence) if x is None else x[lo:hi]
    x = varying.groups.get(layout.source)
    return np.full(hi - lo, struct.groups[layout.source][1]) if x is None else x[lo:hi]


def _chunk(struct, plan, events, layouts, groups, work, max_work, varying, lo, hi):  # type: ignore[no-untyped-def]
    """The exact pass (exact._evaluate) for draws lo:hi, every array with a leading draw axis."""
    c = struct
    P = _columns(c, varying, lo, hi)
    Dc = hi - lo
    node_of = plan.node_of
    with np.errstate(divide="ignore"):
        base = np.log1p(-P["deception"])
        log_stay = np.log1p(-P["exposure"])
        if events.influence_always:
            base = base + log_stay
        base = np.where(events.forced, -np.inf, base)
        log_keep = base[:, node_of]
        log_weight = np.zeros((Dc, plan.total))
        log_lift = np.zeros((Dc, plan.total))
        for lay in layouts:  # events in global order, as Instances adds them
            p = _event_probability(struct, varying, lay, lo, hi)
            term = np.where(lay.fired, np.log(p)[:, None], np.log1p(-p)[:, None])
            log_weight += np.where(lay.in_u, term, 0.0)
            log_lift += np.where(lay.lifted, term, 0.0)
            acts = lay.acting & lay.fired
            if lay.influence:
                log_keep += np.where(acts, log_stay[:, node_of], 0.0)
            else:
                log_keep = np.where(acts, -np.inf, log_keep)
    I = plan.total
    lp = np.empty((Dc, I, 2))
    pv = np.empty((Dc, I, 2, 2))
    pr = np.empty((Dc, I, 2, 2))
    if plan.trivial:
        lp_up, pr_up = lp, pr
    else:
        lp_up, pr_up = np.empty((Dc, plan.up_total, 2)), np.empty((Dc, plan.up_total, 2, 2))

    def finish(inst: np.ndarray, lp_inst: np.ndarray, pu: np.ndarray) -> None:
        node = node_of[inst]
        g = len(inst)
        lp[:, inst] = lp_inst
        flat = lambda a: a[:, node].reshape(-1)  # noqa: E731
        v, r = evaluator(pu.reshape(Dc * g, 2, 2), flat(P["false_accept"]), flat(P["false_reject"]),
                         log_keep[:, inst].reshape(-1), flat(P["audit"]))  # fmt: skip
        pv[:, inst] = v.reshape(Dc, g, 2, 2)
        pr[:, inst] = r.reshape(Dc, g, 2, 2)
        if not plan.trivial:
            _lift(plan, inst, lp, pr, lp_up, pr_up, log_lift)

    inst = plan.of(np.flatnonzero(c.is_leaf))
    prior = P["prior"][:, node_of[inst]]
    with np.errstate(divide="ignore"):
        finish(inst, np.stack([np.log1p(-prior), np.log(prior)], axis=-1),
               np.broadcast_to(np.eye(2), (Dc, len(inst), 2, 2)))  # fmt: skip
    work_per_draw = np.full(Dc, work)
    for nodes, weights, T in groups:
        all_inst = plan.of(nodes)
        g, n = len(all_inst), len(weights)
        widest, per_instance = rule_states(weights, T)
        kids = plan.children(all_inst, n)
        lpk = lp_up[:, kids].reshape(Dc * g, n, 2)
        prk = pr_up[:, kids].reshape(Dc * g, n, 2, 2)
        if _jury(weights):  # children alike in a draw take the closed form; the others must fit the budget
            work_per_draw += (~iid_instances(lpk, prk)).reshape(Dc, g).sum(axis=1) * per_instance
            _check_work(c, int(work_per_draw.max()), max_work)
        coverage = P["coverage"][:, node_of[all_inst]].reshape(-1)
        lp_in, pu_in = np.empty((Dc * g, 2)), np.empty((Dc * g, 2, 2))
        step = max(1, _SLICE_STATES // (widest * widest))
        for s in range(0, Dc * g, step):
            part = slice(s, s + step)
            lp_in[part], pu_in[part] = node_input(lpk[part], prk[part], weights, T, coverage[part])
        finish(all_inst, lp_in.reshape(Dc, g, 2), pu_in.reshape(Dc, g, 2, 2))
    return _root(plan, lp, pv, log_weight)


def _lift(plan: Instances, inst: np.ndarray, lp: np.ndarray, pr: np.ndarray, lp_up: np.ndarray,
          pr_up: np.ndarray, log_lift: np.ndarray) -> None:  # fmt: skip
    """exact._lift with a draw axis: each draw's instances are mixed on their own."""
    keys = plan.up_index[inst]
    unique, inverse = np.unique(keys, return_inverse=True)
    if len(unique) == len(keys):
        lp_up[:, keys], pr_up[:, keys] = lp[:, inst], pr[:, inst]
        return
    Dc, g, k = lp.shape[0], len(inst), len(unique)
    w = (log_lift[:, inst][..., None] + lp[:, inst]).reshape(Dc * g, 2)
    segment = (np.arange(Dc)[:, None] * k + inverse[None, :]).reshape(-1)
    a, b = _mix(w, pr[:, inst].reshape(Dc * g, 2, 2), segment, Dc * k)
    lp_up[:, unique], pr_up[:, unique] = a.reshape(Dc, k, 2), b.reshape(Dc, k, 2, 2)


def _root(plan: Instances, lp: np.ndarray, pv: np.ndarray, log_weight: np.ndarray) -> Mapping[str, np.ndarray]:
    """exact._node_metrics at the root, per draw."""
    Dc = lp.shape[0]
    if plan.trivial:
        ly, cond = lp[:, 0], pv[:, 0]
    else:
        inst = plan.of(np.array([0]))
        r = len(inst)
        w = (log_weight[:, inst][..., None] + lp[:, inst]).reshape(Dc * r, 2)
        ly, cond = _mix(w, pv[:, inst].reshape(Dc * r, 2, 2), np.repeat(np.arange(Dc), r), Dc)
    bad, good = np.isfinite(ly[:, 0]), np.isfinite(ly[:, 1])
    fa = np.where(bad, cond[:, 0, 1], np.nan)
    fr = np.where(good, cond[:, 1, 0], np.nan)
    error = np.exp(ly[:, 0]) * np.where(bad, fa, 0.0) + np.exp(ly[:, 1]) * np.where(good, fr, 0.0)
    return {"p_good": np.exp(ly[:, 1]), "error": error, "false_accept": fa, "false_reject": fr,
            "youden": 1.0 - fa - fr}  # fmt: skip
