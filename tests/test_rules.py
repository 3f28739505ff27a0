"""Rules as integer threshold forms (MODEL.md section 2.2)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rrm_theory.rules import parse_rule, threshold_form


def direct(rule: str, values: tuple[int, ...], weights: list[float], threshold: float) -> bool:
    """The rule as MODEL.md's table states it."""
    n, ones = len(values), sum(values)
    if rule == "all":
        return ones == n
    if rule == "any":
        return ones >= 1
    if rule == "majority":
        return ones > n / 2
    if rule.startswith("at_least:"):
        return ones >= int(rule.split(":")[1])
    exact = [Fraction(repr(w)) for w in weights]
    return sum(w * x for w, x in zip(exact, values)) >= Fraction(repr(threshold)) * sum(exact)


@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.sampled_from(["all", "any", "majority", "weighted"] + [f"at_least:{k}" for k in range(1, n + 1)]),
            st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 2.0, 1.25]), min_size=n, max_size=n),
            st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.6, 0.7, 0.8, 1.0]),
        )
    )
)
def test_threshold_form_agrees_with_the_rule_on_every_input(case):
    rule, weights, threshold = case
    n = len(weights)
    form = threshold_form(parse_rule(rule), n, weights=weights, threshold=threshold)
    assert 1 <= form.threshold <= form.total
    for values in itertools.product((0, 1), repeat=n):
        accepts = sum(w * x for w, x in zip(form.weights, values)) >= form.threshold
        assert accepts == direct(rule, values, weights, threshold), (values, form)


def test_weighted_compares_decimals_exactly():
    # 0.1 + 0.7 < 0.8 in binary floating point; as written, 0.1 + 0.7 = 0.8 reaches the threshold.
    assert 0.1 + 0.7 < 0.8
    form = threshold_form(parse_rule("weighted"), 3, weights=[0.1, 0.7, 0.2], threshold=0.8)
    assert sum(w for w, x in zip(form.weights, (1, 1, 0)) if x) >= form.threshold


@pytest.mark.parametrize("text", ["at_least:0", "at_least:", "at_least:x", "at_least: 2", "at_least:²", "most", 3, None])
def test_invalid_rules(text):
    with pytest.raises(ValueError):
        parse_rule(text)


def test_rule_text_round_trips():
    for text in ["all", "any", "majority", "weighted", "at_least:3"]:
        assert str(parse_rule(text)) == text
