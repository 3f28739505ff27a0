"""Exact analysis against brute force, closed forms, and at numerical extremes."""

from __future__ import annotations

import copy
import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import brute_force
from scipy import stats
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory import METRICS, ExactRefused

TOL = 1e-12


def assert_matches_brute_force(tree: nx.DiGraph) -> None:
    expected = brute_force(tree)
    result = rrm.exact_analysis(tree)
    for v in tree:
        got = result.per_node[v].to_dict()
        for m in METRICS:
            if expected[v][m] is None:
                assert got[m] is None, (v, m, got[m])
            else:
                assert got[m] is not None, (v, m)
                assert abs(got[m] - expected[v][m]) <= TOL, (v, m, got[m], expected[v][m])


@settings(max_examples=400, deadline=None)
@given(tree_specs())
def test_exact_equals_brute_force(spec):
    assert_matches_brute_force(rrm.from_dict(spec))


@settings(max_examples=40, deadline=None)
@given(tree_specs(max_nodes=8, max_free=20))
def test_exact_equals_brute_force_larger_trees(spec):
    assert_matches_brute_force(rrm.from_dict(spec))


def test_every_feature_at_once_matches_brute_force():
    tree = rrm.from_dict(
        {
            "influence": 0.3,
            "defaults": {"false_accept": 0.1, "false_reject": 0.0, "prior": 0.7},
            "blind_spots": {
                "g": {"probability": 0.2, "members": ["a", "b"]},
                "h": {"probability": 0.5, "members": ["d", "r"]},
            },
            "nodes": {
                "r": {"rule": "weighted", "threshold": 0.6, "coverage": 0.9, "deception": 0.01,
                      "false_reject": 0.2},
                "a": {"parent": "r", "audit": 0.3, "weight": 2.0, "false_reject": 0.2},
                "b": {"parent": "r", "weight": 0.5, "exposure": 0.4},
                "c": {"parent": "r", "rule": "majority", "coverage": 0.8, "exposure": 0.5},
                "d": {"parent": "c", "deception": 0.1},
                "e": {"parent": "c", "prior": 1.0},
            },
        }
    )
    assert_matches_brute_force(tree)


def test_analysis_does_not_change_the_tree():
    tree = rrm.load_spec("models/chip-design.toml")
    before = copy.deepcopy(tree)
    rrm.exact_analysis(tree)
    assert nx.utils.graphs_equal(tree, before)
    assert tree.graph == before.graph


# ------------------------------------------------------------ closed forms


def chain_closed_form(fa: float, fr: float, channels: int) -> tuple[float, float]:
    """Rates after ``channels`` identical binary channels in series (a 2-state Markov chain)."""
    decay = (1.0 - fa - fr) ** channels
    return fa / (fa + fr) * (1.0 - decay), fr / (fa + fr) * (1.0 - decay)


@pytest.mark.parametrize("depth", [0, 1, 2, 7, 50])
@pytest.mark.parametrize("fa,fr", [(0.1, 0.1), (0.05, 0.2), (0.3, 0.01)])
def test_chain_of_noisy_evaluators(depth, fa, fr):
    result = rrm.exact_analysis(rrm.chain(depth, false_accept=fa, false_reject=fr, prior=0.3))
    want_fa, want_fr = chain_closed_form(fa, fr, depth + 1)
    assert result.root.false_accept == pytest.approx(want_fa, rel=1e-12)
    assert result.root.false_reject == pytest.approx(want_fr, rel=1e-12)
    assert result.root.p_good == pytest.approx(0.3, rel=1e-12)
    assert result.root.error == pytest.approx(0.7 * want_fa + 0.3 * want_fr, rel=1e-12)


def test_chain_of_ten_thousand_levels():
    result = rrm.exact_analysis(rrm.chain(10_000, false_accept=1e-5, false_reject=3e-5, prior=0.5))
    want_fa, want_fr = chain_closed_form(1e-5, 3e-5, 10_001)
    assert result.depth == 10_000 and result.nodes == 10_001
    assert result.root.false_accept == pytest.approx(want_fa, rel=1e-9)
    assert result.root.false_reject == pytest.approx(want_fr, rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 10, 11, 25])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.45])
def test_condorcet_flat_majority(n, rate):
    """n independent jurors on one question (all truths equal); a tie rejects."""
    good = rrm.balanced(1, n, rule="majority", prior=1.0, leaves={"error": rate}, internal={"error": 0.0})
    bad = rrm.balanced(1, n, rule="majority", prior=0.0, leaves={"error": rate}, internal={"error": 0.0})
    # Accept iff more than n/2 jurors approve, i.e. at least n // 2 + 1.
    fr = stats.binom.cdf(n // 2, n, 1.0 - rate)
    fa = stats.binom.sf(n // 2, n, rate)
    assert rrm.exact_analysis(good).root.false_reject == pytest.approx(fr, rel=1e-10)
    assert rrm.exact_analysis(bad).root.false_accept == pytest.approx(fa, rel=1e-10)
    assert rrm.exact_analysis(good).root.false_accept is None  # P(Y = 0) = 0


def test_condorcet_accuracy_grows_with_odd_jury_size():
    errors = [
        rrm.exact_analysis(
            rrm.balanced(1, n, rule="majority", prior=1.0, leaves={"error": 0.4}, internal={"error": 0.0})
        ).root.error
        for n in (1, 3, 5, 7, 9, 51)
    ]
    assert all(a > b for a, b in zip(errors, errors[1:]))


def test_majority_tails_far_below_double_precision_of_one_minus():
    """P(at least 51 of 101 jurors err) at rate 0.01 is about 1e-74: computed, not rounded away."""
    tree = rrm.balanced(1, 101, rule="majority", prior=0.0, leaves={"error": 0.01}, internal={"error": 0.0})
    want = stats.binom.sf(50, 101, 0.01)
    assert want < 1e-70
    assert rrm.exact_analysis(tree).root.false_accept == pytest.approx(want, rel=1e-9)


leaf_params = st.tuples(st.floats(0.01, 0.99), st.floats(0.0, 0.5), st.floats(0.0, 0.5))


def star(rule: str, leaves: list[tuple[float, float, float]]) -> nx.DiGraph:
    nodes = {"root": {"rule": rule, "error": 0.0}}
    for i, (prior, fa, fr) in enumerate(leaves):
        nodes[f"c{i}"] = {"parent": "root", "prior": prior, "false_accept": fa, "false_reject": fr}
    return rrm.from_dict({"nodes": nodes})


@settings(max_examples=100, deadline=None)
@given(st.lists(leaf_params, min_size=1, max_size=6))
def test_all_over_independent_children(leaves):
    p_good = math.prod(p for p, _, _ in leaves)
    p_approve = math.prod(p * (1 - fr) + (1 - p) * fa for p, fa, fr in leaves)
    p_good_approved = math.prod(p * (1 - fr) for p, _, fr in leaves)
    root = rrm.exact_analysis(star("all", leaves)).root
    assert root.p_good == pytest.approx(p_good, rel=1e-12)
    assert root.false_reject == pytest.approx(1 - p_good_approved / p_good, rel=1e-9, abs=1e-12)
    assert root.false_accept == pytest.approx((p_approve - p_good_approved) / (1 - p_good), rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(leaf_params, min_size=1, max_size=6))
def test_any_over_independent_children(leaves):
    p_bad = math.prod(1 - p for p, _, _ in leaves)
    p_reject = math.prod(p * fr + (1 - p) * (1 - fa) for p, fa, fr in leaves)
    p_bad_rejected = math.prod((1 - p) * (1 - fa) for p, fa, _ in leaves)
    root = rrm.exact_analysis(star("any", leaves)).root
    assert root.p_good == pytest.approx(1 - p_bad, rel=1e-12)
    assert root.false_accept == pytest.approx(1 - p_bad_rejected / p_bad, rel=1e-9, abs=1e-12)
    assert root.false_reject == pytest.approx((p_reject - p_bad_rejected) / (1 - p_bad), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("influence,exposure,deception", [(0.3, 1.0, 0.0), (0.3, 0.5, 0.2), (1.0, 0.5, 0.0)])
def test_overrides_on_a_single_leaf(influence, exposure, deception):
    tree = rrm.from_dict(
        {
            "influence": influence,
            "nodes": {"a": {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.2,
                            "deception": deception, "exposure": exposure}},
        }
    )  # fmt: skip
    keep = (1 - deception) * (1 - influence * exposure)
    root = rrm.exact_analysis(tree).root
    assert root.false_accept == pytest.approx(1 - 0.9 * keep, rel=1e-12)
    assert root.false_reject == pytest.approx(0.2 * keep, rel=1e-12)


def test_blind_spot_that_always_fires_is_a_constant():
    tree = rrm.from_dict(
        {
            "defaults": {"error": 0.1, "prior": 0.5},
            "blind_spots": {"always": {"probability": 1.0, "members": ["a"]}},
            "nodes": {"r": {"rule": "all"}, "a": {"parent": "r"}, "b": {"parent": "r"}},
        }
    )
    result = rrm.exact_analysis(tree)
    assert result.per_node["a"].false_accept == 1.0
    assert result.per_node["a"].false_reject == 0.0
    assert_matches_brute_force(tree)


# ------------------------------------------------------------ numerical extremes


def test_false_reject_of_1e_20_is_kept():
    tree = rrm.chain(2, false_accept=0.0, false_reject=1e-20, prior=0.5)
    assert rrm.exact_analysis(tree).root.false_reject == pytest.approx(3e-20, rel=1e-12)


def test_conditional_rates_given_an_event_rarer_than_the_smallest_double():
    """``all`` over 2000 fair-coin subtasks: P(Y = 1) = 2**-2000, far below 1e-308."""
    tree = rrm.balanced(1, 2000, rule="all", prior=0.5, leaves={"error": 1e-4}, internal={"error": 0.0})
    root = rrm.exact_analysis(tree).root
    assert root.p_good == 0.0  # not representable; the conditional rate still is
    assert root.false_reject == pytest.approx(1 - (1 - 1e-4) ** 2000, rel=1e-10)


def test_deep_chain_with_coverage_gaps():
    """P(Y = 1) = 0.9**5000 * 0.5 ~ 1e-229 after 5000 levels with coverage 0.9."""
    tree = rrm.chain(5000, error=0.001, prior=0.5, coverage=0.9)
    root = rrm.exact_analysis(tree).root
    assert root.p_good == pytest.approx(0.5 * 0.9**5000, rel=1e-9)
    _, want_fr = chain_closed_form(0.001, 0.001, 5001)  # given Y = 1 every level is covered
    assert root.false_reject == pytest.approx(want_fr, rel=1e-9)


def test_certain_truth_leaves_false_accept_undefined():
    root = rrm.exact_analysis(rrm.chain(3, error=0.1, prior=1.0)).root
    assert root.false_accept is None and root.youden is None
    assert root.false_reject is not None


# ------------------------------------------------------------ limits


def many_groups(k: int) -> nx.DiGraph:
    """A ring of k blind spots over k leaves: the root must condition on all k at once."""
    nodes = {"r": {"rule": "majority", "error": 0.1}}
    nodes |= {f"c{i}": {"parent": "r", "false_accept": 0.1, "false_reject": 0.0} for i in range(k)}
    groups = {f"g{i}": {"probability": 0.1, "members": [f"c{i}", f"c{(i + 1) % k}"]} for i in range(k)}
    return rrm.from_dict({"defaults": {"prior": 0.5}, "blind_spots": groups, "nodes": nodes})


def test_refuses_past_the_shared_event_limit_and_names_alternatives():
    with pytest.raises(ExactRefused, match=r"node 'r'.*17 shared events.*max_shared_events=16.*Monte Carlo.*bounds"):
        rrm.exact_analysis(many_groups(17))


def test_shared_event_limit_is_a_keyword():
    with pytest.raises(ExactRefused, match="max_shared_events=5"):
        rrm.exact_analysis(many_groups(6), max_shared_events=5)
    assert_matches_brute_force(many_groups(6))


def test_refuses_past_the_instance_limit():
    with pytest.raises(ExactRefused, match="max_instances=100"):
        rrm.exact_analysis(many_groups(8), max_instances=100)


def test_weights_with_many_decimals_are_exact():
    """Once refused (their integer grid needed thousands of count states): now exact."""
    nodes = {"r": {"rule": "weighted", "threshold": 0.5}}
    nodes |= {f"c{i}": {"parent": "r", "weight": w} for i, w in enumerate([0.0001, 0.1234, 0.9999])}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.5}, "nodes": nodes})
    assert_matches_brute_force(tree)


def test_refuses_weighted_rules_with_too_many_distinct_sums():
    rng = np.random.default_rng(5)
    weights = [round(float(w), 3) for w in rng.uniform(0.1, 10.0, size=30)]
    nodes = {"r": {"rule": "weighted", "threshold": 0.431}}
    nodes |= {f"c{i}": {"parent": "r", "weight": w} for i, w in enumerate(weights)}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.5}, "nodes": nodes})
    with pytest.raises(ExactRefused, match=r"node .r.: exact analysis of its rule over 30 children needs more than 2,048 distinct "
                       r"partial sums.*Monte Carlo"):
        rrm.exact_analysis(tree)


def test_blind_spots_conditioned_locally():
    """20 groups, each on its own leaf: many events, but never more than one at a node,
    so the analysis runs even with max_shared_events=1."""
    nodes = {"r": {"rule": "majority"}}
    nodes |= {f"m{j}": {"parent": "r", "rule": "all"} for j in range(5)}
    nodes |= {f"c{i}": {"parent": f"m{i % 5}"} for i in range(20)}
    groups = {f"g{i}": {"probability": 0.05, "members": [f"c{i}"]} for i in range(20)}
    spec = {"defaults": {"error": 0.1, "prior": 0.8}, "blind_spots": groups, "nodes": nodes}
    result = rrm.exact_analysis(rrm.from_dict(spec), max_shared_events=1)
    # A leaf's blind spot acts exactly like extra deception when no other node shares it.
    for i in range(20):
        del spec["blind_spots"][f"g{i}"]
        spec["nodes"][f"c{i}"]["deception"] = 0.05
    independent = rrm.exact_analysis(rrm.from_dict(spec))
    for m in METRICS:
        assert getattr(result.root, m) == pytest.approx(getattr(independent.root, m), rel=1e-12)


def test_sibling_groups_are_closed_at_their_parent():
    """Two groups on sibling pairs under different parents: the root conditions on none."""
    spec = {
        "defaults": {"error": 0.1, "prior": 0.6},
        "blind_spots": {"g": {"probability": 0.2, "members": ["a1", "a2"]},
                        "h": {"probability": 0.3, "members": ["b1", "b2"]}},
        "nodes": {"r": {"rule": "all"}, "a": {"parent": "r", "rule": "any"}, "b": {"parent": "r", "rule": "any"},
                  "a1": {"parent": "a"}, "a2": {"parent": "a"}, "b1": {"parent": "b"}, "b2": {"parent": "b"}},
    }  # fmt: skip
    tree = rrm.from_dict(spec)
    rrm.exact_analysis(tree, max_shared_events=1)
    assert_matches_brute_force(tree)


def test_refuses_too_much_work_before_doing_it():
    groups = {f"g{i}": {"probability": 0.1, "members": [f"L1_{2 * i}", f"L1_{2 * i + 1}"]} for i in range(5)}
    tree = rrm.balanced(1, 2001, rule="majority", error=0.1, prior=0.5, blind_spots=groups)
    with pytest.raises(ExactRefused, match="updates of partial-sum states.*max_work"):
        rrm.exact_analysis(tree)


def test_large_rule_groups_are_sliced_without_changing_results(monkeypatch):
    tree = many_groups(6)
    whole = rrm.exact_analysis(tree)
    monkeypatch.setattr(rrm.exact, "_SLICE_STATES", 1)  # one instance per slice
    sliced = rrm.exact_analysis(tree)
    for v in tree:
        assert sliced.per_node[v] == whole.per_node[v]


def test_unweighted_refusal_does_not_mention_weights():
    """4,001 helpers, all different: the count programme would pass max_work."""
    nodes = {"r": {"rule": "majority"}} | {f"c{i}": {"parent": "r", "prior": 0.5 + i / 10_000} for i in range(4001)}
    tree = rrm.from_dict({"defaults": {"error": 0.1}, "nodes": nodes})
    with pytest.raises(ExactRefused) as info:
        rrm.exact_analysis(tree)
    assert "partial-sum states" in str(info.value) and "weights" not in str(info.value)


def test_per_node_metrics_mapping():
    tree = rrm.load_spec("models/chip-design.toml")
    result = rrm.exact_analysis(tree)
    assert list(result.per_node) == list(tree)
    assert len(result.per_node) == tree.number_of_nodes()
    errors = result.per_node.array("error")
    assert errors.shape == (7,) and np.all((errors >= 0) & (errors <= 1))
    assert result.per_node[result.root_node] == result.root
    with pytest.raises(KeyError, match="not a metric"):
        result.per_node.array("accuracy")


SLICED = {"defaults": {"error": 0.1, "prior": 0.7},
          "blind_spots": {"g": {"probability": 0.3, "members": ["a", "b"]}},
          "nodes": {"r": {"rule": "all"}, "x": {"parent": "r", "rule": "all"},
                    "a": {"parent": "x"}, "b": {"parent": "x"}, "c": {"parent": "r"}}}  # fmt: skip


@pytest.mark.parametrize("states", [1, 2, 4, 8])
def test_rule_groups_cut_into_slices_give_the_same_numbers(states, monkeypatch):
    # the instances of one node (one per state of the shared events open below it) may fall in two
    # slices of a rule group; mixing them up per slice silently overwrote the first slice's half
    import rrm_theory.exact as exact_module

    tree = rrm.from_dict(SLICED)
    want = brute_force(tree)
    monkeypatch.setattr(exact_module, "_SLICE_STATES", states)
    got = rrm.exact_analysis(tree)
    for m in ("p_good", "false_accept", "false_reject"):
        assert getattr(got.root, m) == pytest.approx(want["r"][m], abs=1e-12)


@settings(max_examples=60)
@given(tree_specs(max_nodes=7))
def test_slicing_never_changes_exact_analysis(spec):
    import rrm_theory.exact as exact_module

    tree = rrm.from_dict(spec)
    try:
        whole = rrm.exact_analysis(tree)
    except ExactRefused:
        return
    old = exact_module._SLICE_STATES
    exact_module._SLICE_STATES = 1
    try:
        sliced = rrm.exact_analysis(tree)
    finally:
        exact_module._SLICE_STATES = old
    for m in ("p_good", "false_accept", "false_reject"):
        a, b = getattr(whole.root, m), getattr(sliced.root, m)
        assert (a is None and b is None) or a == pytest.approx(b, abs=1e-12)
