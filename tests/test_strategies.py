"""The public Hypothesis strategies: valid by construction, options honoured, shrinking small."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from reference import _bernoullis  # the independent reference's list of the model's variables

import rrm_theory as rrm
from rrm_theory.strategies import FEATURES, probabilities, spec_dicts, trees

options = st.fixed_dictionaries(
    {},
    optional={
        "max_nodes": st.integers(1, 8),
        "max_depth": st.integers(0, 3),
        "max_branching": st.integers(1, 3),
        "features": st.sets(st.sampled_from(sorted(FEATURES))),
        "rules": st.sets(st.sampled_from(["all", "any", "majority", "at_least", "weighted"]), min_size=1),
        "max_free": st.integers(0, 12),
    },
)


@settings(max_examples=150, deadline=None)
@given(st.data(), options)
def test_every_draw_is_valid_and_honours_the_options(data, opts):
    spec = data.draw(spec_dicts(**opts))
    tree = rrm.from_dict(spec)  # raises on any invalid draw
    assert tree.number_of_nodes() <= opts.get("max_nodes", 6)
    if "max_depth" in opts:
        assert rrm.tree_depth(tree) <= opts["max_depth"]
    if "max_branching" in opts:
        assert max(d for _, d in tree.out_degree()) <= opts["max_branching"]
    features = opts.get("features", set())
    for v, attrs in tree.nodes(data=True):
        if "deception" not in features:
            assert attrs["deception"] == 0.0
        if "audit" not in features:
            assert attrs["audit"] == 0.0
        if "coverage" not in features and "coverage" in attrs:
            assert attrs["coverage"] == 1.0
        if "rule" in attrs:
            assert attrs["rule"].split(":")[0] in opts.get("rules", {"all", "any", "majority", "at_least", "weighted"})
    if "blind_spots" not in features:
        assert tree.graph["blind_spots"] == {}
    if "influence" not in features:
        assert tree.graph["influence"] == 0.0
    if "max_free" in opts:
        assert sum(0.0 < p < 1.0 for _, p in _bernoullis(tree)) <= opts["max_free"]


def test_shrinks_to_the_smallest_tree():
    spec = find(spec_dicts(features=FEATURES), lambda s: True)
    assert list(spec["nodes"]) == ["n0"] and "blind_spots" not in spec and spec["influence"] == 0.0
    assert all(v == 0.0 for v in spec["nodes"]["n0"].values())


# find() stops at the first witness, so a large budget costs nothing when one turns up early;
# the default (100) missed a depth-3 tree once in about 300 runs.
SEARCH = settings(max_examples=2000, database=None)


def test_shrinks_toward_stars_and_simple_rules():
    tree = find(trees(max_nodes=6), lambda t: t.number_of_nodes() >= 4, settings=SEARCH)
    assert tree.number_of_nodes() == 4 and rrm.tree_depth(tree) == 1  # a star under the root
    assert tree.nodes["n0"]["rule"] == "all"


def test_shrinks_to_a_minimal_witness():
    # The smallest tree with a weighted node is a root over one child. The shrinker reaches
    # it because a node is one choice it can delete from anywhere (module docstring): it did
    # in 270 of 270 unseeded runs, against 5 of 40 with the earlier layout (node count first).
    spec = find(
        spec_dicts(features={"weights"}),
        lambda s: any(t.get("rule") == "weighted" for t in s["nodes"].values()),
        settings=SEARCH,
    )
    assert len(spec["nodes"]) == 2 and spec["nodes"]["n0"]["rule"] == "weighted"
    assert spec["nodes"]["n0"]["threshold"] == 0.5 and spec["nodes"]["n1"]["weight"] == 1.0


def test_deep_witnesses_contract_to_a_chain():
    tree = find(trees(max_nodes=8), lambda t: rrm.tree_depth(t) >= 3, settings=SEARCH)
    assert sorted(tree.edges) == [("n0", "n1"), ("n1", "n2"), ("n2", "n3")]


def test_sizes_and_shapes_are_spread():
    # Not only tiny trees: full-size ones, wide nodes, deep paths.
    sizes, depths, widths = [], [], []

    @settings(max_examples=300, database=None, deadline=None)
    @given(trees(max_nodes=8))
    def record(tree):
        sizes.append(tree.number_of_nodes())
        depths.append(rrm.tree_depth(tree))
        widths.append(max(d for _, d in tree.out_degree))

    record()
    # Hypothesis's draws are not independent (it mutates earlier ones), so the bounds are
    # loose: over 8 runs single nodes were 10-28% of draws, full trees 5-16%, and the
    # deepest tree 3 or 4 levels, the widest node 5 to 7 children.
    assert sizes.count(1) < 0.5 * len(sizes) and 8 in sizes
    assert max(depths) >= 3 and max(widths) >= 4


def test_depth_zero_is_a_single_node():
    assert find(trees(max_depth=0), lambda t: True).number_of_nodes() == 1
    assert find(trees(max_depth=0, min_nodes=3), lambda t: True).number_of_nodes() == 1


def test_probabilities_respect_their_bounds():
    assert find(probabilities(low=0.2, high=0.3), lambda p: True) == 0.2
    with pytest.raises(ValueError):
        probabilities(low=0.5, high=0.1)


def test_invalid_options_are_named():
    with pytest.raises(ValueError, match="unknown features"):
        find(spec_dicts(features={"telepathy"}), lambda s: True)
