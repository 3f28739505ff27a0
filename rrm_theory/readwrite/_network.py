"""The Bayesian network of a tree (MODEL.md section 2), format-neutral.

Variables (docs/export.md lists them): ``Y_v`` truth, ``V_v`` report, ``R_v`` the
received report of an audited node, ``U_v`` the input of an internal node, ``H_v``
coverage, ``D_v`` deception, ``S_v`` swayed, ``M`` influence, ``B_g`` blind spots,
``CY<j>_v`` / ``CU<j>_v`` the classes of the truths / received reports of v's first
``j`` children (:mod:`._counting`), ``O<k>_v`` the overrides of a node in more than
three of them, ORed two at a time. The honest judgement ``W_v`` and the audit draw
``A_v`` are not variables: their laws are the rows of ``V_v``'s and ``R_v``'s tables.

A variable's states are ``"0" .. "k-1"``; its table has one row per joint state of
its parents, the first parent's state changing slowest, each row summing to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from .._compile import Compiled
from .._text import quote
from ..errors import ExportRefused
from ._counting import Chain, rule_chain
from ._names import Names

__all__ = ["Variable", "Network", "bayesian_network", "MAX_OVERRIDES"]

#: The most overrides (deception, sway, blind spots) a report's table takes directly.
MAX_OVERRIDES = 3


@dataclass(frozen=True, eq=False)
class Variable:
    """One discrete variable: ``table[row, state]`` = P(state | the parents' joint state ``row``)."""

    name: str
    states: int
    parents: tuple[str, ...]
    table: np.ndarray

    def rows(self) -> list[tuple[int, ...]]:
        """The parents' joint states, in table order."""
        return list(product(*(range(k) for k in self.parent_states)))

    @property
    def parent_states(self) -> tuple[int, ...]:
        return tuple(self.table.shape[:-1]) if self.table.ndim > 1 else ()


@dataclass(frozen=True, eq=False)
class Network:
    """The variables in a topological order (parents first)."""

    variables: list[Variable]

    @property
    def arcs(self) -> int:
        return sum(len(v.parents) for v in self.variables)

    @property
    def entries(self) -> int:
        return sum(v.table.size for v in self.variables)


def _bernoulli(p: float) -> np.ndarray:
    return np.array([1.0 - p, p])


class _Builder:
    def __init__(self, c: Compiled, max_entries: int) -> None:
        self.c = c
        self.max_entries = max_entries
        self.entries = 0
        self.variables: list[Variable] = []
        self.states: dict[str, int] = {}

    def add(self, name: str, parents: list[str], table: np.ndarray) -> str:
        """Add a variable; ``table`` has one axis per parent, then the variable's states."""
        assert table.ndim == len(parents) + 1 and name not in self.states
        self.entries += table.size
        if self.entries > self.max_entries:
            raise ExportRefused(
                f"tree {quote(self.c.name)}: the Bayesian network would hold more than max_entries="
                f"{self.max_entries:,} table entries (at {name}); raise max_entries, or export to MEF, whose "
                "counting gates grow with the number of classes, not their square"
            )
        self.variables.append(Variable(name, table.shape[-1], tuple(parents), table))
        self.states[name] = table.shape[-1]
        return name

    def deterministic(self, name: str, parents: list[str], values: np.ndarray, states: int) -> str:
        """A variable that is a function of its parents: ``values`` holds its state per parents' state."""
        table = np.zeros((*values.shape, states))
        np.put_along_axis(table, values[..., None], 1.0, axis=-1)
        return self.add(name, parents, table)

    def chain(self, prefix: str, final: str, safe: str, chain: Chain, inputs: list[str], cover: str | None) -> str:
        """Fold ``inputs`` (binary variables, child order) through the rule's classes; the final
        variable is 1 iff the rule accepts (and ``cover`` is 1, when given)."""
        prev: str | None = None  # the variable holding the class so far; None while it is constant (class 0)
        for j, x in enumerate(inputs):
            m = np.array(chain.maps[j], dtype=np.int64)  # m[x, s]
            parents: list[str] = []
            if prev is not None:
                parents.append(prev)
                if chain.matters(j):
                    parents.append(x)
                    values = m.T  # [s, x]
                else:
                    values = m[0]
            else:
                parents.append(x)
                values = m[:, 0]
            if j < chain.n - 1:
                after = chain.sizes[j + 1]
                if after == 1:
                    prev = None
                elif prev is None and after == 2 and tuple(m[:, 0]) == (0, 1):
                    prev = x  # the class after the first child that matters is that child's value
                elif len(parents) == 1 and prev is not None and values.tolist() == list(range(after)):
                    pass  # a child that cannot matter leaves the classes as they are
                else:
                    prev = self.deterministic(f"{prefix}{j + 1}_{safe}", parents, values, after)
                continue
            if cover is None:
                return self.deterministic(final, parents, values, 2)
            both = np.stack([np.zeros_like(values), values], axis=-1)  # cover = 0 rejects
            return self.deterministic(final, [*parents, cover], both, 2)
        raise AssertionError("a rule has at least one child")

    def either(self, safe: str, inputs: list[str]) -> list[str]:
        """The overrides of one report: as they are, or ORed two at a time past MAX_OVERRIDES."""
        if len(inputs) <= MAX_OVERRIDES:
            return inputs
        acc = inputs[0]
        for k, x in enumerate(inputs[1:], start=1):
            acc = self.deterministic(f"O{k}_{safe}", [acc, x], np.array([[0, 1], [1, 1]]), 2)
        return [acc]


def bayesian_network(c: Compiled, names: Names, *, max_entries: int) -> Network:
    """The variables of MODEL.md section 2 for compiled tree ``c`` (docs/export.md)."""
    b = _Builder(c, max_entries)
    swayed = c.influence > 0.0 and bool((c.exposure > 0.0).any())
    if swayed:
        b.add("M", [], _bernoulli(c.influence))
    groups_of: list[list[str]] = [[] for _ in range(c.size)]
    for g, (_, p, members) in enumerate(c.groups):
        name = b.add(f"B_{names.groups[g]}", [], _bernoulli(p))
        for m in members.tolist():
            groups_of[m].append(name)
    truth: list[str] = [""] * c.size
    received: list[str] = [""] * c.size
    for i in range(c.size - 1, -1, -1):  # children before parents
        s = names.nodes[i]
        if c.n_children[i] == 0:
            source = truth[i] = b.add(f"Y_{s}", [], _bernoulli(float(c.prior[i])))
        else:
            kids = range(int(c.first_child[i]), int(c.first_child[i] + c.n_children[i]))
            chain = rule_chain(c, i, who="the export")
            cover = b.add(f"H_{s}", [], _bernoulli(float(c.coverage[i]))) if c.coverage[i] < 1.0 else None
            truth[i] = b.chain("CY", f"Y_{s}", s, chain, [truth[k] for k in kids], cover)
            source = b.chain("CU", f"U_{s}", s, chain, [received[k] for k in kids], None)
        overrides = []
        if c.deception[i] > 0.0:
            overrides.append(b.add(f"D_{s}", [], _bernoulli(float(c.deception[i]))))
        if swayed and c.exposure[i] > 0.0:
            overrides.append(b.add(f"S_{s}", ["M"], np.array([[1.0, 0.0], _bernoulli(float(c.exposure[i]))])))
        overrides = b.either(s, overrides + groups_of[i])
        fa, fr = float(c.false_accept[i]), float(c.false_reject[i])
        table = np.zeros((2,) * (len(overrides) + 1) + (2,))
        table[...] = [0.0, 1.0]  # an override fires: approve
        table[(0,) + (0,) * len(overrides)] = [1.0 - fa, fa]
        table[(1,) + (0,) * len(overrides)] = [fr, 1.0 - fr]
        report = b.add(f"V_{s}", [source, *overrides], table)
        a = float(c.audit[i])
        if a > 0.0:
            audit = np.array([[[1.0, 0.0], [a, 1.0 - a]], [[1.0 - a, a], [0.0, 1.0]]])  # [y, v]
            report = b.add(f"R_{s}", [truth[i], report], audit)
        received[i] = report
    return Network(b.variables)
