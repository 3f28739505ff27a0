"""Homogeneous-tree theory: maps against the exact analysis, closed forms, classical thresholds."""

from __future__ import annotations

import math
import pathlib
from fractions import Fraction

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
    # the numeric map is the unexpanded binomial tail, exact coefficients; sympy's expression is the same formula
    model = hom.Homogeneous("majority", 5, false_accept=0.1, false_reject=0.2, deception=0.05, audit=0.1)
    for truth in (0, 1):
        expr = hom.error_map(model, truth=truth)
        f = hom._Map.of(model, truth)
        for x in np.linspace(0, 1, 11):
            assert float(expr.subs(hom.e, x)) == pytest.approx(f(float(x)), abs=1e-14)
        assert hom._expanded_error_map(model, truth=truth) == sp.expand(expr)


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


# ------------------------------------------------ wide committees: the unexpanded map, certified roots

mpmath = pytest.importorskip("mpmath")


def _mp_h(k, need, c0, c1, x, dps=80):
    """h(x) = c0 + c1 P(Bin(k, x) >= need) - x in mpmath at ``dps`` digits (the binomial tail, unexpanded)."""
    with mpmath.workdps(dps):
        x = mpmath.mpf(x)
        tail = mpmath.fsum(math.comb(k, j) * x**j * (1 - x) ** (k - j) for j in range(need, k + 1))
        return mpmath.mpf(c0) + mpmath.mpf(c1) * tail - x


def _mp_root(k, need, E, lo, hi, dps=80):
    """The root of the symmetric-error map's h in [lo, hi] (a sign change), by mpmath bisection at ``dps`` digits."""
    with mpmath.workdps(dps):
        a, b = mpmath.mpf(lo), mpmath.mpf(hi)
        fa = _mp_h(k, need, E, 1 - 2 * mpmath.mpf(E), a, dps)
        assert fa * _mp_h(k, need, E, 1 - 2 * mpmath.mpf(E), b, dps) < 0
        for _ in range(3 * dps):
            mid = (a + b) / 2
            fm = _mp_h(k, need, E, 1 - 2 * mpmath.mpf(E), mid, dps)
            a, b, fa = (mid, b, fm) if fm * fa > 0 else (a, mid, fa)
        return a


def _evans_schulman(k):
    return Fraction(1, 2) - Fraction(2 ** (k - 2), k * math.comb(k - 1, (k - 1) // 2))


@pytest.mark.parametrize("k", [3, 5, 51, 101, 201])
def test_evans_schulman_threshold_is_exact_for_wide_committees(k):
    want = _evans_schulman(k)
    result = hom.noise_threshold("majority", k)
    assert result["exact"] == f"{want.numerator}/{want.denominator}"
    assert result["good"]["exact"] == result["bad"]["exact"] == result["exact"]
    assert result["threshold"] == float(want)
    # and it is where the stable fixed point below 1/2 disappears
    below = hom.Homogeneous.symmetric("majority", k, float(want) - 1e-6)
    above = hom.Homogeneous.symmetric("majority", k, float(want) + 1e-6)
    assert [p.value for p in hom.fixed_points(below)][-1] == 0.5 and hom.fixed_points(below)[0].stable
    assert [(p.value, p.stable) for p in hom.fixed_points(above)] == [(0.5, True)]


def test_no_spurious_fixed_point_at_29_children():
    # above the threshold (0.3846...) the only fixed point in [0, 1/2] is 1/2, and it is stable;
    # the expanded polynomial's numpy roots reported 0.49999999809 "stable" instead
    E = 0.39
    assert float(_evans_schulman(29)) < E
    points = hom.fixed_points(hom.Homogeneous.symmetric("majority", 29, E))
    assert [(p.value, p.stable) for p in points] == [(0.5, True)]
    for x in [i / 1000 for i in range(500)] + [0.49999999809, 0.4999999999]:
        assert _mp_h(29, 15, E, 1 - 2 * mpmath.mpf(E), x) > 0  # f(x) > x on [0, 1/2): no other fixed point
    assert hom.limit(hom.Homogeneous.symmetric("majority", 29, E)) == 0.5


@pytest.mark.parametrize("k, E", [(51, 0.3), (51, 0.4), (101, 0.4), (201, 0.45)])
def test_stable_fixed_point_of_wide_majority_matches_mpmath(k, E):
    points = hom.fixed_points(hom.Homogeneous.symmetric("majority", k, E))
    assert [p.stable for p in points] == [True, False] and points[1].value == 0.5
    want = _mp_root(k, (k + 1) // 2, E, E, 0.49)
    assert abs(points[0].value - float(want)) <= 1e-12 * float(want)
    assert abs(points[0].value - float(want)) <= 2 * math.ulp(points[0].value)  # in fact to the last ulp
    assert hom.limit(hom.Homogeneous.symmetric("majority", k, E)) == points[0].value


@pytest.mark.parametrize("k, delta", [(51, 1e-13), (201, 1e-12), (201, 1e-15)])
def test_fixed_points_next_to_the_pitchfork_are_resolved(k, delta):
    # just below the threshold the stable point sits near 1/2, where f(e) - e is below double
    # precision (|f(e) - e| ~ 1e-20 here): its signs are decided exactly
    E = float(_evans_schulman(k)) - delta
    points = hom.fixed_points(hom.Homogeneous.symmetric("majority", k, E))
    assert [p.value for p in points][-1] == 0.5 and len(points) == 2
    x = points[0].value
    assert abs(float(_mp_h(k, (k + 1) // 2, E, 1 - 2 * mpmath.mpf(E), x))) < 1e-17  # flat beyond doubles
    want = _mp_root(k, (k + 1) // 2, E, 0.4, 0.5 - 1e-12)
    assert abs(x - float(want)) <= 2 * math.ulp(x)
    assert points[0].derivative < 1.0 < points[1].derivative  # (stable needs a margin of 1e-12: 1e-15 is inside it)


def test_a_tangency_closer_than_one_ulp_is_still_found():
    # bad work, majority of 3, a = 5/36, b = 1/9: h(e) = -(3/2) (e - 1/3)^2 (e - 5/6) touches 0 at 1/3,
    # between two floats; the sign-change scan alone sees h > 0 on both sides and would find nothing
    model = hom.Homogeneous("majority", 3, false_accept=Fraction(5, 36), false_reject=Fraction(1, 9))
    f = hom._Map.of(model, 0)
    assert (f.c0, f.c1) == (Fraction(5, 36), Fraction(3, 4))
    points = hom.fixed_points(model, truth=0)
    assert [p.value for p in points] == [1 / 3] and not points[0].stable
    assert points[0].derivative == pytest.approx(1.0, abs=1e-15)
    assert hom.limit(model, truth=0) == 1 / 3  # the iterates from 5/36 climb to the double root


@pytest.mark.parametrize("k", [1, 3, 51, 201, 1001])
def test_double_evaluation_error_bound_holds(k):
    # the certification rests on this bound: beyond it a double's sign is right, within it the sign is exact
    rng = np.random.default_rng(k)
    for need in sorted({1, 2 if k > 1 else 1, (k + 1) // 2, k}):
        f = hom._Map(k, need, Fraction(float(rng.uniform(0, 0.5))), Fraction(float(rng.uniform(-0.5, 1))))
        xs = [*rng.uniform(0, 1, 8), *rng.uniform(0, 1e-4, 3), 0.25, 0.5, 1 - 1e-9, 1e-200]
        for x in xs[: 5 if k > 1000 else None]:
            x = float(x)
            m, rel = f._t.double(x)
            N, Q = f._h_exact(*x.as_integer_ratio())
            assert abs((float(f.c0) + float(f.c1) * m - x) - N / Q) <= f._bound(x, m, rel) / 2


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.data())
def test_fixed_points_are_every_real_root_of_the_polynomial(k, data):
    # against exact real-root isolation of f(e) - e (sympy, rational coefficients): none missed, none spurious
    rule = data.draw(st.sampled_from(["all", "any", "majority"] + [f"at_least:{K}" for K in range(2, k)]))
    # rates on a grid of 1/64: exact in binary, small coefficients (fast exact root isolation), exact ties
    grid = st.integers(0, 28).map(lambda i: i / 64)
    deception = st.integers(0, 19).map(lambda i: i / 64)
    model = hom.Homogeneous(rule, k, false_accept=data.draw(grid), false_reject=data.draw(grid),
                            deception=data.draw(deception), audit=data.draw(grid))  # fmt: skip
    truth = data.draw(st.sampled_from([0, 1]))
    f = hom._Map.of(model, truth)
    x = sp.Symbol("x")
    m = sum(math.comb(f.k, j) * x**j * (1 - x) ** (f.k - j) for j in range(f.need, f.k + 1))
    poly = sp.Poly(sp.expand(sp.Rational(f.c0) + sp.Rational(f.c1) * m - x), x)
    if poly.is_zero:
        assert hom.fixed_points(model, truth=truth) == []
        return
    want = sorted({float(r) for r in poly.real_roots() if 0 <= r <= sp.Rational(1, 2)})
    got = [p.value for p in hom.fixed_points(model, truth=truth)]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert abs(g - w) <= 2 * math.ulp(w) + 1e-300


@pytest.mark.parametrize("k", [67, 101, 201])
@pytest.mark.parametrize("rule", ["majority", "all", "any", "at_least:2", "at_least:K-1"])
def test_wide_committees_run_through_the_python_functions(k, rule):
    rule = rule.replace("K-1", str(k - 1))
    for E in (0.05, 0.3, 0.45):
        model = hom.Homogeneous.symmetric(rule, k, E)
        points = hom.fixed_points(model)
        assert all(0 <= p.value <= 0.5 and math.isfinite(p.derivative) for p in points)
        assert 0 <= hom.limit(model) <= 1
    result = hom.noise_threshold(rule, k)
    assert 0 <= result["threshold"] <= 0.5
    assert 0 <= hom.deception_threshold(rule, k, error=0.05)["threshold"] <= 0.5


def test_majority_thresholds_grow_towards_one_half():
    values = [hom.noise_threshold("majority", k)["threshold"] for k in (3, 5, 51, 101, 201)]
    assert values == sorted(values) and values[-1] < 0.5


@pytest.mark.parametrize("k", [2, 3, 4, 5, 9, 60, 101])
def test_deception_threshold_reached_at_one_half_is_exact(k):
    # all over k, bad work: e' = d + (1 - d) e^k keeps a stable point below 1/2 until f(1/2) = 1/2,
    # d = (2^(k-1) - 1) / (2^k - 1): 3/7 at k = 3 (it came back as 0.428571427918, exact null); from
    # k of about 53 it is within an ulp of 1/2, and still the threshold (not the end of the range, 1/2)
    want = Fraction(2 ** (k - 1) - 1, 2**k - 1)
    result = hom.deception_threshold("all", k)
    assert result["exact"] == str(want) and result["threshold"] == float(want)
    below = hom.fixed_points(hom.Homogeneous("all", k, deception=float(want) - 1e-9), truth=0)
    above = hom.fixed_points(hom.Homogeneous("all", k, deception=float(want) + 1e-9), truth=0)
    assert any(p.stable and p.value < 0.5 for p in below)
    assert not any(p.stable and p.value < 0.5 for p in above)


def test_other_thresholds_at_one_half_are_exact():
    # the error read as the decimal written: E = 1/20, all over 3: 1 - (19/20)(1 - d) + (9/10)(1 - d)/8 = 1/2
    assert hom.deception_threshold("all", 3, error=0.05)["exact"] == "27/67"
    assert hom.deception_threshold("at_least:4", 5)["exact"] == "5/13"
    # an asymmetric rule on its easy side tolerates any E < 1/2 (the supremum, for k > 7 too)
    result = hom.noise_threshold("at_least:2", 8)
    assert result["good"] == {"threshold": 0.5, "exact": "1/2"}
    assert result["bad"]["exact"] is None and result["threshold"] == pytest.approx(0.009876141468591, abs=1e-13)


def test_tangency_threshold_matches_mpmath():
    # at_least:3 of 8 on bad work: the stable point merges with an unstable one (f = e, f' = 1)
    with mpmath.workdps(50):
        def system(E, x):
            tail = mpmath.fsum(math.comb(8, j) * x**j * (1 - x) ** (8 - j) for j in range(3, 9))
            return [E + (1 - 2 * E) * tail - x, (1 - 2 * E) * 8 * math.comb(7, 2) * x**2 * (1 - x) ** 5 - 1]

        E, _ = mpmath.findroot(system, (0.0679, 0.15))
    assert hom.noise_threshold("at_least:3", 8)["bad"]["threshold"] == pytest.approx(float(E), abs=1e-15)


def test_numeric_paths_import_neither_sympy_nor_scipy():
    # fixed points, thresholds with rational exact values, depths and the printed map need no sympy;
    # symbolic maps, LaTeX and tangencies import it when called
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import rrm_theory.homogeneous as hom\n"
        "hom.noise_threshold('majority', 5); hom.fixed_points(hom.Homogeneous.symmetric('majority', 51, 0.3))\n"
        "hom.deception_threshold('all', 3); hom.metrics_by_depth(hom.Homogeneous.symmetric('any', 9, 0.1, prior=0.5), 5)\n"
        "hom._expanded_error_map_str(hom.Homogeneous.symmetric('majority', 201, 0.1))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'scipy')))\n"
        "hom.e; print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=pathlib.Path(__file__).parent.parent).stdout  # fmt: skip
    assert out.split() == ["[]", "True"]


def test_the_symbols_are_made_on_first_use():
    from rrm_theory.homogeneous import D, E, e

    assert (str(e), str(E), str(D)) == ("e", "E", "d") and e.is_nonnegative and hom.e is e
    model = hom.Homogeneous.symmetric("majority", 3, 0.1)
    assert hom.error_map(model) == hom.error_map(model, symbol=e)
    assert hom.error_map(model, symbol=sp.Symbol("x")).free_symbols == {sp.Symbol("x")}
    with pytest.raises(AttributeError, match="no attribute 'F'"):
        hom.F  # noqa: B018


@settings(max_examples=60, deadline=None)
@given(models(), st.sampled_from([0, 1]), st.booleans())
def test_the_printed_map_is_what_sympy_prints(model, truth, root):
    # the fixed-point JSON's "map" is built without sympy; it must be sympy's str of the expanded map
    assert hom._expanded_error_map_str(model, truth=truth, root=root) == str(
        sp.expand(hom.error_map(model, truth=truth, root=root)))
    assert hom._expanded_error_map(model, truth=truth, root=root) == sp.expand(
        hom.error_map(model, truth=truth, root=root))


@pytest.mark.parametrize("error", [0.0, 0.5, 0.25, 0.1, 0.326, 0.16666666666666666, 0.29289321881345254])
@pytest.mark.parametrize("rule, k", [("all", 1), ("any", 2), ("majority", 3), ("majority", 4), ("at_least:3", 7)])
def test_the_map_has_the_rates_written_as_rationals(error, rule, k):
    # nsimplify read 0.326 as 3*2**(35/283)*3**(279/566)*5**(55/283)*7**(213/566)/49 and
    # 0.29289321881345254 as 1 - sqrt(2)/2: the map now takes every rate as the decimal written
    model = hom.Homogeneous.symmetric(rule, k, error)
    expr = sp.expand(hom.error_map(model))
    assert all(c.is_Rational for c in sp.Poly(expr, hom.e).all_coeffs())
    assert hom._expanded_error_map_str(model) == str(expr)
    assert sp.Poly(expr, hom.e).coeff_monomial(1) == sp.Rational(str(error))  # e' = E + (1 - 2E) m(e), m(0) = 0


@pytest.mark.parametrize("k, depth", [(201, 1), (61, 2), (7, 4)])
def test_the_numeric_joint_map_is_the_exact_analysis_for_wide_committees(k, depth):
    # the symbolic joint map sums (k+1)(k+2)(k+3)/6 multinomial terms: about 1.4 million at k = 201
    for rule in ("majority", "any", f"at_least:{k // 3 + 1}"):
        model = hom.Homogeneous(rule, k, false_accept=0.1, false_reject=0.2, deception=0.05, audit=0.1,
                                leaf_false_accept=0.3, prior=0.6, coverage=0.9)  # fmt: skip
        by_map = hom.metrics_by_depth(model, depth)
        for d in range(depth + 1):
            exact = rrm.exact_analysis(model.tree(d)).root
            for metric in ("p_good", "error", "false_accept", "false_reject"):
                assert by_map[d][metric] == pytest.approx(getattr(exact, metric), abs=1e-12), (rule, d, metric)


def test_the_joint_map_turns_into_the_error_map_once_a_truth_is_certain():
    # prior 1 - 2^-53 over 61 children: the bad truths' mass underflows to 0 after one level, and from
    # there the error map carries the law (one number instead of four)
    model = hom.Homogeneous("majority", 61, false_accept=0.1, false_reject=0.2, audit=0.1, leaf_false_accept=0.3,
                            prior=1 - 2**-53)  # fmt: skip
    by_map = hom.metrics_by_depth(model, 2)
    for d in range(3):
        assert by_map[d]["error"] == pytest.approx(rrm.exact_analysis(model.tree(d)).root.error, abs=1e-12)
    assert by_map[2]["false_accept"] is None and by_map[2]["p_good"] == 1.0
    # every truth equal from the start: the error map throughout, as error_by_depth
    for prior, truth in ((1.0, 1), (0.0, 0)):
        model = hom.Homogeneous.symmetric("majority", 201, 0.3, leaf_error=0.1, prior=prior)
        assert [m["error"] for m in hom.metrics_by_depth(model, 30)] == hom.error_by_depth(model, 30, truth=truth)


def _naive_metrics(model, depth):
    """metrics_by_depth without the replay: every level computed."""
    fa, fr, d, audit = model.rates(False)
    a, b = 1 - (1 - fa) * (1 - d), fr * (1 - d)
    below, out = hom._leaf_joint(model), [hom._metrics(hom._leaf_joint(model, root=True))]
    for _ in range(depth):
        J = hom._rule_joint(below, model.branching, model.T)
        out.append(hom._metrics(hom._normalised(hom._apply_joint(J, a=a, b=b, audit=0.0, coverage=model.coverage))))
        below = hom._normalised(hom._apply_joint(J, a=a, b=b, audit=audit, coverage=model.coverage))
    return out


@pytest.mark.parametrize("rule, k, prior", [("majority", 3, 0.5), ("majority", 5, 0.7), ("any", 4, 0.3),
                                            ("at_least:2", 3, 0.5)])  # fmt: skip
def test_replayed_depths_are_the_computed_ones(rule, k, prior):
    # once a level's law repeats bit for bit the depths are replayed: they must be the very same numbers
    model = hom.Homogeneous(rule, k, false_accept=0.1, false_reject=0.15, audit=0.05, prior=prior, coverage=0.95)
    assert hom.metrics_by_depth(model, 400) == _naive_metrics(model, 400)


def test_max_depth_reads_an_iterable_only_up_to_the_first_failure():
    def errors(cap):
        yield from (0.1, 0.2, 0.3)
        raise AssertionError("read past the first failure")

    assert hom.max_depth(errors, 0.25) == {"max_depth": 1, "unbounded": False, "errors": [0.1, 0.2, 0.3]}
    endless = hom.max_depth(lambda cap: iter(lambda: 0.1, None), 0.25, cap=1000)
    assert endless == {"max_depth": None, "unbounded": True, "errors": [0.1] * 50}
