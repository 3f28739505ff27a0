"""The balanced and chain generators."""

from __future__ import annotations

import pytest

import rrm_theory as rrm
from rrm_theory import SpecError


def test_balanced_shape_and_ids():
    tree = rrm.balanced(3, 4, rule="majority", error=0.1, prior=0.5)
    assert tree.number_of_nodes() == 1 + 4 + 16 + 64
    assert rrm.tree_depth(tree) == 3 and len(rrm.tree_leaves(tree)) == 64
    assert list(tree.successors("L1_1")) == ["L2_4", "L2_5", "L2_6", "L2_7"]
    assert tree.graph["name"] == "balanced-3x4-majority"


def test_leaf_and_internal_overrides():
    tree = rrm.balanced(2, 2, rule="any", prior=0.3, error=0.2, leaves={"false_accept": 0.01},
                        internal={"coverage": 0.9, "audit": 0.1})
    assert tree.nodes["L2_0"]["false_accept"] == 0.01 and tree.nodes["L2_0"]["false_reject"] == 0.2
    assert tree.nodes["L1_0"]["coverage"] == 0.9 and tree.nodes["L1_0"]["audit"] == 0.1
    assert tree.nodes["L0_0"]["audit"] == 0.0  # never on the root


def test_generated_blind_spots_and_influence():
    tree = rrm.balanced(1, 3, rule="majority", error=0.1, prior=0.5, influence=0.2,
                        blind_spots={"g": {"probability": 0.1, "members": ["L1_0", "L1_1"]}})
    assert tree.graph["influence"] == 0.2
    assert tree.graph["blind_spots"]["g"]["members"] == ("L1_0", "L1_1")


def test_depth_zero_is_a_single_leaf():
    tree = rrm.chain(0, error=0.1, prior=0.4)
    assert list(tree) == ["L0_0"] and tree.nodes["L0_0"]["prior"] == 0.4


def test_bad_values_and_keywords():
    with pytest.raises(SpecError, match=r"balanced\(2, 2\): \[defaults\]: error=1.5"):
        rrm.balanced(2, 2, rule="all", error=1.5, prior=0.5)
    with pytest.raises(TypeError, match="erorr"):
        rrm.chain(2, erorr=0.1)
    with pytest.raises(SpecError, match="2,000,000"):
        rrm.balanced(40, 2, rule="all", error=0.1, prior=0.5)
