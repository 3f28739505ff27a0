"""Tests of tests/reference_adversary.py against hand calculations (docs/bounds.md 5).

Unless a test says otherwise every node is perfect (no errors, deception, audit),
leaves have prior 0.5 and exposure 1, internal nodes have rule "all", coverage 1 and
exposure 0, and influence is 0.  "cost" = least number of corrupted evaluators that
makes the root approve on an episode; the curve at t is P(cost <= t | Y_root = 0).
"""

from __future__ import annotations

import time
from typing import Any

import networkx as nx
import pytest

from reference import brute_force
from reference_adversary import (min_corruptions_on, most_likely_bad_outcome,
                                 root_approves, worst_false_accept)

TOL = 1e-12


def approx(x: Any) -> Any:
    return pytest.approx(x, abs=TOL, rel=TOL)


def tree(nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str]] = (),
         **graph: Any) -> nx.DiGraph:
    G = nx.DiGraph()
    G.graph.update(graph)
    G.add_nodes_from(nodes)
    G.add_edges_from(edges)
    for v, attrs in nodes.items():
        leaf = G.out_degree(v) == 0
        base: dict[str, Any] = {"false_accept": 0.0, "false_reject": 0.0, "deception": 0.0,
                                "audit": 0.0, "exposure": 1.0 if leaf else 0.0}
        base.update({"prior": 0.5} if leaf else {"rule": "all", "coverage": 1.0})
        base.update(attrs)
        G.nodes[v].update(base)
    return G


def star(root: dict[str, Any], leaves: dict[str, dict[str, Any]], **graph: Any) -> nx.DiGraph:
    return tree({"r": root, **leaves}, [("r", c) for c in leaves], **graph)


def small_trees() -> list[nx.DiGraph]:
    """Assorted small trees touching every feature of the model."""
    return [
        tree({"r": {"prior": 0.3, "false_accept": 0.2, "false_reject": 0.1}}),
        star({"rule": "majority", "false_accept": 0.05},
             {"a": {"prior": 0.6, "false_accept": 0.1, "false_reject": 0.2},
              "b": {"prior": 0.3, "false_accept": 0.1},
              "c": {"prior": 0.7, "false_reject": 0.2}}),
        tree({"r": {"deception": 0.1, "false_reject": 0.1},
              "m": {"rule": "any", "coverage": 0.9, "audit": 0.3, "false_accept": 0.1},
              "x": {"prior": 0.4}, "y": {"prior": 0.6}, "z": {"deception": 0.1}},
             [("r", "m"), ("m", "x"), ("m", "y"), ("r", "z")],
             influence=0.2, blind_spots={"bs": {"probability": 0.1, "members": ["x", "z"]}}),
        star({"rule": "weighted", "threshold": 0.3, "false_accept": 0.1},
             {"a": {"weight": 0.1, "false_accept": 0.1}, "b": {"weight": 0.2, "audit": 0.5},
              "c": {"weight": 0.7, "prior": 0.2, "exposure": 0.5}}, influence=0.3),
        star({"rule": "at_least:2", "false_reject": 0.1, "coverage": 0.8},
             {"a": {"audit": 0.5, "false_accept": 0.3}, "b": {"prior": 0.8},
              "c": {"false_reject": 0.25}}),
    ]


# --- t = 0 is the ordinary false_accept; the curve never decreases -----------------------

@pytest.mark.parametrize("i", range(5))
def test_t0_is_false_accept_and_curve_is_monotone(i: int) -> None:
    G = small_trees()[i]
    root = next(v for v in G if G.in_degree(v) == 0)
    fa = brute_force(G)[root]["false_accept"]
    for corruptible in (False, True):
        curve = worst_false_accept(G, 4, root_corruptible=corruptible)
        assert curve[0] == approx(fa)
        assert all(a <= b + TOL for a, b in zip(curve, curve[1:]))
        assert all(0.0 <= c <= 1.0 + TOL for c in curve)
    # Corrupting the root alone always wins.
    assert worst_false_accept(G, 1, root_corruptible=True)[1] == approx(1.0)


def test_single_node() -> None:
    # Bad iff Y = 0; honest approval iff FA: 0.2.  No evaluator may be corrupted.
    G = tree({"r": {"prior": 0.3, "false_accept": 0.2}})
    assert worst_false_accept(G, 2) == approx([0.2, 0.2, 0.2])
    assert worst_false_accept(G, 2, root_corruptible=True) == approx([0.2, 1.0, 1.0])


def test_undefined_when_root_never_bad() -> None:
    G = star({}, {"a": {"prior": 1.0}, "b": {"prior": 1.0}})
    assert worst_false_accept(G, 2) == [None, None, None]
    assert most_likely_bad_outcome(G) is None


# --- "all" over two leaves: one corruption per bad leaf ---------------------------------

@pytest.mark.parametrize("p", [0.5, 0.8])
def test_all_over_two_leaves(p: float) -> None:
    # P(bad) = 1 - p^2; exactly one bad leaf 2p(1-p) -> cost 1; both bad (1-p)^2 -> cost 2.
    # Curve: [0, 2p(1-p)/(1-p^2) = 2p/(1+p), 1]; p = 0.5: [0, 2/3, 1]; p = 0.8: [0, 8/9, 1].
    G = star({}, {"a": {"prior": p}, "b": {"prior": p}})
    assert worst_false_accept(G, 3) == approx([0.0, 2 * p / (1 + p), 1.0, 1.0])


def test_majority_tie_rejects() -> None:
    # Majority of 4 leaves (prior 0.5): approve iff >= 3 good (2 of 4 is a tie: reject).
    # Bad = at most 2 good: 11/16.  k good -> cost 3 - k: k=2 (6/16) 1, k=1 (4/16) 2,
    # k=0 (1/16) 3.  Curve [0, 6/11, 10/11, 1].
    G = star({"rule": "majority"}, {c: {} for c in "abcd"})
    assert worst_false_accept(G, 3) == approx([0.0, 6 / 11, 10 / 11, 1.0])


def test_weighted() -> None:
    # Weights a=1, b=1, c=2 (sum 4), threshold 0.75: approve iff weight >= 3, i.e. c and
    # (a or b).  Bad (a, b, c): c=0 (4 patterns) or 001: 5/8.  Costs: 000 -> 2 (c and a);
    # 100, 010, 110 -> 1 (c); 001 -> 1 (a).  Curve [0, 4/5, 1].
    G = star({"rule": "weighted", "threshold": 0.75},
             {"a": {}, "b": {}, "c": {"weight": 2.0}})
    assert worst_false_accept(G, 2) == approx([0.0, 0.8, 1.0])


def test_root_deception() -> None:
    # "all" over two leaves (0.5), root deception 0.25 (independent of the leaves).
    # t=0: 0.25.  t=1: win iff D or exactly one bad leaf (2/3 of bad): 1 - 0.75 * 1/3 = 0.75.
    G = star({"deception": 0.25}, {"a": {}, "b": {}})
    assert worst_false_accept(G, 2) == approx([0.25, 0.75, 1.0])


def test_blind_spot_approves_for_free() -> None:
    # "all" over a, b (0.5); blind spot {a, b} with probability 0.5 makes both approve.
    # t=0: 0.5 (B fires).  t=1: B, or exactly one bad leaf: 0.5 + 0.5 * 2/3 = 5/6.  t=2: 1.
    G = star({}, {"a": {}, "b": {}}, blind_spots={"g": {"probability": 0.5, "members": ["a", "b"]}})
    assert worst_false_accept(G, 2) == approx([0.5, 5 / 6, 1.0])


# --- audits ------------------------------------------------------------------------------

def test_audited_bad_leaf_cannot_be_faked() -> None:
    # "all" over a (always audited) and b.  Bad: a=0 (1/2 of all; the root sees Y_a = 0,
    # so nothing below the root wins), or a=1, b=0 (1/4; corrupt b).  P(bad) = 3/4.
    # Curve [0, 1/3, 1/3]; corrupting the root wins everything: [0, 1, 1].
    G = star({}, {"a": {"audit": 1.0}, "b": {}})
    assert worst_false_accept(G, 2) == approx([0.0, 1 / 3, 1 / 3])
    assert worst_false_accept(G, 2, root_corruptible=True) == approx([0.0, 1.0, 1.0])
    # audit 0.5 on a: unwinnable (a=0, A=1) = 1/4 of all = 1/3 of bad.  Cost 1: (a=1, b=0)
    # 1/4, plus (a=0, b=1, A=0) 1/8: 3/8 / 3/4 = 1/2.  t=2: 1 - 1/3 = 2/3.
    G = star({}, {"a": {"audit": 0.5}, "b": {}})
    assert worst_false_accept(G, 2) == approx([0.0, 0.5, 2 / 3])


def test_audit_below_hides_corruptions() -> None:
    # r -> m (audited) -> x, y.  Y_r = Y_m, and the root always sees Y_m: bad is never won
    # from below, whatever is corrupted under (or at) m.
    G = tree({"r": {}, "m": {"audit": 1.0}, "x": {}, "y": {}},
             [("r", "m"), ("m", "x"), ("m", "y")])
    assert worst_false_accept(G, 3) == approx([0.0, 0.0, 0.0, 0.0])
    ep = {**most_likely_bad_outcome(G)[0]}
    assert min_corruptions_on(G, ep) == (None, [])
    assert min_corruptions_on(G, ep, root_corruptible=True) == (1, ["r"])


def test_audit_returns_truth_including_coverage() -> None:
    # r -> m (coverage 0.5) -> x, y (prior 1).  Bad iff H_m = 0.  Unaudited, m sees two
    # good reports and approves: false_accept 1.  Audited, the root sees Y_m = 0: 0 for
    # every budget (model.md 7.2).
    nodes = {"r": {}, "m": {"coverage": 0.5}, "x": {"prior": 1.0}, "y": {"prior": 1.0}}
    edges = [("r", "m"), ("m", "x"), ("m", "y")]
    assert worst_false_accept(tree(nodes, edges), 2) == approx([1.0, 1.0, 1.0])
    nodes["m"] = {"coverage": 0.5, "audit": 1.0}
    assert worst_false_accept(tree(nodes, edges), 2) == approx([0.0, 0.0, 0.0])


# --- the root's own false_reject flip ----------------------------------------------------

def test_root_false_reject_needs_the_root() -> None:
    # r ("any") over a.  Bad iff a = 0 (1/2).  Corrupting a makes U_r = 1; then the root
    # approves iff FR_r did not fire (1/2).  Curve [0, 1/2]; with the root: [0, 1].
    G = star({"rule": "any", "false_reject": 0.5}, {"a": {}})
    assert worst_false_accept(G, 1) == approx([0.0, 0.5])
    assert worst_false_accept(G, 1, root_corruptible=True) == approx([0.0, 1.0])
    # FR_r = 1 always: never without the root.
    G = star({"rule": "any", "false_reject": 1.0}, {"a": {}})
    assert worst_false_accept(G, 2) == approx([0.0, 0.0, 0.0])
    ep, prob = most_likely_bad_outcome(G)
    assert ep["FR", "r"] and not ep["Y", "a"] and prob == approx(0.5)
    assert min_corruptions_on(G, ep) == (None, [])
    assert min_corruptions_on(G, ep, root_corruptible=True) == (1, ["r"])


# --- most likely bad outcome and the corruptions it needs --------------------------------

def test_most_likely_bad_outcome_all() -> None:
    # "all" over a (0.9), b (0.7); root false_accept 0.2.  Free variables Y_a, Y_b, FA_r.
    # Most likely bad: a=1, b=0, no FA: 0.9 * 0.3 * 0.8 = 0.216 (next: a=1, b=0, FA: 0.054;
    # a=0, b=1: 0.056).  On it, corrupting b makes the root see two approvals: 1, ["b"].
    G = star({"false_accept": 0.2}, {"a": {"prior": 0.9}, "b": {"prior": 0.7}})
    ep, prob = most_likely_bad_outcome(G)
    assert prob == approx(0.216)
    assert ep["Y", "a"] and not ep["Y", "b"] and not ep["FA", "r"]
    assert not ep["M",] and not ep["A", "a"] and ep["X", "a"] and ep["H", "r"]  # fixed ones
    assert min_corruptions_on(G, ep) == (1, ["b"])
    assert min_corruptions_on(G, ep, root_corruptible=True) == (1, ["b"])
    assert root_approves(G, ep, ["b"]) and not root_approves(G, ep, ["a"])
    assert not root_approves(G, ep, [])


def test_most_likely_bad_outcome_majority() -> None:
    # Majority of a (0.8), b (0.3), c (0.3).  Most likely bad: a=1, b=0, c=0:
    # 0.8 * 0.7 * 0.7 = 0.392.  One corruption (b or c) makes 2 of 3 approve.
    G = star({"rule": "majority"}, {"a": {"prior": 0.8}, "b": {"prior": 0.3},
                                    "c": {"prior": 0.3}})
    ep, prob = most_likely_bad_outcome(G)
    assert prob == approx(0.392)
    assert (ep["Y", "a"], ep["Y", "b"], ep["Y", "c"]) == (True, False, False)
    k, S = min_corruptions_on(G, ep)
    assert k == 1 and S in (["b"], ["c"]) and root_approves(G, ep, S)


def test_two_corruptions_needed() -> None:
    # "all" over a, b, c with priors 0.2: most likely bad = all three bad (0.8^3 = 0.512),
    # needs all three leaves corrupted: (3, ["a", "b", "c"]).
    G = star({}, {c: {"prior": 0.2} for c in "abc"})
    ep, prob = most_likely_bad_outcome(G)
    assert prob == approx(0.512)
    assert min_corruptions_on(G, ep) == (3, ["a", "b", "c"])
    assert worst_false_accept(G, 3)[3] == approx(1.0)


# --- limits ------------------------------------------------------------------------------

def test_refuses_large_inputs() -> None:
    with pytest.raises(ValueError, match="evaluators"):
        worst_false_accept(star({}, {f"l{i}": {"prior": 1.0} for i in range(11)}), 1)
    # 4 leaves x (prior, fa, fr, deception) + root (coverage, fa, fr, deception) + M = 21.
    half = {"prior": 0.5, "false_accept": 0.5, "false_reject": 0.5, "deception": 0.5}
    G = star({"coverage": 0.5, "false_accept": 0.5, "false_reject": 0.5, "deception": 0.5},
             {c: dict(half) for c in "abcd"}, influence=0.5)
    with pytest.raises(ValueError, match="free variables"):
        worst_false_accept(G, 1)


def test_timing_at_the_limit() -> None:
    # 10 leaves with prior, fa: 20 free variables; 10 evaluators; budget 2.
    G = star({"rule": "at_least:5"}, {f"l{i}": {"false_accept": 0.1} for i in range(10)})
    start = time.perf_counter()
    curve = worst_false_accept(G, 2)
    assert time.perf_counter() - start < 60
    assert all(a <= b + TOL for a, b in zip(curve, curve[1:]))
