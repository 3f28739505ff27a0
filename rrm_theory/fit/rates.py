"""Fitting the evaluators' error rates of a spec from labelled data (docs/fit.md).

MODEL.md section 2.3: node v's evaluator passes its input U_v through its error
channel, ``false_accept = P(W = 1 | U = 0)`` and ``false_reject = P(W = 0 | U = 1)``.
At a leaf U_v = Y_v, so labels against the truth estimate the channel. At an internal
node the truth also carries the children's errors: its channel is estimated against
its input where the table gives ``input``; without it, the node's labels against gold
give only its observed rates, P(V = 1 | Y = 0) and P(V = 0 | Y = 1), which are
reported but not written into the spec as channel rates.

Per node, items whose reference (the truth, or the input) is known count directly;
the others are fitted by two-coin Dawid-Skene EM over the node's workers, started from
the gold estimates (:mod:`rrm_theory.fit._em`). Every rate gets a Beta posterior:
``Beta(a + f k, b + f (n - k))`` for a ``Beta(a, b)`` prior, ``k`` of ``n`` expected
errors and ``f`` the share of information the labels keep (1 with gold only: the
closed-form posterior). A node's rates pool its workers' labels; each worker's own are
reported too.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
from pathlib import Path
from typing import Any, Mapping

import networkx as nx
import numpy as np
import pandas as pd
from scipy.special import betaincinv

from .._text import quote
from ..errors import SpecError
from ..spec import from_dict, load_spec, load_spec_dict, to_dict
from ..tree import bfs_order, tree_root
from ._em import two_coin_em
from ._table import Table, file_label, first_rows, read_table, table_from_frame
from .results import Fit, NodeFit, Rate, WorkerFit

__all__ = ["fit_rates", "DEFAULT_MAX_ITER", "DEFAULT_TOL"]

#: EM stops after this many iterations (a node that has not settled is reported as not converged).
DEFAULT_MAX_ITER = 1000
#: EM has converged at a node when no parameter of it moves by more than this in one iteration.
DEFAULT_TOL = 1e-6


def fit_rates(
    labels: pd.DataFrame | str | os.PathLike[str],
    spec: nx.DiGraph | Mapping[str, Any] | str | os.PathLike[str],
    *,
    level: float = 0.95,
    prior: tuple[float, float] = (1.0, 1.0),
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
) -> Fit:
    """Fit every labelled node's ``false_accept`` and ``false_reject`` (docs/fit.md).

    Parameters
    ----------
    labels : pandas.DataFrame or path
        The label table: a CSV file (:func:`~rrm_theory.fit.read_labels`), or a
        DataFrame with its columns ``task, node, worker, label`` and optionally
        ``gold``, ``input`` (binary; missing = unknown).
    spec : networkx.DiGraph, mapping or path
        The tree whose nodes the labels name: a tree, a spec dictionary or a spec
        file. The fitted spec keeps what it says and writes the fitted rates in.
    level : float
        The credible level of the intervals, in (0, 1).
    prior : (float, float)
        ``(a, b)`` of the Beta prior of every rate (default uniform), both > 0.
    max_iter : int
        The most EM iterations.
    tol : float
        EM has converged at a node when no parameter of it moves by more than this.

    Returns
    -------
    Fit
        The pooled and per-worker rates of each labelled node, and the fitted spec
        (:meth:`Fit.fitted_spec`, :meth:`Fit.dumps_spec`, :meth:`Fit.write_spec`).

    Raises
    ------
    SpecError
        If the spec or the table is not valid: one line naming the file, the line
        (or row) and the column; a node the spec does not have, and ``input`` given
        on a leaf (its input is the work itself: give ``gold``), included.
    ValueError
        If ``level``, ``prior``, ``max_iter`` or ``tol`` is out of range.

    References
    ----------
    A. P. Dawid, A. M. Skene (1979). Maximum likelihood estimation of observer
    error-rates using the EM algorithm. Journal of the Royal Statistical Society C
    28(1), 20-28.
    T. A. Louis (1982). Finding the observed information matrix when using the EM
    algorithm. Journal of the Royal Statistical Society B 44(2), 226-233.

    Examples
    --------
    Two workers label a leaf's work on four tasks; the truth is known on all of them,
    so the posteriors are the closed-form ones, Beta(1 + errors, 1 + correct):

    >>> import pandas as pd
    >>> spec = {"defaults": {"error": 0.1, "prior": 0.5},
    ...         "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict"}}}
    >>> labels = pd.DataFrame({
    ...     "task": ["t1", "t2", "t3", "t4"] * 2, "node": "heat",
    ...     "worker": ["ann"] * 4 + ["bob"] * 4,
    ...     "label": [1, 0, 0, 1, 1, 1, 0, 1], "gold": [1, 0, 0, 1] * 2})
    >>> fit = fit_rates(labels, spec)
    >>> heat = fit.evaluators["heat"]
    >>> heat.false_accept.beta, heat.workers["bob"].false_accept.beta
    ((2.0, 4.0), (2.0, 2.0))
    >>> round(heat.false_accept.estimate, 4), [round(x, 4) for x in heat.false_accept.interval]
    (0.3333, [0.0527, 0.7164])
    >>> print(fit.dumps_spec())  # doctest: +ELLIPSIS
    # Fitted by rrm-theory ... (rrm-theory fit, docs/fit.md). Labels: labels; spec: tree.
    # Written: the channel error rates of heat, as posterior means; [uncertainty] holds their Beta
    # posteriors (prior Beta(1, 1) on every rate; labels without a known reference fitted by two-coin
    # Dawid-Skene EM, their counts scaled by the share of information they keep).
    # Not labelled, kept as in the spec: verdict.
    <BLANKLINE>
    [defaults]
    error = 0.1
    prior = 0.5
    <BLANKLINE>
    [nodes.verdict]
    rule = "all"
    <BLANKLINE>
    [nodes.heat]
    parent = "verdict"
    false_accept = 0.3333333333333333
    false_reject = 0.16666666666666666
    <BLANKLINE>
    [uncertainty.nodes.heat]
    false_accept = { beta = [2.0, 4.0] }
    false_reject = { beta = [1.0, 5.0] }
    <BLANKLINE>
    """
    level, prior = _check_options(level, prior, max_iter, tol)
    tree, base, spec_source, generated = _read_spec(spec)
    table = read_table(labels) if isinstance(labels, (str, os.PathLike)) else table_from_frame(labels)
    order = [v for v, _ in bfs_order(tree, tree_root(tree))]
    leaves = {v for v in order if tree.out_degree(v) == 0}
    _check_nodes(table, order, tree.graph.get("name", "tree"))
    leaf = np.array([table.nodes[i] in leaves for i in range(len(table.nodes))], dtype=bool)
    on_leaf = (table.input >= 0) & leaf[table.node]
    if on_leaf.any():
        k = int(np.flatnonzero(on_leaf)[0])
        raise SpecError(f"{table.at.where(k, 'input')}: node {quote(table.nodes[table.node[k]])} is a leaf, whose "
                        "input is the work itself (U = Y, MODEL.md 2.3): give its truth as gold")  # fmt: skip
    V = len(table.nodes)
    has_input = np.bincount(table.item_node[table.item_input >= 0], minlength=V) > 0
    channel_on_input = has_input & ~leaf
    known = np.where(channel_on_input[table.item_node], table.item_input, table.item_gold).astype(np.int64)
    observed = ~leaf & ~has_input
    used_item = ~observed[table.item_node] | (known >= 0)
    used = used_item[table.item]
    if V == 1:  # a slot is a worker at a node
        slot = table.worker
    else:
        slot = np.asarray(pd.factorize(table.node * len(table.workers) + table.worker)[0], dtype=np.int64)
    first_row = first_rows(slot)
    slot_node, slot_worker = table.node[first_row], table.worker[first_row]
    used_items = np.flatnonzero(used_item)
    remap = np.full(len(known), -1, dtype=np.int64)
    remap[used_items] = np.arange(len(used_items))
    em = two_coin_em(remap[table.item[used]], slot[used], table.label[used].astype(np.int64), known[used_items],
                     table.item_node[used_items], slot_node, V, prior=prior, max_iter=max_iter, tol=tol)  # fmt: skip
    evaluators = _node_fits(table, em, slot, slot_node, slot_worker, known, used_item, leaf, channel_on_input,
                            level, prior)  # fmt: skip
    ordered = {v: evaluators[v] for v in order if v in evaluators}
    return Fit(
        evaluators=ordered, level=level, prior=prior, source=table.source, spec_source=spec_source,
        unlabelled=tuple(v for v in order if v not in evaluators),
        overridden=tuple(v for v in ordered if ordered[v].written and _overridden(tree, v)),
        generated=generated, spec=base,
    )  # fmt: skip


def _check_options(level: float, prior: Any, max_iter: int, tol: float) -> tuple[float, tuple[float, float]]:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level={level!r} is not a probability strictly between 0 and 1")
    try:
        a, b = (float(x) for x in prior)
    except (TypeError, ValueError):
        raise ValueError(f"prior={prior!r} is not a pair (a, b) of numbers") from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise ValueError(f"prior={prior!r}: a Beta(a, b) prior needs finite a > 0 and b > 0")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r} is not a whole number >= 1")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol={tol!r} is not a number > 0")
    return float(level), (a, b)


def _read_spec(spec: Any) -> tuple[nx.DiGraph, dict[str, Any], str, bool]:
    """The tree, the spec dictionary the fitted spec starts from, how to name it, and
    whether it was generated (then the dictionary lists the nodes)."""
    if isinstance(spec, nx.DiGraph):
        return spec, to_dict(spec), str(spec.graph.get("name", "tree")), False
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        tree = load_spec(path)
        raw: Any = load_spec_dict(path)
        source = file_label(path)
    elif isinstance(spec, Mapping):
        tree, raw = from_dict(spec), copy.deepcopy(dict(spec))
        source = str(tree.graph["name"])
    else:
        raise TypeError(f"spec must be a tree, a spec dictionary or a path, got {type(spec).__name__}")
    if "generate" in raw:
        listed = to_dict(tree)
        if "uncertainty" in raw:
            listed["uncertainty"] = copy.deepcopy(raw["uncertainty"])
        return tree, listed, source, True
    return tree, raw, source, False


def _check_nodes(table: Table, order: list[str], name: str) -> None:
    index = {v: i for i, v in enumerate(order)}
    of = np.array([index.get(v, -1) for v in table.nodes], dtype=np.int64)
    if (of < 0).any():
        unknown = of[table.node] < 0
        k = int(np.flatnonzero(unknown)[0])
        v = table.nodes[table.node[k]]
        hint = difflib.get_close_matches(v, order, n=1)
        also = f" (did you mean {quote(hint[0])}?)" if hint else ""
        raise SpecError(f"{table.at.where(k, 'node')}: {quote(v)} is not a node of spec {quote(name)}{also}")


def _rate(k: float, n: float, share: float, prior: tuple[float, float], level: float) -> Rate:
    a = prior[0] + share * k
    b = prior[1] + share * max(n - k, 0.0)
    tail = (1 - level) / 2
    lo, hi = betaincinv(a, b, [tail, 1 - tail])
    return Rate(estimate=float(a / (a + b)), interval=(float(lo), float(hi)), beta=(float(a), float(b)),
                errors=float(k), labels=float(n), information=float(share))  # fmt: skip


def _node_fits(table: Table, em: Any, slot: np.ndarray, slot_node: np.ndarray, slot_worker: np.ndarray,
               known: np.ndarray, used_item: np.ndarray, leaf: np.ndarray, channel_on_input: np.ndarray,
               level: float, prior: tuple[float, float]) -> dict[str, NodeFit]:  # fmt: skip
    V, S = len(table.nodes), len(slot_node)

    def per(index: np.ndarray, mask: np.ndarray | None, size: int) -> np.ndarray:
        return np.bincount(index if mask is None else index[mask], minlength=size)

    used = used_item[table.item]
    latent = known[table.item] < 0
    slot_labels = per(slot, None, S)
    slot_gold = per(slot, table.item_gold[table.item] >= 0, S)
    slot_input = per(slot, table.item_input[table.item] >= 0, S)
    node_labels = per(table.node, None, V)
    node_gold = per(table.node, table.item_gold[table.item] >= 0, V)
    node_input = per(table.node, table.item_input[table.item] >= 0, V)
    node_unused = per(table.node, ~used, V)
    node_items = per(table.item_node, None, V)
    node_em_labels = per(table.node, used & latent, V)
    node_em_items = per(table.item_node, (known < 0) & used_item, V)
    c = em.counts
    pooled = np.zeros((V, 4))
    np.add.at(pooled, slot_node, c)
    workers: dict[int, dict[str, WorkerFit]] = {v: {} for v in range(V)}
    for s in range(S):
        workers[int(slot_node[s])][str(table.workers[slot_worker[s]])] = WorkerFit(
            false_accept=_rate(c[s, 0], c[s, 1], em.information[s, 0], prior, level),
            false_reject=_rate(c[s, 2], c[s, 3], em.information[s, 1], prior, level),
            labels=int(slot_labels[s]), gold=int(slot_gold[s]), input=int(slot_input[s]),
        )  # fmt: skip
    out = {}
    for v in range(V):
        channel = bool(leaf[v] or channel_on_input[v])
        out[str(table.nodes[v])] = NodeFit(
            node=str(table.nodes[v]), rates="channel" if channel else "observed",
            reference="input" if channel_on_input[v] else "truth", leaf=bool(leaf[v]),
            false_accept=_rate(pooled[v, 0], pooled[v, 1], em.pooled[v, 0], prior, level),
            false_reject=_rate(pooled[v, 2], pooled[v, 3], em.pooled[v, 1], prior, level),
            labels=int(node_labels[v]), items=int(node_items[v]), gold=int(node_gold[v]),
            input=int(node_input[v]), unused=int(node_unused[v]), em_items=int(node_em_items[v]),
            em_labels=int(node_em_labels[v]), iterations=int(em.iterations[v]), converged=bool(em.converged[v]),
            workers=workers[v],
        )  # fmt: skip
    return out


def _overridden(tree: nx.DiGraph, v: str) -> bool:
    """Whether the spec gives node v approvals besides its channel (MODEL.md 2.3, step 3)."""
    attrs = tree.nodes[v]
    if attrs.get("deception", 0.0) > 0:
        return True
    if tree.graph.get("influence", 0.0) > 0 and attrs.get("exposure", 0.0) > 0:
        return True
    return any(v in g["members"] and g["probability"] > 0 for g in tree.graph.get("blind_spots", {}).values())
