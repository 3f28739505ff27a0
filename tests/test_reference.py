"""Tests of tests/reference.py against hand calculations from MODEL.md sections 2 and 3.

Notation in the comments: P(Y,R) tables for a child are written as
(1,1) (1,0) (0,1) (0,0) = P(Y=y, R=r).  Unless a test says otherwise every node is
perfect (no errors, deception, audit), leaves have prior 0.5 and exposure 1, internal
nodes have rule "all", coverage 1 and exposure 0, and influence is 0.
"""

from __future__ import annotations

import math
import time
from typing import Any

import networkx as nx
import numpy as np
import pytest

from reference import brute_force, metrics_from_samples, sample_episodes

TOL = 1e-12


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


def two_leaves(root: dict[str, Any], a: dict[str, Any] | None = None,
               b: dict[str, Any] | None = None, **graph: Any) -> nx.DiGraph:
    return tree({"r": root, "a": a or {}, "b": b or {}}, [("r", "a"), ("r", "b")], **graph)


def check(m: dict[str, float | None], **expected: float | None) -> None:
    for key, want in expected.items():
        if want is None:
            assert m[key] is None, key
        else:
            assert m[key] == pytest.approx(want, abs=TOL), key


def test_single_leaf() -> None:
    # Y ~ B(0.7); P(V=1|Y=0) = 0.1, P(V=0|Y=1) = 0.2.
    # error = 0.7*0.2 + 0.3*0.1 = 0.17; youden = 1 - 0.1 - 0.2 = 0.7
    G = tree({"x": {"prior": 0.7, "false_accept": 0.1, "false_reject": 0.2}})
    check(brute_force(G)["x"], p_good=0.7, error=0.17, false_accept=0.1,
          false_reject=0.2, youden=0.7)


def test_leaf_with_deception() -> None:
    # V = W or D, D ~ B(0.25).
    # fa = 1 - P(W=0|Y=0) P(D=0) = 1 - 0.9*0.75 = 0.325
    # fr = P(W=0|Y=1) P(D=0) = 0.2*0.75 = 0.15
    # error = 0.4*0.325 + 0.6*0.15 = 0.13 + 0.09 = 0.22; youden = 1 - 0.325 - 0.15 = 0.525
    G = tree({"x": {"prior": 0.6, "false_accept": 0.1, "false_reject": 0.2,
                    "deception": 0.25}})
    check(brute_force(G)["x"], p_good=0.6, error=0.22, false_accept=0.325,
          false_reject=0.15, youden=0.525)


ALL_ROOT = {"false_accept": 0.05, "false_reject": 0.1}
LEAF_A = {"prior": 0.8, "false_accept": 0.1, "false_reject": 0.2}
LEAF_B = {"prior": 0.5, "false_accept": 0.3, "false_reject": 0.1}


def test_all_over_two_leaves() -> None:
    # a: (1,1) .64 (1,0) .16 (0,1) .02 (0,0) .18    b: (1,1) .45 (1,0) .05 (0,1) .15 (0,0) .35
    # Y = Ya Yb: p_good = 0.8*0.5 = 0.4.  U = Ra Rb.
    # P(Y=1,U=1) = .64*.45 = .288;  P(Y=1,U=0) = .4 - .288 = .112
    # P(U=1) = .66*.60 = .396;  P(Y=0,U=1) = .396 - .288 = .108;  P(Y=0,U=0) = .6 - .108 = .492
    # P(Y=0,V=1) = .108*.9 + .492*.05 = .0972 + .0246 = .1218 -> fa = .1218/.6 = .203
    # P(Y=1,V=0) = .288*.1 + .112*.95 = .0288 + .1064 = .1352 -> fr = .1352/.4 = .338
    # error = .1218 + .1352 = .257; youden = 1 - .203 - .338 = .459
    res = brute_force(two_leaves(ALL_ROOT, LEAF_A, LEAF_B))
    check(res["r"], p_good=0.4, error=0.257, false_accept=0.203, false_reject=0.338,
          youden=0.459)
    # every node gets its own metrics: leaf a is just its channel
    check(res["a"], p_good=0.8, error=0.8 * 0.2 + 0.2 * 0.1, false_accept=0.1,
          false_reject=0.2, youden=0.7)


def test_coverage_below_one() -> None:
    # As above with H ~ B(0.9) at the root: Y = Ya Yb H, p_good = .4*.9 = .36.
    # P(Y=1,U=1) = .288*.9 = .2592;  P(Y=1,U=0) = .112*.9 = .1008
    # P(Y=0,U=1) = .396 - .2592 = .1368;  P(Y=0,U=0) = .64 - .1368 = .5032
    # P(Y=0,V=1) = .1368*.9 + .5032*.05 = .12312 + .02516 = .14828 -> fa = .14828/.64 = .2316875
    # P(Y=1,V=0) = .2592*.1 + .1008*.95 = .02592 + .09576 = .12168 -> fr = .12168/.36 = .338
    # error = .14828 + .12168 = .26996
    res = brute_force(two_leaves(dict(ALL_ROOT, coverage=0.9), LEAF_A, LEAF_B))
    check(res["r"], p_good=0.36, error=0.26996, false_accept=0.2316875,
          false_reject=0.338, youden=1 - 0.2316875 - 0.338)


def test_coverage_defect_is_a_pure_false_accept() -> None:
    # Perfect evaluators, coverage 0.8: V = Ya Yb (p .25), Y = Ya Yb H (p .2).
    # P(Y=0,V=1) = .25*.2 = .05 -> fa = .05/.8 = .0625; fr = 0
    res = brute_force(two_leaves({"coverage": 0.8}))
    check(res["r"], p_good=0.2, error=0.05, false_accept=0.0625, false_reject=0.0,
          youden=0.9375)


def test_any() -> None:
    # a: fa .2 -> (1,1) .5 (0,1) .1 (0,0) .4;   b: fr .4 -> (1,1) .3 (1,0) .2 (0,0) .5
    # Y = Ya or Yb: p_good = .75.  Root perfect, V = Ra or Rb.
    # Y=0,V=1: Yb=0 forces Rb=0, so need Ya=0,Ra=1: .1*.5 = .05 -> fa = .05/.25 = .2
    # Y=1,V=0: Ra=0 needs Ya=0 (.4), then Yb=1,Rb=0 (.2): .08 -> fr = .08/.75 = 8/75
    # error = .13; youden = 1 - .2 - 8/75 = 52/75
    res = brute_force(two_leaves({"rule": "any"}, {"false_accept": 0.2},
                                 {"false_reject": 0.4}))
    check(res["r"], p_good=0.75, error=0.13, false_accept=0.2, false_reject=8 / 75,
          youden=52 / 75)


def test_majority_of_three() -> None:
    # priors .5 .6 .7; c has fa .5; root perfect.  P(count >= 2):
    # all three .5*.6*.7 = .21; exactly two .5*.6*.3 + .5*.4*.7 + .5*.6*.7 = .09+.14+.21 = .44
    # p_good = .65.  Rc >= Yc, so V != Y only if Yc=0, Rc=1 (.3*.5) and Ya+Yb = 1
    # (.5*.4 + .5*.6 = .5): P(Y=0,V=1) = .075 -> fa = .075/.35 = 3/14; fr = 0
    G = tree({"r": {"rule": "majority"}, "a": {"prior": 0.5}, "b": {"prior": 0.6},
              "c": {"prior": 0.7, "false_accept": 0.5}}, [("r", "a"), ("r", "b"), ("r", "c")])
    check(brute_force(G)["r"], p_good=0.65, error=0.075, false_accept=3 / 14,
          false_reject=0.0, youden=11 / 14)


def test_majority_of_two_tie_rejects() -> None:
    # n = 2: accept iff count > 1, i.e. both: p_good = .25 (it would be .75 if a tie accepted).
    # a has fa .4: Y=0,V=1 needs Yb=1 (.5), Ya=0 (.5), Ra=1 (.4) = .1 -> fa = .1/.75 = 2/15
    res = brute_force(two_leaves({"rule": "majority"}, {"false_accept": 0.4}))
    check(res["r"], p_good=0.25, error=0.1, false_accept=2 / 15, false_reject=0.0)


def test_at_least_two_of_three() -> None:
    # priors .9 .8 .5; c has fr .4.  P(count >= 2): all .36;
    # exactly two .9*.8*.5 + .9*.2*.5 + .1*.8*.5 = .36+.09+.04 = .49 -> p_good = .85
    # Rc <= Yc, so V != Y only if Yc=1, Rc=0 (.5*.4 = .2) and Ya+Yb = 1 (.9*.2+.1*.8 = .26):
    # P(Y=1,V=0) = .052 -> fr = .052/.85; fa = 0
    G = tree({"r": {"rule": "at_least:2"}, "a": {"prior": 0.9}, "b": {"prior": 0.8},
              "c": {"prior": 0.5, "false_reject": 0.4}}, [("r", "a"), ("r", "b"), ("r", "c")])
    check(brute_force(G)["r"], p_good=0.85, error=0.052, false_accept=0.0,
          false_reject=0.052 / 0.85)


def test_at_least_extremes_are_any_and_all() -> None:
    rates = ({"prior": 0.3, "false_accept": 0.2}, {"prior": 0.6, "false_reject": 0.3})
    for k, rule in ((1, "any"), (2, "all")):
        assert (brute_force(two_leaves({"rule": f"at_least:{k}"}, *rates))["r"]
                == brute_force(two_leaves({"rule": rule}, *rates))["r"])


def test_weighted_compares_exact_decimals() -> None:
    # weights a .1, b .7, c .2, threshold .8: sum w = 1, so accept iff weight of ones >= .8:
    # {a,b} = .8 yes (in floats .1 + .7 = .7999999999999999 < .8 would reject), {b,c} = .9 yes,
    # {a,b,c} yes, everything else < .8.  Accept iff b and (a or c): p_good = .5*.75 = .375
    # (floats would give b and c only: .25).  c has fa .5, so Rc >= Yc; V != Y only if
    # Yc=0, Rc=1 (.25), Yb=1, Ya=0 (.25): P(Y=0,V=1) = .0625 -> fa = .0625/.625 = .1
    G = tree({"r": {"rule": "weighted", "threshold": 0.8}, "a": {"weight": 0.1},
              "b": {"weight": 0.7}, "c": {"weight": 0.2, "false_accept": 0.5}},
             [("r", "a"), ("r", "b"), ("r", "c")])
    assert 0.1 + 0.7 < 0.8  # the float trap this test is about
    check(brute_force(G)["r"], p_good=0.375, error=0.0625, false_accept=0.1,
          false_reject=0.0)


def test_weighted_default_weights() -> None:
    # no weights: each 1; threshold .5 of 2 -> accept iff at least one: p_good = .75
    check(brute_force(two_leaves({"rule": "weighted", "threshold": 0.5}))["r"], p_good=0.75)
    # threshold 1.0 -> both: .25
    check(brute_force(two_leaves({"rule": "weighted", "threshold": 1.0}))["r"], p_good=0.25)


def test_audit_on_a_child() -> None:
    # a: fa .5, audit .6 -> Ra = Ya when audited, else Va.  Root "all", b perfect.
    # Y=0,V=1 needs Yb=1 (.5), Ya=0 (.5), Ra=1: not audited (.4) and Va=1 (.5) -> .05
    # fa = .05/.75 = 1/15 (without the audit: .125/.75 = 1/6)
    res = brute_force(two_leaves({}, {"false_accept": 0.5, "audit": 0.6}))
    check(res["r"], p_good=0.25, error=0.05, false_accept=1 / 15, false_reject=0.0)
    # the node's own metrics use V (before audit): fa of a is still .5
    check(res["a"], p_good=0.5, error=0.25, false_accept=0.5, false_reject=0.0)


def test_influence_with_default_exposures() -> None:
    # influence .2, leaves exposure 1, root exposure 0, root fr .1.
    # M=1: both leaves approve, U=1, root V = W (not swayed): 1 w.p. .9.
    # M=0: U = Ya Yb = Y.
    # P(Y=0,V=1) = .2*.75*.9 = .135 -> fa = .135/.75 = .18
    # Y=1: U=1 either way, V=0 w.p. .1 -> fr = .1; error = .135 + .25*.1 = .16
    res = brute_force(two_leaves({"false_reject": 0.1}, influence=0.2))
    check(res["r"], p_good=0.25, error=0.16, false_accept=0.18, false_reject=0.1)
    check(res["a"], false_accept=0.2, false_reject=0.0)
    # with root exposure 1 as well, M=1 sways the root: fa = .2 exactly
    res = brute_force(two_leaves({"false_reject": 0.1, "exposure": 1.0}, influence=0.2))
    check(res["r"], false_accept=0.2, false_reject=0.1 * 0.8)


def test_blind_spot_is_not_independent_deception() -> None:
    # Group {a, b} with probability .2: when it fires both approve, so the root approves:
    # fa = .2.  Independent deception .2 on each leaf instead; condition on Y=0 (p .75):
    # (0,0) w.p. 1/3 needs both to flip: .04;  (0,1) or (1,0) w.p. 2/3 needs one: .2
    # fa = .04/3 + .4/3 = 11/75.  Each leaf alone has fa .2 in both cases.
    shared = brute_force(two_leaves({}, blind_spots={"g": {"probability": 0.2,
                                                          "members": ["a", "b"]}}))
    indep = brute_force(two_leaves({}, {"deception": 0.2}, {"deception": 0.2}))
    check(shared["r"], false_accept=0.2, error=0.15)
    check(indep["r"], false_accept=11 / 75, error=0.11)
    for leaf in "ab":
        check(shared[leaf], false_accept=0.2)
        check(indep[leaf], false_accept=0.2)


def test_node_in_two_blind_spots() -> None:
    # a in g1 (.1) and g2 (.2): fa = 1 - .9*.8 = .28
    G = tree({"a": {}}, blind_spots={"g1": {"probability": 0.1, "members": ["a"]},
                                     "g2": {"probability": 0.2, "members": ["a"]}})
    check(brute_force(G)["a"], false_accept=0.28, false_reject=0.0)


def test_undefined_conditionals() -> None:
    # prior 1: P(Y=0) = 0 -> fa None, youden None; fr = .3
    check(brute_force(tree({"x": {"prior": 1.0, "false_reject": 0.3}}))["x"],
          p_good=1.0, error=0.3, false_accept=None, false_reject=0.3, youden=None)
    # prior 0: fr None
    check(brute_force(tree({"x": {"prior": 0.0, "false_accept": 0.3}}))["x"],
          p_good=0.0, false_accept=0.3, false_reject=None, youden=None)
    # internal: both leaves prior 1, coverage 1 -> root Y = 1 always
    res = brute_force(two_leaves({}, {"prior": 1.0}, {"prior": 1.0, "false_reject": 0.5}))
    check(res["r"], p_good=1.0, error=0.5, false_accept=None, false_reject=0.5, youden=None)


def test_input_errors() -> None:
    wide = tree({"r": {}} | {f"l{i}": {} for i in range(23)}, [("r", f"l{i}") for i in range(23)])
    with pytest.raises(ValueError, match="non-deterministic"):
        brute_force(wide)  # 23 free priors
    with pytest.raises(ValueError, match="audit"):
        brute_force(two_leaves({"audit": 0.1}))
    with pytest.raises(ValueError):
        brute_force(two_leaves({"rule": "at_least:3"}))
    with pytest.raises(ValueError):
        brute_force(tree({"x": {"prior": float("nan")}}))


def test_twenty_variables_is_fast() -> None:
    # 4 leaves x (prior, fa, fr, deception) + root (coverage, fa, fr) + M = 20 free variables
    leaves = {f"l{i}": {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.1,
                        "deception": 0.01, "exposure": 1.0} for i in range(4)}
    G = tree({"r": {"rule": "majority", "coverage": 0.9, "false_accept": 0.1,
                    "false_reject": 0.1}} | leaves, [("r", v) for v in leaves], influence=0.1)
    start = time.perf_counter()
    res = brute_force(G)
    assert time.perf_counter() - start < 5.0  # well under 1 s normally; loose for slow CI
    check(res["l0"], p_good=0.5, false_accept=1 - 0.9 * 0.99 * 0.9,
          false_reject=0.1 * 0.99 * 0.9)


def full_tree() -> nx.DiGraph:
    """A 3-node tree with every feature: 19 free variables."""
    return two_leaves(
        {"rule": "all", "coverage": 0.9, "false_accept": 0.1, "false_reject": 0.15,
         "deception": 0.05, "exposure": 0.3},
        {"prior": 0.7, "false_accept": 0.2, "false_reject": 0.1, "deception": 0.1,
         "exposure": 0.8, "audit": 0.3},
        {"prior": 0.6, "false_accept": 0.25, "false_reject": 0.05, "deception": 0.05,
         "exposure": 0.6, "audit": 0.2},
        influence=0.3, blind_spots={"g": {"probability": 0.1, "members": ["a", "r"]}})


def weighted_tree() -> nx.DiGraph:
    return tree({"r": {"rule": "weighted", "threshold": 0.8, "false_accept": 0.1,
                       "false_reject": 0.1, "coverage": 0.95},
                 "a": {"weight": 0.1, "prior": 0.6, "false_accept": 0.2, "audit": 0.5},
                 "b": {"weight": 0.7, "prior": 0.5, "false_reject": 0.2, "deception": 0.1},
                 "c": {"weight": 0.2, "prior": 0.4, "false_accept": 0.3}},
                [("r", "a"), ("r", "b"), ("r", "c")], influence=0.1)


@pytest.mark.parametrize("make", [full_tree, weighted_tree])
def test_sampler_agrees_with_brute_force(make: Any) -> None:
    G, n = make(), 20_000
    exact = brute_force(G)
    samples = sample_episodes(G, n, np.random.default_rng(12345))
    for v in G.nodes:
        assert set(samples[v]) == {"Y", "V", "R"}
        assert all(a.shape == (n,) and a.dtype == bool for a in samples[v].values())
        est, ex = metrics_from_samples(samples, v), exact[v]
        p_bad = 1 - ex["p_good"]

        def se(p: float, m: float) -> float:
            return math.sqrt(p * (1 - p) / m)

        ses = {"p_good": se(ex["p_good"], n), "error": se(ex["error"], n),
               "false_accept": se(ex["false_accept"], n * p_bad),
               "false_reject": se(ex["false_reject"], n * ex["p_good"])}
        ses["youden"] = math.hypot(ses["false_accept"], ses["false_reject"])
        for key, s in ses.items():  # s = 0 (a rate of exactly 0 or 1) demands equality
            assert abs(est[key] - ex[key]) <= 5 * s, (v, key, est[key], ex[key])


def test_sampler_extremes() -> None:
    # probabilities 0 and 1 are respected exactly by the sampler
    G = two_leaves({"false_accept": 1.0}, {"prior": 0.0}, {"prior": 1.0, "audit": 1.0})
    s = sample_episodes(G, 50, np.random.default_rng(0))
    assert not s["a"]["Y"].any() and s["b"]["Y"].all() and s["b"]["R"].all()
    assert not s["r"]["Y"].any() and s["r"]["V"].all()
    m = metrics_from_samples(s, "r")
    check(m, p_good=0.0, error=1.0, false_accept=1.0, false_reject=None, youden=None)
