"""Monte Carlo on runs of one-child nodes (the scan of :mod:`rrm_theory._sampler`) against exact analysis.

Tolerances as in ``test_montecarlo``: the exact value must lie inside the z = 5.5
Clopper-Pearson interval of the sampled counts (Bonferroni difference for youden), a
false-failure rate of at most about 4e-8 per comparison. The tests here make
about 5 x 2,000 comparisons in all, so a spurious failure is rarer than once in 2,000 runs;
seeds are fixed, so any failure is reproducible.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_montecarlo import assert_consistent

import rrm_theory as rrm
from rrm_theory import _sampler
from rrm_theory._bits import map_scan
from rrm_theory._chains import CHAIN_MIN
from rrm_theory._compile import compile_tree


def chain_nodes(name: str, parent: str, length: int, rng: np.random.Generator, *, leaf: bool = True) -> dict:
    """``length`` one-child nodes under ``parent`` (the top first), over a leaf, each with its own rates."""
    nodes = {}
    above = parent
    for i in range(length):
        v = f"{name}{i}"
        nodes[v] = {
            "parent": above,
            "rule": str(rng.choice(["all", "any", "majority"])),  # one child: every rule is the identity
            "false_accept": float(rng.uniform(0.0, 0.08)),
            "false_reject": float(rng.uniform(0.0, 0.08)),
            "coverage": float(rng.choice([1.0, 0.995, 0.98])),
            "deception": float(rng.choice([0.0, 0.0, 0.01])),
            "audit": float(rng.choice([0.0, 0.0, 0.1, 0.3])),
            "exposure": float(rng.choice([0.0, 0.0, 0.2])),
        }
        above = v
    if leaf:
        nodes[f"{name}_leaf"] = {"parent": above, "prior": float(rng.uniform(0.6, 0.95))}
    return nodes


def featured_tree() -> nx.DiGraph:
    """A weighted root over two long chains and an ``any`` node over two chains that rest on
    an ``all`` node; blind spots with members inside the runs (one across two runs), influence."""
    rng = np.random.default_rng(42)
    nodes = {"root": {"rule": "weighted", "threshold": 0.5},
             "either": {"parent": "root", "rule": "any", "weight": 2.0}}  # fmt: skip
    nodes |= chain_nodes("a", "root", 40, rng)
    nodes |= chain_nodes("b", "root", 25, rng)
    nodes["a0"]["weight"] = 1.5
    nodes |= chain_nodes("c", "either", 12, rng)
    nodes |= chain_nodes("d", "either", 9, rng, leaf=False)
    nodes["both"] = {"parent": "d8", "rule": "all", "coverage": 0.97}
    nodes |= {"x": {"parent": "both", "prior": 0.9}, "y": {"parent": "both", "prior": 0.85}}
    nodes |= chain_nodes("e", "root", CHAIN_MIN - 1, rng)  # too short for a run: sampled level by level
    spots = {"s1": {"probability": 0.03, "members": ["a3", "a4", "b20"]},
             "s2": {"probability": 0.02, "members": ["c5", "d0", "a39"]},
             "s3": {"probability": 0.05, "members": ["both", "e2"]}}  # fmt: skip
    spec = {"influence": 0.15, "defaults": {"error": 0.05, "prior": 0.8}, "blind_spots": spots, "nodes": nodes}
    return rrm.from_dict(spec)


def runs_of(tree, words: int = 16) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The nodes the sampler takes as runs."""
    sampler = _sampler.ChunkSampler(compile_tree(tree), words)
    return np.concatenate([p.nodes for pieces in sampler.pieces for p in pieces] or [np.zeros(0, dtype=np.int64)])


def test_the_featured_tree_has_runs_where_expected():
    tree = featured_tree()
    c = compile_tree(tree)
    taken = {c.nodes[i] for i in runs_of(tree).tolist()}
    assert {f"a{i}" for i in range(40)} <= taken and {f"d{i}" for i in range(9)} <= taken
    assert not any(str(v).startswith("e") for v in taken) and "root" not in taken and "both" not in taken


@pytest.mark.parametrize("piece_words", [None, 64 * 5])  # pieces of 5 nodes: runs cut across pieces
def test_every_feature_agrees_with_exact_at_every_node(piece_words, monkeypatch):
    if piece_words is not None:
        monkeypatch.setattr(_sampler, "_PIECE_WORDS", piece_words)
    tree = featured_tree()
    exact = rrm.exact_analysis(tree)
    c = compile_tree(tree)
    sampler = _sampler.ChunkSampler(c, 64)  # 4,096 episodes per chunk: many chunks
    if piece_words is not None:
        assert max(len(p.nodes) for pieces in sampler.pieces for p in pieces) == 5
    n = 50 * 4096
    counts = sum(sampler.sample(np.random.default_rng([7, k]), 4096) for k in range(50))
    for i, v in enumerate(c.nodes):
        assert_consistent(exact.per_node[v], counts[i], n)


def test_deep_chain_agrees_with_exact_at_every_node():
    rng = np.random.default_rng(5)
    nodes = {"top": {"rule": "all"}} | chain_nodes("n", "top", 700, rng)
    nodes["n0"]["parent"] = "top"
    spots = {"g": {"probability": 0.01, "members": ["n10", "n350", "n699"]}}
    spec = {"influence": 0.1, "defaults": {"error": 0.02, "prior": 0.9}, "blind_spots": spots, "nodes": nodes}
    tree = rrm.from_dict(spec)
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=100_000, rng=3)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 2**32))
def test_drawn_trees_with_runs_agree_with_exact(shape_seed, seed):
    """A root with a drawn rule over two or three children, each a leaf or a run of drawn
    length and rates over a leaf or over an ``all`` pair; one blind spot over drawn nodes."""
    rng = np.random.default_rng(shape_seed)
    k = int(rng.integers(2, 4))
    rule = str(rng.choice(["all", "any", "majority", "weighted"]))
    nodes: dict = {"root": {"rule": rule} | ({"threshold": 0.6} if rule == "weighted" else {})}
    for j in range(k):
        if rng.random() < 0.2:
            nodes[f"leaf{j}"] = {"parent": "root", "prior": 0.7}
            continue
        pair = rng.random() < 0.5
        nodes |= chain_nodes(f"r{j}_", "root", int(rng.integers(CHAIN_MIN, 30)), rng, leaf=not pair)
        if rule == "weighted":
            nodes[f"r{j}_0"]["weight"] = float(rng.uniform(0.5, 2.0))
        if pair:
            bottom = max((v for v in nodes if v.startswith(f"r{j}_")), key=lambda v: int(v.split("_")[1]))
            nodes |= {f"p{j}": {"parent": bottom, "rule": "all"}, f"p{j}a": {"parent": f"p{j}"},
                      f"p{j}b": {"parent": f"p{j}"}}  # fmt: skip
    names = sorted(nodes)
    members = [str(v) for v in rng.choice(names, size=min(3, len(names)), replace=False)]
    spec = {"influence": float(rng.choice([0.0, 0.2, 1.0])), "defaults": {"error": 0.05, "prior": 0.8},
            "blind_spots": {"g": {"probability": 0.04, "members": members}}, "nodes": nodes}  # fmt: skip
    tree = rrm.from_dict(spec)
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=30_000, rng=seed)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


def test_wide_heights_stay_in_groups_and_the_rest_runs():
    """36 chains of 9 and 4 of 30 under one root: the 40 one-child nodes of each of the
    heights 1..9 are one group each (cheaper than the scan); above, four runs of 21
    whose anchors were sampled in those groups."""
    rng = np.random.default_rng(11)
    nodes: dict = {"root": {"rule": "majority"}}
    for j in range(40):
        nodes |= chain_nodes(f"k{j}_", "root", 30 if j < 4 else 9, rng)
    spots = {"g": {"probability": 0.05, "members": ["k0_3", "k1_20", "k7_2"]}}
    spec = {"influence": 0.3, "defaults": {"error": 0.05, "prior": 0.8}, "blind_spots": spots, "nodes": nodes}
    tree = rrm.from_dict(spec)
    c = compile_tree(tree)
    taken = {c.nodes[i] for i in runs_of(tree, 256).tolist()}
    assert taken == {f"k{j}_{i}" for j in range(4) for i in range(21)}
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=60_000, rng=4)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


def test_per_node_metrics_of_run_nodes_match_their_counts():
    tree = rrm.chain(30, error=0.05, prior=0.7, coverage=0.99, audit=0.1)
    result = rrm.monte_carlo(tree, samples=50_000, rng=1)
    exact = rrm.exact_analysis(tree)
    for i, v in enumerate(tree):
        good, fa, fr = (int(x) for x in result.counts[i])
        est = result.per_node[v]
        assert est["p_good"].estimate == good / result.samples
        assert est["false_accept"].estimate == fa / (result.samples - good)
        assert est["false_reject"].estimate == fr / good
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


def test_bit_identical_across_workers_batch_sizes_and_chunks():
    tree = featured_tree()
    runs = [
        rrm.monte_carlo(tree, samples=50_001, rng=99, batch_size=batch, workers=workers)
        for batch, workers in [(1 << 20, 1), (1, 1), (16_384, 2), (40_000, 3)]
    ]
    for other in runs[1:]:
        assert np.array_equal(other.counts, runs[0].counts)
    assert not np.array_equal(rrm.monte_carlo(tree, samples=50_001, rng=100).counts, runs[0].counts)
    # a run is the sum of its chunks, each a function of its own stream
    c = compile_tree(tree)
    sampler = _sampler.ChunkSampler(c, rrm.montecarlo.chunk_words(c.size))
    episodes = 64 * sampler.words
    total = np.zeros((c.size, 3), dtype=np.int64)
    for k, valid in enumerate([episodes, episodes, episodes, 50_001 - 3 * episodes]):
        stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence(99, spawn_key=(k,))))
        total += sampler.sample(stream, valid)
    assert np.array_equal(total[c.order], runs[0].counts)


def test_a_long_chain_draws_its_words_per_run_not_per_level(monkeypatch):
    """Runs draw each kind of random word once per piece of a run, not once per level (which made
    a level of a chain about 8 times dearer than a node of a balanced tree; the times are in
    benchmarks/bench_montecarlo.py)."""
    from rrm_theory import _sampler

    calls = []
    real = _sampler.bernoulli_words
    monkeypatch.setattr(_sampler, "bernoulli_words", lambda *a, **k: calls.append(1) or real(*a, **k))
    rrm.monte_carlo(compile_tree(rrm.chain(3000, error=0.01, prior=0.5)), samples=1000, rng=1, workers=1)
    assert 0 < len(calls) < 100  # a round per level would be at least 3,000


def test_map_scan_is_the_recurrence():
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 7, 16, 17, 200):
        f1 = rng.integers(0, 2**64, size=(m, 3), dtype=np.uint64, endpoint=False)
        f0 = rng.integers(0, 2**64, size=(m, 3), dtype=np.uint64, endpoint=False)
        restart = rng.random(m) < 0.1
        restart[0] = True
        f0[restart] = f1[restart]
        before = f1.copy(), f0.copy()
        x = map_scan(f1, f0)
        want = np.empty_like(f1)
        for j in range(m):
            want[j] = f0[j] if j == 0 else (want[j - 1] & f1[j]) | (~want[j - 1] & f0[j])
        assert np.array_equal(x, want) and np.array_equal(before[0], f1) and np.array_equal(before[1], f0)
