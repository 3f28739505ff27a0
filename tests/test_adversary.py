"""Adversarial robustness against the independent brute force (tests/reference_adversary.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_adversary import min_corruptions_on, most_likely_bad_outcome, root_approves, worst_false_accept
from tree_strategies import tree_specs

from rrm_theory.strategies import spec_dicts

import rrm_theory as rrm


@settings(max_examples=120, deadline=None)
@given(tree_specs(max_nodes=5, max_free=14), st.booleans(), st.integers(0, 3))
def test_curve_equals_brute_force(spec, root_corruptible, budget):
    tree = rrm.from_dict(spec)
    want = worst_false_accept(tree, budget, root_corruptible=root_corruptible)
    got = rrm.robustness(tree, budget=budget, root_corruptible=root_corruptible)
    if want[0] is None:
        assert got.worst_false_accept is None
        return
    assert got.worst_false_accept == pytest.approx(want, abs=1e-12)
    assert got.worst_false_accept[0] == pytest.approx(rrm.exact_analysis(tree).root.false_accept, abs=1e-12)
    assert all(x <= y for x, y in zip(got.worst_false_accept, got.worst_false_accept[1:]))


@settings(max_examples=120, deadline=None)
@given(tree_specs(max_nodes=5, max_free=14), st.booleans())
def test_most_likely_bad_outcome_and_its_cheapest_corruption(spec, root_corruptible):
    tree = rrm.from_dict(spec)
    got = rrm.robustness(tree, budget=2, root_corruptible=root_corruptible)
    best = most_likely_bad_outcome(tree)
    if best is None:
        assert got.outcome == {} and got.min_corruptions is None
        return
    _, probability = best
    assert math.isclose(got.outcome_probability, probability, rel_tol=1e-9)  # as likely as any (ties allowed)
    k, _ = min_corruptions_on(tree, got.outcome, root_corruptible=root_corruptible)
    assert got.min_corruptions == k
    if k:
        assert len(got.chosen) == k and root_approves(tree, got.outcome, got.chosen)


def test_an_audited_bad_helper_cannot_be_faked():
    tree = rrm.from_dict({"defaults": {"error": 0.0},
                          "nodes": {"r": {"rule": "all"}, "a": {"parent": "r", "prior": 0.5, "audit": 1.0},
                                    "b": {"parent": "r", "prior": 0.5}}})  # fmt: skip
    curve = rrm.robustness(tree, budget=2).worst_false_accept
    # bad outcomes: a bad (P 1/2: cannot be faked) or only b bad (P 1/4): 1/3 of bad work is fakeable
    assert curve == pytest.approx([0.0, 1 / 3, 1 / 3])


def test_large_trees_use_the_root_children_only():
    tree = rrm.balanced(6, 3, rule="majority", error=0.05, prior=0.5)
    result = rrm.robustness(tree, budget=3)
    # with 3 children and majority, two honest rejections need one corruption, three need two
    assert result.worst_false_accept[0] == pytest.approx(rrm.exact_analysis(tree).root.false_accept)
    assert result.worst_false_accept[2] == pytest.approx(1.0, abs=0.06)
    assert result.worst_false_accept[1] > result.worst_false_accept[0]


def test_invalid_budget():
    with pytest.raises(ValueError, match="budget"):
        rrm.robustness(rrm.chain(1, error=0.1, prior=0.5), budget=-1)


three_decimals = st.integers(1, 4000).map(lambda k: k / 1000)


@settings(max_examples=80, deadline=None)
@given(spec_dicts(min_nodes=3, max_nodes=6, rules=["weighted", "majority", "any"], max_free=12,
                  features=["weights", "deception", "audit"], weights=three_decimals,
                  thresholds=st.integers(1, 1000).map(lambda k: k / 1000)),
       st.integers(0, 3))  # fmt: skip
def test_weighted_panels_equal_brute_force(spec, budget):
    """Decimal weights: the programme runs on classes of sums, not on a grid of the weights' units."""
    tree = rrm.from_dict(spec)
    want = worst_false_accept(tree, budget)
    got = rrm.robustness(tree, budget=budget)
    if want[0] is None:
        assert got.worst_false_accept is None
    else:
        assert got.worst_false_accept == pytest.approx(want, abs=1e-12)
    best = most_likely_bad_outcome(tree)
    if best is not None:
        assert math.isclose(got.outcome_probability, best[1], rel_tol=1e-9)
        assert got.min_corruptions == min_corruptions_on(tree, got.outcome)[0]


@pytest.mark.parametrize("weights", [(1e-9, 1.0), (1e-6, 1.0), (5e-324, 1.7976931348623157e308), (2.346, 0.734)])
def test_extreme_weights_neither_blow_up_nor_overflow(weights):
    """Found by fuzzing: these ran out of memory, ran for minutes, or overflowed."""
    nodes = {"r": {"rule": "weighted", "threshold": 0.5}, "m": {"parent": "r", "rule": "weighted", "threshold": 0.7,
             "weight": weights[0]}, "a": {"parent": "r", "weight": weights[1]}}  # fmt: skip
    nodes |= {f"c{i}": {"parent": "m", "weight": weights[i % 2]} for i in range(3)}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.6}, "nodes": nodes})
    got = rrm.robustness(tree, budget=3)
    assert got.worst_false_accept == pytest.approx(worst_false_accept(tree, 3), abs=1e-12)


def test_a_panel_of_twelve_unrelated_weights():
    weights = [1.375, 0.625, 2.25, 0.1, 0.2, 1.958, 1.978, 0.431, 2.718, 0.577, 1.414, 0.301]
    nodes = {"r": {"rule": "weighted", "threshold": 0.6}}
    nodes |= {f"h{i}": {"parent": "r", "weight": w, "error": 0.02 * (i + 1)} for i, w in enumerate(weights)}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.7}, "nodes": nodes})
    curve = rrm.robustness(tree, budget=3).worst_false_accept
    assert curve[0] == pytest.approx(rrm.exact_analysis(tree).root.false_accept, abs=1e-12)
    assert all(a <= b for a, b in zip(curve, curve[1:])) and curve[3] <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.one_of(st.floats(-30, 0), st.just(-math.inf))] * 2), min_size=1, max_size=9), st.data())
def test_count_rules_take_the_greedy_optimum(best, data):
    """The greedy shortcut for unit weights equals the programme over classes (weights 2, threshold 2T)."""
    from rrm_theory.adversary import _knapsack

    n = len(best)
    T = data.draw(st.integers(1, n))
    child = [np.array(b) for b in best]
    fast = _knapsack(child, (1,) * n, T)
    slow = _knapsack(child, (2,) * n, 2 * T)
    assert fast[0] == pytest.approx(slow[0], abs=1e-9)
    for accept in (0, 1):  # the picks attain the value and land on the right side
        picks = fast[1][accept]
        if fast[0][accept] == -math.inf:
            continue
        assert (sum(picks) >= T) == bool(accept)
        assert sum(b[y] for b, y in zip(best, picks)) == pytest.approx(fast[0][accept], abs=1e-9)


def test_a_bad_root_below_the_smallest_double_declines_with_one_line():
    """P(Y_root = 0) = (1 - 0.9999999999999999)**27, about 1e-431: exact analysis carries it in
    logs, the adversary's tables (plain probabilities) cannot; was a curve of NaN."""
    tree = rrm.from_dict({"defaults": {"prior": 0.9999999999999999, "error": 0.0, "deception": 0.0},
                          "generate": {"depth": 3, "branching": 3, "rule": "any"}})  # fmt: skip
    assert rrm.exact_analysis(tree).root.false_accept == 0.0
    with pytest.raises(rrm.ExactRefused, match="below the smallest double"):
        rrm.robustness(tree)
