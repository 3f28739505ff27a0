"""The compiled form: validated once, immutable, accepted by the analyses in place of the graph."""

from __future__ import annotations

import pickle
import re

import networkx as nx
import numpy as np
import pytest

import rrm_theory as rrm
from rrm_theory import Compiled, SpecError, compile_tree

LEAF = {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.1, "deception": 0.0, "audit": 0.0, "exposure": 1.0}
INNER = {"rule": "all", "coverage": 1.0, "false_accept": 0.1, "false_reject": 0.1,
         "deception": 0.0, "audit": 0.0, "exposure": 0.0}  # fmt: skip


def small() -> nx.DiGraph:
    """r -> (a, m), m -> (b, c, d): two shapes, and a graph order that is not breadth-first."""
    G = nx.DiGraph(name="hand", influence=0.0, blind_spots={})
    G.add_node("m", **{**INNER, "rule": "majority"})
    G.add_node("b", **LEAF)
    G.add_node("r", **INNER)
    G.add_node("a", **LEAF)
    G.add_node("c", **LEAF)
    G.add_node("d", **{**LEAF, "prior": 0.7})
    G.add_edges_from([("r", "a"), ("r", "m"), ("m", "b"), ("m", "c"), ("m", "d")])
    return G


def test_arrays_in_breadth_first_order():
    c = compile_tree(small())
    assert isinstance(c, Compiled) and c.size == 6 and c.name == "hand"
    assert c.nodes == ("r", "a", "m", "b", "c", "d")
    assert c.parent.tolist() == [-1, 0, 0, 2, 2, 2]
    assert c.first_child[[0, 2]].tolist() == [1, 3] and c.n_children.tolist() == [2, 0, 3, 0, 0, 0]
    assert c.level.tolist() == [0, 1, 1, 2, 2, 2] and c.height.tolist() == [2, 0, 1, 0, 0, 0]
    assert c.shapes == (rrm.rules.ThresholdForm((1, 1), 2), rrm.rules.ThresholdForm((1, 1, 1), 2))
    assert c.shape.tolist() == [0, -1, 1, -1, -1, -1]
    assert c.forms[0] == c.shapes[0] and c.forms[2] == c.shapes[1] and c.forms[1] is None
    assert [c.nodes[i] for i in c.order] == list(small())  # the graph's own order, for per-node results
    assert c.index == {v: i for i, v in enumerate(c.nodes)}
    assert c.prior[3:].tolist() == [0.5, 0.5, 0.7] and np.isnan(c.prior[0])


def test_immutable():
    c = compile_tree(small())
    for name in ("false_accept", "prior", "parent", "order", "shape", "height"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(c, name)[0] = 0
    groups = compile_tree(rrm.load_spec("models/chip-design.toml")).groups
    with pytest.raises(ValueError, match="read-only"):
        groups[0][2][0] = 0
    with pytest.raises(AttributeError):
        c.name = "other"  # type: ignore[misc]
    assert isinstance(c.nodes, tuple) and isinstance(c.forms, tuple)


def test_a_compiled_tree_compiles_to_itself_and_pickles():
    c = compile_tree(small())
    assert compile_tree(c) is c
    again = pickle.loads(pickle.dumps(c))
    assert rrm.exact_analysis(again) == rrm.exact_analysis(c)


def test_the_analyses_accept_it_in_place_of_the_graph():
    for tree in (small(), rrm.load_spec("models/chip-design.toml")):
        c = compile_tree(tree)
        exact, from_c = rrm.exact_analysis(tree), rrm.exact_analysis(c)
        assert exact == from_c and list(exact.per_node) == list(from_c.per_node) == list(tree)
        mc, mc_c = rrm.monte_carlo(tree, samples=5000, rng=3), rrm.monte_carlo(c, samples=5000, rng=3)
        assert mc.counts.tolist() == mc_c.counts.tolist() and list(mc.per_node) == list(mc_c.per_node)
        assert rrm.bounds(tree) == rrm.bounds(c) and rrm.fast_bounds(tree) == rrm.fast_bounds(c)
        assert rrm.robustness(tree) == rrm.robustness(c)
    tree = small()  # no shared events: importance by the adjoint method
    assert rrm.importance(tree).to_list() == rrm.importance(compile_tree(tree)).to_list()


def test_importance_of_a_compiled_tree_with_shared_events_and_by_monte_carlo():
    tree = rrm.load_spec("models/chip-design.toml")  # blind spots: exact extremes
    assert rrm.importance(compile_tree(tree)).to_list() == rrm.importance(tree).to_list()
    with pytest.raises(TypeError, match="needs the networkx graph"):  # Monte Carlo edits copies of the graph
        rrm.importance(compile_tree(small()), method="monte-carlo", samples=100)


def test_blind_spot_members_are_indices():
    tree = rrm.load_spec("models/chip-design.toml")
    c = compile_tree(tree)
    for name, p, members in c.groups:
        group = tree.graph["blind_spots"][name]
        assert p == group["probability"] and sorted(c.nodes[i] for i in members) == sorted(group["members"])


MUTATIONS = {
    "difficulty out of range": lambda G: G.nodes["a"].update(difficulty=1.5),
    "description not a string": lambda G: G.nodes["r"].update(description=3),
    "generation_difficulty nan": lambda G: G.nodes["m"].update(generation_difficulty=float("nan")),
    "threshold on a count rule": lambda G: G.nodes["m"].update(threshold=0.5),
    "threshold on a leaf": lambda G: G.nodes["b"].update(threshold=0.5),
    "coverage on a leaf": lambda G: G.nodes["b"].update(coverage=0.5),
    "rule on a leaf": lambda G: G.nodes["b"].update(rule="all"),
    "prior on an internal node": lambda G: G.nodes["m"].update(prior=0.5),
    "weight under a count rule": lambda G: G.nodes["b"].update(weight=2.0),
    "weight on the root": lambda G: G.nodes["r"].update(weight=2.0),
    "weighted without threshold": lambda G: G.nodes["m"].update(rule="weighted"),
    "weighted, threshold 0": lambda G: G.nodes["m"].update(rule="weighted", threshold=0.0),
    "weighted, negative weight": lambda G: (G.nodes["m"].update(rule="weighted", threshold=0.5),
                                           G.nodes["b"].update(weight=-1.0)),
    "weighted, weight a string": lambda G: (G.nodes["m"].update(rule="weighted", threshold=0.5),
                                           G.nodes["b"].update(weight="2")),
    "a rule that is a list": lambda G: G.nodes["m"].update(rule=["all"]),
    "a rule that is None": lambda G: G.nodes["m"].update(rule=None),
    "at_least above the children": lambda G: G.nodes["m"].update(rule="at_least:4"),
    "at_least:0": lambda G: G.nodes["m"].update(rule="at_least:0"),
    "a numpy bool": lambda G: G.nodes["c"].update(false_reject=np.bool_(False)),
    "a huge integer": lambda G: G.nodes["c"].update(false_reject=10**400),
    "a string coverage": lambda G: G.nodes["m"].update(coverage="1"),
    "audit on the root": lambda G: G.nodes["r"].update(audit=0.1),
    "a missing exposure": lambda G: G.nodes["m"].pop("exposure"),
    "a missing rule": lambda G: G.nodes["m"].pop("rule"),
    "two roots": lambda G: G.add_node("z", **LEAF),
    "a cycle off to the side": lambda G: (G.add_node("x", **INNER), G.add_node("y", **INNER),
                                          G.add_edges_from([("x", "y"), ("y", "x")])),
    "two parents": lambda G: G.add_edge("a", "b"),
    "blind spot of a stranger": lambda G: G.graph.update(blind_spots={"g": {"probability": 0.1, "members": ["q"]}}),
    "blind spot probability": lambda G: G.graph.update(blind_spots={"g": {"probability": 2, "members": ["a"]}}),
    "human_reach": lambda G: G.graph.update(human_reach=-1.0),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_compile_refuses_exactly_what_validate_tree_refuses(mutation):
    G = small()
    MUTATIONS[mutation](G)
    with pytest.raises(SpecError) as expected:
        rrm.validate_tree(G)
    with pytest.raises(SpecError) as got:
        compile_tree(G)
    assert str(got.value) == str(expected.value)  # validate_tree names the node and key


@pytest.mark.parametrize("extra", [{"difficulty": 0.3}, {"description": "why"}, {"pos": (1, 2)}, {"error": 0.1}])
def test_optional_keys_are_accepted(extra):
    G = small()
    for v in G:
        G.nodes[v].update(extra)
    rrm.validate_tree(G)
    assert rrm.exact_analysis(compile_tree(G)) == rrm.exact_analysis(small())


def test_weighted_rules_and_repeated_shapes():
    G = small()
    G.nodes["m"].update(rule="weighted", threshold=0.5)
    G.nodes["b"]["weight"] = 2.0
    c = compile_tree(G)
    assert c.forms[2] == rrm.rules.ThresholdForm((2, 1, 1), 2)
    tree = rrm.balanced(3, 3, rule="weighted", threshold=0.6, weight=1.5, error=0.1, prior=0.5)
    c = compile_tree(tree)
    assert len(c.shapes) == 1 and (c.shape[~c.is_leaf] == 0).all()


def test_the_error_names_the_node_and_key_on_a_big_tree():
    tree = rrm.balanced(10, 2, rule="all", error=0.01, prior=0.9)
    tree.nodes["L7_100"]["false_accept"] = 1.7
    with pytest.raises(SpecError, match=re.escape("node 'L7_100': false_accept=1.7 is not a probability in [0, 1]")):
        rrm.exact_analysis(tree)


@pytest.mark.parametrize("bad", [1.5, True, "0.3", float("nan"), None])
def test_an_optional_key_on_every_node_is_checked_on_every_node(bad):
    tree = rrm.balanced(6, 2, rule="all", error=0.1, prior=0.5)
    for v in tree:
        tree.nodes[v]["difficulty"] = 0.3
    rrm.compile_tree(tree)
    tree.nodes["L6_17"]["difficulty"] = bad
    with pytest.raises(SpecError) as expected:
        rrm.validate_tree(tree)
    with pytest.raises(SpecError) as got:
        compile_tree(tree)
    assert str(got.value) == str(expected.value) and "node 'L6_17': difficulty=" in str(got.value)
