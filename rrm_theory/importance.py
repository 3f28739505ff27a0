"""Which evaluator matters: importance of every node for the root verdict (docs/bounds.md section 6).

The root ``false_accept`` and ``false_reject`` are affine in every single rate
of every node (each episode's probability has one factor per Bernoulli
variable), so derivatives are exact differences and "what if this evaluator
were perfect" is exact too.

Method
    For trees without shared events, one reverse (adjoint) pass after the
    exact pass. With ``D_v[y, r] = d metric / d P(R_v = r | Y_v = y)``:
    the root starts from the metric itself; a node passes to child c

        D_c[y_c, r_c] = sum_{y, u} D^U_v[y, u] * P(Y_c = y_c | Y_v = y) * P(U_v = u | Y_v = y, child c := (y_c, r_c))

    (the node's input law is linear in each child's report law), where the
    last factor comes from rerunning the node's rule with the child held at
    (y_c, r_c); ``D^U_v`` is ``D_v`` pulled back through the audit and the
    evaluator's channel. Every factor is a conditional probability, so the pass
    is as safe for deep trees as the exact one. With shared events the
    derivative of each rate is computed as the difference of two exact
    analyses (rate 1 and rate 0), which is exact but costs 9 analyses per node.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Hashable

import networkx as nx
import numpy as np

from ._kernel import apply_coverage, held_rule
from ._compile import Compiled, compile_tree
from .errors import ExactRefused, RRMError
from .exact import Forward, analysis_from, exact_analysis, forward
from .results import Metrics

__all__ = ["PARAMETERS", "NodeImportance", "Importance", "importance"]

#: The rates whose derivatives are reported.
PARAMETERS = ("false_accept", "false_reject", "deception", "audit")


@dataclass(frozen=True)
class NodeImportance:
    """Importance measures of one node for the root verdict (None = undefined).

    Attributes
    ----------
    node : hashable
    d_false_accept, d_false_reject : dict
        Derivative of the root metric with respect to each of the node's rates
        (:data:`PARAMETERS`); ``d_false_accept["false_accept"]`` is the node's
        Birnbaum importance. The root has no audit derivative (None).
    false_accept_if_perfect, false_reject_if_perfect : float or None
        The root metric if this evaluator reported its input faithfully.
    false_accept_if_failed : float or None
        The root ``false_accept`` if this evaluator always approved.
    risk_reduction_worth : float or None
        ``false_accept / false_accept_if_perfect`` (None when the latter is 0).
    risk_achievement_worth : float or None
        ``false_accept_if_failed / false_accept`` (None when the latter is 0).
    intervals : dict or None
        With ``method="monte-carlo"``: a confidence interval for each of
        ``false_accept_if_perfect``, ``false_reject_if_perfect`` and
        ``false_accept_if_failed``; None for the exact methods.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> record = rrm.importance(rrm.chain(1, error=0.1, prior=0.5))["L1_0"]
    >>> round(record.d_false_accept["false_accept"], 4), round(record.false_accept_if_failed, 4)
    (0.8, 0.9)
    >>> record.to_dict()["node"]
    'L1_0'
    """

    node: Hashable
    d_false_accept: dict[str, float | None]
    d_false_reject: dict[str, float | None]
    false_accept_if_perfect: float | None
    false_reject_if_perfect: float | None
    false_accept_if_failed: float | None
    risk_reduction_worth: float | None
    risk_achievement_worth: float | None
    intervals: dict[str, tuple[float, float] | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """One item of the ``"importance"`` list of ``rrm-theory analyze --json``."""
        return {
            "node": str(self.node),
            "d_false_accept": dict(self.d_false_accept),
            "d_false_reject": dict(self.d_false_reject),
            "false_accept_if_perfect": self.false_accept_if_perfect,
            "false_reject_if_perfect": self.false_reject_if_perfect,
            "false_accept_if_failed": self.false_accept_if_failed,
            "risk_reduction_worth": self.risk_reduction_worth,
            "risk_achievement_worth": self.risk_achievement_worth,
            "intervals": None if self.intervals is None else {
                k: (None if v is None else list(v)) for k, v in self.intervals.items()
            },
        }


class Importance:
    """Importance of every node, most important first.

    Ranked by how much the root ``false_accept`` would fall if the evaluator
    were perfect (by ``false_reject`` when ``false_accept`` is undefined).
    Records are built on access; :meth:`array` gives one measure for every
    node at once, in ranked order. Built by :func:`importance`.

    Parameters
    ----------
    root : Metrics
        The root metrics of the tree as it is.
    ranked : list
        Node ids, most important first.
    arrays : dict of str to ndarray
        Each measure for every node, in ranked order: ``"d_<metric>/<rate>"``
        (NaN where undefined), ``"false_accept_if_perfect"``,
        ``"false_reject_if_perfect"``, ``"false_accept_if_failed"``, and with
        ``"monte-carlo"`` their interval ends ``"<name>:lo"`` and ``"<name>:hi"``.
    method : str
        How the measures were computed (below).
    root_node : hashable
        The root's id (it has no audit derivative).
    samples : int or None
        Episodes per Monte Carlo run.

    Attributes
    ----------
    root : Metrics
        The root metrics of the tree as it is.
    ranked : list
        Node ids, most important first.
    method : str
        ``"adjoint"`` (trees without shared events), ``"exact-extremes"``, or
        ``"monte-carlo"`` (estimates with intervals, where exact analysis declines).
    samples : int or None
        Episodes per Monte Carlo run (``"monte-carlo"`` only).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> ranked = rrm.importance(rrm.chain(1, error=0.1, prior=0.5))
    >>> ranked.ranked, ranked.method, len(ranked)
    (['L0_0', 'L1_0'], 'adjoint', 2)
    >>> ranked.array("false_accept_if_perfect").tolist()
    [0.1, 0.1]
    >>> round(ranked["L1_0"].risk_achievement_worth, 4)
    5.0
    """

    def __init__(self, root: Metrics, ranked: list[Hashable], arrays: dict[str, np.ndarray], method: str,
                 root_node: Hashable, samples: int | None = None):  # fmt: skip
        self.root, self.ranked, self.method, self.samples = root, ranked, method, samples
        self._arrays, self._index, self._root_node = arrays, {v: i for i, v in enumerate(ranked)}, root_node

    def __len__(self) -> int:
        return len(self.ranked)

    def __getitem__(self, node: Hashable) -> NodeImportance:
        return self._record(self._index[node])

    @property
    def nodes(self) -> list[NodeImportance]:
        """Every node's record, most important first."""
        return [self._record(i) for i in range(len(self.ranked))]

    def top(self, k: int) -> list[NodeImportance]:
        """The k most important nodes' records."""
        return [self._record(i) for i in range(min(k, len(self.ranked)))]

    def array(self, name: str) -> np.ndarray:
        """One measure for every node in ranked order, e.g. ``"d_false_accept/false_accept"``."""
        return self._arrays[name].copy()

    def _value(self, name: str, i: int) -> float | None:
        x = float(self._arrays[name][i])
        return None if np.isnan(x) else x

    def _record(self, i: int) -> NodeImportance:
        node = self.ranked[i]
        per = [
            {p: (None if p == "audit" and node == self._root_node else self._value(f"d_{m}/{p}", i))
             for p in PARAMETERS}
            for m in ("false_accept", "false_reject")
        ]  # fmt: skip
        fa_perfect = self._value("false_accept_if_perfect", i)
        fa_failed = self._value("false_accept_if_failed", i)
        intervals = None
        if self.method == "monte-carlo":
            intervals = {}
            for name in _SAMPLED:
                lo, hi = self._value(f"{name}:lo", i), self._value(f"{name}:hi", i)
                intervals[name] = None if lo is None or hi is None else (lo, hi)
        return NodeImportance(
            node=node,
            d_false_accept=per[0],
            d_false_reject=per[1],
            false_accept_if_perfect=fa_perfect,
            false_reject_if_perfect=self._value("false_reject_if_perfect", i),
            false_accept_if_failed=fa_failed,
            risk_reduction_worth=_ratio(self.root.false_accept, fa_perfect),
            risk_achievement_worth=_ratio(fa_failed, self.root.false_accept),
            intervals=intervals,
        )

    def to_list(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The ``"importance"`` list of ``rrm-theory analyze --json`` (the first ``limit``)."""
        return [r.to_dict() for r in (self.nodes if limit is None else self.top(limit))]


def importance(
    tree: nx.DiGraph | Compiled,
    *,
    method: str = "auto",
    samples: int = 100_000,
    rng: np.random.Generator | np.random.SeedSequence | int | None = None,
    confidence: float = 0.95,
    max_nodes_with_shared_events: int = 2000,
    max_sampled_nodes: int = 500,
) -> Importance:
    """Importance of every evaluator for the root's false accept and false reject rates.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`) when it has
        no shared events (the adjoint method; the other methods edit copies of the graph).
    method : {"auto", "exact", "monte-carlo"}, keyword-only
        ``"exact"``: the adjoint pass, or with shared events exact differences
        (9 analyses per node). ``"monte-carlo"``: for every evaluator, the root
        rates if it were perfect and if it always approved, each estimated by its
        own Monte Carlo run of ``samples`` episodes, with intervals (derivatives
        are not estimated: None). ``"auto"`` (default): exact, or Monte Carlo
        where exact analysis declines the tree.
    samples : int, keyword-only
        Episodes per Monte Carlo run (2 runs per node, plus one of the tree).
    rng : Generator, SeedSequence, int or None, keyword-only
        Seed of the Monte Carlo runs; run k draws from the k-th child of
        ``SeedSequence(seed)``, so the numbers do not depend on anything else.
    confidence : float, keyword-only
        Level of the Monte Carlo intervals (Wilson).
    max_nodes_with_shared_events : int, keyword-only
        Trees with shared events take 9 exact analyses per node; refuse above
        this many nodes.
    max_sampled_nodes : int, keyword-only
        Refuse Monte Carlo importance above this many nodes.

    Returns
    -------
    Importance

    Raises
    ------
    ValueError
        For an unknown ``method``, or (Monte Carlo) an option out of range or a
        negative seed.
    TypeError
        (Monte Carlo) For an ``rng`` that is not a Generator, SeedSequence, int or None;
        for a compiled tree where the graph is needed.
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExactRefused
        With ``method="exact"``, where exact analysis declines the tree.
    RRMError
        Past ``max_nodes_with_shared_events`` or ``max_sampled_nodes``.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/chip-design.toml")
    >>> ranked = rrm.importance(tree)
    >>> top = ranked.nodes[0]
    >>> top.node, round(top.false_accept_if_perfect, 4) < round(ranked.root.false_accept, 4)
    ('design', True)
    >>> sampled = rrm.importance(tree, method="monte-carlo", samples=50_000, rng=1)
    >>> sampled.nodes[0].node, sampled.method
    ('design', 'monte-carlo')
    """
    if method not in ("auto", "exact", "monte-carlo"):
        raise ValueError(f"method={method!r} is not one of 'auto', 'exact', 'monte-carlo'")
    if method != "monte-carlo":
        try:
            run = forward(tree)
        except ExactRefused:
            if method == "exact":
                raise
        else:
            return _exact_importance(tree, run, max_nodes_with_shared_events)
    return _sampled_importance(tree, samples, rng, confidence, max_sampled_nodes)


def _exact_importance(tree: nx.DiGraph, run: Forward, max_nodes: int) -> Importance:
    analysis = analysis_from(tree, run)
    root = analysis.root
    if run.plan.trivial:
        arrays = _adjoint(run, root)
        method = "adjoint"
    else:
        _graph_needed(tree, "with shared events (9 exact analyses of edited copies per node)")
        if tree.number_of_nodes() > max_nodes:
            raise RRMError(
                f"tree {tree.graph.get('name', '<unnamed>')!r}: importance with shared events takes 9 exact "
                f"analyses per node; {tree.number_of_nodes()} nodes is more than "
                f"max_nodes_with_shared_events={max_nodes}"
            )
        arrays = _by_extremes(tree, run.plan.c.nodes, root)
        method = "exact-extremes"
    return _ranked(root, run.plan.c.nodes, arrays, method)


def _ranked(root: Metrics, nodes: list[Hashable], arrays: dict[str, np.ndarray], method: str,
            samples: int | None = None) -> Importance:  # fmt: skip
    gain = np.full(len(nodes), 0.0)
    if root.false_accept is not None:
        gain = root.false_accept - arrays["false_accept_if_perfect"]
    elif root.false_reject is not None:
        gain = root.false_reject - arrays["false_reject_if_perfect"]
    order = np.argsort(-np.nan_to_num(gain, nan=-np.inf), kind="stable")
    ranked = [nodes[i] for i in order.tolist()]
    return Importance(root, ranked, {k: a[order] for k, a in arrays.items()}, method, nodes[0], samples)


_SAMPLED = ("false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed")


def _graph_needed(tree: object, what: str) -> None:
    if isinstance(tree, Compiled):
        raise TypeError(f"tree {tree.name!r}: importance {what} needs the networkx graph, not its compiled form "
                        "(the compiled form serves trees without shared events, by the adjoint method)")  # fmt: skip


def _sampled_importance(tree: nx.DiGraph, samples: int, rng: Any, confidence: float, max_nodes: int) -> Importance:
    """Each evaluator made perfect, then made to always approve, each variant sampled on its own."""
    from .intervals import wilson
    from .montecarlo import monte_carlo, seed_sequence

    _graph_needed(tree, "Monte Carlo (runs on edited copies)")
    c = compile_tree(tree)
    if c.size > max_nodes:
        raise RRMError(
            f"tree {c.name!r}: Monte Carlo importance takes two runs per node; {c.size} nodes is more than "
            f"max_sampled_nodes={max_nodes}"
        )
    streams = seed_sequence(rng).spawn(2 * c.size + 1)
    position = list(tree).index(c.nodes[0])

    def sample(G: nx.DiGraph, k: int) -> tuple[int, int, int, int]:
        result = monte_carlo(G, samples=samples, rng=streams[k])
        good, fa, fr = (int(x) for x in result.counts[position])
        return good, fa, fr, result.samples

    def rates(counts: tuple[int, int, int, int]) -> tuple[float | None, float | None]:
        good, fa, fr, n = counts
        return (fa / (n - good) if n > good else None), (fr / good if good else None)

    base = sample(tree, 0)
    base_fa, base_fr = rates(base)
    good, _, fr, n = base
    root = Metrics(good / n, (base[1] + fr) / n, base_fa, base_fr,
                   None if base_fa is None or base_fr is None else 1.0 - base_fa - base_fr)  # fmt: skip
    arrays = {k: np.full(c.size, np.nan) for k in _SAMPLED}
    arrays |= {f"{k}:{end}": np.full(c.size, np.nan) for k in _SAMPLED for end in ("lo", "hi")}
    arrays |= {f"d_{m}/{p}": np.full(c.size, np.nan) for m in ("false_accept", "false_reject") for p in PARAMETERS}
    for i, v in enumerate(c.nodes):
        for k, (variant, names) in enumerate(((_perfect(tree, v), _SAMPLED[:2]), (_failed(tree, v), _SAMPLED[2:]))):
            got = sample(variant, 1 + 2 * i + k)
            good, fa, fr, n = got
            for name in names:
                hits, total = (fa, n - good) if name.startswith("false_accept") else (fr, good)
                if total:
                    arrays[name][i] = hits / total
                    arrays[f"{name}:lo"][i], arrays[f"{name}:hi"][i] = wilson(hits, total, confidence)
    return _ranked(root, c.nodes, arrays, "monte-carlo", samples)


def _variant(tree: nx.DiGraph) -> nx.DiGraph:
    G = tree.copy()  # new attribute dicts per node; the graph's own are copied deeply below
    G.graph = copy.deepcopy(tree.graph)
    return G


def _perfect(tree: nx.DiGraph, node: Hashable) -> nx.DiGraph:
    """The tree with ``node`` reporting its input faithfully: no channel error, no override."""
    G = _variant(tree)
    G.nodes[node].update(false_accept=0.0, false_reject=0.0, deception=0.0, exposure=0.0)
    groups = G.graph.get("blind_spots", {})
    for group in groups.values():
        group["members"] = tuple(m for m in group["members"] if m != node)
    G.graph["blind_spots"] = {g: d for g, d in groups.items() if d["members"]}
    return G


def _failed(tree: nx.DiGraph, node: Hashable) -> nx.DiGraph:
    """The tree with ``node`` always approving."""
    G = _variant(tree)
    G.nodes[node]["deception"] = 1.0
    return G


def _ratio(num: float | None, den: float | None) -> float | None:
    """num / den, or None where undefined or too large for a double (a subnormal denominator)."""
    if num is None or den is None or den == 0.0:
        return None
    ratio = num / den
    return ratio if math.isfinite(ratio) else None


def _adjoint(run: Forward, root: Metrics) -> dict[str, np.ndarray]:
    c = run.plan.c
    lp, pu, pv, pr = run.lp, run.pu, run.pv, run.pr
    n = c.size
    # D[v, m] = d metric_m / d P(R_v = r | Y_v = y) (for the root: of V), metrics m = (FA, FR)
    D = np.zeros((n, 2, 2, 2))
    defined = np.array([root.false_accept is not None, root.false_reject is not None])
    D[0, 0, 0, 1] = float(defined[0])
    D[0, 1, 1, 0] = float(defined[1])
    keep = np.exp(run.plan.log_keep)
    with np.errstate(divide="ignore"):
        others = np.where(run.plan.events.forced, 0.0, 1.0)  # type: ignore[arg-type]
        if run.plan.events.influence_always:
            others = others * (1.0 - c.exposure)
    fa, fr, audit = c.false_accept, c.false_reject, c.audit
    Dv = np.zeros_like(D)  # d metric / d P(V_v = x | Y_v = y)
    for nodes, weights, T in reversed(run.groups):
        _pull_back(nodes, D, Dv, pu, keep, fa, fr, audit)
        kids = c.first_child[nodes][:, None] + np.arange(len(weights))
        Du = _channel_pullback(Dv[nodes], pu[nodes], keep[nodes], fa[nodes], fr[nodes])
        lp_held, pu_held = _held_inputs(lp[kids], pr[kids], weights, T, c.coverage[nodes])
        for j in range(len(weights)):
            child = kids[:, j]
            for y in (0, 1):
                for r in (0, 1):
                    lp_f, pu_f = lp_held[:, j, y, r], pu_held[:, j, y, r]
                    with np.errstate(invalid="ignore"):
                        share = np.exp(lp[child, y][:, None] + lp_f - lp[nodes])  # P(Y_c = y | Y_v)
                    share = np.where(np.isfinite(lp[nodes]) & np.isfinite(lp_f), share, 0.0)
                    coef = share[:, :, None] * pu_f  # (G, y_v, u)
                    D[child, :, y, r] = np.einsum("gmyu,gyu->gm", Du, coef)
    leaves = np.flatnonzero(c.is_leaf)
    _pull_back(leaves, D, Dv, pu, keep, fa, fr, audit)
    # derivatives of each metric with respect to each rate
    diff = Dv[:, :, :, 1] - Dv[:, :, :, 0]  # (n, m, y)
    pw0 = pu[:, :, 1] * fr[:, None] + pu[:, :, 0] * (1.0 - fa[:, None])
    d = {
        "false_accept": np.einsum("vy,vmy->vm", keep[:, None] * pu[:, :, 0], diff),
        "false_reject": -np.einsum("vy,vmy->vm", keep[:, None] * pu[:, :, 1], diff),
        "deception": np.einsum("vy,vmy->vm", others[:, None] * pw0, diff),
        "audit": np.einsum("vmyr,vyr->vm", D, np.eye(2)[None] - pv),
    }
    perfect = np.einsum("vmyx,vyx->vm", Dv, pu - pv)
    failed = np.einsum("vmyx,vyx->vm", Dv, np.array([[0.0, 1.0], [0.0, 1.0]])[None] - pv)
    base = np.array([root.false_accept or 0.0, root.false_reject or 0.0])
    undefined = np.where(defined, 0.0, np.nan)  # NaN marks an undefined root metric
    arrays = {}
    for m, name in enumerate(("false_accept", "false_reject")):
        for p in PARAMETERS:
            arrays[f"d_{name}/{p}"] = d[p][:, m] + undefined[m]
        arrays[f"{name}_if_perfect"] = np.clip(base[m] + perfect[:, m], 0.0, 1.0) + undefined[m]
    arrays["false_accept_if_failed"] = np.clip(base[0] + failed[:, 0], 0.0, 1.0) + undefined[0]
    for name in ("false_accept", "false_reject"):
        arrays[f"d_{name}/audit"][0] = np.nan  # the root is never audited
    return arrays


def _held_inputs(lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int,
                 coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The node's truth and input laws with each child held at each (truth, report):
    ``(G, n, y, r, 2)`` log-probabilities and ``(G, n, y, r, 2, 2)`` conditionals."""
    G, n = lp.shape[:2]
    if n == 1:  # the rule passes the one child's value through
        lp_h = np.where(np.eye(2)[None, None, :, :] == 1, 0.0, -np.inf).repeat(G, 0)  # (G, 1, y, Y)
        pu_h = np.broadcast_to(np.eye(2)[None, None, None, :, None, :], (G, 1, 2, 2, 2, 2))
    else:
        lp_h, pu_h = held_rule(lp, pr, weights, T)
    lp_x = np.broadcast_to(lp_h[:, :, :, None, :], (G, n, 2, 2, 2)).reshape(-1, 2)
    lp_c, pu_c = apply_coverage(lp_x, np.ascontiguousarray(pu_h).reshape(-1, 2, 2), np.repeat(coverage, n * 4))
    return lp_c.reshape(G, n, 2, 2, 2), pu_c.reshape(G, n, 2, 2, 2, 2)


def _pull_back(nodes, D, Dv, pu, keep, fa, fr, audit) -> None:  # type: ignore[no-untyped-def]
    """From the parent's view R to the node's report V: R = audit ? Y : V."""
    Dv[nodes] = (1.0 - audit[nodes])[:, None, None, None] * D[nodes]


def _channel_pullback(Dv: np.ndarray, pu: np.ndarray, keep: np.ndarray, fa: np.ndarray, fr: np.ndarray) -> np.ndarray:
    """From d/dP(V | Y) to d/dP(U | Y) through the evaluator's channel and overrides."""
    k, a, b = keep[:, None], fa[:, None], fr[:, None]
    # dV/dU[u, x]: P(V = x | U = u)
    silent0 = (1.0 - a) * k  # P(V = 0 | U = 0)
    silent1 = b * k  # P(V = 0 | U = 1)
    Du = np.empty_like(Dv)
    Du[..., 0] = Dv[..., 0] * silent0[:, None] + Dv[..., 1] * (1.0 - silent0)[:, None]
    Du[..., 1] = Dv[..., 0] * silent1[:, None] + Dv[..., 1] * (1.0 - silent1)[:, None]
    return Du


def _by_extremes(tree: nx.DiGraph, nodes: list[Hashable], root: Metrics) -> dict[str, np.ndarray]:
    """Exact differences at each rate's extremes (any tree; 9 exact analyses per node)."""

    def metrics(changes: dict[str, float], node: Hashable, perfect: bool = False) -> Metrics:
        G = _perfect(tree, node) if perfect else _variant(tree)
        G.nodes[node].update(changes)
        return exact_analysis(G).root

    def value(x: float | None) -> float:
        return np.nan if x is None else x

    names = [f"d_{m}/{p}" for m in ("false_accept", "false_reject") for p in PARAMETERS]
    names += ["false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed"]
    arrays = {k: np.full(len(nodes), np.nan) for k in names}
    for i, v in enumerate(nodes):
        for p in PARAMETERS:
            if p == "audit" and i == 0:
                continue  # the root is never audited
            lo, hi = metrics({p: 0.0}, v), metrics({p: 1.0}, v)
            for m in ("false_accept", "false_reject"):
                a, b = getattr(lo, m), getattr(hi, m)
                arrays[f"d_{m}/{p}"][i] = np.nan if a is None else b - a
            if p == "deception":
                arrays["false_accept_if_failed"][i] = value(hi.false_accept)
        best = metrics({}, v, perfect=True)
        arrays["false_accept_if_perfect"][i] = value(best.false_accept)
        arrays["false_reject_if_perfect"][i] = value(best.false_reject)
    return arrays
