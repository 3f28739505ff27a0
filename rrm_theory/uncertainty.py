"""Uncertain error rates: their propagation to the verdict, and global sensitivity (docs/uncertainty.md).

A spec may give a probability of MODEL.md section 2 (an evaluator's rates, a leaf's
prior, a coverage, a deception, audit or exposure probability, the influence
probability, a blind spot's probability) as a distribution instead of a number
(docs/spec-format.md, ``[uncertainty]``). The tree then carries the distributions in
``tree.graph["uncertainty"]``, beside the point values that every other analysis uses.

Notation
    theta = (theta_1, ..., theta_k): the uncertain inputs, in the order of
    :func:`parameters`; draw i is theta^(i) = (F_1^-1(u_i1), ..., F_k^-1(u_ik)) with
    u^(i) the i-th row of a (draws, k) matrix of independent uniforms from one seeded
    generator, F_j the CDF of input j. m(theta) is a root metric of MODEL.md section 3
    (``false_accept``, ...) computed *exactly* for the tree with theta written in.

:func:`propagate` gives the distribution of m(theta) over the draws: mean, median,
standard deviation, an equal-tailed credible interval and P(false_accept > level).
:func:`sobol` gives the first-order and total Sobol indices of one root metric with
respect to each input (Saltelli's scheme, SALib: the ``sensitivity`` extra).

Every draw is analysed by the exact pass of MODEL.md section 4, vectorised over draws
(:mod:`rrm_theory._batched_exact`): one pass over the tree with arrays of shape
(draws, instances), which gives, per draw, the numbers :func:`~rrm_theory.exact_analysis`
gives for that draw (the tests check agreement to 1e-12).

References
----------
A. Saltelli, P. Annoni, I. Azzini, F. Campolongo, M. Ratto, S. Tarantola (2010).
Variance based sensitivity analysis of model output. Computer Physics Communications 181, 259-270.
J. Herman, W. Usher (2017). SALib: an open-source Python library for sensitivity analysis.
Journal of Open Source Software 2(9).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Hashable, Mapping

import networkx as nx
import numpy as np

from ._distributions import Beta, Distribution, Uniform, check_uncertainty
from .errors import RRMError, SpecError
from .results import METRICS

__all__ = [
    "Beta", "Uniform", "Parameter", "parameters", "Posterior", "UncertaintyResult", "propagate", "with_draw",
    "Sobol", "sobol", "SENSITIVITY_EXTRA", "UndefinedMetric",
]  # fmt: skip

#: What to install for :func:`sobol`.
SENSITIVITY_EXTRA = 'pip install "rrm-theory[sensitivity]"'


class UndefinedMetric(RRMError, ValueError):
    """A metric asked for Sobol indices is undefined in some draws, so its variance cannot be apportioned.

    For ``false_accept``: the work is never bad in those draws (MODEL.md section 3).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"h": {"prior": 1.0, "false_accept": {"beta": [1, 9]},
    ...                                       "false_reject": 0.1}}})
    >>> sobol(tree, 64, rng=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rrm_theory.uncertainty.UndefinedMetric: tree 'tree': false_accept is undefined in 192 of the 192 design points ...
    """


_NODE_ORDER = ("false_accept", "false_reject", "error", "prior", "coverage", "deception", "audit", "exposure")


@dataclass(frozen=True)
class Parameter:
    """One uncertain input of a tree.

    Attributes
    ----------
    label : str
        ``"<node>.<key>"``, ``"influence"`` or ``"blind_spots.<group>"``.
    kind : {"node", "influence", "blind_spot"}
    target : hashable or None
        The node id or group name.
    key : str
        The node key (``error`` sets both rates to one draw), ``"influence"`` or ``"probability"``.
    distribution : Beta or Uniform

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "error": {"beta": [2, 38]}}}})
    >>> (p,) = parameters(tree)
    >>> p.label, p.key, p.to_dict()
    ('h.error', 'error', {'parameter': 'h.error', 'distribution': {'beta': [2.0, 38.0]}})
    """

    label: str
    kind: str
    target: Hashable | None
    key: str
    distribution: Distribution

    def to_dict(self) -> dict[str, Any]:
        """``{"parameter": label, "distribution": {"beta": [a, b]}}``, as the JSON output writes it."""
        return {"parameter": self.label, "distribution": self.distribution.to_spec()}


def parameters(tree: nx.DiGraph) -> tuple[Parameter, ...]:
    """The tree's uncertain inputs, in the order of the columns of every draw.

    Influence first, then blind spots, then nodes (in the tree's order, each node's keys
    in the order of docs/spec-format.md).

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated tree; its distributions are ``tree.graph["uncertainty"]``.

    Returns
    -------
    tuple of Parameter
        Empty if the tree carries no distributions.

    Raises
    ------
    SpecError
        If the distributions (edited by hand, say) name a node or group the tree lacks,
        a key that does not apply, or parameters out of range.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"defaults": {"prior": 0.9}, "nodes": {"a": {
    ...     "false_accept": {"beta": [2, 38]}, "false_reject": {"uniform": [0.0, 0.1]}}}})
    >>> [p.label for p in parameters(tree)]
    ['a.false_accept', 'a.false_reject']
    """
    unc = check_uncertainty(tree)
    if unc is None:
        return ()
    out = []
    if unc["influence"] is not None:
        out.append(Parameter("influence", "influence", None, "influence", unc["influence"]))
    for g, d in unc["blind_spots"].items():
        out.append(Parameter(f"blind_spots.{g}", "blind_spot", g, "probability", d))
    nodes = unc["nodes"]
    for v in tree:
        table = nodes.get(v)
        for key in _NODE_ORDER if table else ():
            if key in table:
                out.append(Parameter(f"{v}.{key}", "node", v, key, table[key]))
    return tuple(out)


def _require(tree: nx.DiGraph, who: str) -> tuple[Parameter, ...]:
    params = parameters(tree)
    if not params:
        name = tree.graph.get("name", "<unnamed>")
        raise SpecError(f"tree {name!r}: {who} needs rates given as distributions ([uncertainty] in the spec, or "
                        "{ beta = [a, b] } / { uniform = [lo, hi] } in place of a value), and this tree has none")
    return params


def _seed(rng: np.random.Generator | np.random.SeedSequence | int | None) -> int:
    """An integer seed from any SPEC 7 ``rng`` (reported, so that a run can be repeated)."""
    if rng is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"rng={rng} is negative; a seed is a non-negative integer")
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63))
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, np.uint64)[0])
    raise TypeError(f"rng must be a numpy Generator, a SeedSequence, an int seed or None, not {type(rng).__name__}")


def _transform(params: tuple[Parameter, ...], u: np.ndarray) -> np.ndarray:
    """Uniforms (n, k) -> draws (n, k), through each input's inverse CDF."""
    x = np.empty_like(u)
    for j, p in enumerate(params):
        x[:, j] = p.distribution.ppf(u[:, j])
    return x


def _evaluate(tree: nx.DiGraph, params: tuple[Parameter, ...], x: np.ndarray, method: str,
              limits: Mapping[str, int]) -> dict[str, np.ndarray]:  # fmt: skip
    """Root metrics of every row of ``x`` (n, k): metric -> (n,), NaN where undefined."""
    if method == "per-draw":
        return _per_draw(tree, params, x, limits)
    if method != "vectorised":
        raise ValueError(f"method={method!r} is not 'vectorised' or 'per-draw'")
    from ._batched_exact import Varying, root_metrics_batched
    from ._compile import compile_tree

    c = compile_tree(tree)
    v = Varying(draws=len(x))
    group_index = {g: j for j, (g, _, _) in enumerate(c.groups)}
    for j, p in enumerate(params):
        column = np.ascontiguousarray(x[:, j])
        if p.kind == "influence":
            v.influence = column
        elif p.kind == "blind_spot":
            v.groups[group_index[p.target]] = column
        else:
            for key in ("false_accept", "false_reject") if p.key == "error" else (p.key,):
                v.nodes.setdefault(key, {})[c.index[p.target]] = column
    return root_metrics_batched(c, v, **limits)


def with_draw(tree: nx.DiGraph, params: tuple[Parameter, ...], values: np.ndarray) -> nx.DiGraph:
    """A copy of ``tree`` with one draw of its inputs written in as point values, without distributions.

    Parameters
    ----------
    tree : networkx.DiGraph
        A tree carrying distributions (it is not changed).
    params : tuple of Parameter
        Its inputs, :func:`parameters`.
    values : ndarray, shape (k,)
        One value per input (a row of :attr:`UncertaintyResult.inputs`).

    Returns
    -------
    networkx.DiGraph
        What :func:`~rrm_theory.exact_analysis` of draw ``values`` sees.

    Raises
    ------
    KeyError
        If a parameter names a node or group that ``tree`` lacks.

    Examples
    --------
    >>> import numpy as np
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "error": {"beta": [2, 38]}}}})
    >>> G = with_draw(tree, parameters(tree), np.array([0.2]))
    >>> G.nodes["h"]["false_accept"], G.nodes["h"]["false_reject"], "uncertainty" in G.graph
    (0.2, 0.2, False)
    """
    G = tree.copy()
    G.graph = copy.deepcopy(tree.graph)
    G.graph.pop("uncertainty", None)
    for p, value in zip(params, values.tolist()):
        if p.kind == "influence":
            G.graph["influence"] = value
        elif p.kind == "blind_spot":
            G.graph["blind_spots"][p.target]["probability"] = value
        else:
            for key in ("false_accept", "false_reject") if p.key == "error" else (p.key,):
                G.nodes[p.target][key] = value
    return G


def _per_draw(tree: nx.DiGraph, params: tuple[Parameter, ...], x: np.ndarray,
              limits: Mapping[str, int]) -> dict[str, np.ndarray]:  # fmt: skip
    from .exact import exact_analysis

    out = {m: np.empty(len(x)) for m in METRICS}
    for i, row in enumerate(x):
        root = exact_analysis(with_draw(tree, params, row), **limits).root
        for m in METRICS:
            value = getattr(root, m)
            out[m][i] = np.nan if value is None else value
    return out


@dataclass(frozen=True)
class Posterior:
    """The distribution of one root metric over the draws where it is defined.

    Attributes
    ----------
    mean, median, sd : float or None
        Over the defined draws (``sd`` with ``ddof=1``).
    low, high : float or None
        The equal-tailed credible interval: the ``(1 - level)/2`` and ``(1 + level)/2``
        quantiles (numpy's default, linear interpolation).
    se : float or None
        The Monte Carlo standard error of the mean, ``sd / sqrt(defined)``.
    defined : int
        The draws where the metric is defined (``false_accept`` is undefined in a draw
        whose work is never bad, MODEL.md section 3); every other field is None when 0.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "false_accept": {"uniform": [0.1, 0.3]},
    ...                                       "false_reject": 0.1}}})
    >>> fa = propagate(tree, 10_000, rng=2).summary["false_accept"]
    >>> round(fa.mean, 2), round(fa.low, 3), round(fa.high, 3), fa.defined
    (0.2, 0.105, 0.295, 10000)
    """

    mean: float | None
    median: float | None
    sd: float | None
    low: float | None
    high: float | None
    se: float | None
    defined: int

    def to_dict(self) -> dict[str, Any] | None:
        """The JSON object of one metric (``ci`` the interval); None when no draw defines it."""
        if self.defined == 0:
            return None
        return {"mean": self.mean, "median": self.median, "sd": self.sd, "ci": [self.low, self.high],
                "se": self.se, "defined": self.defined}  # fmt: skip


def _posterior(x: np.ndarray, level: float) -> Posterior:
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Posterior(None, None, None, None, None, None, 0)
    sd = float(np.std(x, ddof=1)) if n > 1 else 0.0
    low, median, high = np.quantile(x, [(1.0 - level) / 2.0, 0.5, (1.0 + level) / 2.0]).tolist()
    return Posterior(float(np.mean(x)), median, sd, low, high, sd / float(np.sqrt(n)), n)


@dataclass(frozen=True)
class UncertaintyResult:
    """The root metrics of a tree whose rates are uncertain, over draws of the rates.

    Attributes
    ----------
    name : str
    draws : int
    seed : int
        ``propagate(tree, draws, rng=seed)`` repeats the run exactly.
    level : float
        The credible level.
    exceed : float or None
        The false-accept level of :attr:`p_exceed`.
    method : {"vectorised", "per-draw"}
    parameters : tuple of Parameter
    inputs : ndarray, shape (draws, k)
        The draws of the inputs, one column per parameter (read-only).
    samples : mapping metric -> ndarray, shape (draws,)
        Each root metric in each draw, NaN where undefined (read-only).
    summary : mapping metric -> Posterior
    p_exceed : float or None
        The fraction of draws with ``false_accept > exceed`` (of those where it is
        defined); its Monte Carlo standard error is ``sqrt(p (1 - p) / defined)``.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "false_accept": {"beta": [2, 18]},
    ...                                       "false_reject": 0.1}}})
    >>> result = propagate(tree, 1000, rng=1, exceed=0.2)
    >>> result.inputs.shape, result.samples["false_accept"].shape, [p.label for p in result.parameters]
    ((1000, 1), (1000,), ['h.false_accept'])
    >>> sorted(result.to_dict())
    ['credible', 'draws', 'exceed', 'method', 'p_exceed', 'parameters', 'root', 'seed']
    """

    name: str
    draws: int
    seed: int
    level: float
    exceed: float | None
    method: str
    parameters: tuple[Parameter, ...]
    inputs: np.ndarray
    samples: Mapping[str, np.ndarray]
    summary: Mapping[str, Posterior]
    p_exceed: float | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``rrm-theory analyze --uncertainty`` (``uncertainty.propagation``)."""
        return {
            "draws": self.draws,
            "seed": self.seed,
            "credible": self.level,
            "exceed": self.exceed,
            "p_exceed": self.p_exceed,
            "method": self.method,
            "parameters": [p.to_dict() for p in self.parameters],
            "root": {m: self.summary[m].to_dict() for m in METRICS},
        }


_LIMITS = ("max_shared_events", "max_instances", "max_work")


def propagate(
    tree: nx.DiGraph,
    draws: int,
    *,
    rng: np.random.Generator | np.random.SeedSequence | int | None = None,
    level: float = 0.95,
    exceed: float | None = None,
    method: str = "vectorised",
    max_shared_events: int = 16,
    max_instances: int = 2**22,
    max_work: int = 2**30,
) -> UncertaintyResult:
    """The distribution of the root metrics when the tree's rates are uncertain.

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated tree carrying distributions (``[uncertainty]`` in its spec).
    draws : int
        How many draws of the inputs; each is analysed exactly.
    rng : numpy Generator, SeedSequence, int or None, keyword-only
        SPEC 7. Draw i is row i of ``Generator(PCG64(seed)).random((draws, k))``
        passed through the inverse CDFs, so a run of fewer draws is a prefix.
    level : float, keyword-only
        The credible level, in (0, 1) (equal-tailed interval).
    exceed : float, optional, keyword-only
        Report ``P(false_accept > exceed)`` over the draws.
    method : {"vectorised", "per-draw"}, keyword-only
        ``"vectorised"``: one exact pass over the tree for all draws at once.
        ``"per-draw"``: :func:`~rrm_theory.exact_analysis` on a copy of the tree
        per draw (the reference, and the baseline of benchmarks/bench_uncertainty.py).
    max_shared_events, max_instances, max_work : int, keyword-only
        The limits of :func:`~rrm_theory.exact_analysis`, which apply per draw.

    Returns
    -------
    UncertaintyResult

    Raises
    ------
    SpecError
        If the tree carries no distributions.
    ExactRefused
        If exact analysis declines the tree.

    Examples
    --------
    One human judging directly, whose false accept rate is known from 3 errors in 40
    checked bad items (a Beta(3.5, 37.5) posterior under a Jeffreys prior):

    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"human": {
    ...     "prior": 0.5, "false_accept": {"beta": [3.5, 37.5]}, "false_reject": 0.05}}})
    >>> result = propagate(tree, 20_000, rng=1, exceed=0.15)
    >>> fa = result.summary["false_accept"]
    >>> round(fa.mean, 3), [round(x, 3) for x in (fa.low, fa.high)], round(result.p_exceed, 2)
    (0.085, [0.022, 0.186], 0.08)
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws={draws!r} is not a whole number >= 1")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level!r} is not in (0, 1)")
    if exceed is not None and not 0.0 <= exceed <= 1.0:
        raise ValueError(f"exceed={exceed!r} is not a probability in [0, 1]")
    params = _require(tree, "propagating uncertainty")
    seed = _seed(rng)
    u = np.random.default_rng(seed).random((int(draws), len(params)))
    x = _transform(params, u)
    limits = {"max_shared_events": max_shared_events, "max_instances": max_instances, "max_work": max_work}
    samples = _evaluate(tree, params, x, method, limits)
    for a in (x, *samples.values()):
        a.setflags(write=False)
    p_exceed = None
    if exceed is not None:
        fa = samples["false_accept"][~np.isnan(samples["false_accept"])]
        p_exceed = float(np.mean(fa > exceed)) if len(fa) else None
    return UncertaintyResult(
        name=str(tree.graph.get("name", "tree")),
        draws=int(draws),
        seed=seed,
        level=float(level),
        exceed=None if exceed is None else float(exceed),
        method=method,
        parameters=params,
        inputs=x,
        samples=samples,
        summary={m: _posterior(samples[m], level) for m in METRICS},
        p_exceed=p_exceed,
    )


# ----------------------------------------------------------------- sensitivity


@dataclass(frozen=True)
class Sobol:
    """Sobol indices of one root metric with respect to each uncertain input.

    Attributes
    ----------
    name : str
        The tree's name.
    metric : str
        The root metric (default ``false_accept``).
    samples : int
        SALib's N (base samples, a power of two).
    evaluations : int
        How often the metric was computed exactly: ``N (k + 2)`` (Saltelli's scheme
        without second-order indices).
    seed : int
        ``sobol(tree, samples, rng=seed)`` repeats the run exactly.
    level : float
        The confidence level of the intervals.
    parameters : tuple of Parameter
    first, total : ndarray, shape (k,)
        ``first[j]``: the share of the metric's variance input j explains alone;
        ``total[j]``: the share it takes part in, interactions included. Estimates may
        stray a little below 0 or above 1 by sampling error.
    first_conf, total_conf : ndarray, shape (k,)
        Half-widths of SALib's bootstrap confidence intervals at ``level``.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "false_accept": {"uniform": [0.0, 0.2]},
    ...                                       "false_reject": {"uniform": [0.0, 0.2]}}}})
    >>> s = sobol(tree, 256, rng=1)
    >>> s.evaluations, [s.parameters[j].label for j in s.ranked()]
    (1024, ['h.false_accept', 'h.false_reject'])
    """

    name: str
    metric: str
    samples: int
    evaluations: int
    seed: int
    level: float
    parameters: tuple[Parameter, ...]
    first: np.ndarray
    first_conf: np.ndarray
    total: np.ndarray
    total_conf: np.ndarray

    def ranked(self) -> list[int]:
        """Parameter indices, largest total index first (what to measure better first)."""
        return sorted(range(len(self.parameters)), key=lambda j: (-self.total[j], j))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``rrm-theory analyze --sobol`` (``uncertainty.sobol``)."""
        return {
            "metric": self.metric,
            "samples": self.samples,
            "evaluations": self.evaluations,
            "seed": self.seed,
            "confidence": self.level,
            "indices": [
                {"parameter": p.label, "first": float(self.first[j]),
                 "first_ci": [float(self.first[j] - self.first_conf[j]), float(self.first[j] + self.first_conf[j])],
                 "total": float(self.total[j]),
                 "total_ci": [float(self.total[j] - self.total_conf[j]), float(self.total[j] + self.total_conf[j])]}
                for j, p in enumerate(self.parameters)
            ],
        }  # fmt: skip


def sobol(
    tree: nx.DiGraph,
    samples: int,
    *,
    rng: np.random.Generator | np.random.SeedSequence | int | None = None,
    metric: str = "false_accept",
    level: float = 0.95,
    resamples: int = 100,
    max_shared_events: int = 16,
    max_instances: int = 2**22,
    max_work: int = 2**30,
) -> Sobol:
    """First-order and total Sobol indices of a root metric, one per uncertain input.

    Each input is a uniform variable on [0, 1] passed through its distribution's inverse
    CDF, so SALib's unit-cube design (a scrambled Sobol' sequence, Saltelli's scheme)
    samples the inputs' joint distribution; the metric is computed exactly for every
    design point (vectorised over the design).

    Parameters
    ----------
    tree : networkx.DiGraph
        A tree carrying distributions.
    samples : int
        SALib's base sample count N, a power of two; the metric is computed N (k + 2) times.
    rng : numpy Generator, SeedSequence, int or None, keyword-only
        SPEC 7: seeds the scrambling of the design and the bootstrap of the intervals.
    metric : str, keyword-only
        A root metric (:data:`rrm_theory.METRICS`), default the false accept rate.
    level : float, keyword-only
        The confidence level of the bootstrap intervals.
    resamples : int, keyword-only
        Bootstrap resamples.
    max_shared_events, max_instances, max_work : int, keyword-only
        The limits of :func:`~rrm_theory.exact_analysis`.

    Returns
    -------
    Sobol

    Raises
    ------
    ModuleNotFoundError
        Without SALib; the message names the extra to install.
    SpecError
        If the tree carries no distributions.
    UndefinedMetric
        If the metric is undefined in some design point (for ``false_accept``: the
        work is never bad there).
    ValueError
        If ``samples`` is not a power of two.

    Examples
    --------
    A human's false accept rate is uncertain, and so is their false reject rate; only
    the first moves the false accept rate of the verdict:

    >>> import rrm_theory as rrm
    >>> tree = rrm.from_dict({"nodes": {"human": {"prior": 0.5,
    ...     "false_accept": {"uniform": [0.0, 0.2]}, "false_reject": {"uniform": [0.0, 0.2]}}}})
    >>> s = sobol(tree, 1024, rng=3)
    >>> [round(float(x), 2) for x in s.first], [round(float(x), 2) for x in s.total]
    ([1.0, 0.0], [1.0, 0.0])
    """
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r} is not a metric; metrics: {', '.join(METRICS)}")
    whole = not isinstance(samples, bool) and isinstance(samples, (int, np.integer))
    if not whole or samples < 2 or samples & (samples - 1):
        raise ValueError(f"samples={samples!r} is not a power of two >= 2 (Sobol' sequences balance only at powers of "
                         "two: 256, 1024, 4096, ...)")  # fmt: skip
    params = _require(tree, "Sobol indices")
    try:
        from SALib.analyze import sobol as analyzer
        from SALib.sample import sobol as sampler
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"Sobol indices need SALib: {SENSITIVITY_EXTRA}", name=exc.name) from None
    seed = _seed(rng)
    design_seed, bootstrap_seed = np.random.default_rng(seed).integers(1, 2**31, size=2).tolist()  # SALib: 0 = unseeded
    k = len(params)
    problem = {"num_vars": k, "names": [p.label for p in params], "bounds": [[0.0, 1.0]] * k}
    u = sampler.sample(problem, int(samples), calc_second_order=False, scramble=True, seed=design_seed)
    x = _transform(params, u)
    limits = {"max_shared_events": max_shared_events, "max_instances": max_instances, "max_work": max_work}
    y = _evaluate(tree, params, x, "vectorised", limits)[metric]
    if np.isnan(y).any():
        raise UndefinedMetric(f"tree {tree.graph.get('name', '<unnamed>')!r}: {metric} is undefined in "
                         f"{int(np.isnan(y).sum()):,} of the {len(y):,} design points (its condition has probability "
                         "0 there), so its variance cannot be apportioned")  # fmt: skip
    if np.ptp(y) == 0.0:  # the metric does not vary: no input explains any of it
        first, first_conf, total, total_conf = (np.zeros(k) for _ in range(4))
    else:
        got = analyzer.analyze(problem, y, calc_second_order=False, num_resamples=resamples, conf_level=level,
                               seed=bootstrap_seed)  # fmt: skip
        first, first_conf = np.asarray(got["S1"], float), np.asarray(got["S1_conf"], float)
        total, total_conf = np.asarray(got["ST"], float), np.asarray(got["ST_conf"], float)
    for a in (first, first_conf, total, total_conf):
        a.setflags(write=False)
    return Sobol(
        name=str(tree.graph.get("name", "tree")),
        metric=metric,
        samples=int(samples),
        evaluations=len(y),
        seed=seed,
        level=float(level),
        parameters=params,
        first=first,
        first_conf=first_conf,
        total=total,
        total_conf=total_conf,
    )
