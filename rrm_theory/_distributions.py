"""Distributions of uncertain rates, as a spec writes them (docs/uncertainty.md).

A value that is a probability (an error rate, a prior, a blind spot's probability, ...)
may be given as a distribution instead of a number:

* ``{ beta = [a, b] }``: Beta(a, b), ``a, b > 0`` and finite;
* ``{ uniform = [lo, hi] }``: uniform on ``[lo, hi]``, ``0 <= lo <= hi <= 1``.

Both are frozen dataclasses that compare by value (so a tree that carries them still
compares equal to its round trip through a spec file). Sampling is by the inverse CDF:
:meth:`Beta.ppf` needs :mod:`scipy.special`, imported only when it is called, so reading
a spec never imports scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ._text import quote
from .errors import SpecError
from .tree import show_value

__all__ = [
    "Beta", "Uniform", "Distribution", "DISTRIBUTION_KINDS", "NODE_DISTRIBUTION_KEYS",
    "read_distribution", "check_distribution", "check_uncertainty", "shown",
]  # fmt: skip

#: The distributions a spec may write, with what their parameters are.
DISTRIBUTION_KINDS = {"beta": "[a, b]", "uniform": "[lo, hi]"}


@dataclass(frozen=True)
class Beta:
    """Beta(a, b) on [0, 1]; a spec writes ``{ beta = [a, b] }``.

    Attributes
    ----------
    a, b : float
        The shape parameters, finite and > 0 (mean a / (a + b)).

    Examples
    --------
    >>> d = Beta(3.5, 40.5)
    >>> round(d.mean, 6), str(d)
    (0.079545, '{ beta = [3.5, 40.5] }')
    """

    a: float
    b: float

    @property
    def mean(self) -> float:
        """a / (a + b)."""
        return 1.0 / (1.0 + self.b / self.a)

    @property
    def sd(self) -> float:
        """The standard deviation, sqrt(ab / ((a + b)^2 (a + b + 1)))."""
        s = self.a + self.b
        return math.sqrt(self.a * self.b / (s * s * (s + 1.0)))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF at ``u`` (uniform draws in [0, 1] -> Beta draws)."""
        from scipy.special import betaincinv

        return np.asarray(betaincinv(self.a, self.b, u), dtype=float)

    def to_spec(self) -> dict[str, list[float]]:
        """``{"beta": [a, b]}``, as a spec writes it."""
        return {"beta": [self.a, self.b]}

    def __str__(self) -> str:
        return f"{{ beta = [{self.a!r}, {self.b!r}] }}"


@dataclass(frozen=True)
class Uniform:
    """The uniform distribution on [low, high]; a spec writes ``{ uniform = [lo, hi] }``.

    Attributes
    ----------
    low, high : float
        The ends, ``0 <= low <= high <= 1`` (``low == high`` is a constant).

    Examples
    --------
    >>> d = Uniform(0.01, 0.2)
    >>> round(d.mean, 6), d.ppf(np.array([0.0, 1.0])).tolist()
    (0.105, [0.01, 0.2])
    """

    low: float
    high: float

    @property
    def mean(self) -> float:
        """(low + high) / 2."""
        return (self.low + self.high) / 2.0

    @property
    def sd(self) -> float:
        """(high - low) / sqrt(12)."""
        return (self.high - self.low) / math.sqrt(12.0)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF at ``u``: ``low + (high - low) u``, kept inside [low, high]."""
        return np.clip(self.low + (self.high - self.low) * np.asarray(u, dtype=float), self.low, self.high)

    def to_spec(self) -> dict[str, list[float]]:
        """``{"uniform": [lo, hi]}``, as a spec writes it."""
        return {"uniform": [self.low, self.high]}

    def __str__(self) -> str:
        return f"{{ uniform = [{self.low!r}, {self.high!r}] }}"


Distribution = Union[Beta, Uniform]


def _real(x: object) -> float | None:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        return None
    try:
        return float(x)
    except OverflowError:
        return None


def shown(value: object) -> str:
    """A value as a message shows it; a table as TOML writes it inline (``{ beta = [1, 2] }``)."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k if isinstance(k, str) and k.isidentifier() else quote(k)} = {show_value(v)}"
                          for k, v in value.items())  # fmt: skip
        text = f"{{ {inner} }}" if inner else "{}"
        return text if len(text) <= 60 else text[:57] + "..."
    return show_value(value)


def read_distribution(value: object, key: str, where: str) -> Distribution:
    """The distribution a spec table writes for ``key``, checked; or :class:`SpecError`.

    ``where`` names the file and table, e.g. ``"chip.toml: node 'heat'"``.

    Examples
    --------
    >>> read_distribution({"beta": [2, 61]}, "false_reject", "t.toml: node 'a'")
    Beta(a=2.0, b=61.0)
    >>> read_distribution({"beta": [0, 2]}, "false_accept", "t.toml: node 'a'")
    Traceback (most recent call last):
    ...
    rrm_theory.errors.SpecError: t.toml: node 'a': false_accept={ beta = [0, 2] }: a=0 is not a finite number > 0
    """
    valid = "; valid: " + ", ".join(f"{{ {k} = {v} }}" for k, v in DISTRIBUTION_KINDS.items())
    if not isinstance(value, dict):
        raise SpecError(f"{where}: {key}={shown(value)} is not a distribution{valid}")
    head = f"{where}: {key}={shown(value)}"
    if len(value) != 1:
        problem = "names no distribution" if not value else "names more than one distribution"
        raise SpecError(f"{head} {problem}{valid}")
    ((kind, params),) = value.items()
    if kind not in DISTRIBUTION_KINDS:
        raise SpecError(f"{head}: unknown distribution {quote(kind)}{valid}")
    numbers = [_real(x) for x in params] if isinstance(params, list) and len(params) == 2 else [None]
    if None in numbers:
        raise SpecError(f"{head}: {kind} takes two numbers {DISTRIBUTION_KINDS[kind]}")
    x, y = numbers
    if kind == "beta":
        for name, v, raw in (("a", x, params[0]), ("b", y, params[1])):
            if not (math.isfinite(v) and v > 0.0):  # type: ignore[arg-type]
                raise SpecError(f"{head}: {name}={show_value(raw)} is not a finite number > 0")
        return Beta(x, y)  # type: ignore[arg-type]
    if not (0.0 <= x <= y <= 1.0):  # type: ignore[operator]  # NaN fails
        raise SpecError(f"{head}: needs 0 <= lo <= hi <= 1")
    return Uniform(x, y)  # type: ignore[arg-type]


def check_distribution(value: Any, key: str, where: str) -> Distribution:
    """A distribution carried by a tree (possibly edited by hand), checked as a spec's would be."""
    if isinstance(value, (Beta, Uniform)):
        return read_distribution(value.to_spec(), key, where)
    raise SpecError(f"{where}: {key}={shown(value)} is not a distribution (rrm_theory.uncertainty.Beta or Uniform)")


#: Node keys that may carry a distribution (``error``: one draw for both rates).
NODE_DISTRIBUTION_KEYS = (
    "false_accept", "false_reject", "error", "prior", "coverage", "deception", "audit", "exposure",
)  # fmt: skip
_RATES = ("false_accept", "false_reject")


def check_uncertainty(G: Any, *, source: str | None = None) -> dict[str, Any] | None:
    """The distributions a tree carries (``G.graph["uncertainty"]``), checked; None if it has none.

    The loader writes ``{"influence": Distribution | None, "blind_spots": {group:
    Distribution}, "nodes": {node: {key: Distribution}}}``; a tree edited by hand is
    checked here as a spec would be: known nodes, groups and keys, each key where it
    applies (``prior`` on leaves, ``coverage`` on internal nodes, no ``audit`` on the
    root), ``error`` never beside one of the rates it stands for.

    Raises
    ------
    SpecError
        Naming the tree, the node or group and the key.
    """
    from .tree import tree_root

    unc = G.graph.get("uncertainty")
    if unc is None:
        return None
    label = source or f"tree {quote(G.graph.get('name', '<unnamed>'))}"
    if not isinstance(unc, dict) or not set(unc) <= {"influence", "blind_spots", "nodes"}:
        raise SpecError(f"{label}: graph['uncertainty'] must be a dict with 'influence', 'blind_spots' and 'nodes'")
    influence = unc.get("influence")
    if influence is not None:
        check_distribution(influence, "influence", label)
    groups = G.graph.get("blind_spots", {})
    for g, d in (unc.get("blind_spots") or {}).items():
        where = f"{label}: blind spot {quote(g)}"
        if g not in groups:
            raise SpecError(f"{where}: has a distribution but is not a group of the tree's blind_spots")
        check_distribution(d, "probability", where)
    nodes = unc.get("nodes") or {}
    root = tree_root(G) if nodes else None
    for v, table in nodes.items():
        where = f"{label}: node {quote(v)}"
        try:
            known = v in G
        except TypeError:
            known = False
        if not known:
            raise SpecError(f"{where}: has distributions but is not a node of the tree")
        if not isinstance(table, dict):
            raise SpecError(f"{where}: its distributions must be a dict key -> distribution")
        leaf = G.out_degree(v) == 0
        for key, d in table.items():
            if key not in NODE_DISTRIBUTION_KEYS:
                raise SpecError(f"{where}: {quote(key)} cannot have a distribution; "
                                f"valid: {', '.join(NODE_DISTRIBUTION_KEYS)}")  # fmt: skip
            check_distribution(d, key, where)
            if (key == "prior" and not leaf) or (key == "coverage" and leaf) or (key == "audit" and v == root):
                raise SpecError(f"{where}: {key}={d} does not apply to this node "
                                "(prior: leaves; coverage: internal nodes; audit: not the root)")  # fmt: skip
        if "error" in table and any(k in table for k in _RATES):
            raise SpecError(f"{where}: error and a rate both have distributions; error is one draw for both rates")
    if influence is None and not unc.get("blind_spots") and not nodes:
        return None
    return {"influence": influence, "blind_spots": dict(unc.get("blind_spots") or {}), "nodes": dict(nodes)}
