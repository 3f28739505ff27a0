"""The test suite's own tree strategy: valid by construction, within budget, shrinking small."""

from __future__ import annotations

from hypothesis import find, given, settings
from reference import _bernoullis  # the reference's own list of the model's variables
from tree_strategies import tree_specs

import rrm_theory as rrm


@settings(max_examples=200, deadline=None)
@given(tree_specs(max_nodes=6, max_free=12))
def test_every_draw_is_a_valid_tree_within_the_variable_budget(spec):
    tree = rrm.from_dict(spec)  # raises on any invalid draw
    assert 1 <= tree.number_of_nodes() <= 6
    free = [p for _, p in _bernoullis(tree) if 0.0 < p < 1.0]
    assert len(free) <= 12


def test_shrinks_to_the_smallest_tree():
    spec = find(tree_specs(), lambda s: True)
    assert list(spec["nodes"]) == ["n0"] and "blind_spots" not in spec
    assert all(v == 0.0 for k, v in spec["nodes"]["n0"].items())
    assert spec["influence"] == 0.0


def test_shrinks_close_to_a_minimal_witness():
    # The smallest tree with a weighted node is a root over one child; the shrinker gets
    # within one node of it, with the simplest weight and threshold.
    spec = find(tree_specs(), lambda s: any(t.get("rule") == "weighted" for t in s["nodes"].values()))
    assert len(spec["nodes"]) <= 3
    weighted = [t for t in spec["nodes"].values() if t.get("rule") == "weighted"]
    assert [t["threshold"] for t in weighted] == [0.5]
    assert all(t.get("weight", 1.0) == 1.0 for t in spec["nodes"].values())
