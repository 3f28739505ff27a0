"""What :func:`rrm_theory.fit.fit_rates` returns, and the fitted spec it writes (docs/fit.md).

A :class:`Rate` is one fitted error rate as a Beta posterior; a :class:`WorkerFit` one
worker's two rates at one node; a :class:`NodeFit` a node's pooled rates and its
workers'; a :class:`Fit` all of them, with the spec they were fitted for.

The fitted spec is the input spec with the point estimates (posterior means) written
into ``[nodes.<id>]`` for every node whose *channel* was fitted (leaves, and internal
nodes with ``input``), their Beta posteriors in ``[uncertainty.nodes.<id>]``::

    [uncertainty.nodes.heat]
    false_accept = { beta = [3.5, 40.5] }
    false_reject = { beta = [2.0, 61.0] }

and a comment header that says what was fitted from which file, and what was not.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .. import _toml
from .._text import printable
from ..errors import SpecError

__all__ = ["Rate", "WorkerFit", "NodeFit", "Fit"]


@dataclass(frozen=True)
class Rate:
    """One fitted error rate: a Beta posterior and what it is made of.

    Attributes
    ----------
    estimate : float
        The posterior mean, ``a / (a + b)``: the value written into the spec.
    interval : tuple of float
        The equal-tailed credible interval at the fit's level (Beta quantiles).
    beta : tuple of float
        ``(a, b)``: ``a = prior_a + information * errors``,
        ``b = prior_b + information * (labels - errors)``.
    errors, labels : float
        Expected counts: erroneous labels (false accepts, or false rejects) and all
        labels on items whose reference is in the rate's class (0 for
        ``false_accept``, 1 for ``false_reject``). Whole numbers where every
        reference is known; ``errors / labels`` is the maximum-likelihood rate.
    information : float
        The share, in [0, 1], of the information complete data (every reference
        known) would give that the labels keep (Louis 1982); 1 with gold only, 0 for
        a rate the labels do not identify (its posterior is then the prior).

    Examples
    --------
    One worker labels a leaf's work on four tasks whose truth is known; of the three
    good ones it rejects one, so with the uniform prior ``false_reject`` is
    Beta(1 + 1, 1 + 2):

    >>> import pandas as pd
    >>> from rrm_theory.fit import fit_rates
    >>> spec = {"defaults": {"error": 0.1, "prior": 0.5},
    ...         "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict"}}}
    >>> labels = pd.DataFrame({"task": ["t1", "t2", "t3", "t4"], "node": "heat", "worker": "ann",
    ...                        "label": [1, 0, 0, 1], "gold": [1, 0, 1, 1]})
    >>> fit = fit_rates(labels, spec)
    >>> rate = fit.evaluators["heat"].false_reject
    >>> rate.errors, rate.labels, rate.information, rate.beta
    (1.0, 3.0, 1.0, (2.0, 3.0))
    >>> rate.estimate, [round(x, 4) for x in rate.interval]
    (0.4, [0.0676, 0.8059])
    >>> sorted(rate.to_dict())
    ['beta', 'counts', 'estimate', 'information', 'interval']
    """

    estimate: float
    interval: tuple[float, float]
    beta: tuple[float, float]
    errors: float
    labels: float
    information: float

    def to_dict(self) -> dict[str, Any]:
        """``estimate``, ``interval``, ``beta``, ``counts`` (``[errors, labels]``), ``information``."""
        return {"estimate": self.estimate, "interval": list(self.interval), "beta": list(self.beta),
                "counts": [self.errors, self.labels], "information": self.information}  # fmt: skip


@dataclass(frozen=True)
class WorkerFit:
    """One worker's rates at one node, and how many of its labels had a known reference.

    Attributes
    ----------
    false_accept, false_reject : Rate
        The worker's own rates at the node, from its labels alone.
    labels : int
        The worker's labels at the node.
    gold : int
        Of those, the labels on items whose ``gold`` (the truth) is given.
    input : int
        Of those, the labels on items whose ``input`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> from rrm_theory.fit import fit_rates
    >>> spec = {"defaults": {"error": 0.1, "prior": 0.5},
    ...         "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict"}}}
    >>> labels = pd.DataFrame({"task": ["t1", "t2", "t3", "t4"], "node": "heat", "worker": "ann",
    ...                        "label": [1, 0, 0, 1], "gold": [1, 0, 1, 1]})
    >>> fit = fit_rates(labels, spec)
    >>> ann = fit.evaluators["heat"].workers["ann"]
    >>> ann.labels, ann.gold, ann.input
    (4, 4, 0)
    >>> ann.false_accept.beta, ann.false_reject.beta
    ((1.0, 2.0), (2.0, 3.0))
    """

    false_accept: Rate
    false_reject: Rate
    labels: int
    gold: int
    input: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (docs/schemas/fit.json)."""
        return {"false_accept": self.false_accept.to_dict(), "false_reject": self.false_reject.to_dict(),
                "labels": self.labels, "gold": self.gold, "input": self.input}  # fmt: skip


@dataclass(frozen=True)
class NodeFit:
    """A node's fitted rates: its workers' labels pooled, and each worker's own.

    Attributes
    ----------
    node : str
        The node's id in the spec.
    rates : {"channel", "observed"}
        ``"channel"``: the node's error channel, P(label | reference) with the
        reference its input U (MODEL.md 2.3): at a leaf the truth, at an internal
        node the ``input`` column. These are written into the fitted spec.
        ``"observed"``: an internal node without ``input``: P(V = 1 | Y = 0) and
        P(V = 0 | Y = 1) against gold, which also count the errors of the node's
        children; reported only, never written as channel rates.
    reference : {"truth", "input"}
        What the rates are conditioned on.
    leaf : bool
        Whether the node is a leaf of the spec.
    false_accept, false_reject : Rate
        The pooled rates (every worker's labels counted together).
    labels, items, gold, input : int
        The node's labels, its items (tasks), and its labels on items with gold or
        with input given.
    unused : int
        Labels not used: those of an ``"observed"`` node on items without gold
        (EM would estimate something else there, docs/fit.md).
    em_items, em_labels : int
        Items (and their labels) whose reference is latent, fitted by EM.
    iterations : int
        EM iterations until the node's largest parameter change was at most ``tol``.
    converged : bool
        False if ``max_iter`` came first.
    workers : mapping of str to WorkerFit
        Each worker's own rates, in order of first appearance in the table.

    Examples
    --------
    >>> import pandas as pd
    >>> from rrm_theory.fit import fit_rates
    >>> spec = {"defaults": {"error": 0.1, "prior": 0.5},
    ...         "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict"}}}
    >>> labels = pd.DataFrame({"task": ["t1", "t2", "t3", "t4"], "node": "heat", "worker": "ann",
    ...                        "label": [1, 0, 0, 1], "gold": [1, 0, 1, 1]})
    >>> fit = fit_rates(labels, spec)
    >>> heat = fit.evaluators["heat"]
    >>> heat.node, heat.rates, heat.reference, heat.leaf, heat.written
    ('heat', 'channel', 'truth', True, True)
    >>> heat.labels, heat.items, heat.gold, heat.em_items, heat.converged
    (4, 4, 4, 0, True)
    >>> round(heat.false_accept.estimate, 4), heat.false_reject.estimate
    (0.3333, 0.4)
    >>> list(heat.workers)
    ['ann']
    """

    node: str
    rates: str
    reference: str
    leaf: bool
    false_accept: Rate
    false_reject: Rate
    labels: int
    items: int
    gold: int
    input: int
    unused: int
    em_items: int
    em_labels: int
    iterations: int
    converged: bool
    workers: Mapping[str, WorkerFit]

    def __post_init__(self) -> None:
        object.__setattr__(self, "workers", MappingProxyType(dict(self.workers)))

    @property
    def written(self) -> bool:
        """Whether the fitted spec takes these rates (channel rates only)."""
        return self.rates == "channel"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (docs/schemas/fit.json)."""
        return {
            "rates": self.rates, "reference": self.reference, "leaf": self.leaf,
            "false_accept": self.false_accept.to_dict(), "false_reject": self.false_reject.to_dict(),
            "labels": self.labels, "items": self.items, "gold": self.gold, "input": self.input,
            "unused": self.unused,
            "em": {"items": self.em_items, "labels": self.em_labels, "iterations": self.iterations,
                   "converged": self.converged},
            "workers": {w: fit.to_dict() for w, fit in self.workers.items()},
        }  # fmt: skip


@dataclass(frozen=True)
class Fit:
    """Error rates fitted from labelled data, and the spec they were fitted for.

    Attributes
    ----------
    evaluators : mapping of str to NodeFit
        The labelled nodes, in the spec's breadth-first order.
    level : float
        The credible level of every interval.
    prior : tuple of float
        ``(a, b)``: the Beta prior of every rate.
    source : str
        The label table (its file, or ``attrs["source"]`` of a DataFrame).
    spec_source : str
        The spec (its file, or its name).
    unlabelled : tuple of str
        Nodes of the spec without labels: kept as the spec has them.
    overridden : tuple of str
        Written nodes on which the spec also has approvals that are not the channel
        (deception, a blind spot, or exposure to the influence event): their labels
        count those approvals too (docs/fit.md).
    generated : bool
        The spec generates its tree (``[generate]``); the fitted spec lists the nodes.
    spec : mapping
        The spec dictionary the fitted spec starts from: a copy of the one given, the
        parsed spec file, :func:`~rrm_theory.spec.to_dict` of a tree, or for a
        ``[generate]`` spec its nodes listed (with its ``[uncertainty]``). Left out
        of the repr.

    Examples
    --------
    >>> import pandas as pd
    >>> from rrm_theory.fit import fit_rates
    >>> spec = {"defaults": {"error": 0.1, "prior": 0.5},
    ...         "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict"}}}
    >>> labels = pd.DataFrame({"task": ["t1", "t2", "t3", "t4"], "node": "heat", "worker": "ann",
    ...                        "label": [1, 0, 0, 1], "gold": [1, 0, 1, 1]})
    >>> fit = fit_rates(labels, spec)
    >>> list(fit.evaluators), fit.unlabelled, fit.level, fit.prior
    (['heat'], ('verdict',), 0.95, (1.0, 1.0))
    >>> fit.source, fit.spec_source, fit.generated
    ('labels', 'tree', False)
    >>> fit.fitted_spec()["nodes"]["heat"]
    {'parent': 'verdict', 'false_accept': 0.3333333333333333, 'false_reject': 0.4}
    >>> fit.fitted_spec()["uncertainty"]
    {'nodes': {'heat': {'false_accept': {'beta': [1.0, 2.0]}, 'false_reject': {'beta': [2.0, 3.0]}}}}
    """

    evaluators: Mapping[str, NodeFit]
    level: float
    prior: tuple[float, float]
    source: str
    spec_source: str
    unlabelled: tuple[str, ...]
    overridden: tuple[str, ...]
    generated: bool
    spec: Mapping[str, Any] = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evaluators", MappingProxyType(dict(self.evaluators)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``source``, ``spec``, ``level``, ``prior``, ``evaluators``, ``unlabelled``.

        ``rrm-theory fit --json`` prints it as one line after ``schema`` and ``version``
        (docs/schemas/fit.json).
        """
        return {"source": self.source, "spec": self.spec_source, "level": self.level, "prior": list(self.prior),
                "evaluators": {v: fit.to_dict() for v, fit in self.evaluators.items()},
                "unlabelled": list(self.unlabelled)}  # fmt: skip

    def fitted_spec(self) -> dict[str, Any]:
        """The spec dictionary with the fitted channel rates and their ``[uncertainty]``.

        A fitted node's ``error`` (and ``elo``) is replaced by the two rates; the rest
        of the spec is as given (a ``[generate]`` spec is listed node by node).
        """
        spec = copy.deepcopy(dict(self.spec))
        uncertainty = spec.pop("uncertainty", {})
        nodes_u = uncertainty.setdefault("nodes", {})
        for v, fit in self.evaluators.items():
            if not fit.written:
                continue
            table = spec["nodes"][v]
            for key in ("error", "elo"):
                table.pop(key, None)
            own = nodes_u.setdefault(v, {})
            own.pop("error", None)
            for name in ("false_accept", "false_reject"):
                rate: Rate = getattr(fit, name)
                table[name] = rate.estimate
                own[name] = {"beta": list(rate.beta)}
        if not nodes_u:
            del uncertainty["nodes"]
        if uncertainty:
            spec["uncertainty"] = uncertainty
        return spec

    def dumps_spec(self) -> str:
        """The fitted spec as TOML text, with a comment header saying what was fitted.

        Examples
        --------
        See :func:`rrm_theory.fit.fit_rates`.
        """
        lines: list[str] = []
        _table(self.fitted_spec(), [], lines)
        return "\n".join(self._header()) + "\n\n" + "\n".join(lines).lstrip("\n") + "\n"

    def write_spec(self, path: str | Path) -> None:
        """Write :meth:`dumps_spec` to ``path`` (a ``.toml`` file).

        Raises
        ------
        SpecError
            If the path does not end in ``.toml`` (the header comment needs TOML).
        """
        path = Path(path)
        if path.suffix.lower() != ".toml":
            raise SpecError(f"{printable(str(path))}: a fitted spec is written as TOML (.toml), whose comment "
                            "header says what was fitted")  # fmt: skip
        path.write_text(self.dumps_spec(), encoding="utf-8")

    def _header(self) -> list[str]:
        from .. import __version__

        a, b = self.prior
        written = [v for v, f in self.evaluators.items() if f.written]
        observed = [v for v, f in self.evaluators.items() if not f.written]
        lines = [f"Fitted by rrm-theory {__version__} (rrm-theory fit, docs/fit.md). Labels: "
                 f"{printable(self.source)}; spec: {printable(self.spec_source)}."]  # fmt: skip
        if self.generated:
            lines.append("The spec's [generate] table is written out node by node.")
        if written:
            lines.append(f"Written: the channel error rates of {_names(written)}, as posterior means; "
                         f"[uncertainty] holds their Beta posteriors (prior Beta({a:g}, {b:g}) on every rate; "
                         "labels without a known reference fitted by two-coin Dawid-Skene EM, their counts "
                         "scaled by the share of information they keep).")  # fmt: skip
        else:
            lines.append("Written: nothing (no leaf or internal node with input was labelled).")
        if observed:
            lines.append(f"Not written: {_names(observed)}: internal, without input, so their labels against "
                         "gold give observed rates only, P(V=1 | Y=0) and P(V=0 | Y=1), which also count their "
                         f"children's errors ({self.level * 100:g}% credible intervals):")  # fmt: skip
        out = []
        for line in lines:
            out += textwrap.wrap(line, 96, break_on_hyphens=False, break_long_words=False)
        for v in observed:
            f = self.evaluators[v]
            out.append(f"  {printable(v)}: false_accept {_rate(f.false_accept)}, "
                       f"false_reject {_rate(f.false_reject)} ({f.gold:,} labels with gold)")  # fmt: skip
        tail = []
        if self.overridden:
            tail.append(f"Note: the spec also gives {_names(list(self.overridden))} approvals that are not "
                        "their channel (deception, blind spots, influence); the labels count those too, so "
                        "they are counted twice when the fitted spec is analysed.")  # fmt: skip
        if self.unlabelled:
            tail.append(f"Not labelled, kept as in the spec: {_names(list(self.unlabelled))}.")
        for line in tail:
            out += textwrap.wrap(line, 96, break_on_hyphens=False, break_long_words=False)
        return ["# " + line if line else "#" for line in out]


def _names(nodes: list[str], most: int = 12) -> str:
    shown = ", ".join(printable(v) for v in nodes[:most])
    return shown + (f" and {len(nodes) - most} more" if len(nodes) > most else "")


def _rate(rate: Rate) -> str:
    lo, hi = rate.interval
    return f"{rate.estimate:.4g} [{lo:.4g}, {hi:.4g}]"


def _key(key: str) -> str:
    return _toml.dumps({key: 0})[: -len(" = 0\n")]


def _inline(value: Any) -> str:
    """A value as TOML writes it inline: ``{ beta = [3.5, 40.5] }``."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + " }"
    return _toml.dumps({"v": value})[len("v = ") : -1]


def _distribution(value: Any) -> bool:
    """``{ beta = [a, b] }`` or ``{ uniform = [lo, hi] }``: written inline, as the spec format shows them."""
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in ("beta", "uniform")


def _table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    """TOML as :func:`rrm_theory._toml.dumps` writes it, but distributions inline."""
    here = [(k, v) for k, v in table.items() if not isinstance(v, Mapping) or _distribution(v)]
    deeper = [(k, v) for k, v in table.items() if isinstance(v, Mapping) and not _distribution(v)]
    if path and (here or not deeper):
        lines += ["", "[" + ".".join(_key(p) for p in path) + "]"]
    lines += [f"{_key(k)} = {_inline(v)}" for k, v in here]
    for k, v in deeper:
        _table(v, path + [k], lines)
