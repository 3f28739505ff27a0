"""Counting chains: a node's rule folded over its children one at a time (MODEL.md 2.2).

Every rule accepts iff ``sum(w_c * x_c) >= T`` (:mod:`rrm_theory.rules`). The exporters
do not write that as one table over all ``n`` children (``2**n`` rows): they fold the
children in one at a time, remembering after the first ``j`` children only the *class*
of the partial sum, as exact analysis does (:mod:`rrm_theory._rule_program`: sums that
compare alike with ``T`` whatever the remaining children do are one class). After the
last child there are two classes, 0 = reject and 1 = accept.

So a count rule over ``n`` children needs at most ``min(j, T) + 2`` classes after ``j``
children, and a weighted rule at most as many as exact analysis does: the same limit,
:data:`rrm_theory.exact.MAX_RULE_STATES` (2,048) classes at one step, about 22 children
of unrelated weights. Past it the exporters refuse (:class:`~rrm_theory.errors.ExportRefused`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .._compile import Compiled
from .._rule_program import MAX_CLASSES, TooManySums, rule_program
from .._text import quote
from ..errors import ExportRefused

__all__ = ["Chain", "rule_chain"]


@dataclass(frozen=True)
class Chain:
    """One rule's classes of partial sums.

    ``sizes[j]`` classes after the first ``j`` children (``sizes[0] == 1``,
    ``sizes[n] == 2``); ``maps[j][x][s]`` is the class after child ``j`` (0-based)
    when the class before it is ``s`` and the child's value is ``x``.
    """

    weights: tuple[int, ...]
    T: int
    sizes: tuple[int, ...]
    maps: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]

    @property
    def n(self) -> int:
        return len(self.weights)

    def matters(self, j: int) -> bool:
        """Whether child ``j``'s value can change the class (a child of tiny weight may never)."""
        m0, m1 = self.maps[j]
        return m0 != m1

    @property
    def kind(self) -> str:
        """``"all"``, ``"any"`` or ``"count"`` for unit weights, else ``"weighted"``."""
        if any(w != 1 for w in self.weights):
            return "weighted"
        return "all" if self.T == self.n else "any" if self.T == 1 else "count"


def rule_chain(c: Compiled, i: int, *, who: str) -> Chain:
    """The chain of internal node ``i``'s rule; :class:`ExportRefused` past the class limit."""
    form = c.forms[i]
    assert form is not None
    try:
        program = rule_program(form.weights, form.threshold)
    except TooManySums as exc:
        raise _refusal(c, i, exc, who) from None
    maps = tuple((tuple(m0.tolist()), tuple(m1.tolist())) for m0, m1 in program.maps)
    return Chain(form.weights, form.threshold, program.sizes, maps)


def _refusal(c: Compiled, i: int, exc: TooManySums, who: str) -> ExportRefused:
    weights = c.forms[i].weights  # type: ignore[union-attr]
    n = len(weights)
    if len(set(weights)) == 1:
        need = (f"more than {exc.limit:,} counts of approvals that still matter at once (after {exc.position:,} "
                "of its children)")  # fmt: skip
    else:
        need = (f"more than {exc.limit:,} distinct partial sums of weights at once ({exc.needed:,} after "
                f"{exc.position:,} of its children; {exc.limit:,} is about {2 * exc.limit.bit_length() - 2} "
                "children of unrelated weights)")  # fmt: skip
    return ExportRefused(
        f"tree {quote(c.name)}: node {quote(c.nodes[i])}: {who} of its rule over {n:,} children needs {need}; "
        f"that is exact analysis's limit too (rrm_theory.exact.MAX_RULE_STATES = {MAX_CLASSES:,}); fewer "
        "children, or weights with fewer distinct values, fit"
    )
