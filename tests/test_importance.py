"""Importance against finite differences of the exact analysis (docs/bounds.md section 6)."""

from __future__ import annotations

import copy

import networkx as nx
import pytest
from hypothesis import given, settings
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory.importance import PARAMETERS

H = 1e-3


def root_metric(tree: nx.DiGraph, node, changes: dict[str, float], metric: str) -> float | None:
    G = copy.deepcopy(tree)
    G.nodes[node].update(changes)
    return getattr(rrm.exact_analysis(G).root, metric)


def finite_difference(tree: nx.DiGraph, node, parameter: str, metric: str) -> float:
    """Central difference, one-sided at the ends of [0, 1]."""
    x = tree.nodes[node][parameter]
    lo, hi = max(0.0, x - H), min(1.0, x + H)
    return (root_metric(tree, node, {parameter: hi}, metric) - root_metric(tree, node, {parameter: lo}, metric)) / (hi - lo)


def independent(spec: dict) -> dict:
    spec = copy.deepcopy(spec)
    spec.pop("blind_spots", None)
    spec["influence"] = 0.0
    return spec


def assert_matches_finite_differences(tree: nx.DiGraph, result: rrm.Importance) -> None:
    root = next(v for v, d in tree.in_degree() if d == 0)
    for record in result.nodes:
        v = record.node
        for metric, derivs in (("false_accept", record.d_false_accept), ("false_reject", record.d_false_reject)):
            if getattr(result.root, metric) is None:
                assert all(d is None for d in derivs.values())
                continue
            for p in PARAMETERS:
                if p == "audit" and v == root:
                    assert derivs[p] is None
                    continue
                assert derivs[p] == pytest.approx(finite_difference(tree, v, p, metric), abs=1e-6), (v, metric, p)


@settings(max_examples=60, deadline=None)
@given(tree_specs(max_nodes=6, max_free=60))
def test_adjoint_equals_finite_differences(spec):
    tree = rrm.from_dict(independent(spec))
    result = rrm.importance(tree)
    assert result.method == "adjoint"
    assert_matches_finite_differences(tree, result)


@settings(max_examples=25, deadline=None)
@given(tree_specs(max_nodes=5, max_free=60))
def test_with_shared_events_equals_finite_differences(spec):
    tree = rrm.from_dict(spec)
    assert_matches_finite_differences(tree, rrm.importance(tree))


@settings(max_examples=40, deadline=None)
@given(tree_specs(max_nodes=6, max_free=60))
def test_perfect_and_failed_evaluators_equal_exact_reanalysis(spec):
    tree = rrm.from_dict(independent(spec))
    result = rrm.importance(tree)
    for record in result.nodes:
        v = record.node
        G = copy.deepcopy(tree)
        G.nodes[v].update(false_accept=0.0, false_reject=0.0, deception=0.0)
        best = rrm.exact_analysis(G).root
        assert record.false_accept_if_perfect == pytest.approx(best.false_accept, abs=1e-12)
        assert record.false_reject_if_perfect == pytest.approx(best.false_reject, abs=1e-12)
        G.nodes[v]["deception"] = 1.0
        assert record.false_accept_if_failed == pytest.approx(rrm.exact_analysis(G).root.false_accept, abs=1e-12)


def test_adjoint_and_exact_extremes_agree_on_the_catalog():
    for name in ("chip-design", "book-summarization", "fantasy-novel", "process-supervision"):
        tree = rrm.load_spec(f"models/{name}.toml")
        tree.graph.update(influence=0.0, blind_spots={})
        fast = rrm.importance(tree)
        from rrm_theory.importance import _by_extremes

        order = [v for v, _ in rrm.tree.bfs_order(tree)]  # _by_extremes takes the root first
        arrays = _by_extremes(tree, order, fast.root)
        for i, v in enumerate(fast.ranked):
            j = order.index(v)
            for key, values in arrays.items():
                assert fast.array(key)[i] == pytest.approx(values[j], abs=1e-12, nan_ok=True), (name, v, key)


def test_ranking_and_measures_on_chip_design():
    result = rrm.importance(rrm.load_spec("models/chip-design.toml"))
    assert result.method == "exact-extremes"  # it has a blind spot
    gains = [result.root.false_accept - r.false_accept_if_perfect for r in result.nodes]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    top = result.nodes[0]
    assert top.risk_reduction_worth == pytest.approx(result.root.false_accept / top.false_accept_if_perfect)
    assert top.risk_achievement_worth == pytest.approx(top.false_accept_if_failed / result.root.false_accept)
    assert result["heat"].node == "heat" and len(result.to_list(limit=3)) == 3


def test_deep_chain_importance_is_finite_and_matches_closed_form():
    # chain of d channels: FA = fa/(fa+fr) (1 - (1-fa-fr)^m); d/dfa of one channel's fa, by symmetry
    tree = rrm.chain(2000, false_accept=0.01, false_reject=0.02, prior=0.5)
    result = rrm.importance(tree)
    d = result["L1000_0"].d_false_accept["false_accept"]
    assert d == pytest.approx(finite_difference(tree, "L1000_0", "false_accept", "false_accept"), abs=1e-6)


STRICT = 1 - 1e-7  # the Monte Carlo tests' level: about 2e-6 false failures per run over their ~20 intervals


def test_monte_carlo_importance_brackets_the_exact_values():
    tree = rrm.load_spec("models/chip-design.toml")
    exact = rrm.importance(tree)
    sampled = rrm.importance(tree, method="monte-carlo", samples=100_000, rng=3, confidence=STRICT)
    assert sampled.method == "monte-carlo" and sampled.samples == 100_000
    for record in sampled.nodes:
        want = exact[record.node]
        for name, (lo, hi) in record.intervals.items():
            assert lo <= getattr(want, name) <= hi, (record.node, name)
        assert record.d_false_accept["false_accept"] is None  # derivatives are not estimated
    assert sampled.nodes[0].node == exact.nodes[0].node == "design"


def test_monte_carlo_importance_is_reproducible_and_takes_a_seed_sequence():
    import numpy as np

    tree = rrm.load_spec("models/flat-ai-feedback.toml")
    a = rrm.importance(tree, method="monte-carlo", samples=20_000, rng=np.random.SeedSequence(5))
    b = rrm.importance(tree, method="monte-carlo", samples=20_000, rng=np.random.SeedSequence(5))
    assert [r.to_dict() for r in a.nodes] == [r.to_dict() for r in b.nodes]


def test_importance_falls_back_to_monte_carlo_where_exact_analysis_declines():
    groups = {f"g{i}": {"probability": 0.05, "members": [f"c{i}", f"c{(i + 1) % 18}"]} for i in range(18)}
    nodes = {"r": {"rule": "majority"}} | {f"c{i}": {"parent": "r"} for i in range(18)}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.6}, "blind_spots": groups, "nodes": nodes})
    with pytest.raises(rrm.ExactRefused):
        rrm.importance(tree, method="exact")
    got = rrm.importance(tree, samples=5_000, rng=1)
    assert got.method == "monte-carlo" and len(got) == 19
    assert all(r.intervals["false_accept_if_failed"] is not None for r in got.nodes)


def test_invalid_importance_method():
    with pytest.raises(ValueError, match="method='fast'"):
        rrm.importance(rrm.chain(1, error=0.1, prior=0.5), method="fast")
