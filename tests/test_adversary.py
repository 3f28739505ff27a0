"""Adversarial robustness against the independent brute force (tests/reference_adversary.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_adversary import min_corruptions_on, most_likely_bad_outcome, root_approves, worst_false_accept
from tree_strategies import tree_specs

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
