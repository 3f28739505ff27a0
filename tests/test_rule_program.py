"""Class programs of threshold rules: exact decisions, minimal classes, limits."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rrm_theory._rule_program import MAX_CLASSES, TooManySums, rule_program
from rrm_theory.rules import parse_rule, threshold_form


def walk(program, x: tuple[int, ...], start: int = 0, cls: int = 0) -> int:
    for j in range(start, len(x)):
        cls = int(program.maps[j][x[j]][cls])
    return cls


@st.composite
def forms(draw, most: int = 9):
    n = draw(st.integers(1, most))
    weights = tuple(draw(st.lists(st.integers(1, 60), min_size=n, max_size=n)))
    T = draw(st.integers(1, sum(weights)))
    return weights, T


@settings(max_examples=150)
@given(forms())
def test_program_decides_every_subset_exactly(form):
    weights, T = form
    program = rule_program(weights, T)
    for x in itertools.product((0, 1), repeat=len(weights)):
        assert walk(program, x) == int(sum(w * v for w, v in zip(weights, x)) >= T)


@settings(max_examples=100)
@given(forms(most=8))
def test_classes_are_as_few_as_possible(form):
    """Two classes at a step are told apart by some completion (nothing redundant), and
    the count stays within the meet-in-the-middle bound min(2**j, 2**(n - j) + 1)."""
    weights, T = form
    program = rule_program(weights, T)
    n = len(weights)
    for j in range(n + 1):
        assert program.sizes[j] <= min(2**j, 2 ** (n - j) + 1)
        completions = list(itertools.product((0, 1), repeat=n - j))
        outcomes = {tuple(walk(program, (0,) * j + tail, j, cls) for tail in completions)
                    for cls in range(program.sizes[j])}  # fmt: skip
        assert len(outcomes) == program.sizes[j]


def test_maps_are_non_decreasing_and_end_in_reject_accept():
    program = rule_program((3, 1, 4, 1, 5, 9, 2, 6), 17)
    assert program.sizes[0] == 1 and program.sizes[-1] == 2
    for m0, m1 in program.maps:
        assert (np.diff(m0) >= 0).all() and (np.diff(m1) >= 0).all()
        assert (m1 >= m0).all()  # a 1 never lowers the class


def test_unit_weights_keep_only_counts_that_matter():
    """``all`` over 50 children: at every step, "all ones so far" or "already failed"."""
    program = rule_program((1,) * 50, 50)
    assert max(program.sizes) == 2
    majority = rule_program((1,) * 9, 5)
    assert max(majority.sizes) == 6  # the counts 1..4, "cannot reach 5", "reached 5"


def test_generic_decimal_weights_meet_in_the_middle():
    rng = np.random.default_rng(1)
    decimals = [round(float(w), 3) for w in rng.uniform(0.1, 3.0, size=20)]
    form = threshold_form(parse_rule("weighted"), 20, weights=decimals, threshold=0.431)
    program = rule_program(form.weights, form.threshold)
    assert program.widest <= 2**10 + 1


def test_extreme_weights_stay_exact():
    """5e-324 and the largest double as weights: integers of over 600 digits, still exact."""
    form = threshold_form(parse_rule("weighted"), 3, weights=[5e-324, 1.7976931348623157e308, 1.0], threshold=0.5)
    assert max(form.weights).bit_length() > 2000
    program = rule_program(form.weights, form.threshold)
    for x in itertools.product((0, 1), repeat=3):
        assert walk(program, x) == int(sum(w * v for w, v in zip(form.weights, x)) >= form.threshold)


def test_threshold_compared_as_written():
    """0.1 + 0.2 reaches 0.5 of a total 0.6 exactly (the binary floats do not)."""
    form = threshold_form(parse_rule("weighted"), 3, weights=[0.1, 0.2, 0.3], threshold=0.5)
    program = rule_program(form.weights, form.threshold)
    assert walk(program, (1, 1, 0)) == 1 and walk(program, (0, 0, 1)) == 1 and walk(program, (1, 0, 0)) == 0
    assert Fraction(1, 10) + Fraction(2, 10) == Fraction(1, 2) * Fraction(6, 10)


def test_refuses_past_the_class_limit():
    weights = tuple(int(w) for w in np.random.default_rng(2).integers(10**6, 10**7, size=30))
    with pytest.raises(TooManySums) as info:
        rule_program(weights, sum(weights) // 2)
    assert info.value.needed > MAX_CLASSES and info.value.limit == MAX_CLASSES
    assert 1 <= info.value.position <= 30
