"""Bounds over the class C: validity, the LP against an independent reference, concentration."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from reference_bounds import lp_bounds_reference, metric_under_coupling
from reference_bounds import response_marginals as reference_marginals
from scipy import stats
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory.bounds import concentration, fast_bounds, lp_bounds, response_marginals

METRICS = ("false_accept", "false_reject", "error")
EPS = 1e-9


def inside(value, interval) -> bool:
    return interval[0] - EPS <= value <= interval[1] + EPS


@settings(max_examples=150, deadline=None)
@given(tree_specs(max_nodes=7, max_free=60))
def test_fast_bounds_contain_the_exact_value_of_the_model(spec):
    """The model, shared events and all, lies in C."""
    tree = rrm.from_dict(spec)
    exact = rrm.exact_analysis(tree).root
    b = fast_bounds(tree)
    for m in METRICS:
        value = getattr(exact, m)
        assert (value is None) == (getattr(b, m) is None)
        if value is not None:
            assert inside(value, getattr(b, m)), (m, value, getattr(b, m))


@settings(max_examples=60, deadline=None)
@given(tree_specs(max_nodes=4, max_free=12))
def test_lp_equals_the_reference_and_is_never_looser_than_the_fast_bound(spec):
    tree = rrm.from_dict(spec)
    try:
        reference = lp_bounds_reference(tree)
    except ValueError:  # past the reference's enumeration limits
        return
    mine = lp_bounds(tree).bounds
    fast = fast_bounds(tree)
    exact = rrm.exact_analysis(tree).root
    for m in METRICS:
        want, got = reference[m], getattr(mine, m)
        if want is None:
            assert got is None
            continue
        assert got == pytest.approx(want, abs=1e-9), m
        lo, hi = getattr(fast, m)
        assert lo - EPS <= got[0] and got[1] <= hi + EPS, (m, got, (lo, hi))
        assert inside(getattr(exact, m), got)


def test_marginals_agree_with_the_reference():
    tree = rrm.load_spec("models/fantasy-novel.toml")
    mine, theirs = response_marginals(tree), reference_marginals(tree)
    for v in tree:
        assert mine[v] == pytest.approx(theirs[v], abs=1e-15)


@pytest.mark.parametrize("model", ["flat-ai-feedback", "chip-design"])
def test_the_extremal_joint_law_attains_the_bound(model):
    tree = rrm.load_spec(f"models/{model}.toml")
    result = lp_bounds(tree)
    names = [(v, which) for v, which in result.bits]
    a_b = response_marginals(tree)
    for (metric, side), q in result.couplings.items():
        configs = np.arange(len(q))
        assert q.min() >= 0 and q.sum() == pytest.approx(1.0)
        for j, (v, which) in enumerate(names):  # the marginals of C hold
            bit = (configs >> j) & 1
            target = a_b[v][0] if which == 0 else a_b[v][1]
            share = q[bit == 1].sum() if which == 0 else q[bit == 0].sum()
            assert share == pytest.approx(target, abs=1e-9)
        # evaluated independently, the law attains the bound
        law = {tuple(int(k >> j & 1) for j in range(len(names))): float(p) for k, p in enumerate(q) if p > 1e-15}
        value = metric_under_coupling(tree, _reference_order(tree, names, law), metric)
        bound = getattr(result.bounds, metric)[0 if side == "lo" else 1]
        assert value == pytest.approx(bound, abs=1e-9)


def _reference_order(tree, names, law):
    """Re-key a law from this package's bit order to the reference's (graph order, u = 0 first)."""
    from reference_bounds import free_bits

    order = [names.index(bit) for bit in free_bits(tree)]
    return {tuple(config[i] for i in order): p for config, p in law.items()}


def correlated_variant(spec: dict) -> dict:
    """The same marginals, with two evaluators' deception replaced by one shared blind spot."""
    spec = copy.deepcopy(spec)
    spec["nodes"]["a"]["deception"] = spec["nodes"]["b"]["deception"] = 0.0
    spec["blind_spots"] = {"shared": {"probability": 0.3, "members": ["a", "b"]}}
    return spec


def test_other_blind_spot_structures_with_the_same_marginals_stay_inside():
    spec = {"defaults": {"prior": 0.7, "false_accept": 0.1, "false_reject": 0.1},
            "nodes": {"r": {"rule": "majority"}, "a": {"parent": "r", "deception": 0.3},
                      "b": {"parent": "r", "deception": 0.3}, "c": {"parent": "r"}}}  # fmt: skip
    independent, correlated = rrm.from_dict(spec), rrm.from_dict(correlated_variant(spec))
    mine, theirs = response_marginals(independent), response_marginals(correlated)
    assert all(mine[v] == pytest.approx(theirs[v]) for v in mine)
    b = lp_bounds(independent).bounds
    exact_c = rrm.exact_analysis(correlated).root
    assert exact_c.false_accept != pytest.approx(rrm.exact_analysis(independent).root.false_accept)
    mc = rrm.monte_carlo(correlated, samples=400_000, rng=4).root
    for m in METRICS:
        assert inside(getattr(exact_c, m), getattr(b, m))
        lo, hi = mc[m].ci
        assert hi >= getattr(b, m)[0] and lo <= getattr(b, m)[1]  # the interval meets the bounds


def test_single_leaf_bounds_are_a_point():
    tree = rrm.from_dict({"nodes": {"a": {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.2}}})
    for b in (fast_bounds(tree), lp_bounds(tree).bounds):
        assert b.false_accept == pytest.approx((0.1, 0.1)) and b.false_reject == pytest.approx((0.2, 0.2))


def test_all_over_two_leaves_by_hand():
    # root perfect, leaves false_accept 0.2, 0.3, prior 0.5, no false rejects. Bad work: some leaf
    # bad (P = 3/4). The root approves iff every bad leaf falsely accepts. FA given exactly one bad
    # leaf (P = 1/4 each) is that leaf's rate; given both bad (P = 1/4), both must accept: between
    # max(0, 0.2 + 0.3 - 1) = 0 and min(0.2, 0.3) = 0.2. FA = (0.25*0.2 + 0.25*0.3 + 0.25*[0, 0.2]) / 0.75.
    tree = rrm.from_dict({"nodes": {"r": {"rule": "all", "error": 0.0},
                                    "a": {"parent": "r", "prior": 0.5, "false_accept": 0.2, "false_reject": 0.0},
                                    "b": {"parent": "r", "prior": 0.5, "false_accept": 0.3, "false_reject": 0.0}}})  # fmt: skip
    want = ((0.05 + 0.075) / 0.75, (0.05 + 0.075 + 0.05) / 0.75)
    assert lp_bounds(tree).bounds.false_accept == pytest.approx(want)
    fast = fast_bounds(tree).false_accept
    assert fast[0] <= want[0] + EPS and fast[1] >= want[1] - EPS


def test_deep_trees_get_valid_fast_bounds_quickly():
    tree = rrm.chain(3000, error=0.01, prior=0.5)
    b = fast_bounds(tree)
    exact = rrm.exact_analysis(tree).root
    assert inside(exact.false_accept, b.false_accept) and inside(exact.false_reject, b.false_reject)


def test_lp_refuses_past_its_size_and_bounds_falls_back():
    tree = rrm.load_spec("models/book-summarization.toml")
    with pytest.raises(rrm.RRMError, match="fast_bounds"):
        lp_bounds(tree)
    assert rrm.bounds(tree).method == "fast"


@pytest.mark.parametrize("n", [3, 5, 11, 25])
def test_concentration_next_to_the_exact_tail(n):
    tree = rrm.balanced(1, n, rule="majority", prior=0.5, leaves={"error": 0.2}, internal={"error": 0.0})
    row = concentration(tree)[0]
    good = row["good"]
    k = n - (n // 2 + 1) + 1
    assert good["errors_needed"] == k
    assert good["exact"] == pytest.approx(stats.binom.sf(k - 1, n, 0.2), rel=1e-10)
    assert good["exact"] <= good["chernoff"] <= good["hoeffding"] <= 1.0
    assert good["hoeffding"] == pytest.approx(math.exp(-2 * (k - 0.2 * n) ** 2 / n))


def test_concentration_lists_count_rules_only():
    rows = concentration(rrm.load_spec("models/book-summarization.toml"))
    tree = rrm.load_spec("models/book-summarization.toml")
    kinds = {tree.nodes[r["node"]]["rule"].split(":")[0] for r in rows}
    assert rows and kinds <= {"majority", "at_least"}
