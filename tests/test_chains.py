"""Runs of one-child nodes (rrm_theory._chains): the scan against the level-by-level pass and brute force."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from reference import brute_force
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory import METRICS, exact
from rrm_theory._chains import find_runs


@contextlib.contextmanager
def chain_min(k: int):
    """Runs of at least k one-child nodes take the scan (k huge: none does)."""
    old = exact.CHAIN_MIN
    exact.CHAIN_MIN = k
    try:
        yield
    finally:
        exact.CHAIN_MIN = old


def per_node(tree, k: int) -> dict:
    with chain_min(k):
        result = rrm.exact_analysis(tree)
    return {v: result.per_node[v].to_dict() for v in tree}


def assert_close(got: dict, want: dict, rel: float = 1e-12, atol: float = 1e-300) -> None:
    for v, row in want.items():
        for m in METRICS:
            a, b = got[v][m], row[m]
            if b is None:
                assert a is None, (v, m, a)
                continue
            assert a is not None, (v, m)
            assert 0.0 <= a <= 1.0 or m == "youden", (v, m, a)
            assert abs(a - b) <= rel * abs(b) + max(atol, 1e-15 * (m == "youden")), (v, m, a, b)


def random_tree(rng: np.random.Generator, nodes: int, *, unary: float = 0.8, events: bool = True) -> dict:
    """A spec dict: mostly one-child nodes (long runs), some branching, every feature."""
    spec: dict = {"name": "runs", "nodes": {"n0": {}}}
    leaves = ["n0"]
    for i in range(1, nodes):
        parent = leaves.pop(rng.integers(len(leaves))) if rng.random() < unary or len(leaves) == 1 else None
        if parent is None:  # a second child for an internal node with one
            inner = [v for v, d in spec["nodes"].items() if d.get("_kids") == 1]
            parent = inner[rng.integers(len(inner))] if inner else leaves.pop(rng.integers(len(leaves)))
        name = f"n{i}"
        spec["nodes"][name] = {"parent": parent}
        spec["nodes"][parent]["_kids"] = spec["nodes"][parent].get("_kids", 0) + 1
        if parent in leaves:
            leaves.remove(parent)
        leaves.append(name)
    rules = ["all", "any", "majority", "at_least:1", "weighted"]
    for v, d in spec["nodes"].items():
        kids = d.pop("_kids", 0)
        d["false_accept"] = float(rng.choice([rng.uniform(0, 0.3), 10.0 ** -rng.uniform(5, 25), 0.0]))
        d["false_reject"] = float(rng.choice([rng.uniform(0, 0.3), 10.0 ** -rng.uniform(5, 25), 0.0]))
        if rng.random() < 0.2:
            d["deception"] = float(rng.uniform(0, 0.1))
        if v != "n0" and rng.random() < 0.2:
            d["audit"] = float(rng.uniform(0, 0.5))
        if kids:
            rule = rules[rng.integers(len(rules))]
            d["rule"] = rule
            if rule == "weighted":
                d["threshold"] = float(rng.uniform(0.1, 1.0))
            if rng.random() < 0.3:
                d["coverage"] = float(rng.choice([rng.uniform(0.5, 1.0), 1 - 10.0 ** -rng.uniform(3, 12)]))
            d["exposure"] = float(rng.uniform(0, 0.3)) if rng.random() < 0.1 else 0.0
        else:
            d["prior"] = float(rng.choice([rng.uniform(0.05, 0.95), 1 - 1e-9, 1e-9]))
    for d in spec["nodes"].values():
        if d.get("parent") is not None and spec["nodes"][d["parent"]].get("rule") == "weighted":
            d["weight"] = float(rng.uniform(0.5, 3.0))
    if events:
        names = list(spec["nodes"])
        spec["influence"] = float(rng.uniform(0, 0.2)) if rng.random() < 0.5 else 0.0
        if rng.random() < 0.6:
            members = list(rng.choice(names, size=min(len(names), int(rng.integers(1, 4))), replace=False))
            spec["blind_spots"] = {"g": {"probability": float(rng.uniform(0.01, 0.3)), "members": members}}
    return spec


@settings(max_examples=150, deadline=None)
@given(tree_specs(max_nodes=8, max_free=20))
def test_scan_of_every_run_equals_brute_force(spec):
    tree = rrm.from_dict(spec)
    want = brute_force(tree)
    assert_close(per_node(tree, 1), want, rel=0.0, atol=1e-12)  # absolute 1e-12, as test_exact
    assert_close(per_node(tree, 2), per_node(tree, 10**9))


@pytest.mark.parametrize("seed", range(40))
def test_scan_equals_the_level_pass_on_random_runs(seed):
    rng = np.random.default_rng(seed)
    tree = rrm.from_dict(random_tree(rng, int(rng.integers(10, 400)), unary=float(rng.uniform(0.6, 0.97))))
    want = per_node(tree, 10**9)
    for k in (1, 3, 8):
        assert_close(per_node(tree, k), want)


@pytest.mark.parametrize("seed", range(6))
def test_scan_equals_the_level_pass_on_small_brute_force_trees(seed):
    rng = np.random.default_rng(100 + seed)
    tree = rrm.from_dict(random_tree(rng, 9, unary=0.85))
    assert_close(per_node(tree, 1), brute_force(tree), rel=0.0, atol=1e-12)


def test_forward_laws_agree_with_the_level_pass():
    rng = np.random.default_rng(7)
    c = rrm.compile_tree(rrm.from_dict(random_tree(rng, 300, unary=0.9)))
    with chain_min(10**9):
        a = exact.forward(c)
    with chain_min(2):
        b = exact.forward(c)
    assert [g[0].tolist() for g in a.groups] == [g[0].tolist() for g in b.groups]  # same groups for the consumers
    for name in ("pu", "pv", "pr", "pr_up"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=1e-300)
    finite = np.isfinite(a.lp)
    assert (finite == np.isfinite(b.lp)).all()
    np.testing.assert_allclose((b.lp + b.lq)[finite], (a.lp + a.lq)[finite], rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("coverage", [1.0, 0.999, 0.9])
def test_deep_chain_with_every_channel(coverage):
    """Depth 20,000: with coverage 0.9, P(Y = 1) = 0.9**20000 ~ 1e-915 at the root, below any double."""
    rng = np.random.default_rng(3)
    depth = 20_000
    tree = rrm.chain(depth, error=0.01, prior=0.7)
    for v in tree:
        d = tree.nodes[v]
        d["false_accept"], d["false_reject"] = float(rng.uniform(0, 0.02)), float(10.0 ** -rng.uniform(3, 20))
        d["deception"] = float(rng.uniform(0, 1e-4))
        if tree.out_degree(v):
            d["coverage"] = coverage
        if tree.in_degree(v) and rng.random() < 0.01:
            d["audit"] = 0.3
    want = per_node(tree, 10**9)
    got = per_node(tree, 8)
    # the level pass rounds once per level (relative 4e-13 at depth 10,000): compare at that scale
    assert_close(got, want, rel=2e-12)
    root = got[next(iter(tree))]
    if coverage == 0.9:
        assert root["p_good"] == 0.0 and root["false_reject"] is not None  # the law given Y = 1 is still known


def test_runs_are_found_bottom_first_with_their_anchors():
    tree = rrm.from_dict({"nodes": {
        "r": {"rule": "all"}, "a": {"parent": "r"}, "b": {"parent": "a"}, "c": {"parent": "b"},
        "x": {"parent": "r"}, "l1": {"parent": "c", "prior": 0.5}, "l2": {"parent": "c", "prior": 0.5},
    }, "defaults": {"error": 0.1, "prior": 0.5, "rule": "all"}})  # fmt: skip
    c = rrm.compile_tree(tree)
    chainable = (c.n_children == 1) & (c.shape >= 0)
    runs = find_runs(c, chainable, 1)
    names = [c.nodes[i] for i in runs.nodes]
    assert names == ["b", "a"] and runs.start.tolist() == [True, False]
    assert [c.nodes[i] for i in runs.anchor] == ["c", "c"]
    assert find_runs(c, chainable, 3) is None


@pytest.mark.parametrize("seed", range(12))
def test_fast_bounds_through_runs_equal_the_array_path(seed, monkeypatch):
    """Runs go through plain floats (with a jump at fixed points); the array path takes every level."""
    from rrm_theory import _fast_bounds

    rng = np.random.default_rng(200 + seed)
    tree = rrm.from_dict(random_tree(rng, int(rng.integers(10, 300)), unary=float(rng.uniform(0.6, 0.97))))
    runs = rrm.fast_bounds(tree)
    monkeypatch.setattr(_fast_bounds, "_RUN_MIN", 10**9)
    levels = rrm.fast_bounds(tree)
    assert runs == levels
    root = rrm.exact_analysis(tree).root
    for name in ("false_accept", "false_reject"):
        value = getattr(root, name)
        if value is not None:
            lo, hi = getattr(runs, name)
            assert lo <= value <= hi


@pytest.mark.parametrize("audit", [0.0, 0.3])
def test_fast_bounds_jump_over_a_uniform_chain_exactly(audit, monkeypatch):
    from rrm_theory import _fast_bounds

    tree = rrm.chain(3_000, error=0.002, prior=0.5)
    for v in list(tree)[1:]:
        tree.nodes[v]["audit"] = audit
    jumped = rrm.fast_bounds(tree)
    monkeypatch.setattr(_fast_bounds, "_RUN_MIN", 10**9)
    assert jumped == rrm.fast_bounds(tree)
