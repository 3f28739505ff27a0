"""Validation of hand-built evaluation trees (networkx graphs)."""

from __future__ import annotations

import re

import networkx as nx
import numpy as np
import pytest

import rrm_theory as rrm
from rrm_theory import SpecError

LEAF = {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.1, "deception": 0.0, "audit": 0.0, "exposure": 1.0}
INNER = {"rule": "all", "coverage": 1.0, "false_accept": 0.1, "false_reject": 0.1,
         "deception": 0.0, "audit": 0.0, "exposure": 0.0}  # fmt: skip


def small() -> nx.DiGraph:
    G = nx.DiGraph(name="hand", influence=0.0, blind_spots={})
    G.add_node("r", **INNER)
    G.add_node("a", **LEAF)
    G.add_node("b", **LEAF)
    G.add_edges_from([("r", "a"), ("r", "b")])
    return G


def test_a_hand_built_tree_validates_and_analyses():
    G = small()
    G.nodes["a"]["pos"] = (0, 1)  # extra attributes are the user's business
    rrm.validate_tree(G)
    assert rrm.exact_analysis(G).root.p_good == pytest.approx(0.25)
    assert rrm.tree_root(G) == "r" and rrm.tree_depth(G) == 1 and rrm.tree_leaves(G) == ["a", "b"]


@pytest.mark.parametrize(
    "mutate,fragments",
    [
        (lambda G: G.add_edge("a", "r"), ["no root"]),
        (lambda G: G.add_node("c", **LEAF), ["node 'c'", "'r' is the root"]),
        (lambda G: (G.add_node("c", **INNER), G.add_edge("c", "a")), ["node 'c'"]),
        (lambda G: (G.add_edge("a", "b")), ["node 'b'", "several parents"]),
        (lambda G: G.nodes["a"].pop("prior"), ["node 'a'", "prior is missing"]),
        (lambda G: G.nodes["r"].update(rule="at_least:3"), ["node 'r'", "rule='at_least:3'"]),
        (lambda G: G.nodes["r"].update(audit=0.2), ["node 'r'", "audit=0.2"]),
        (lambda G: G.nodes["a"].update(weight=2.0), ["node 'a'", "weight=2.0"]),
        (lambda G: G.nodes["a"].update(deception=float("nan")), ["node 'a'", "deception=nan"]),
        (lambda G: G.graph.update(influence=2), ["influence=2"]),
        (lambda G: G.graph.update(blind_spots={"g": {"probability": 0.1, "members": ["z"]}}),
         ["blind spot 'g'", "member 'z'"]),
    ],
)
def test_invalid_graphs_are_named(mutate, fragments):
    G = small()
    mutate(G)
    with pytest.raises(SpecError) as info:
        rrm.validate_tree(G)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert str(info.value).startswith("tree 'hand': ")


def test_validate_rejects_non_trees():
    with pytest.raises(SpecError, match="networkx.DiGraph"):
        rrm.validate_tree(nx.Graph())
    with pytest.raises(SpecError, match="no nodes"):
        rrm.validate_tree(nx.DiGraph())


def test_analysis_of_a_graph_missing_attributes_says_how_to_build_one():
    G = small()
    del G.nodes["a"]["false_accept"]
    with pytest.raises(SpecError, match="node 'a': false_accept is missing.*from_dict"):
        rrm.exact_analysis(G)


def test_numpy_scalars_are_numbers_and_numpy_bools_are_not():
    G = small()
    G.nodes["a"].update(prior=np.float32(0.5), false_accept=np.int64(0), false_reject=np.float64(0.1))
    rrm.validate_tree(G)
    G.nodes["b"]["prior"] = np.bool_(True)
    with pytest.raises(SpecError, match="node 'b': prior=True is not a probability"):
        rrm.validate_tree(G)


ENTRY_POINTS = {
    "exact_analysis": lambda t: rrm.exact_analysis(t),
    "monte_carlo": lambda t: rrm.monte_carlo(t, samples=1000, rng=1),
    "bounds": lambda t: rrm.bounds(t),
    "fast_bounds": lambda t: rrm.fast_bounds(t),
    "lp_bounds": lambda t: rrm.lp_bounds(t),
    "concentration": lambda t: rrm.concentration(t),
    "robustness": lambda t: rrm.robustness(t),
    "importance": lambda t: rrm.importance(t),
    "check_assumptions": lambda t: rrm.check_assumptions(t),
    "to_dict": lambda t: rrm.to_dict(t),
    "dumps_spec": lambda t: rrm.dumps_spec(t),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("value, shown", [(1.7, "1.7"), (-0.5, "-0.5"), (float("nan"), "nan"), (True, "true"),
                                          ("0.5", "'0.5'"), (None, "null")])  # fmt: skip
def test_edited_trees_are_checked_by_every_entry_point(entry, value, shown):
    """Editing a tree in a loop is the natural way to explore: a bad value is the spec file's error."""
    tree = rrm.load_spec("models/chip-design.toml")
    tree.nodes["side-channels"]["false_accept"] = value
    with pytest.raises(SpecError, match=f"node 'side-channels': false_accept={re.escape(shown)} is not a probability"):
        ENTRY_POINTS[entry](tree)


@pytest.mark.parametrize("edit, expected", [
    (lambda G: G.add_edge("heat", "design"), "cycle|parent|root"),
    (lambda G: G.add_edge("power", "heat"), "several parents"),
    (lambda G: G.nodes["design"].update(rule="most"), "rule='most' is not a rule"),
    (lambda G: G.nodes["design"].update(audit=0.5), "audit=0.5 is written on the root"),
    (lambda G: G.nodes["heat"].update(rule="all"), "rule='all' is written on a node with no children"),
    (lambda G: G.graph.update(influence=2.0), "influence=2.0 is not a probability"),
])  # fmt: skip
def test_edited_structure_is_checked(edit, expected):
    tree = rrm.load_spec("models/chip-design.toml")
    edit(tree)
    with pytest.raises(SpecError, match=expected):
        rrm.exact_analysis(tree)
