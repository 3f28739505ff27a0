"""Aggregation rules of internal nodes (MODEL.md section 2.2).

Every rule of the model is a *threshold rule*: a node accepts iff the summed
integer weight of its accepting children reaches an integer threshold ``T``.

=============== =================== ============================
rule            weights             threshold ``T``
=============== =================== ============================
``all``         1 per child         ``n``
``any``         1 per child         ``1``
``majority``    1 per child         ``n // 2 + 1`` (a tie rejects)
``at_least:K``  1 per child         ``K``
``weighted``    child ``weight``    ``ceil(threshold * sum(w))``
=============== =================== ============================

For ``weighted`` the weights and the threshold are compared *exactly as the
decimal numbers written*: each is read as ``Fraction(repr(x))``, so weights
0.1 and 0.2 reach a threshold of 0.3 of a total 0.3 even though the binary
floats do not. The integer form is what the exact analysis and the samplers
use, so every method applies the same comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import reduce
from typing import Sequence

__all__ = ["RULE_NAMES", "Rule", "parse_rule", "ThresholdForm", "threshold_form"]

#: The rules a spec may name, as written (``K`` a whole number >= 1).
RULE_NAMES = ("all", "any", "majority", "at_least:K", "weighted")


@dataclass(frozen=True)
class Rule:
    """A parsed aggregation rule.

    Attributes
    ----------
    kind : str
        One of ``"all"``, ``"any"``, ``"majority"``, ``"at_least"``, ``"weighted"``.
    k : int or None
        The ``K`` of ``at_least:K``; None for the other rules.

    Examples
    --------
    >>> rule = Rule("at_least", 2)
    >>> str(rule), rule == parse_rule("at_least:2")
    ('at_least:2', True)
    """

    kind: str
    k: int | None = None

    def __str__(self) -> str:
        return f"at_least:{self.k}" if self.kind == "at_least" else self.kind


def parse_rule(text: object) -> Rule:
    """Parse a rule as written in a spec.

    Parameters
    ----------
    text : str
        ``"all"``, ``"any"``, ``"majority"``, ``"at_least:K"`` (K a whole number >= 1)
        or ``"weighted"``.

    Returns
    -------
    Rule

    Raises
    ------
    ValueError
        If ``text`` is not one of the rules of MODEL.md section 2.2. The
        message says what would be valid (callers add the file and node).

    Examples
    --------
    >>> parse_rule("at_least:2")
    Rule(kind='at_least', k=2)
    >>> parse_rule("majority")
    Rule(kind='majority', k=None)
    """
    if not isinstance(text, str):
        raise ValueError(f"is not a string; valid rules: {', '.join(RULE_NAMES)}")
    if text in ("all", "any", "majority", "weighted"):
        return Rule(text)
    head, sep, tail = text.partition(":")
    if head == "at_least" and sep:
        if tail.isascii() and tail.isdigit() and int(tail) >= 1:
            return Rule("at_least", int(tail))
        raise ValueError("needs a whole number K >= 1 after 'at_least:'")
    raise ValueError(f"is not a rule; valid rules: {', '.join(RULE_NAMES)}")


@dataclass(frozen=True)
class ThresholdForm:
    """A rule reduced to integers: accept iff ``sum(weights[i] * x[i]) >= threshold``.

    ``1 <= threshold <= sum(weights)`` always holds for a valid node, so both
    outcomes are possible.

    Attributes
    ----------
    weights : tuple of int
        The children's integer weights, in child order (1 each for count rules).
    threshold : int
        The least summed weight of accepting children that makes the node accept.

    Examples
    --------
    >>> form = threshold_form(parse_rule("at_least:2"), 3)
    >>> form.weights, form.threshold, form.total
    ((1, 1, 1), 2, 3)
    """

    weights: tuple[int, ...]
    threshold: int

    @property
    def total(self) -> int:
        """The sum of the weights."""
        return sum(self.weights)


def _exact(x: float) -> Fraction:
    return Fraction(repr(float(x)))


def threshold_form(
    rule: Rule, n: int, *, weights: Sequence[float] | None = None, threshold: float | None = None
) -> ThresholdForm:
    """Reduce ``rule`` over ``n`` children to integer weights and threshold.

    Parameters
    ----------
    rule : Rule
        The node's rule.
    n : int
        Number of children (>= 1).
    weights : sequence of float, optional
        The children's weights, in child order; used by ``weighted`` only.
    threshold : float, optional
        The node's threshold in (0, 1]; used by ``weighted`` only.

    Returns
    -------
    ThresholdForm
        Weights scaled to the smallest integers with the same ratios (as the
        decimals written), and ``T = ceil(threshold * sum(weights))``.

    Raises
    ------
    ValueError
        For a ``weighted`` rule without ``weights`` and ``threshold``, or a weight or
        threshold that is infinite or NaN (valid trees have none).

    Examples
    --------
    >>> threshold_form(parse_rule("majority"), 4)
    ThresholdForm(weights=(1, 1, 1, 1), threshold=3)
    >>> threshold_form(parse_rule("weighted"), 3, weights=[0.1, 0.2, 0.7], threshold=0.3)
    ThresholdForm(weights=(1, 2, 7), threshold=3)
    """
    if rule.kind != "weighted":
        t = {"all": n, "any": 1, "majority": n // 2 + 1}.get(rule.kind, rule.k)
        if t is None:
            raise ValueError(f"rule {rule.kind!r} has no count")
        return ThresholdForm((1,) * n, t)
    if weights is None or threshold is None:
        raise ValueError("a weighted rule needs its children's weights and a threshold")
    fracs = [_exact(w) for w in weights]
    theta = _exact(threshold)
    scale = reduce(math.lcm, (f.denominator for f in fracs), 1)
    ints = [int(f * scale) for f in fracs]
    g = reduce(math.gcd, ints)
    ints = [w // g for w in ints]
    t = math.ceil(theta * sum(ints))
    return ThresholdForm(tuple(ints), t)
