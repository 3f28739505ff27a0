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

Work
    Nodes with several children are processed group by group (height, rule), all
    nodes of a group in a few array operations. Below a one-child node the map
    from its D to its child's is a fixed pair of 2x2 matrices (``D_c = S D_v Q^T``),
    so a run of one-child nodes (a chain) is composed by a segmented scan, not a
    round per level: a chain of a million nodes costs a few hundred array
    operations. With shared events the 9 analyses per node run as batches
    (:mod:`rrm_theory._batched_exact`, many sets of rates in one pass).
"""

from __future__ import annotations

import copy
import dataclasses
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
        self._arrays, self._root_node = arrays, root_node
        self._index: dict[Hashable, int] | None = None  # built on the first look-up (big trees)

    def __len__(self) -> int:
        return len(self.ranked)

    def __getitem__(self, node: Hashable) -> NodeImportance:
        if self._index is None:
            self._index = dict(zip(self.ranked, range(len(self.ranked))))
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
        k = len(self.ranked) if limit is None else max(0, min(limit, len(self.ranked)))
        if self.method == "monte-carlo" or k < 64:
            return [r.to_dict() for r in (self.nodes if limit is None else self.top(limit))]
        # what to_dict of every record gives, from the columns (a record per node is seconds at 2M)
        col = lambda name: [None if x != x else x for x in self._arrays[name][:k].tolist()]  # noqa: E731
        d = {m: [col(f"d_{m}/{p}") for p in PARAMETERS] for m in ("false_accept", "false_reject")}
        at_root = [v == self._root_node for v in self.ranked[:k]]
        audit = PARAMETERS.index("audit")
        for m in d:  # the root has no audit derivative
            d[m][audit] = [None if r else x for r, x in zip(at_root, d[m][audit])]
        fa_perfect, fa_failed = col("false_accept_if_perfect"), col("false_accept_if_failed")
        fa = self.root.false_accept
        return [
            {
                "node": str(node),
                "d_false_accept": dict(zip(PARAMETERS, dfa)),
                "d_false_reject": dict(zip(PARAMETERS, dfr)),
                "false_accept_if_perfect": perfect,
                "false_reject_if_perfect": fr_perfect,
                "false_accept_if_failed": failed,
                "risk_reduction_worth": _ratio(fa, perfect),
                "risk_achievement_worth": _ratio(failed, fa),
                "intervals": None,
            }
            for node, dfa, dfr, perfect, fr_perfect, failed in zip(
                self.ranked[:k], zip(*d["false_accept"]), zip(*d["false_reject"]), fa_perfect,
                col("false_reject_if_perfect"), fa_failed)
        ]  # fmt: skip


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
        An evaluation tree, or its compiled form (:func:`compile_tree`), except for
        Monte Carlo importance, which runs on edited copies of the graph.
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
    root = analysis_from(run.plan.c, run).root  # (in breadth-first order: no per-node names needed)
    if run.plan.trivial:
        arrays = _adjoint(run, root)
        method = "adjoint"
    else:
        c = run.plan.c
        if c.size > max_nodes:
            raise RRMError(
                f"tree {c.name!r}: importance with shared events takes 9 exact "
                f"analyses per node; {c.size} nodes is more than "
                f"max_nodes_with_shared_events={max_nodes}"
            )
        arrays = _by_extremes(run.plan.c, run.plan.c.nodes, root)
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
    ranked = list(map(nodes.__getitem__, order.tolist()))
    return Importance(root, ranked, {k: a[order] for k, a in arrays.items()}, method, nodes[0], samples)


_SAMPLED = ("false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed")


def _graph_needed(tree: object, what: str) -> None:
    if isinstance(tree, Compiled):
        raise TypeError(f"tree {tree.name!r}: importance {what} needs the networkx graph, not its compiled form "
                        "(the compiled form serves the exact methods)")  # fmt: skip


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
    """Every node's measures from one reverse pass over a run without shared events.

    Arrays are node-last: ``D[m, y, r, v] = d metric_m / d P(R_v = r | Y_v = y)`` (for the
    root: of V), metrics m = (FA, FR). Nodes with several children pass D down group by
    group (height, rule), from the root; below a one-child node the map to the child is
    fixed (:func:`_run_maps`), so all runs of one-child nodes are done by one scan.
    """
    c = run.plan.c
    n = c.size
    defined = np.array([root.false_accept is not None, root.false_reject is not None])
    keep = np.exp(run.plan.log_keep)
    K = np.empty((2, 2, n))  # K[u, x, v] = P(V_v = x | U_v = u), sums of non-negative terms
    lost = -np.expm1(run.plan.log_keep)  # P(an override fires)
    fa, fr, stay = c.false_accept, c.false_reject, 1.0 - c.audit
    K[0, 0], K[0, 1] = (1.0 - fa) * keep, fa * keep + lost
    K[1, 0], K[1, 1] = fr * keep, (1.0 - fr) * keep + lost
    del lost
    D = np.zeros((2, 2, 2, n))
    D[0, 0, 1, 0] = float(defined[0])
    D[1, 1, 0, 0] = float(defined[1])
    runs = _run_maps(c, run.lp, K, stay)
    for nodes, weights, T in _branching_groups(c):
        if runs is not None:
            runs.fill(D, nodes)
        step = max(1, _HELD_CHILDREN // len(weights))
        for lo in range(0, len(nodes), step):
            _to_children(D, nodes[lo : lo + step], weights, T, c, run.lp, run.pr, K, stay)
    if runs is not None:
        runs.fill(D)
    del K, runs
    others = np.where(run.plan.events.forced, 0.0, 1.0)  # type: ignore[arg-type]
    if run.plan.events.influence_always:
        others = others * (1.0 - c.exposure)
    names = [f"d_{m}/{p}" for m in ("false_accept", "false_reject") for p in PARAMETERS]
    names += ["false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed"]
    arrays = {k: np.empty(n) for k in names}
    base = np.array([root.false_accept or 0.0, root.false_reject or 0.0])
    undefined = np.where(defined, 0.0, np.nan)  # NaN marks an undefined root metric
    for lo in range(0, n, _CHUNK):  # a chunk's temporaries stay in the cache
        at = slice(lo, min(n, lo + _CHUNK))
        _measures(arrays, at, D[..., at], run.pu[at], run.pv[at], keep[at], others[at], fa[at], fr[at], stay[at],
                  base, undefined)  # fmt: skip
    for name in ("false_accept", "false_reject"):
        arrays[f"d_{name}/audit"][0] = np.nan  # the root is never audited
    return arrays


_HELD_CHILDREN = 1 << 16  # children per slice of a group held at once (about 50 MiB of laws)
_CHUNK = 1 << 15  # nodes per slice of the element-wise work (its temporaries stay in the cache)
_BLOCK = 64  # the scan's block length
_SCAN_BLOCKS = 512  # blocks scanned side by side at a time (their maps stay in the cache)


def _measures(arrays: dict[str, np.ndarray], at: slice, D: np.ndarray, pu: np.ndarray, pv: np.ndarray,
              keep: np.ndarray, others: np.ndarray, fa: np.ndarray, fr: np.ndarray, stay: np.ndarray,
              base: np.ndarray, undefined: np.ndarray) -> None:  # fmt: skip
    """The measures of the nodes ``at`` (D, the laws and rates taken at them) into ``arrays``."""
    pu, pv = pu.transpose(1, 2, 0), pv.transpose(1, 2, 0)  # node-last, as D
    # I - P(V | Y) with the complements kept: 1 - pv[y, y] = pv[y, 1 - y]
    d_audit = pv[0, 1] * (D[:, 0, 0] - D[:, 0, 1]) + pv[1, 0] * (D[:, 1, 1] - D[:, 1, 0])  # (m, v)
    Dv = D * stay  # d metric / d P(V_v = x | Y_v = y)
    diff = Dv[:, :, 1] - Dv[:, :, 0]  # (m, y, v)
    pw0 = pu[:, 1] * fr + pu[:, 0] * (1.0 - fa)  # P(W = 0 | Y = y): (y, v)
    d = {
        "false_accept": keep * (pu[0, 0] * diff[:, 0] + pu[1, 0] * diff[:, 1]),
        "false_reject": -keep * (pu[0, 1] * diff[:, 0] + pu[1, 1] * diff[:, 1]),
        "deception": others * (pw0[0] * diff[:, 0] + pw0[1] * diff[:, 1]),
        "audit": d_audit,
    }
    change = pu - pv
    perfect = (Dv[:, 0, 0] * change[0, 0] + Dv[:, 0, 1] * change[0, 1]) + (
        Dv[:, 1, 0] * change[1, 0] + Dv[:, 1, 1] * change[1, 1])  # fmt: skip
    failed = pv[0, 0] * diff[:, 0] + pv[1, 0] * diff[:, 1]  # V := 1: P(V = 1 | Y) gains pv[y, 0]
    for m, name in enumerate(("false_accept", "false_reject")):
        for p in PARAMETERS:
            arrays[f"d_{name}/{p}"][at] = d[p][m] + undefined[m]
        arrays[f"{name}_if_perfect"][at] = np.clip(base[m] + perfect[m], 0.0, 1.0) + undefined[m]
    arrays["false_accept_if_failed"][at] = np.clip(base[0] + failed[0], 0.0, 1.0) + undefined[0]


def _branching_groups(c: Compiled) -> list[tuple[np.ndarray, tuple[int, ...], int]]:
    """The nodes with several children by (height, rule form), from the root down."""
    inner = np.flatnonzero(c.n_children >= 2)
    if not len(inner):
        return []
    key = c.height[inner] * max(1, len(c.shapes)) + c.shape[inner]
    by_key = np.argsort(-key, kind="stable")  # highest first, nodes ascending within a group
    nodes, key = inner[by_key], key[by_key]
    bounds = [0, *(np.flatnonzero(np.diff(key)) + 1).tolist(), len(key)]
    forms = [c.shapes[k] for k in c.shape[nodes[bounds[:-1]]].tolist()]
    return [(nodes[lo:hi], f.weights, f.threshold) for lo, hi, f in zip(bounds[:-1], bounds[1:], forms)]


def _to_children(D: np.ndarray, nodes: np.ndarray, weights: tuple[int, ...], T: int, c: Compiled, lp: np.ndarray,
                 pr: np.ndarray, K: np.ndarray, stay: np.ndarray) -> None:  # fmt: skip
    """D of the children of ``nodes`` (all with the rule ``weights``, ``T``) from the nodes' own:

        D_c[y_c, r_c] = sum_{Y, u} D^U_v[Y, u] * P(Y_c = y_c | Y_v = Y) * P(U_v = u | Y_v = Y, child c := (y_c, r_c))

    with ``D^U = D`` pulled back through the audit and the evaluator's channel ``K``.
    """
    k = len(weights)
    kids = c.first_child[nodes][:, None] + np.arange(k)  # (G, k)
    Dv = stay[nodes] * D[..., nodes]  # (m, Y, x, G)
    Du = Dv[:, :, None, 0] * K[:, 0, nodes] + Dv[:, :, None, 1] * K[:, 1, nodes]  # (m, Y, u, G)
    lp_held, pu_held = _held_inputs(lp[kids], pr[kids], weights, T, c.coverage[nodes])
    lp_v = lp[nodes][:, None, None, None, :]
    with np.errstate(invalid="ignore"):
        share = np.exp(lp[kids][:, :, :, None, None] + lp_held - lp_v)  # P(Y_c = y | Y_v = Y): (G, k, y, r, Y)
    share = np.where(np.isfinite(lp_v) & np.isfinite(lp_held), share, 0.0)
    coef = (share[..., None] * pu_held).reshape(len(nodes), k, 4, 4)  # (G, k, (y, r), (Y, u))
    got = coef @ Du.reshape(2, 4, len(nodes)).transpose(2, 1, 0)[:, None]  # (G, k, (y, r), m)
    D[..., kids] = got.transpose(3, 2, 0, 1).reshape(2, 2, 2, len(nodes), k)


def _held_inputs(lp: np.ndarray, pr: np.ndarray, weights: tuple[int, ...], T: int,
                 coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The node's truth and input laws with each child held at each (truth, report):
    ``(G, n, y, r, 2)`` log-probabilities and ``(G, n, y, r, 2, 2)`` conditionals (n >= 2)."""
    G, n = lp.shape[:2]
    lp_h, pu_h = held_rule(lp, pr, weights, T)
    lp_x = np.broadcast_to(lp_h[:, :, :, None, :], (G, n, 2, 2, 2)).reshape(-1, 2)
    lp_c, pu_c = apply_coverage(lp_x, np.ascontiguousarray(pu_h).reshape(-1, 2, 2), np.repeat(coverage, n * 4))
    return lp_c.reshape(G, n, 2, 2, 2), pu_c.reshape(G, n, 2, 2, 2, 2)


class _Runs:
    """The maps of the runs of one-child nodes: ``D_c = L_c D_a R_c^T`` for every node c whose
    parent has one child, a its run's anchor (the top node of the run: the root, or a child
    of a node with several children)."""

    def __init__(self, order: np.ndarray, below: np.ndarray, anchor: np.ndarray, maps: np.ndarray, n: int):
        self.order, self.anchor, self.maps = order, anchor, maps  # maps (2, 2, 2, len(order)): L and R
        self.below = np.flatnonzero(below)  # the positions (in ``order``) of the nodes below an anchor
        self.position = np.full(n, -1, dtype=np.int64)
        self.position[order[self.below]] = self.below

    def fill(self, D: np.ndarray, nodes: np.ndarray | None = None) -> None:
        """D of ``nodes`` (default: every node below a one-child node) from their anchors'."""
        at = self.below
        if nodes is not None:
            at = self.position[nodes]
            at = at[at >= 0]
        for lo in range(0, len(at), _CHUNK):
            p = at[lo : lo + _CHUNK]
            anchor = self.anchor[p]
            Da = D[..., anchor[:1]] if anchor[0] == anchor[-1] and (anchor == anchor[0]).all() else D[..., anchor]
            p = _span(p)
            D[..., _span(self.order[p])] = _apply(self.maps[..., p], Da)


def _run_maps(c: Compiled, lp: np.ndarray, K: np.ndarray, stay: np.ndarray) -> _Runs | None:
    """The maps of :class:`_Runs`, or None when no node has exactly one child.

    A one-child node v passes ``D_c[y, r] = sum_Y P(Y_c = y | Y_v = Y) sum_x (1 - audit_v) D_v[Y, x] K_v[r, x]``
    to its child: ``D_c = S_v D_v Q_v^T``, with S and Q 2x2 matrices of non-negative entries
    that do not depend on D. Composed along a run they give ``L = S ... S`` and ``R = Q ... Q``
    (from the node up to the anchor), by a segmented scan.
    """
    one = c.n_children == 1
    if not one.any():
        return None
    below = np.zeros(c.size, dtype=bool)
    below[1:] = one[c.parent[1:]]
    order = _run_order(c, below, one)
    below = below[order]
    size = -(-len(order) // _BLOCK) * _BLOCK  # whole blocks: the scan works in place
    E = np.zeros((2, 2, 2, size))
    E[:, 0, 0, len(order):], E[:, 1, 1, len(order):] = 1.0, 1.0
    for lo in range(0, len(order), _CHUNK):
        at = slice(lo, min(len(order), lo + _CHUNK))
        _elements(E[..., at], order[at], below[at], c, lp, K, stay)
    reset = np.ones(size, dtype=bool)
    reset[: len(order)] = ~below
    _segmented_prefix(E, reset)
    anchor = order[np.maximum.accumulate(np.where(reset[: len(order)], np.arange(len(order)), 0))]
    return _Runs(order, below, anchor, E, c.size)


def _elements(E: np.ndarray, kids: np.ndarray, below: np.ndarray, c: Compiled, lp: np.ndarray, K: np.ndarray,
              stay: np.ndarray) -> None:  # fmt: skip
    """The one-step maps ``(S, Q)`` into ``E`` (2, 2, 2, k) of the nodes ``kids`` below a one-child
    node; the identity where ``below`` is False (the anchors). S is what the held inputs of a
    one-child rule give: ``S[y, Y] = P(Y_c = y | Y_v = Y)``, from the truths' logs."""
    v = _span(np.where(below, c.parent[kids], kids))
    kids = _span(kids)
    cover = np.where(below, c.coverage[v], 1.0)
    lp_c, lp_v = lp[kids], lp[v]
    with np.errstate(divide="ignore", invalid="ignore"):
        uncovered, covered = np.log1p(-cover), np.log(cover)  # log P(Y_v = Y | Y_c = 1)
        s00 = np.exp(lp_c[:, 0] + 0.0 - lp_v[:, 0])
        s10 = np.exp(lp_c[:, 1] + uncovered - lp_v[:, 0])
        s11 = np.exp(lp_c[:, 1] + covered - lp_v[:, 1])
    ok0, ok1 = np.isfinite(lp_v[:, 0]), np.isfinite(lp_v[:, 1])
    E[0, 0, 0] = np.where(ok0, s00, 0.0)
    E[0, 0, 1] = 0.0  # Y_c = 0 makes Y_v = 0
    E[0, 1, 0] = np.where(ok0 & np.isfinite(uncovered), s10, 0.0)
    E[0, 1, 1] = np.where(ok1 & np.isfinite(covered), s11, 0.0)
    E[1] = stay[v] * K[..., v]  # Q[r, x] = (1 - audit_v) P(V_v = x | U_v = r)
    anchors = np.flatnonzero(~below)
    if len(anchors):
        E[..., anchors] = np.eye(2)[None, :, :, None]


def _span(index: np.ndarray) -> np.ndarray | slice:
    """``index`` as a slice where it is a range of consecutive positions (views instead of copies)."""
    if len(index) and int(index[-1]) - int(index[0]) == len(index) - 1 and (np.diff(index) == 1).all():
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def _run_order(c: Compiled, below: np.ndarray, one: np.ndarray) -> np.ndarray:
    """The nodes of the runs (each anchor with one child, then the nodes below it down to the
    first with no child or several), each run contiguous and from its anchor down."""
    members = np.flatnonzero(below | one)
    kids = np.flatnonzero(below)
    if (c.parent[kids] == kids - 1).all():  # breadth-first order keeps each run together (a chain)
        return members
    top = np.arange(c.size)
    top[kids] = c.parent[kids]
    active = kids
    while len(active):  # pointer doubling: every node learns its anchor
        up = top[top[active]]
        moved = up != top[active]
        top[active] = up
        active = active[moved]
    return members[np.argsort(top[members], kind="stable")]  # a run's nodes ascend in breadth-first order


def _compose(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for pairs of 2x2 matrices laid out ``(2, 2, 2, *batch)`` (pair, row, column first)."""
    return A[:, :, 0, None] * B[:, None, 0] + A[:, :, 1, None] * B[:, None, 1]


def _apply(maps: np.ndarray, Da: np.ndarray) -> np.ndarray:
    """``L D R^T`` per metric: ``maps`` (2, 2, 2, k) holds L and R, ``Da`` (m, 2, 2, k)."""
    L, R = maps[0], maps[1]
    LD = L[None, :, 0, None, :] * Da[:, None, 0] + L[None, :, 1, None, :] * Da[:, None, 1]  # (m, y, x, k)
    return LD[:, :, None, 0] * R[None, None, :, 0] + LD[:, :, None, 1] * R[None, None, :, 1]


def _segmented_prefix(E: np.ndarray, reset: np.ndarray) -> None:
    """In place, for maps ``E`` (2, 2, 2, k): element i becomes ``E_i @ E_(i-1) @ ... @ E_j``,
    j the last reset at or before i (each reset element the identity).

    Blocks of :data:`_BLOCK` elements are scanned side by side (a few hundred blocks at a
    time, turned place-major so that each step reads contiguous memory in the cache),
    then the blocks' totals (recursively), then each block takes the total before it:
    about three products per element and a few array operations per block length.
    """
    k = E.shape[-1]
    b = _BLOCK
    if k <= b:
        for i in range(1, k):
            if not reset[i]:
                E[..., i] = _compose(E[..., i, None], E[..., i - 1, None])[..., 0]
        return
    nb = -(-k // b)
    X, flags = E, reset
    if k < nb * b:
        X = np.zeros(E.shape[:-1] + (nb * b,))
        X[..., :k] = E
        X[:, 0, 0, k:], X[:, 1, 1, k:] = 1.0, 1.0
        flags = np.ones(nb * b, dtype=bool)
        flags[:k] = reset
    X = X.reshape(E.shape[:-1] + (nb, b))  # a view: block q, place j
    flags = flags.reshape(nb, b)
    begun = np.logical_or.accumulate(flags, axis=1)  # a reset in the block at or before place j
    totals = np.empty(E.shape[:-1] + (nb,))
    for q0 in range(0, nb, _SCAN_BLOCKS):
        q = slice(q0, min(nb, q0 + _SCAN_BLOCKS))
        Y = np.ascontiguousarray(X[..., q, :].swapaxes(-1, -2))  # (2, 2, 2, b, blocks)
        for j in range(1, b):
            prod = _compose(Y[..., j, :], Y[..., j - 1, :])
            restart = np.flatnonzero(flags[q, j])
            if len(restart):
                prod[..., restart] = Y[..., j, restart]
            Y[..., j, :] = prod
        X[..., q, :] = Y.swapaxes(-1, -2)
        totals[..., q] = Y[..., b - 1, :]  # each block's product back to its last reset (or its start)
    _segmented_prefix(totals, begun[:, b - 1])
    for q0 in range(1, nb, _SCAN_BLOCKS):  # into block q: the prefix at the end of block q - 1
        q = slice(q0, min(nb, q0 + _SCAN_BLOCKS))
        carry = totals[..., q0 - 1 : q.stop - 1, None]
        open_ = ~begun[q]
        if open_.all():
            X[..., q, :] = _compose(X[..., q, :], carry)
        elif open_.any():
            X[..., q, :] = np.where(open_, _compose(X[..., q, :], carry), X[..., q, :])
    if k < nb * b:  # (otherwise X is a view of E)
        E[...] = X.reshape(E.shape[:-1] + (nb * b,))[..., :k]


def _by_extremes(tree: nx.DiGraph | Compiled, nodes: list[Hashable], root: Metrics) -> dict[str, np.ndarray]:
    """Exact differences at each rate's extremes (any tree; 9 exact analyses per node).

    Each rate enters the root metrics affinely, so a derivative is ``metric(rate = 1) -
    metric(rate = 0)``. The variants are analysed in batches (:mod:`rrm_theory._batched_exact`:
    one pass for many sets of rates, the numbers of exact analysis of each); the perfect
    variant of a blind spot's member, which leaves the group, by an exact analysis of its own.
    """
    from ._batched_exact import Varying, root_metrics_batched

    c = compile_tree(tree)
    names = [f"d_{m}/{p}" for m in ("false_accept", "false_reject") for p in PARAMETERS]
    names += ["false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed"]
    arrays = {k: np.full(len(nodes), np.nan) for k in names}
    member = np.zeros(c.size, dtype=bool)  # in a blind spot that may fire
    for _, p, members in c.groups:
        if p > 0.0:
            member[members] = True
    honest = ("false_accept", "false_reject", "deception", "exposure")  # zero in the perfect variant
    index = [c.index[v] for v in nodes]
    for lo in range(0, len(nodes), _BATCH_NODES):
        rows: list[tuple[int, int, str, float]] = []  # (position, node index, rate or "perfect", value)
        for i in range(lo, min(len(nodes), lo + _BATCH_NODES)):
            v = index[i]
            rows += [(i, v, p, x) for p in PARAMETERS if not (p == "audit" and v == 0) for x in (0.0, 1.0)]
            if not member[v]:
                rows.append((i, v, "perfect", 0.0))
        varying = Varying(draws=len(rows))
        columns: dict[str, dict[int, np.ndarray]] = {k: {} for k in (*PARAMETERS, "exposure")}

        def column(key: str, v: int) -> np.ndarray:
            if v not in columns[key]:
                columns[key][v] = np.full(len(rows), float(getattr(c, key)[v]))
            return columns[key][v]

        for d, (_, v, p, x) in enumerate(rows):
            for key in honest if p == "perfect" else (p,):
                column(key, v)[d] = x
        varying.nodes = {k: cols for k, cols in columns.items() if cols}
        got = root_metrics_batched(c, varying)
        for d, (i, _, p, x) in enumerate(rows):
            if p == "perfect":
                arrays["false_accept_if_perfect"][i] = got["false_accept"][d]
                arrays["false_reject_if_perfect"][i] = got["false_reject"][d]
            elif x == 1.0:  # the row before is the same rate at 0
                for m in ("false_accept", "false_reject"):
                    arrays[f"d_{m}/{p}"][i] = got[m][d] - got[m][d - 1]
                if p == "deception":
                    arrays["false_accept_if_failed"][i] = got["false_accept"][d]
    _members_perfect(c, index, member, arrays)
    return arrays


def _members_perfect(c: Compiled, index: list[int], member: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
    """The perfect variants of the blind spots' members, which leave their groups.

    Conditioned on the outcomes of node v's groups (independent of the truths), the rest
    of a fired group approves as if deceptive and a group that did not fire is absent:
    so each metric is the mixture, over those outcomes, of exact analyses with the
    groups at probability 0, v honest and the fired groups' other members deceptive.
    """
    from ._batched_exact import Varying, root_metrics_batched

    by_groups: dict[tuple[int, ...], list[int]] = {}
    for i, v in enumerate(index):
        if member[v]:
            own = tuple(j for j, (_, p, m) in enumerate(c.groups) if p > 0.0 and v in m)
            by_groups.setdefault(own, []).append(i)
    for own, positions in by_groups.items():
        if len(own) > _MAX_MIXED_GROUPS:
            for i in positions:
                best = exact_analysis(_perfect_compiled(c, index[i])).root
                arrays["false_accept_if_perfect"][i] = np.nan if best.false_accept is None else best.false_accept
                arrays["false_reject_if_perfect"][i] = np.nan if best.false_reject is None else best.false_reject
            continue
        outcomes = 1 << len(own)
        fired = [[b >> k & 1 == 1 for k in range(len(own))] for b in range(outcomes)]
        weight = np.array([math.prod(c.groups[j][1] if f else 1.0 - c.groups[j][1] for j, f in zip(own, bits))
                           for bits in fired])  # fmt: skip
        step = max(1, _BATCH_NODES * 9 // outcomes)
        for lo in range(0, len(positions), step):
            part = positions[lo : lo + step]
            draws = len(part) * outcomes
            columns: dict[str, dict[int, np.ndarray]] = {k: {} for k in ("false_accept", "false_reject", "deception",
                                                                         "exposure")}  # fmt: skip

            def column(key: str, v: int) -> np.ndarray:
                if v not in columns[key]:
                    columns[key][v] = np.full(draws, float(getattr(c, key)[v]))
                return columns[key][v]

            for a, i in enumerate(part):
                v = index[i]
                rows = slice(a * outcomes, (a + 1) * outcomes)
                for key in columns:
                    column(key, v)[rows] = 0.0
                for b, bits in enumerate(fired):
                    for j, f in zip(own, bits):
                        if f:
                            for w in c.groups[j][2].tolist():
                                if w != v:
                                    column("deception", w)[a * outcomes + b] = 1.0
            varying = Varying(draws=draws, nodes={k: cols for k, cols in columns.items() if cols},
                              groups={j: np.zeros(draws) for j in own})  # fmt: skip
            got = root_metrics_batched(c, varying)
            for m in ("false_accept", "false_reject"):
                mixed = got[m].reshape(len(part), outcomes) @ weight
                arrays[f"{m}_if_perfect"][part] = mixed


_MAX_MIXED_GROUPS = 6  # a member of more groups than this: one exact analysis of its own
_BATCH_NODES = 64  # nodes whose variants are analysed in one batch (9 each)


def _perfect_compiled(c: Compiled, v: int) -> Compiled:
    """:func:`_perfect` on the compiled tree: node ``v`` honest, out of every blind spot."""
    rates = {}
    for key in ("false_accept", "false_reject", "deception", "exposure"):
        rates[key] = getattr(c, key).copy()
        rates[key][v] = 0.0
    groups = tuple((g, p, m[m != v]) for g, p, m in c.groups if (m != v).any())
    return dataclasses.replace(c, groups=groups, **rates)
