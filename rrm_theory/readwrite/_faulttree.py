"""The fault tree of a tree's verdict (MODEL.md section 2), as Boolean formulas.

Top event ``top`` = ``V_root AND NOT Y_root``: the root approves bad work, so
P(top) = P(V_root = 1, Y_root = 0) = false_accept x (1 - p_good). The encoding is
non-coherent (NOT gates), since truths and reports enter with both signs.

Basic events, each with the probability that it occurs (docs/export.md):
``Y_v`` a leaf's work is acceptable (prior), ``H_v`` no coverage defect (coverage),
``FA_v`` / ``FR_v`` the evaluator's false accept / false reject draws, ``D_v``
deception, ``M`` influence, ``X_v`` the node's exposure draw, ``B_g`` a blind spot,
``A_v`` the audit draw. An event that cannot occur (probability 0) is left out.

Gates: ``Y_v`` (internal nodes), ``U_v`` input, ``V_v`` report, ``R_v`` received
report (audited nodes), and ``CY<j>c<k>_v`` / ``CU<j>c<k>_v``: "the truths / received
reports of v's first j children sum to class k" (:mod:`._counting`); only the classes
the rule's verdict can reach are written, so an ``all`` rule is one AND and an ``any``
rule one OR, and a count or weighted rule costs one gate per class and step.

    W_v = (U_v AND NOT FR_v) OR (NOT U_v AND FA_v)       (U_v = Y_v on a leaf)
    V_v = W_v OR D_v OR (M AND X_v) OR B_g ...            (the groups v belongs to)
    R_v = (A_v AND Y_v) OR (NOT A_v AND V_v)
    Y_v = rule(Y_c ...) AND H_v,   U_v = rule(R_c ...)    (internal nodes)

Only what the top event reaches is written (a child that cannot change its parent's
rule, under a weight too small to matter, is left out with its subtree).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._compile import Compiled
from .._text import quote
from ..errors import ExportRefused
from ._counting import Chain, rule_chain
from ._names import Names

__all__ = ["Const", "Event", "Not", "Op", "Expr", "FaultTree", "fault_tree", "TOP"]

#: The name of the top event.
TOP = "top"


@dataclass(frozen=True)
class Const:
    value: bool


@dataclass(frozen=True)
class Event:
    kind: str  # "gate" or "basic-event"
    name: str


@dataclass(frozen=True)
class Not:
    arg: Expr


@dataclass(frozen=True)
class Op:
    op: str  # "and" or "or"
    args: tuple[Expr, ...]


Expr = Const | Event | Not | Op
TRUE, FALSE = Const(True), Const(False)


def not_(a: Expr) -> Expr:
    if isinstance(a, Const):
        return Const(not a.value)
    return a.arg if isinstance(a, Not) else Not(a)


def _op(op: str, args: tuple[Expr, ...]) -> Expr:
    unit, zero = (TRUE, FALSE) if op == "and" else (FALSE, TRUE)
    flat: list[Expr] = []
    for a in args:
        if a == zero:
            return zero
        if a == unit:
            continue
        flat.extend(a.args if isinstance(a, Op) and a.op == op else (a,))
    if not flat:
        return unit
    return flat[0] if len(flat) == 1 else Op(op, tuple(flat))


def and_(*args: Expr) -> Expr:
    return _op("and", args)


def or_(*args: Expr) -> Expr:
    return _op("or", args)


def _size(e: Expr) -> int:
    """Arguments in a formula (events and constants)."""
    if isinstance(e, Not):
        return _size(e.arg)
    if isinstance(e, Op):
        return sum(_size(a) for a in e.args)
    return 1


@dataclass(frozen=True, eq=False)
class FaultTree:
    """Gates (name -> formula) from the top event down and the basic events they reach."""

    gates: dict[str, Expr]
    basic_events: dict[str, float]

    @property
    def entries(self) -> int:
        return sum(_size(e) for e in self.gates.values())


class _Builder:
    def __init__(self, c: Compiled, max_entries: int) -> None:
        self.c = c
        self.max_entries = max_entries
        self.entries = 0
        self.gates: dict[str, Expr] = {}
        self.basic: dict[str, float] = {}

    def basic_event(self, name: str, p: float) -> Event:
        self.basic[name] = p
        return Event("basic-event", name)

    def gate(self, name: str, formula: Expr) -> Event:
        self.entries += _size(formula)
        if self.entries > self.max_entries:
            raise ExportRefused(
                f"tree {quote(self.c.name)}: the fault tree would hold more than max_entries={self.max_entries:,} "
                f"formula arguments (at {name}); raise max_entries"
            )
        self.gates[name] = formula
        return Event("gate", name)

    def aux(self, name: str, formula: Expr) -> Expr:
        """A gate for a formula worth naming; an event, a constant or a negated event stands as it is."""
        if isinstance(formula, (Const, Event)) or (isinstance(formula, Not) and isinstance(formula.arg, Event)):
            return formula
        return self.gate(name, formula)

    def rule(self, prefix: str, safe: str, chain: Chain, inputs: list[Expr]) -> Expr:
        """The formula "the rule accepts ``inputs``" (one per child, in order)."""
        if chain.kind == "all":
            return and_(*inputs)
        if chain.kind == "any":
            return or_(*inputs)
        n = chain.n
        needed: list[set[int]] = [set() for _ in range(n + 1)]
        needed[n] = {1}
        for j in range(n - 1, -1, -1):  # the classes from which the verdict's class can be reached
            m0, m1 = chain.maps[j]
            needed[j] = {s for s in range(chain.sizes[j]) if m0[s] in needed[j + 1] or m1[s] in needed[j + 1]}
        ind: dict[int, Expr] = {0: TRUE}  # "the class so far is s"
        for j, x in enumerate(inputs):
            m0, m1 = chain.maps[j]
            complement = chain.sizes[j + 1] == 2 and needed[j + 1] == {0, 1}
            new: dict[int, Expr] = {}
            for k in sorted(needed[j + 1]):
                if complement and k == 0:
                    continue
                terms = []
                for s in sorted(needed[j]):
                    zero, one = m0[s] == k, m1[s] == k
                    if zero and one:
                        terms.append(ind[s])
                    elif zero:
                        terms.append(and_(ind[s], not_(x)))
                    elif one:
                        terms.append(and_(ind[s], x))
                formula = or_(*terms)
                new[k] = formula if j == n - 1 else self.aux(f"{prefix}{j + 1}c{k}_{safe}", formula)
            if complement:
                new[0] = not_(new[1])
            ind = new
        return ind[1]


def fault_tree(c: Compiled, names: Names, *, max_entries: int) -> FaultTree:
    """The fault tree of compiled tree ``c``, top event :data:`TOP` (module docstring)."""
    b = _Builder(c, max_entries)
    swayed = c.influence > 0.0 and bool((c.exposure > 0.0).any())
    influence = b.basic_event("M", c.influence) if swayed else None
    groups_of: list[list[Expr]] = [[] for _ in range(c.size)]
    for g, (_, p, members) in enumerate(c.groups):
        event = b.basic_event(f"B_{names.groups[g]}", p)
        for m in members.tolist():
            groups_of[m].append(event)
    truth: list[Expr] = [FALSE] * c.size
    received: list[Expr] = [FALSE] * c.size

    def draw(prefix: str, i: int, p: float) -> Expr:  # an event that cannot occur is left out
        return b.basic_event(f"{prefix}_{names.nodes[i]}", p) if p > 0.0 else FALSE

    for i in range(c.size - 1, -1, -1):  # children before parents
        s = names.nodes[i]
        if c.n_children[i] == 0:
            source = truth[i] = b.basic_event(f"Y_{s}", float(c.prior[i]))
        else:
            kids = range(int(c.first_child[i]), int(c.first_child[i] + c.n_children[i]))
            chain = rule_chain(c, i, who="the export")
            cover = b.basic_event(f"H_{s}", float(c.coverage[i])) if c.coverage[i] < 1.0 else TRUE
            truth[i] = b.gate(f"Y_{s}", and_(b.rule("CY", s, chain, [truth[k] for k in kids]), cover))
            source = b.gate(f"U_{s}", b.rule("CU", s, chain, [received[k] for k in kids]))
        fa, fr = draw("FA", i, float(c.false_accept[i])), draw("FR", i, float(c.false_reject[i]))
        if fr == FALSE:
            judged = or_(source, fa)
        elif fa == FALSE:
            judged = and_(source, not_(fr))
        else:
            judged = or_(and_(source, not_(fr)), and_(not_(source), fa))
        sway = and_(influence, draw("X", i, float(c.exposure[i]))) if influence is not None else FALSE
        report = b.gate(f"V_{s}", or_(judged, draw("D", i, float(c.deception[i])), sway, *groups_of[i]))
        audit = draw("A", i, float(c.audit[i]))
        if audit != FALSE:
            report = b.gate(f"R_{s}", or_(and_(audit, truth[i]), and_(not_(audit), report)))
        received[i] = report
    root_report = Event("gate", f"V_{names.nodes[0]}")
    b.gate(TOP, and_(root_report, not_(truth[0])))
    return _reached(b)


def _reached(b: _Builder) -> FaultTree:
    """The gates reachable from the top event, depth first, and the basic events they use."""
    gates: dict[str, Expr] = {}
    basic: dict[str, float] = {}
    stack: list[Expr] = [Event("gate", TOP)]
    while stack:
        e = stack.pop()
        if isinstance(e, Event):
            if e.kind == "gate" and e.name not in gates:
                gates[e.name] = b.gates[e.name]
                stack.append(b.gates[e.name])
            elif e.kind == "basic-event" and e.name not in basic:
                basic[e.name] = b.basic[e.name]
        elif isinstance(e, Not):
            stack.append(e.arg)
        elif isinstance(e, Op):
            stack.extend(reversed(e.args))
    return FaultTree(gates, basic)
