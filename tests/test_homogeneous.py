"""Homogeneous-tree theory: maps against the exact analysis, closed forms, classical thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import rrm_theory as rrm
from rrm_theory import homogeneous as hom

RULES = ["all", "any", "majority", "at_least:2"]
rates = st.floats(0.0, 0.45)


@st.composite
def models(draw):
    k = draw(st.integers(2, 4))
    return hom.Homogeneous(
        rule=draw(st.sampled_from(RULES)), branching=k,
        false_accept=draw(rates), false_reject=draw(rates), deception=draw(st.floats(0, 0.3)),
        audit=draw(st.floats(0, 0.5)), leaf_false_accept=draw(rates), leaf_false_reject=draw(rates),
        prior=draw(st.floats(0.05, 0.95)), coverage=draw(st.floats(0.7, 1.0)),
    )  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(models())
def test_joint_map_iterated_equals_exact_analysis(model):
    by_map = hom.metrics_by_depth(model, 4)
    for depth in range(5):
        exact = rrm.exact_analysis(model.tree(depth)).root
        for metric in ("p_good", "error", "false_accept", "false_reject"):
            want, got = getattr(exact, metric), by_map[depth][metric]
            if got is None and want is not None:  # the map works in plain probabilities: it underflows
                rare = exact.p_good if metric == "false_reject" else 1.0 - exact.p_good
                assert rare < 1e-300, (depth, metric)
                continue
            assert got == pytest.approx(want, abs=1e-10), (depth, metric)


@settings(max_examples=40, deadline=None)
@given(models(), st.sampled_from([0, 1]))
def test_error_map_iterated_equals_exact_analysis_when_truths_are_equal(model, truth):
    model = hom.Homogeneous(**{**model.__dict__, "prior": float(truth), "coverage": 1.0})
    errors = hom.error_by_depth(model, 4, truth=truth)
    for depth in range(5):
        exact = rrm.exact_analysis(model.tree(depth)).root
        assert errors[depth] == pytest.approx(exact.error, abs=1e-12)


def test_sympy_and_numeric_maps_agree():
    model = hom.Homogeneous("majority", 5, false_accept=0.1, false_reject=0.2, deception=0.05, audit=0.1)
    for truth in (0, 1):
        expr = hom.error_map(model, truth=truth)
        poly = hom._polynomial(model, truth)
        for x in np.linspace(0, 1, 11):
            assert float(expr.subs(hom.e, x)) == pytest.approx(poly(x), abs=1e-14)


@pytest.mark.parametrize("k", [3, 5, 7, 9, 11, 13])
def test_evans_schulman_threshold_of_noisy_majority(k):
    # Evans & Schulman (2003): beta_k = 1/2 - 2**(k-2) / (k * C(k-1, (k-1)/2)); von Neumann's 1/6 at k = 3
    want = sp.Rational(1, 2) - sp.Rational(2 ** (k - 2), k * math.comb(k - 1, (k - 1) // 2))
    result = hom.noise_threshold("majority", k)
    assert sp.sympify(result["exact"]) == want
    assert result["threshold"] == pytest.approx(float(want), abs=1e-12)


def test_threshold_separates_stable_from_unstable_regimes():
    below = hom.fixed_points(hom.Homogeneous.symmetric("majority", 3, 1 / 6 - 1e-3))
    above = hom.fixed_points(hom.Homogeneous.symmetric("majority", 3, 1 / 6 + 1e-3))
    assert any(p.stable and p.value < 0.5 for p in below)
    assert not any(p.stable and p.value < 0.5 for p in above)


def test_and_trees_cannot_tolerate_noise_on_good_work():
    result = hom.noise_threshold("all", 3)
    assert result["good"]["threshold"] == 0.0 and result["exact"] == "0"
    assert result["bad"]["threshold"] == pytest.approx(0.5)


def test_majority_fixed_point_closed_form():
    # e = E + (1-2E)(3e^2 - 2e^3) has the fixed point (1 - sqrt((1-6E)/(1-2E))) / 2 below 1/2
    E = 0.1
    points = hom.fixed_points(hom.Homogeneous.symmetric("majority", 3, E))
    assert points[0].value == pytest.approx((1 - math.sqrt((1 - 6 * E) / (1 - 2 * E))) / 2, abs=1e-12)
    assert points[0].stable and not points[-1].stable and points[-1].value == 0.5
    assert hom.limit(hom.Homogeneous.symmetric("majority", 3, E, leaf_error=0.3)) == pytest.approx(points[0].value)


def test_chain_closed_form_equals_the_exact_analysis():
    model = hom.Homogeneous("all", 1, false_accept=0.1, false_reject=0.1, audit=0.0,
                            leaf_false_accept=0.2, leaf_false_reject=0.2, prior=1.0)  # fmt: skip
    form = hom.closed_form(model)
    assert form is not None
    for depth in range(6):
        # the closed form counts audited levels; without audits the root equals them
        assert float(form.subs(hom.D, depth)) == pytest.approx(rrm.exact_analysis(model.tree(depth)).root.error)
    assert hom.closed_form(hom.Homogeneous.symmetric("majority", 3, 0.1)) is None


def test_deception_threshold():
    result = hom.deception_threshold("majority", 3)
    assert result["exact"] == "1/9"
    d = 1 / 9
    below = hom.Homogeneous("majority", 3, deception=d - 1e-3)
    above = hom.Homogeneous("majority", 3, deception=d + 1e-3)
    assert any(p.stable and p.value < 0.5 for p in hom.fixed_points(below, truth=0))
    assert not any(p.stable and p.value < 0.5 for p in hom.fixed_points(above, truth=0))


def test_max_depth():
    model = hom.Homogeneous.symmetric("majority", 3, 0.2)  # above 1/6: errors climb to 1/2
    errors = hom.error_by_depth(model, 60)
    result = hom.max_depth(lambda d: hom.error_by_depth(model, d), 0.4, cap=60)
    d = result["max_depth"]
    assert errors[d] < 0.4 <= errors[d + 1]
    assert hom.max_depth(lambda d: hom.error_by_depth(model, d), 0.1)["max_depth"] is None
    assert hom.max_depth(lambda d: hom.error_by_depth(hom.Homogeneous.symmetric("majority", 3, 0.05), d),
                         0.2, cap=200)["unbounded"]  # fmt: skip


def test_latex():
    text = hom.latex(hom.error_map(hom.Homogeneous.symmetric("majority", 3, 0.1)))
    assert "e^{3}" in text and "\\frac" in text


def test_from_spec_matches_the_generated_tree():
    spec = rrm.spec.load_spec_dict("models/ternary-majority.toml")
    model = hom.Homogeneous.from_spec(spec)
    by_map = hom.metrics_by_depth(model, 6)[6]
    exact = rrm.exact_analysis(rrm.load_spec("models/ternary-majority.toml")).root
    assert by_map["error"] == pytest.approx(exact.error, abs=1e-12)


def test_invalid_models():
    with pytest.raises(ValueError, match="branching"):
        hom.Homogeneous("all", 0)
    with pytest.raises(ValueError, match="needs at least 3"):
        hom.Homogeneous("at_least:3", 2)
    with pytest.raises(ValueError, match="false_accept"):
        hom.Homogeneous("all", 2, false_accept=1.5)
