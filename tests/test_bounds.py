"""Bounds over the class C: validity, the tight bounds against an independent reference LP and
against the full LP, the fast bounds' inequalities, the method choice, concentration."""

from __future__ import annotations

import copy
import importlib
import itertools
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_bounds import lp_bounds_reference, metric_under_coupling
from reference_bounds import response_marginals as reference_marginals
from scipy import stats
from scipy.optimize import linprog
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory import _fast_bounds, _lp, _lp_tables
from rrm_theory._compile import compile_tree
from rrm_theory.strategies import FEATURES, spec_dicts
from rrm_theory.bounds import (MAX_TIGHT_BITS, bounds, concentration, fast_bounds, lp_bounds,
                               response_marginals, tight_cost)  # fmt: skip

METRICS = ("false_accept", "false_reject", "error")
bounds_module = importlib.import_module("rrm_theory.bounds")  # the package's `bounds` is the function
EPS = 1e-9


def inside(value, interval) -> bool:
    return interval[0] - EPS <= value <= interval[1] + EPS


def nested(inner, outer) -> bool:
    return outer[0] - EPS <= inner[0] and inner[1] <= outer[1] + EPS


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


def tight_with(tree, pricer: str):
    """The tight bounds with the given pricer ("table" or "hull"), whatever the plan would pick."""
    layout = bounds_module._layout(compile_tree(tree))
    return bounds_module._tight(layout, _lp.Plan(len(layout.bits), pricer, 0.0))


def check_tight_against_the_reference(spec) -> None:
    tree = rrm.from_dict(spec)
    try:
        reference = lp_bounds_reference(tree)
    except ValueError:  # past the reference's enumeration limits
        return
    mine = bounds(tree, method="tight")
    assert mine.method == "tight"
    fast = fast_bounds(tree)
    exact = rrm.exact_analysis(tree).root
    for pricer in ("table", "hull"):
        result = tight_with(tree, pricer)
        for m in METRICS:
            want, got = reference[m], getattr(result.bounds, m)
            assert getattr(mine, m) == (None if got is None else pytest.approx(got, abs=1e-9))
            if want is None:
                assert got is None
                continue
            for k, side in enumerate(("lo", "hi")):
                if got[k] != pytest.approx(want[k], abs=1e-9):
                    # HiGHS's default tolerances can leave the reference short of the optimum by
                    # about 1e-8: then the extremal law must show, by the reference's own evaluation,
                    # that the bound is attained in C (so the reference's is not the extreme)
                    assert (got[k] < want[k]) == (side == "lo"), (pricer, m, side, got, want)
                    assert attained(tree, result, m, side) == pytest.approx(got[k], abs=1e-12)
            assert nested(got, getattr(fast, m)), (m, got, getattr(fast, m))
            assert inside(getattr(exact, m), got)


def attained(tree, result, metric, side) -> float:
    """The metric under the extremal law, by the reference; asserts the law is in C."""
    configs, q = result.couplings[metric, side]
    names, marginals = list(result.bits), response_marginals(tree)
    assert q.min() > 0 and q.sum() == pytest.approx(1.0, abs=1e-14)
    for j, (v, which) in enumerate(names):
        bit = (configs >> j) & 1
        share = q[bit == 1].sum() if which == 0 else q[bit == 0].sum()
        assert share == pytest.approx(marginals[v][which], abs=1e-13)
    law = {tuple(int(z >> j & 1) for j in range(len(names))): float(p) for z, p in zip(configs, q)}
    return metric_under_coupling(tree, _reference_order(tree, names, law), metric)


@settings(max_examples=80, deadline=None)
@given(tree_specs(max_nodes=6, max_free=16))
def test_tight_bounds_equal_the_reference_and_lie_inside_the_fast_ones(spec):
    """Drawn trees with every feature (blind spots and influence included), probabilities at the ends too."""
    check_tight_against_the_reference(spec)


@settings(max_examples=40, deadline=None)
@given(spec_dicts(min_nodes=6, max_nodes=7, max_free=60, features=FEATURES, max_groups=3, rates=st.floats(0.01, 0.4)))
def test_tight_bounds_equal_the_reference_on_larger_trees(spec):
    """Six or seven nodes with error rates inside (0, 1): mostly 8 to 14 free response bits."""
    check_tight_against_the_reference(spec)


def test_marginals_agree_with_the_reference():
    tree = rrm.load_spec("models/fantasy-novel.toml")
    mine, theirs = response_marginals(tree), reference_marginals(tree)
    for v in tree:
        assert mine[v] == pytest.approx(theirs[v], abs=1e-15)


@pytest.mark.parametrize("model", ["flat-ai-feedback", "chip-design"])
def test_the_extremal_joint_law_attains_the_bound(model):
    tree = rrm.load_spec(f"models/{model}.toml")
    result = lp_bounds(tree)
    names = list(result.bits)
    a_b = response_marginals(tree)
    assert len(result.couplings) == 6
    for (metric, side), (configs, q) in result.couplings.items():
        assert q.min() > 0 and q.sum() == pytest.approx(1.0) and len(configs) <= len(names) + 1
        assert len(set(configs.tolist())) == len(configs) and configs.max() < 2 ** len(names)
        for j, (v, which) in enumerate(names):  # the marginals of C hold
            bit = (configs >> j) & 1
            target = a_b[v][0] if which == 0 else a_b[v][1]
            share = q[bit == 1].sum() if which == 0 else q[bit == 0].sum()
            assert share == pytest.approx(target, abs=1e-9)
        # evaluated independently, the law attains the bound
        law = {tuple(int(k >> j & 1) for j in range(len(names))): float(p) for k, p in zip(configs, q)}
        value = metric_under_coupling(tree, _reference_order(tree, names, law), metric)
        bound = getattr(result.bounds, metric)[0 if side == "lo" else 1]
        assert value == pytest.approx(bound, abs=1e-9)
        assert float(q @ result.values(metric, configs)) == pytest.approx(bound, abs=1e-12)


def _reference_order(tree, names, law):
    """Re-key a law from this package's bit order to the reference's (graph order, u = 0 first)."""
    from reference_bounds import free_bits

    order = [names.index(bit) for bit in free_bits(tree)]
    return {tuple(config[i] for i in order): p for config, p in law.items()}


def random_spec(seed: int, nodes: int, *, exact_rejects: int = 0) -> dict:
    """A tree with every rule and feature, drawn from a seed (shared events included); the last
    ``exact_rejects`` nodes never reject good input (one free response bit each instead of two)."""
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(nodes)]
    parent = {names[i]: names[int(rng.integers(0, i))] for i in range(1, nodes)}
    kids = {v: [c for c, p in parent.items() if p == v] for v in names}
    spec_nodes = {}
    for v in names:
        d = {"false_accept": float(rng.uniform(0.01, 0.3)), "false_reject": float(rng.uniform(0.01, 0.3)),
             "deception": float(rng.choice([0.0, 0.05])), "audit": 0.0 if v == "v0" else float(rng.choice([0.0, 0.2]))}  # fmt: skip
        if v in parent:
            d["parent"] = parent[v]
        if kids[v]:
            n = len(kids[v])
            d["rule"] = str(rng.choice(["all", "any", "majority", f"at_least:{max(1, n - 1)}", "weighted"]))
            d["coverage"] = float(rng.choice([1.0, 0.9]))
            if d["rule"] == "weighted":
                d["threshold"] = 0.6
        else:
            d["prior"] = float(rng.uniform(0.5, 0.95))
        spec_nodes[v] = d
    for v in names:
        if spec_nodes[v].get("parent") and spec_nodes[spec_nodes[v]["parent"]].get("rule") == "weighted":
            spec_nodes[v]["weight"] = float(rng.choice([1.0, 2.0, 3.0]))
    for v in names[nodes - exact_rejects :]:
        spec_nodes[v].update(false_reject=0.0, deception=0.0)
    leaves = [v for v in names if not kids[v]]
    return {"name": f"random-{seed}", "influence": 0.1, "nodes": spec_nodes,
            "blind_spots": {"shared": {"probability": 0.05, "members": leaves[:2]}}}  # fmt: skip


def full_lp(result, tree, metric, side):
    """The programme over all 2**bits configurations at once (what column generation avoids)."""
    k, marg = len(result.bits), response_marginals(tree)
    configs = np.arange(1 << k)
    rows, rhs = [np.ones(1 << k)], [1.0]
    for j, (v, which) in enumerate(result.bits):
        bit = (configs >> j) & 1
        rows.append(bit if which == 0 else 1 - bit)
        rhs.append(marg[v][which])
    sign = 1.0 if side == "lo" else -1.0
    values = result.values(metric, configs)  # every configuration, evaluated one by one
    res = linprog(sign * values, A_eq=np.array(rows, float), b_eq=rhs, bounds=(0, None), method="highs")
    assert res.status == 0
    return sign * res.fun


@pytest.mark.parametrize("seed, nodes, exact_rejects, want_bits, metrics",
                         [(3, 6, 0, 12, METRICS), (7, 7, 0, 14, METRICS), (11, 8, 1, 15, ("false_accept",))])  # fmt: skip
def test_column_generation_equals_the_full_programme(seed, nodes, exact_rejects, want_bits, metrics):
    tree = rrm.from_dict(random_spec(seed, nodes, exact_rejects=exact_rejects))
    for pricer in ("table", "hull"):
        result = tight_with(tree, pricer)
        assert len(result.bits) == want_bits
        for metric in metrics:
            for k, side in enumerate(("lo", "hi")):
                want = full_lp(result, tree, metric, side)
                assert getattr(result.bounds, metric)[k] == pytest.approx(want, abs=1e-9), (pricer, metric, side)


@pytest.mark.parametrize("tree", [rrm.load_spec("models/process-supervision.toml"),  # a root over 7 leaves
                                  rrm.load_spec("models/fantasy-novel.toml"),  # influence, weights, 20 bits
                                  rrm.from_dict(random_spec(6, 10)),  # 20 bits
                                  rrm.balanced(2, 2, rule="any", error=0.05, prior=0.3)],  # symmetric: ties
                         ids=["process-supervision", "fantasy-novel", "random-20", "balanced-2-2"])  # fmt: skip
def test_the_two_pricers_agree(tree):
    """The table pricer looks at every configuration; the hull pricer at a few per subtree."""
    table, hull = tight_with(tree, "table").bounds, tight_with(tree, "hull").bounds
    for m in METRICS:
        assert getattr(hull, m) == pytest.approx(getattr(table, m), abs=1e-9), m


def test_a_wide_node_agrees_with_the_reference(monkeypatch):
    # eleven leaves under at_least:7: too many children for the multilinear form (4**11 patterns)
    leaves = {f"l{i}": {"parent": "r", "prior": 0.6 + 0.03 * i, "false_accept": 0.05 + 0.02 * i,
                        "false_reject": 0.0} for i in range(11)}  # fmt: skip
    tree = rrm.from_dict({"nodes": {"r": {"rule": "at_least:7", "error": 0.0, "coverage": 0.9}, **leaves}})
    calls = []
    split = _lp_tables._rows_split
    monkeypatch.setattr(_lp_tables, "_rows_split", lambda *args: calls.append(1) or split(*args))
    reference = lp_bounds_reference(tree)
    for pricer in ("table", "hull"):
        mine = tight_with(tree, pricer).bounds
        for m in METRICS:
            assert getattr(mine, m) == pytest.approx(reference[m], abs=1e-9), (pricer, m)
    assert calls


@pytest.mark.parametrize("spec", [
    {"rule": "majority", "n": 5}, {"rule": "all", "n": 6, "coverage": 0.8}, {"rule": "any", "n": 7},
    {"rule": "weighted", "n": 6, "threshold": 0.6, "coverage": 0.9}, {"rule": "at_least:4", "n": 9}])  # fmt: skip
def test_the_three_ways_to_build_a_node_agree(spec, monkeypatch):
    """Multilinear form, two-group count form and the exact analysis's kernel, on random child tables."""
    rng = np.random.default_rng(spec["n"])
    root = {"rule": spec["rule"], "error": 0.1, "coverage": spec.get("coverage", 1.0)}
    if "threshold" in spec:
        root["threshold"] = spec["threshold"]
    leaves = {f"l{j}": {"parent": "r", "prior": 0.2 + 0.07 * j, "error": 0.1} for j in range(spec["n"])}
    if spec["rule"] == "weighted":
        for j, leaf in enumerate(leaves.values()):
            leaf["weight"] = float(1 + j % 3)
    layout = bounds_module._layout(compile_tree(rrm.from_dict({"nodes": {"r": root, **leaves}})))
    tabs = []
    for _ in layout.order[0]:
        p = rng.random((int(rng.integers(1, 4)), 2))
        tabs.append(np.stack([np.stack([1 - p[:, 0], p[:, 0]], 1), np.stack([1 - p[:, 1], p[:, 1]], 1)], 1))
    got = {}
    for how in ("patterns", "split", "kernel"):
        monkeypatch.setattr(_lp_tables, "node_seconds", lambda sizes, states, how=how: (how, 0.0))
        got[how] = np.concatenate(list(_lp_tables.node_rows(layout, 0, tabs)))
    assert got["patterns"].shape == (int(np.prod([len(t) for t in tabs])), 2, 2)
    np.testing.assert_allclose(got["patterns"], got["kernel"], atol=1e-14)
    np.testing.assert_allclose(got["split"], got["kernel"], atol=1e-14)


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


@pytest.mark.parametrize("model", ["chip-design", "fantasy-novel", "book-summarization"])  # blind spot; influence; 40 bits
def test_tight_bounds_contain_the_exact_value_and_meet_monte_carlo(model):
    tree = rrm.load_spec(f"models/{model}.toml")
    tight, fast = bounds(tree, method="tight"), fast_bounds(tree)
    exact = rrm.exact_analysis(tree).root
    mc = rrm.monte_carlo(tree, samples=200_000, rng=11).root
    for m in METRICS:
        interval = getattr(tight, m)
        assert inside(getattr(exact, m), interval) and nested(interval, getattr(fast, m))
        lo, hi = mc[m].ci
        assert hi >= interval[0] and lo <= interval[1]


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
    # here the fast bound is tight too: Fréchet's min(0.2, 0.3) per truth vector (section 3.3),
    # where the union bound alone gives 0.2 + 0.3
    assert fast_bounds(tree).false_accept == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("case", ["general", "flat prices", "affine prices", "collinear", "one point", "ties"])
def test_the_upper_hull_keeps_a_maximiser_of_every_direction(case):
    """The hull pricer's pruning (section 2.3), degenerate sets included."""
    rng = np.random.default_rng(len(case))
    xy = rng.random((300, 2))
    s = rng.random(300)
    if case == "flat prices":
        s[:] = 0.0
    elif case == "affine prices":
        s = xy @ np.array([0.3, -0.7]) + 0.1
    elif case == "collinear":
        xy[:, 1] = 0.5 * xy[:, 0]
    elif case == "one point":
        xy[:] = 0.3
    elif case == "ties":
        xy, s = np.round(xy * 3) / 3, np.round(s * 3) / 3
    points = np.column_stack([xy, s])
    kept = _lp.upper_hull(points)
    directions = rng.normal(size=(5000, 2)) * rng.exponential(10.0, size=(5000, 1))
    best = (points[:, :2] @ directions.T + points[:, 2:]).max(axis=0)
    best_kept = (points[kept, :2] @ directions.T + points[kept, 2:]).max(axis=0)
    assert np.abs(best - best_kept).max() < 1e-12
    assert len(kept) < len(points) / 4  # and it prunes


# ----------------------------------------------------------------- the fast bounds' inequalities


def coupling_max(p, weights, D):
    """max P(sum w X >= D) over joint laws of Bernoulli(p_c), by linear programming."""
    n = len(p)
    configs = np.array(list(itertools.product((0, 1), repeat=n)))
    rows = [np.ones(len(configs))] + [configs[:, c] for c in range(n)]
    f = (configs @ np.array(weights) >= D).astype(float)
    res = linprog(-f, A_eq=np.array(rows, float), b_eq=[1.0, *p], bounds=(0, None), method="highs")
    return -res.fun


@pytest.mark.parametrize("seed", range(12))
def test_markov_tail_is_sharp_for_counts_and_valid_for_weights(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    p = rng.uniform(0, 1, n) ** 2
    for D in range(1, n + 1):  # equal weights: Rüschendorf's bound is the maximum over couplings
        got = float(_fast_bounds.markov_tail(p, np.ones(n, dtype=int), D))
        assert got == pytest.approx(coupling_max(p, [1] * n, D), abs=1e-9)
    w = rng.integers(1, 5, n)
    for D in range(1, int(w.sum()) + 1):
        assert float(_fast_bounds.markov_tail(p, w, D)) >= coupling_max(p, w, D) - 1e-9


def test_the_per_truth_vector_bounds_only_tighten_the_union_bound(monkeypatch):
    """Section 3.3 is intersected with section 3.2: never looser, and strictly tighter here."""
    trees = [rrm.load_spec(f"models/{m}.toml") for m in ("chip-design", "book-summarization", "fantasy-novel")]
    new = [fast_bounds(t) for t in trees]
    monkeypatch.setattr(_fast_bounds, "MAX_ENUMERATED_CHILDREN", 0)
    old = [fast_bounds(t) for t in trees]
    for b_new, b_old in zip(new, old):
        for m in METRICS:
            assert nested(getattr(b_new, m), getattr(b_old, m))
        assert b_new.false_accept[1] - b_new.false_accept[0] < b_old.false_accept[1] - b_old.false_accept[0] - 0.05


def test_book_summarization_fast_bounds_are_tighter_and_valid():
    tree = rrm.load_spec("models/book-summarization.toml")
    b = fast_bounds(tree)
    exact = rrm.exact_analysis(tree).root.false_accept  # 0.5604
    assert inside(exact, b.false_accept)
    assert b.false_accept[0] > 0.15 and b.false_accept[1] < 0.87  # union and Bonferroni alone: [0.038, 0.928]


def test_deep_trees_get_valid_fast_bounds_quickly():
    tree = rrm.chain(3000, error=0.01, prior=0.5)
    b = fast_bounds(tree)
    exact = rrm.exact_analysis(tree).root
    assert inside(exact.false_accept, b.false_accept) and inside(exact.false_reject, b.false_reject)


# ----------------------------------------------------------------- choosing the method


def test_auto_is_tight_within_the_budget_and_fast_beyond():
    chip = rrm.load_spec("models/chip-design.toml")
    bits, seconds = tight_cost(chip)
    assert bits == 14 and 0 < seconds < 5.0
    assert bounds(chip).method == "tight"
    assert bounds(chip, budget=seconds / 2).method == "fast"  # the decision is the prediction's, not a clock's
    assert bounds(chip, budget=seconds).method == "tight"
    assert bounds(chip, method="fast").method == "fast"
    assert bounds(chip, method="tight", budget=0.0).method == "tight"  # "tight" ignores the budget
    assert bounds(rrm.load_spec("models/fantasy-novel.toml")).method == "tight"  # 20 bits, default budget


def test_tight_refuses_past_its_reach_naming_fast():
    tree = rrm.load_spec("models/ternary-majority.toml")
    assert tight_cost(tree) == (2186, math.inf) and 2186 > MAX_TIGHT_BITS
    with pytest.raises(rrm.RRMError, match='2186 free response bits.*method="fast"'):
        bounds(tree, method="tight")
    with pytest.raises(rrm.RRMError, match="fast_bounds"):
        lp_bounds(tree)
    with pytest.raises(rrm.RRMError, match="14 free response bits"):
        lp_bounds(rrm.load_spec("models/chip-design.toml"), max_bits=12)
    assert bounds(tree).method == "fast" and bounds(tree, budget=math.inf).method == "fast"


@pytest.mark.parametrize("kwargs, match", [({"method": "lp"}, "method='lp' is not one of 'auto', 'tight', 'fast'"),
                                           ({"method": None}, "method=None"),
                                           ({"budget": -1.0}, "budget=-1.0 is not a number of seconds >= 0"),
                                           ({"budget": float("nan")}, "budget=nan"),
                                           ({"budget": "5"}, "budget='5'"),
                                           ({"budget": True}, "budget=True")])  # fmt: skip
def test_bad_options_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bounds(rrm.load_spec("models/flat-ai-feedback.toml"), **kwargs)


def test_tabulating_twenty_bits_stays_well_under_a_gibibyte():
    tree = rrm.load_spec("models/fantasy-novel.toml")  # 2**20 configurations
    tracemalloc.start()
    try:
        result = tight_with(tree, "table")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.bounds.false_accept == pytest.approx(bounds(tree).false_accept, abs=1e-9)
    assert peak < 128 * 2**20, peak  # the two tables are 16 MiB


# ----------------------------------------------------------------- concentration


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


@pytest.mark.parametrize("weights", [(5e-324, 1.7976931348623157e308), (1e-9, 1.0), (2.346, 0.734), (3.0, 2.0)])
def test_bounds_on_extreme_and_tied_weights_contain_the_exact_value(weights):
    """Integers of 600 digits, and sums landing exactly on the threshold (the Markov bound's
    ``D_r = 0`` must be decided exactly, not in rounded floats)."""
    nodes = {"r": {"rule": "weighted", "threshold": 0.5},
             "m": {"parent": "r", "rule": "weighted", "threshold": 0.7, "weight": weights[0]},
             "a": {"parent": "r", "weight": weights[1]}}  # fmt: skip
    nodes |= {f"c{i}": {"parent": "m", "weight": weights[i % 2]} for i in range(3)}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.6}, "nodes": nodes})
    exact = rrm.exact_analysis(tree).root
    for b in (bounds(tree), fast_bounds(tree)):
        for m in METRICS:
            assert inside(getattr(exact, m), getattr(b, m)), (b.method, m)


def test_auto_gives_the_fast_bounds_when_the_column_generation_runs_past_its_cap(monkeypatch):
    """A count of rounds, not a clock: past AUTO_ROUNDS times the planned rounds, auto takes fast."""
    import importlib

    module = importlib.import_module("rrm_theory.bounds")
    tree = rrm.load_spec("models/chip-design.toml")
    assert rrm.bounds(tree).method == "tight"
    monkeypatch.setattr(module, "AUTO_ROUNDS", 0)
    got = rrm.bounds(tree)
    assert got == rrm.fast_bounds(tree) and got.method == "fast"
    assert rrm.bounds(tree, method="tight").method == "tight"  # asked for: run to the end


def test_concentration_reuses_a_given_analysis_and_matches_the_scalar_tails():
    tree = rrm.balanced(3, 5, rule="majority", error=0.1, prior=0.5)
    rows = rrm.concentration(tree)
    assert rows == rrm.concentration(tree, analysis=rrm.exact_analysis(tree))
    module = __import__("importlib").import_module("rrm_theory.bounds")
    analysis = rrm.exact_analysis(tree)
    for row in rows:  # each row's tails as the one-node formulas give them
        kids = list(tree.successors(row["node"]))
        for side, metric in (("good", "false_reject"), ("bad", "false_accept")):
            p = np.array([(1 - tree.nodes[k]["audit"]) * getattr(analysis.per_node[k], metric) for k in kids])
            want = module._tails(p, row[side]["errors_needed"])
            for key, value in want.items():
                assert row[side][key] == pytest.approx(value, rel=1e-14, abs=1e-300)
