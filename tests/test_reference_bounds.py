"""Tests of tests/reference_bounds.py (docs/bounds.md sections 1-2) against hand calculations.

Unless a test says otherwise every node is perfect (no errors, deception, audit), leaves
have prior 0.5 and exposure 1, internal nodes have rule "all", coverage 1 and exposure 0,
and influence is 0.  A configuration lists the free response bits in the order of
G.nodes (u = 0 before u = 1), each entry the value rho_v(u).
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx
import pytest

from reference import brute_force
from reference_bounds import (METRICS, free_bits, lp_bounds_reference, metric_under_coupling,
                              response_marginals)

TOL = 1e-9


def tree(nodes: dict[str, Any], edges: Any = (),
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


def approx(x: float) -> Any:
    return pytest.approx(x, abs=TOL)


def check_couplings(G: nx.DiGraph, out: dict[str, Any]) -> None:
    """Every returned law is a probability law with the marginals a_v, b_v of its free
    bits, and the metric under it equals the bound it is returned for."""
    bits, marg = free_bits(G), response_marginals(G)
    for metric in METRICS:
        if out[metric] is None:
            assert out["couplings"][metric] is None
            continue
        for end, bound in zip(("lo", "hi"), out[metric]):
            q = out["couplings"][metric][end]
            assert all(len(z) == len(bits) and x > 0 for z, x in q.items())
            assert sum(q.values()) == approx(1.0)
            for i, (v, u) in enumerate(bits):
                # P(rho_v(0) = 1) = a_v;  P(rho_v(1) = 0) = b_v
                mass = sum(x for z, x in q.items() if z[i] == (1 if u == 0 else 0))
                assert mass == approx(marg[v][u]), (metric, end, v, u)
            assert metric_under_coupling(G, q, metric) == approx(bound), (metric, end)


def test_single_leaf_is_a_point() -> None:
    # influence 0.5, exposure 1, deception 0.05: keep = 0.95 * (1 - 0.5) = 0.475
    # a = 1 - 0.9 * 0.475 = 0.5725;  b = 0.2 * 0.475 = 0.095.
    # V = rho(Y): only one response is ever used, so no coupling matters:
    # false_accept = a, false_reject = b, error = 0.7 a + 0.3 b = 0.40075 + 0.0285 = 0.42925
    G = tree({"x": {"prior": 0.3, "false_accept": 0.1, "false_reject": 0.2,
                    "deception": 0.05}}, influence=0.5)
    assert response_marginals(G)["x"] == (approx(0.5725), approx(0.095))
    assert free_bits(G) == [("x", 0), ("x", 1)]
    out = lp_bounds_reference(G)
    for metric, want in (("false_accept", 0.5725), ("false_reject", 0.095),
                         ("error", 0.42925)):
        assert out[metric] == (approx(want), approx(want)), metric
        assert brute_force(G)["x"][metric] == approx(want)
    check_couplings(G, out)


def test_blind_spots_in_marginals() -> None:
    # x in groups g (0.2) and h (0.5); y in h only; exposure 0 on x.
    # keep_x = 0.8 * 0.5 = 0.4: a_x = 1 - 0.9 * 0.4 = 0.64, b_x = 0.2 * 0.4 = 0.08
    # keep_y = (1 - 0.5 * 1) * 0.5 = 0.25 (influence 0.5): a_y = 1 - 0.25 = 0.75, b_y = 0
    G = tree({"r": {}, "x": {"false_accept": 0.1, "false_reject": 0.2, "exposure": 0.0},
              "y": {}}, [("r", "x"), ("r", "y")], influence=0.5,
             blind_spots={"g": {"probability": 0.2, "members": ["x"]},
                          "h": {"probability": 0.5, "members": ["x", "y"]}})
    m = response_marginals(G)
    assert m["x"] == (approx(0.64), approx(0.08))
    assert m["y"] == (approx(0.75), approx(0.0))
    assert m["r"] == (0.0, 0.0)
    assert free_bits(G) == [("x", 0), ("x", 1), ("y", 0)]


@pytest.mark.parametrize("a1, a2, lo, hi", [
    # p = 0.5: P(Y_r = 0) = 1 - 0.25 = 0.75.  Root perfect and "all": V_r = V1 V2 (fr = 0,
    # so a leaf with Y = 1 reports 1).  Bad work is approved when
    #   Y = (0,0), prob 0.25: both rho1(0) = rho2(0) = 1, prob s = P(both);
    #   Y = (0,1) or (1,0), prob 0.25 each: rho1(0) = 1 (prob a1), resp. rho2(0) = 1 (a2).
    # P(V_r = 1, Y_r = 0) = 0.25 s + 0.25 (a1 + a2), with Frechet
    # s in [max(0, a1 + a2 - 1), min(a1, a2)].
    # a = (0.2, 0.3): s in [0, 0.2]: [0.125, 0.175] / 0.75 = [1/6, 7/30]
    (0.2, 0.3, 1 / 6, 7 / 30),
    # a = (0.7, 0.6): s in [0.3, 0.6]: 0.25 * 1.3 = 0.325; [0.4, 0.475] / 0.75 = [8/15, 19/30]
    (0.7, 0.6, 8 / 15, 19 / 30),
])
def test_all_over_two_leaves(a1: float, a2: float, lo: float, hi: float) -> None:
    G = tree({"r": {}, "l1": {"false_accept": a1}, "l2": {"false_accept": a2}},
             [("r", "l1"), ("r", "l2")])
    assert free_bits(G) == [("l1", 0), ("l2", 0)]
    out = lp_bounds_reference(G)
    assert out["false_accept"] == (approx(lo), approx(hi))
    # No false rejects anywhere: error = P(V_r = 1, Y_r = 0) = 0.75 * false_accept.
    assert out["false_reject"] == (approx(0.0), approx(0.0))
    assert out["error"] == (approx(0.75 * lo), approx(0.75 * hi))
    # The objective depends on q(1,1) = s only, so the optimal laws are unique:
    # q(1,1) = s, q(1,0) = a1 - s, q(0,1) = a2 - s, q(0,0) = 1 - a1 - a2 + s.
    for end, s in (("lo", max(0.0, a1 + a2 - 1)), ("hi", min(a1, a2))):
        want = {(1, 1): s, (1, 0): a1 - s, (0, 1): a2 - s, (0, 0): 1 - a1 - a2 + s}
        q = out["couplings"]["false_accept"][end]
        assert q == {z: approx(x) for z, x in want.items() if x > 1e-12}
    # Independent model: s = a1 a2, inside the interval.
    exact = brute_force(G)["r"]["false_accept"]
    assert exact == approx((0.25 * a1 * a2 + 0.25 * (a1 + a2)) / 0.75)
    assert lo < exact < hi
    check_couplings(G, out)


def test_any_over_two_leaves() -> None:
    # p = 0.5, b = (0.3, 0.4), fa = 0, root perfect and "any": V_r = V1 or V2.
    # P(Y_r = 1) = 1 - 0.25 = 0.75.  Good work is rejected when
    #   Y = (1,1), prob 0.25: rho1(1) = rho2(1) = 0, prob s in [max(0, 0.7 - 1), 0.3] = [0, 0.3];
    #   Y = (1,0), prob 0.25: rho1(1) = 0 (prob 0.3), leaf 2 reports 0 anyway (fa = 0);
    #   Y = (0,1), prob 0.25: rho2(1) = 0 (prob 0.4).
    # P(V_r = 0, Y_r = 1) = 0.25 s + 0.25 * 0.7 = 0.175 + 0.25 s in [0.175, 0.25]
    # false_reject in [0.175 / 0.75, 0.25 / 0.75] = [7/30, 1/3]; independent: s = 0.12,
    # (0.175 + 0.03) / 0.75 = 0.205 / 0.75 = 41/150.
    G = tree({"r": {"rule": "any"}, "l1": {"false_reject": 0.3},
              "l2": {"false_reject": 0.4}}, [("r", "l1"), ("r", "l2")])
    out = lp_bounds_reference(G)
    assert out["false_reject"] == (approx(7 / 30), approx(1 / 3))
    assert out["false_accept"] == (approx(0.0), approx(0.0))
    assert out["error"] == (approx(0.175), approx(0.25))
    exact = brute_force(G)["r"]["false_reject"]
    assert exact == approx(41 / 150)
    assert 7 / 30 < exact < 1 / 3
    check_couplings(G, out)


def test_chain_of_two_is_not_a_point() -> None:
    # Root r (fa 0.1) over a single leaf x (fa 0.2); "all" of one child is the identity.
    # Y_r = Y_x.  Given Y = 0: V_r = 1 iff either rho_x(0) = 1 and rho_r(1) = 1,
    # or rho_x(0) = 0 and rho_r(0) = 1 (rho_r(1) = 1 always as fr = 0).
    # P = a_x + P(rho_x(0) = 0, rho_r(0) = 1), the last term in
    # [max(0, 0.8 + 0.1 - 1), min(0.8, 0.1)] = [0, 0.1]: false_accept in [0.2, 0.3].
    # Independent: 0.2 + 0.8 * 0.1 = 0.28.
    G = tree({"r": {"false_accept": 0.1}, "x": {"false_accept": 0.2}}, [("r", "x")])
    out = lp_bounds_reference(G)
    assert out["false_accept"] == (approx(0.2), approx(0.3))
    assert brute_force(G)["r"]["false_accept"] == approx(0.28)
    check_couplings(G, out)


def rich_tree() -> nx.DiGraph:
    # majority over three leaves, one audited internal child, a blind spot, deception
    return tree({"r": {"rule": "majority", "false_accept": 0.05, "false_reject": 0.1,
                       "coverage": 0.9},
                 "a": {"prior": 0.7, "false_accept": 0.2, "false_reject": 0.1},
                 "b": {"prior": 0.6, "false_accept": 0.3, "false_reject": 0.05,
                       "deception": 0.1},
                 "c": {"rule": "any", "false_accept": 0.1, "false_reject": 0.1,
                       "audit": 0.3},
                 "c1": {"prior": 0.4, "false_accept": 0.15, "false_reject": 0.2},
                 "c2": {"prior": 0.3, "false_accept": 0.25, "false_reject": 0.1}},
                [("r", "a"), ("r", "b"), ("r", "c"), ("c", "c1"), ("c", "c2")],
                influence=0.2,
                blind_spots={"g": {"probability": 0.1, "members": ["a", "c1"]}})


def weighted_tree() -> nx.DiGraph:
    # weights 0.1, 0.2, 0.3 with threshold 0.5: sum w x >= 0.3 (exact decimals);
    # so {c} alone, or {a, b} (0.1 + 0.2 = 0.3, a float boundary), accept.
    return tree({"r": {"rule": "weighted", "threshold": 0.5, "false_reject": 0.1},
                 "a": {"weight": 0.1, "false_accept": 0.3, "audit": 0.5},
                 "b": {"weight": 0.2, "false_reject": 0.2, "prior": 0.8},
                 "c": {"weight": 0.3, "false_accept": 0.1, "false_reject": 0.3}},
                [("r", "a"), ("r", "b"), ("r", "c")])


@pytest.mark.parametrize("make", [rich_tree, weighted_tree])
def test_independent_model_strictly_inside(make: Any) -> None:
    # The model (any influence and blind spots) lies in the class C, and has correlation
    # neither at its most nor at its least harmful: exact value strictly inside.
    G = make()
    out = lp_bounds_reference(G)
    exact = brute_force(G)["r"]
    for metric in METRICS:
        lo, hi = out[metric]
        assert lo + 1e-6 < exact[metric] < hi - 1e-6, (metric, lo, exact[metric], hi)
    check_couplings(G, out)


def test_weighted_exact_decimals() -> None:
    # Weights a 0.7, b 0.1, c 0.2 (total 1), threshold 0.8.  As decimals 0.7 + 0.1 = 0.8
    # accepts (in binary floats 0.7 + 0.1 = 0.7999999999999999 would not); {a, c} = 0.9
    # accepts, {b, c} = 0.3 and single children do not: the rule is a AND (b OR c).
    # All evaluators perfect but leaf b (false_accept 0.4); priors 0.5.
    # P(Y_r = 0) = 1 - 0.5 * 0.75 = 0.625.  Bad work is approved only when
    # Y = (1, 0, 0) (prob 0.125) and rho_b(0) = 1 (0.4): 0.05; false_accept = 0.05 / 0.625
    # = 0.08, a point (one free bit).
    G = tree({"r": {"rule": "weighted", "threshold": 0.8},
              "a": {"weight": 0.7}, "b": {"weight": 0.1, "false_accept": 0.4},
              "c": {"weight": 0.2}}, [("r", "a"), ("r", "b"), ("r", "c")])
    out = lp_bounds_reference(G)
    assert out["false_accept"] == (approx(0.08), approx(0.08))
    assert brute_force(G)["r"]["false_accept"] == approx(0.08)


def test_undefined_metric() -> None:
    # Every prior and coverage 1: P(Y_r = 0) = 0, false_accept undefined.
    # false_reject = P(rho_x(1) = 0) = 0.2 (a point); error = 0.2 too.
    G = tree({"r": {}, "x": {"prior": 1.0, "false_reject": 0.2}}, [("r", "x")])
    out = lp_bounds_reference(G)
    assert out["false_accept"] is None and out["couplings"]["false_accept"] is None
    assert out["false_reject"] == (approx(0.2), approx(0.2))
    assert out["error"] == (approx(0.2), approx(0.2))
    with pytest.raises(ValueError):
        metric_under_coupling(G, {(1,): 0.8, (0,): 0.2}, "false_accept")
    check_couplings(G, out)


def test_no_free_bits() -> None:
    # Everything perfect: one configuration (), every metric 0 (false_accept needs Y = 0).
    G = tree({"r": {}, "x": {}, "y": {}}, [("r", "x"), ("r", "y")])
    out = lp_bounds_reference(G)
    assert out["couplings"]["error"] == {"lo": {(): approx(1.0)}, "hi": {(): approx(1.0)}}
    for metric in METRICS:
        assert out[metric] == (approx(0.0), approx(0.0))


def test_size_limits() -> None:
    # 8 evaluators with both bits free: 16 > 14 free response bits.
    nodes = {"r": {"false_accept": 0.1, "false_reject": 0.1}}
    nodes.update({f"l{i}": {"false_accept": 0.1, "false_reject": 0.1} for i in range(7)})
    G = tree(nodes, [("r", f"l{i}") for i in range(7)])
    with pytest.raises(ValueError):
        lp_bounds_reference(G)
    # 17 non-constant truth variables (perfect evaluators, no free response bit).
    G = tree({"r": {}, **{f"l{i}": {} for i in range(17)}}, [("r", f"l{i}") for i in range(17)])
    with pytest.raises(ValueError):
        lp_bounds_reference(G)


def model_law(G: nx.DiGraph) -> dict[tuple[int, ...], float]:
    """The joint law of the free response bits under the model of model.md section 2:
    rho_v(0) = FA_v or O_v, rho_v(1) = (not FR_v) or O_v, with the override O_v = D_v or
    (M and X_v) or (some group containing v fires); mixed over the shared events."""
    bits = free_bits(G)
    groups = G.graph.get("blind_spots") or {}
    names = list(groups)
    influence = G.graph.get("influence", 0.0)
    law: dict[tuple[int, ...], float] = {}
    for shared in itertools.product((0, 1), repeat=1 + len(names)):
        weight = influence if shared[0] else 1 - influence
        for g, fired in zip(names, shared[1:]):
            weight *= groups[g]["probability"] if fired else 1 - groups[g]["probability"]
        for z in itertools.product((0, 1), repeat=len(bits)):
            p = weight
            for v, d in G.nodes(data=True):
                hit = any(fired and v in groups[g]["members"]
                          for g, fired in zip(names, shared[1:]))
                o = 1.0 if hit else 1 - (1 - d["deception"]) * (1 - shared[0] * d["exposure"])
                mine = {u: z[i] for i, (w, u) in enumerate(bits) if w == v}
                # sum over the values of v's pair that agree with z on v's free bits
                p *= sum((o if (r0, r1) == (1, 1) else 0.0)
                         + (1 - o) * (d["false_accept"] if r0 else 1 - d["false_accept"])
                         * (1 - d["false_reject"] if r1 else d["false_reject"])
                         for r0 in (0, 1) for r1 in (0, 1)
                         if mine.get(0, r0) == r0 and mine.get(1, r1) == r1)
            law[z] = law.get(z, 0.0) + p
    return law


def leaf_heavy_tree() -> nx.DiGraph:
    # influence on leaves only, two overlapping blind spots, a weighted internal node
    return tree({"r": {"rule": "any", "false_accept": 0.1, "false_reject": 0.2},
                 "w": {"rule": "weighted", "threshold": 0.6, "false_accept": 0.2,
                       "coverage": 0.8, "audit": 0.25},
                 "w1": {"weight": 2.0, "false_accept": 0.3, "prior": 0.4},
                 "w2": {"weight": 1.0, "false_reject": 0.3, "prior": 0.9},
                 "z": {"false_accept": 0.05, "false_reject": 0.05, "exposure": 0.5}},
                [("r", "w"), ("r", "z"), ("w", "w1"), ("w", "w2")], influence=0.3,
                blind_spots={"g": {"probability": 0.1, "members": ["w1", "z"]},
                             "h": {"probability": 0.2, "members": ["w2", "w1"]}})


@pytest.mark.parametrize("make", [rich_tree, weighted_tree, leaf_heavy_tree])
def test_model_law_reproduces_brute_force(make: Any) -> None:
    # The model is the member of C whose response law is model_law: evaluating it with
    # metric_under_coupling must give tests/reference.py's brute force exactly.
    G = make()
    q = model_law(G)
    assert sum(q.values()) == approx(1.0)
    exact = brute_force(G)[next(v for v in G if G.in_degree(v) == 0)]
    out = lp_bounds_reference(G)
    for metric in METRICS:
        value = metric_under_coupling(G, q, metric)
        assert value == approx(exact[metric]), metric
        assert out[metric][0] - TOL <= value <= out[metric][1] + TOL


def largest_tree(coverage: float = 1.0) -> nx.DiGraph:
    # 14 free response bits (7 evaluators with both rates) and 16 truth/audit variables:
    # leaves x1 x2 y1 y2 (Y, A), perfect leaves z1 z2 (Y, A), x y (H, A); with
    # coverage < 1 on the root, 17: one too many.
    err = {"false_accept": 0.1, "false_reject": 0.15}
    nodes = {"r": {"rule": "majority", "coverage": coverage, **err},
             "x": {"rule": "any", "coverage": 0.9, "audit": 0.2, **err},
             "y": {"rule": "all", "coverage": 0.9, "audit": 0.1, **err},
             "z1": {"audit": 0.1}, "z2": {"prior": 0.7, "audit": 0.1}}
    for leaf in ("x1", "x2", "y1", "y2"):
        nodes[leaf] = {"prior": 0.6, "audit": 0.1, **err}
    return tree(nodes, [("r", "x"), ("r", "y"), ("r", "z1"), ("r", "z2"), ("x", "x1"),
                        ("x", "x2"), ("y", "y1"), ("y", "y2")])


def test_medium_case() -> None:
    # largest_tree with x1, x2 perfect and z1, z2 never audited: 10 free bits,
    # 14 truth/audit variables.
    G = largest_tree()
    for leaf in ("x1", "x2"):
        G.nodes[leaf].update(false_accept=0.0, false_reject=0.0)
    for leaf in ("z1", "z2"):
        G.nodes[leaf].update(audit=0.0)
    assert len(free_bits(G)) == 10
    out = lp_bounds_reference(G)
    check_couplings(G, out)
    q = model_law(G)  # no overrides here: the product of the marginals
    for metric in METRICS:
        lo, hi = out[metric]
        assert lo + 1e-3 < metric_under_coupling(G, q, metric) < hi - 1e-3


def test_largest_case_limits() -> None:
    with pytest.raises(ValueError, match="17 truth/audit"):
        lp_bounds_reference(largest_tree(coverage=0.9))
