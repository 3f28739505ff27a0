"""The counterexample search: minimal, reproducible, and None when a claim holds."""

from __future__ import annotations

import numpy as np
import pytest

import rrm_theory as rrm
from rrm_theory import counterexample
from rrm_theory.strategies import probabilities, trees


def test_a_false_claim_gets_a_minimal_counterexample():
    # "a root's false accept rate is at most its evaluator's own": false once helpers err too
    def claim(tree, analysis):
        root = rrm.tree_root(tree)
        return (analysis.root.false_accept or 0.0) <= tree.nodes[root]["false_accept"]

    found = counterexample(claim)
    assert found is not None and found.tree.number_of_nodes() == 2
    assert not claim(found.tree, found.analysis)
    assert "[nodes.n0]" in str(found) and found.spec["nodes"]["n1"]["parent"] == "n0"


def test_true_claims_find_nothing():
    assert counterexample(lambda tree: tree.number_of_nodes() >= 1, max_examples=100) is None

    def bounded(tree, analysis):
        return 0.0 <= analysis.root.error <= 1.0

    assert counterexample(bounded, max_examples=100) is None


def test_reproducible_with_a_seed():
    def claim(tree):
        return tree.number_of_nodes() < 4

    first = counterexample(claim, rng=3)
    again = counterexample(claim, rng=np.random.SeedSequence(3).entropy)
    assert rrm.to_dict(first.tree) == rrm.to_dict(again.tree)
    assert first.tree.number_of_nodes() == 4
    seeded = counterexample(claim, rng=np.random.SeedSequence(8))  # SPEC 7: a SeedSequence is a seed
    assert seeded is not None and seeded.tree.number_of_nodes() == 4


def test_seed_is_a_deprecated_alias_of_rng():
    def claim(tree):
        return tree.number_of_nodes() < 3

    with pytest.warns(DeprecationWarning, match="rng="):
        old = counterexample(claim, seed=3)
    assert rrm.to_dict(old.tree) == rrm.to_dict(counterexample(claim, rng=3).tree)


@pytest.mark.parametrize("module", ["rrm_theory.strategies", "rrm_theory.counterexamples"])
def test_without_hypothesis_the_message_names_the_extra(module):
    """A bare ModuleNotFoundError once; now it says what to install."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['hypothesis'] = None\n"  # makes `import hypothesis` fail
            f"try:\n    import {module}\nexcept ModuleNotFoundError as e:\n    print(e)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'rrm-theory[hypothesis]'" in done.stdout, done.stderr


def test_custom_strategies():
    found = counterexample(lambda tree, a: a.root.error < 0.5,
                           strategy=trees(max_nodes=3, rates=probabilities(low=0.6, high=1.0)))  # fmt: skip
    assert found is not None and found.analysis.root.error >= 0.5
