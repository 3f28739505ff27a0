"""The rule kernel against the independent references of tests/reference_rules.py."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import brute_force
from reference_rules import conditional, count_rule_joint, weighted_rule_joint

import rrm_theory as rrm
from rrm_theory._kernel import threshold_rule
from rrm_theory.rules import parse_rule, threshold_form
from rrm_theory.strategies import probabilities, spec_dicts


def random_children(rng: np.random.Generator, n: int, *, alike: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Laws of n children: ``lp`` (1, n, 2) log P(Y), ``pr`` (1, n, 2, 2) P(R | Y)."""
    count = 1 if alike else n
    t = rng.uniform(0.05, 0.95, size=count)
    fa = rng.uniform(0.0, 0.4, size=count)
    fr = rng.uniform(0.0, 0.4, size=count)
    lp = np.stack([np.log1p(-t), np.log(t)], axis=-1)
    pr = np.stack([np.stack([1 - fa, fa], -1), np.stack([fr, 1 - fr], -1)], axis=-2)
    if alike:
        lp, pr = np.repeat(lp, n, axis=0), np.repeat(pr, n, axis=0)
    return lp[None], pr[None]


def joint_laws(lp: np.ndarray, pr: np.ndarray) -> list[np.ndarray]:
    return [np.exp(lp[0, c])[:, None] * pr[0, c] for c in range(lp.shape[1])]


def assert_same(lp_rule, pu, J, tol=1e-12):
    want_lp, want_pu = conditional(J)
    np.testing.assert_allclose(np.exp(lp_rule[0]), np.exp(want_lp), rtol=tol, atol=1e-300)
    for y in (0, 1):
        if np.isfinite(want_lp[y]):
            np.testing.assert_allclose(pu[0, y], want_pu[y], rtol=tol, atol=tol * 1e-3)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_weighted_decimal_weights_match_reference(n):
    rng = np.random.default_rng(n)
    for _ in range(4 if n < 8 else 1):  # the reference's states grow as 4**n
        weights = [round(float(w), 3) for w in rng.uniform(0.05, 3.0, size=n)]
        threshold = round(float(rng.uniform(0.05, 1.0)), 3)
        form = threshold_form(parse_rule("weighted"), n, weights=weights, threshold=threshold)
        lp, pr = random_children(rng, n)
        got = threshold_rule(lp, pr, form.weights, form.threshold)
        assert_same(*got, weighted_rule_joint(joint_laws(lp, pr), weights, threshold))


def test_weighted_ties_accept():
    """Weights 0.25, 0.75, 1 with threshold 0.5: {0.25, 0.75} sums to exactly half."""
    rng = np.random.default_rng(3)
    weights, threshold = [0.25, 0.75, 1.0], 0.5
    form = threshold_form(parse_rule("weighted"), 3, weights=weights, threshold=threshold)
    lp, pr = random_children(rng, 3)
    assert_same(*threshold_rule(lp, pr, form.weights, form.threshold),
                weighted_rule_joint(joint_laws(lp, pr), weights, threshold))  # fmt: skip


@pytest.mark.parametrize("rule", ["all", "any", "majority", "at_least:3"])
@pytest.mark.parametrize("n", [3, 10, 47, 120])
def test_count_rules_match_the_two_dimensional_programme(rule, n):
    rng = np.random.default_rng(n)
    form = threshold_form(parse_rule(rule), n)
    lp, pr = random_children(rng, n)
    J = count_rule_joint(joint_laws(lp, pr), form.threshold)
    assert_same(*threshold_rule(lp, pr, form.weights, form.threshold), J, tol=1e-11)


@pytest.mark.parametrize("n", [48, 101, 300])
def test_juries_of_alike_children_match_the_two_dimensional_programme(n):
    rng = np.random.default_rng(n)
    for rule in ("majority", "at_least:7", "all", "any"):
        form = threshold_form(parse_rule(rule), n)
        lp, pr = random_children(rng, n, alike=True)
        J = count_rule_joint(joint_laws(lp, pr), form.threshold)
        assert_same(*threshold_rule(lp, pr, form.weights, form.threshold), J, tol=1e-11)


def test_instances_mix_closed_form_and_programme():
    """Two instances of one node: children alike in one (closed form), not in the other."""
    rng = np.random.default_rng(9)
    a = random_children(rng, 60, alike=True)
    b = random_children(rng, 60)
    lp, pr = np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])
    lp_rule, pu = threshold_rule(lp, pr, (1,) * 60, 31)
    for g, (lp_g, pr_g) in enumerate((a, b)):
        assert_same(lp_rule[g : g + 1], pu[g : g + 1], count_rule_joint(joint_laws(lp_g, pr_g), 31), tol=1e-11)


def test_probabilities_far_below_the_double_range():
    """Truths of probability 1e-400 are kept in log space through the rule."""
    n = 5
    lp = np.zeros((1, n, 2))
    lp[0, :, 1] = -400 * np.log(10)  # P(Y = 1) = 1e-400
    lp[0, :, 0] = -1e-400
    pr = np.broadcast_to(np.array([[0.9, 0.1], [0.2, 0.8]]), (1, n, 2, 2)).copy()
    form = threshold_form(parse_rule("weighted"), n, weights=[0.3, 1.7, 0.9, 2.2, 0.45], threshold=0.6)
    lp_rule, pu = threshold_rule(lp, pr, form.weights, form.threshold)
    assert np.isfinite(lp_rule[0, 1]) and lp_rule[0, 1] < -1500  # at least two truths of 1e-400
    assert np.isclose(pu[0].sum(axis=1), 1.0).all()


three_decimals = st.integers(1, 4000).map(lambda k: k / 1000)
tie_prone = st.sampled_from([0.125, 0.25, 0.375, 0.5, 0.625, 1.0, 1.5])


@settings(max_examples=120)
@given(spec_dicts(min_nodes=3, max_nodes=9, max_depth=2, rules=["weighted"], features=["weights"],
                  weights=st.one_of(three_decimals, tie_prone), max_free=18,
                  thresholds=st.one_of(st.integers(1, 1000).map(lambda k: k / 1000), tie_prone.map(lambda w: w / 1.5)),
                  rates=probabilities(high=0.5)))  # fmt: skip
def test_weighted_trees_match_brute_force(spec):
    """Weighted nodes of up to 8 children, 3-decimal weights and thresholds, ties included."""
    tree = rrm.from_dict(spec)
    want = brute_force(tree)
    got = rrm.exact_analysis(tree)
    for v, metrics in want.items():
        for m, x in metrics.items():
            y = getattr(got.per_node[v], m)
            assert (x is None) == (y is None), (v, m)
            if x is not None:
                assert y == pytest.approx(x, abs=1e-12), (v, m)


def held_directly(lp, pr, weights, T, j, y, r):
    lp_k, pr_k = lp.copy(), pr.copy()
    lp_k[:, j] = (0.0, -np.inf) if y == 0 else (-np.inf, 0.0)
    pr_k[:, j] = np.eye(2)[r]
    return threshold_rule(lp_k, pr_k, weights, T)


@pytest.mark.parametrize("case", ["weighted-6", "majority-9", "all-5", "jury-60", "mixed-jury-50", "weighted-1e-300"])
def test_held_rule_equals_holding_each_child(case):
    from rrm_theory._kernel import held_rule

    rng = np.random.default_rng(len(case))
    if case == "weighted-6":
        form = threshold_form(parse_rule("weighted"), 6, weights=[0.3, 1.7, 0.9, 2.2, 0.45, 1.0], threshold=0.55)
        lp, pr = random_children(rng, 6)
    elif case == "weighted-1e-300":
        form = threshold_form(parse_rule("weighted"), 4, weights=[0.3, 1.7, 0.9, 2.2], threshold=0.55)
        lp, pr = random_children(rng, 4)
        lp[0, :, 1], lp[0, :, 0] = -700.0, -1e-300  # truths of probability e**-700
    elif case == "majority-9":
        form = threshold_form(parse_rule("majority"), 9)
        lp, pr = random_children(rng, 9)
    elif case == "all-5":
        form = threshold_form(parse_rule("all"), 5)
        lp, pr = random_children(rng, 5)
    elif case == "jury-60":
        form = threshold_form(parse_rule("majority"), 60)
        lp, pr = random_children(rng, 60, alike=True)
    else:
        form = threshold_form(parse_rule("at_least:20"), 50)
        lp, pr = random_children(rng, 50)
    lp = np.concatenate([lp, lp[:, ::-1]])  # two instances
    pr = np.concatenate([pr, pr[:, ::-1]])
    lp_h, pu_h = held_rule(lp, pr, form.weights, form.threshold)
    lp_t, _ = held_rule(lp, pr, form.weights, form.threshold, truths_only=True)
    n = lp.shape[1]
    for j in sorted({0, 1, n // 2, n - 1}):
        for y in (0, 1):
            for r in (0, 1):
                want_lp, want_pu = held_directly(lp, pr, form.weights, form.threshold, j, y, r)
                np.testing.assert_allclose(lp_h[:, j, y], want_lp, rtol=1e-12, atol=1e-14)  # logs near 0
                np.testing.assert_allclose(lp_t[:, j, y], want_lp, rtol=1e-12, atol=1e-14)
                ok = np.isfinite(want_lp)
                np.testing.assert_allclose(pu_h[:, j, y, r][ok], want_pu[ok], rtol=1e-10, atol=1e-13)
