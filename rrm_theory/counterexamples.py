"""Minimal counterexamples to claims about oversight (needs ``hypothesis``).

A claim is a predicate over an evaluation tree, ``claim(tree) -> bool``, or
over a tree and its exact analysis, ``claim(tree, analysis) -> bool``.
:func:`counterexample` searches trees drawn by :mod:`rrm_theory.strategies`
for one that breaks the claim and shrinks it with Hypothesis toward the
smallest tree and the simplest parameters. The search is deterministic (its
randomness comes from ``seed``). See docs/counterexamples.md for a worked guide.
"""

from __future__ import annotations

import inspect
import random
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import networkx as nx
import numpy as np

try:
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample, Unsatisfiable
    from hypothesis.strategies import SearchStrategy
except ModuleNotFoundError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ModuleNotFoundError(
        "rrm_theory.counterexample needs Hypothesis: pip install 'rrm-theory[hypothesis]'", name=exc.name
    ) from exc

from .errors import ExactRefused
from .exact import exact_analysis
from .results import Analysis
from .spec import dumps_spec, to_dict
from .strategies import trees

__all__ = ["Counterexample", "counterexample"]


@dataclass(frozen=True)
class Counterexample:
    """The smallest tree found that breaks a claim.

    Attributes
    ----------
    tree : networkx.DiGraph
    analysis : Analysis or None
        Its exact analysis (None where exact analysis declines it).
    examples : int
        How many trees the search was allowed.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> found = Counterexample(rrm.chain(1, error=0.1, prior=0.5), None, 100)
    >>> found.spec["nodes"]["L1_0"]["parent"]
    'L0_0'
    >>> str(found).splitlines()[0]                       # the tree as a TOML spec
    'name = "chain-1"'
    """

    tree: nx.DiGraph
    analysis: Analysis | None
    examples: int

    @property
    def spec(self) -> dict[str, Any]:
        """The counterexample as a spec dictionary."""
        return to_dict(self.tree)

    def __str__(self) -> str:
        """The counterexample as a TOML spec file."""
        return dumps_spec(self.tree)


def counterexample(
    claim: Callable[..., bool],
    *,
    strategy: SearchStrategy[nx.DiGraph] | None = None,
    max_examples: int = 2000,
    rng: np.random.Generator | np.random.SeedSequence | int | None = 0,
    seed: int | None = None,
) -> Counterexample | None:
    """The smallest tree breaking ``claim``, or None if none is found within the budget.

    Parameters
    ----------
    claim : callable
        ``claim(tree)`` or ``claim(tree, analysis)``, True when the claim holds.
        Trees that exact analysis declines are skipped for two-argument claims.
    strategy : hypothesis strategy, optional
        The trees to search (default :func:`rrm_theory.strategies.trees` with
        at most 6 nodes and no shared events).
    max_examples : int, keyword-only
        The search budget (trees tried before shrinking).
    rng : Generator, SeedSequence, int or None, keyword-only
        The search's randomness (SPEC 7): the default 0 makes it reproducible;
        None draws fresh entropy.
    seed : int, keyword-only
        Deprecated alias of ``rng`` (an int seed).

    Returns
    -------
    Counterexample or None
        None means no counterexample among ``max_examples`` trees: evidence
        that the claim holds on such trees, not a proof.

    Raises
    ------
    ValueError
        For a negative int ``rng``.
    TypeError
        For an ``rng`` that is not a Generator, SeedSequence, int or None.
    hypothesis.errors.InvalidArgument
        For a ``max_examples`` that is not a whole number >= 1.
    Exception
        Whatever ``claim`` raises on a tree propagates (a claim states False, it
        does not raise).

    Examples
    --------
    "A tree's false accept rate never exceeds its leaves' worst": false, and
    the smallest witness is a root over one leaf whose own evaluator errs:

    >>> found = counterexample(lambda tree, a: (a.root.false_accept or 0.0) <= max(
    ...     a.per_node[v].false_accept or 0.0 for v in tree if tree.out_degree(v) == 0))
    >>> found.tree.number_of_nodes(), found.analysis.root.false_accept > 0
    (2, True)
    """
    if seed is not None:
        warnings.warn("counterexample(seed=...) is deprecated: use rng=", DeprecationWarning, stacklevel=2)
        rng = seed
    from .montecarlo import _seed

    source = random.Random(_seed(rng))
    two = len(inspect.signature(claim).parameters) >= 2
    strategy = trees(max_nodes=6) if strategy is None else strategy

    def broken(tree: nx.DiGraph) -> bool:
        if not two:
            return not claim(tree)
        try:
            analysis = exact_analysis(tree)
        except ExactRefused:
            return False
        return not claim(tree, analysis)

    config = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    try:
        tree = find(strategy, broken, settings=config, random=source)
    except (NoSuchExample, Unsatisfiable):
        return None
    try:
        analysis = exact_analysis(tree)
    except ExactRefused:
        analysis = None
    return Counterexample(tree, analysis, max_examples)
