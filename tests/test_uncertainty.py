"""Uncertain rates: the [uncertainty] loader, propagation (vectorised = per-draw exact), Sobol, CLI, figures."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory import SpecError
from rrm_theory.cli import main
from rrm_theory.results import METRICS
from rrm_theory.uncertainty import Beta, Uniform, parameters, propagate, sobol, with_draw

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"

BASE = """
name = "t"
[defaults]
error = 0.1
prior = 0.5
[nodes.r]
rule = "all"
[nodes.heat]
parent = "r"
[nodes.power]
parent = "r"
[blind_spots.g]
probability = 0.1
members = ["heat", "power"]
"""

FITTER = """
name = "fitted"
[defaults]
prior = 0.9
[nodes.design]
rule = "all"
false_accept = 0.02
false_reject = 0.03
[nodes.heat]
parent = "design"
[nodes.power]
parent = "design"
false_accept = 0.07
[uncertainty.nodes.heat]
false_accept = { beta = [3.5, 40.5] }
false_reject = { beta = [2.0, 61.0] }
[uncertainty.defaults]
false_accept = { uniform = [0.01, 0.2] }
false_reject = { uniform = [0.0, 0.1] }
"""


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def leaf(**values) -> nx.DiGraph:
    """A single human judging directly: the root's rates are the leaf's own."""
    table = {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.1} | values
    return rrm.from_dict({"name": "leaf", "nodes": {"h": table}})


# ------------------------------------------------------------------ the loader


def test_the_fitters_format_loads(tmp_path):
    tree = rrm.load_spec(write(tmp_path, FITTER))
    unc = tree.graph["uncertainty"]
    assert unc["influence"] is None and unc["blind_spots"] == {}
    assert unc["nodes"]["heat"] == {"false_accept": Beta(3.5, 40.5), "false_reject": Beta(2.0, 61.0)}
    # power gives its own false_accept, takes false_reject from the defaults; design gives both
    assert unc["nodes"]["power"] == {"false_reject": Uniform(0.0, 0.1)}
    assert "design" not in unc["nodes"]
    # point values: what a table gives as a number stays; what it does not is the distribution's mean
    assert tree.nodes["heat"]["false_accept"] == Beta(3.5, 40.5).mean == pytest.approx(3.5 / 44)
    assert tree.nodes["heat"]["false_reject"] == pytest.approx(2 / 63)
    assert tree.nodes["power"]["false_accept"] == 0.07
    assert tree.nodes["power"]["false_reject"] == pytest.approx(0.05)  # only [uncertainty.defaults] gives it
    assert [p.label for p in parameters(tree)] == ["heat.false_accept", "heat.false_reject", "power.false_reject"]


def test_the_ordinary_analysis_uses_the_point_values_unchanged(tmp_path):
    tree = rrm.load_spec(write(tmp_path, FITTER))
    bare = tree.copy()
    bare.graph = dict(tree.graph)
    del bare.graph["uncertainty"]
    assert rrm.exact_analysis(tree).root == rrm.exact_analysis(bare).root
    assert rrm.exact_analysis(tree).root == rrm.exact_analysis(rrm.from_dict(rrm.to_dict(bare))).root


def test_inline_distributions_take_the_mean_as_point_value():
    tree = rrm.from_dict({
        "influence": {"beta": [1, 99]},
        "defaults": {"prior": {"uniform": [0.8, 1.0]}, "error": 0.1},
        "nodes": {"r": {"rule": "all", "coverage": {"beta": [9, 1]}},
                  "a": {"parent": "r", "false_accept": {"beta": [1, 3]}}, "b": {"parent": "r"}},
        "blind_spots": {"g": {"probability": {"uniform": [0.0, 0.1]}, "members": ["a", "b"]}},
    })  # fmt: skip
    assert tree.graph["influence"] == pytest.approx(0.01)
    assert tree.graph["blind_spots"]["g"]["probability"] == pytest.approx(0.05)
    assert tree.nodes["r"]["coverage"] == pytest.approx(0.9)
    assert tree.nodes["a"]["false_accept"] == 0.25 and tree.nodes["a"]["false_reject"] == 0.1
    assert tree.nodes["a"]["prior"] == tree.nodes["b"]["prior"] == pytest.approx(0.9)
    labels = [p.label for p in parameters(tree)]
    assert labels == ["influence", "blind_spots.g", "r.coverage", "a.false_accept", "a.prior", "b.prior"]


def test_defaults_apply_by_role_and_only_where_the_node_gives_no_number():
    tree = rrm.from_dict({
        "defaults": {"error": 0.1, "prior": 0.5},
        "nodes": {"r": {"rule": "all"}, "a": {"parent": "r", "deception": 0.0}, "b": {"parent": "r", "audit": 0.2}},
        "uncertainty": {"defaults": {"prior": {"beta": [2, 2]}, "coverage": {"beta": [9, 1]},
                                     "audit": {"uniform": [0, 0.1]}, "deception": {"uniform": [0, 0.01]}}},
    })  # fmt: skip
    nodes = tree.graph["uncertainty"]["nodes"]
    assert set(nodes["r"]) == {"coverage", "deception"}  # no prior on internal nodes, no audit on the root
    assert set(nodes["a"]) == {"prior", "audit"}  # a gives its own deception
    assert set(nodes["b"]) == {"prior", "deception"}  # b gives its own audit
    assert tree.nodes["r"]["audit"] == 0.0 and tree.nodes["a"]["audit"] == pytest.approx(0.05)
    assert tree.nodes["b"]["audit"] == 0.2


def test_error_is_one_draw_for_both_rates():
    tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "error": {"beta": [2, 18]}}}})
    (p,) = parameters(tree)
    assert p.label == "h.error"
    result = propagate(tree, 50, rng=1)
    assert np.allclose(result.samples["false_accept"], result.inputs[:, 0])
    assert np.allclose(result.samples["false_reject"], result.inputs[:, 0])


def test_a_rate_taken_alone_from_a_default_error_is_drawn_alone():
    tree = rrm.from_dict({"defaults": {"error": {"beta": [2, 18]}, "prior": 0.5},
                          "nodes": {"r": {"rule": "all"}, "a": {"parent": "r", "false_accept": 0.3}}})  # fmt: skip
    assert tree.graph["uncertainty"]["nodes"] == {"r": {"error": Beta(2.0, 18.0)}, "a": {"false_reject": Beta(2.0, 18.0)}}
    assert tree.nodes["a"]["false_accept"] == 0.3 and tree.nodes["a"]["false_reject"] == pytest.approx(0.1)


def test_generated_trees_take_distributions_per_role_and_per_node():
    tree = rrm.from_dict({
        "defaults": {"prior": 0.5, "error": 0.05},
        "generate": {"depth": 2, "branching": 2, "rule": "any",
                     "leaves": {"false_accept": {"beta": [1, 9]}}, "internal": {"false_reject": 0.2}},
        "uncertainty": {"defaults": {"false_reject": {"uniform": [0, 0.1]}},
                        "nodes": {"L2_3": {"false_accept": {"beta": [5, 5]}}, "L1_0": {"false_reject": {"beta": [1, 1]}}}},
    })  # fmt: skip
    nodes = tree.graph["uncertainty"]["nodes"]
    assert nodes["L2_0"] == {"false_accept": Beta(1.0, 9.0), "false_reject": Uniform(0.0, 0.1)}
    assert nodes["L2_3"] == {"false_accept": Beta(5.0, 5.0), "false_reject": Uniform(0.0, 0.1)}
    assert "L1_1" not in nodes and nodes["L1_0"] == {"false_reject": Beta(1.0, 1.0)}
    assert tree.nodes["L2_3"]["false_accept"] == 0.5 and tree.nodes["L2_0"]["false_accept"] == 0.1
    assert tree.nodes["L1_0"]["false_reject"] == 0.2  # [generate.internal] gives the number


def test_json_and_toml_give_the_same_tree(tmp_path):
    toml = rrm.load_spec(write(tmp_path, FITTER))
    text = json.dumps(rrm.to_dict(toml))
    again = rrm.load_spec(write(tmp_path, text, "spec.json"))
    assert nx.utils.graphs_equal(toml, again) and toml.graph == again.graph


# the brief's one-line errors: (id, text added to BASE, fragments)
ERRORS = [
    ("unknown-node", "[uncertainty.nodes.hat]\nfalse_accept = { beta = [1, 2] }\n",
     ["[uncertainty.nodes.hat]", "'hat' is not a node", "did you mean 'heat'"]),
    ("unknown-key", "[uncertainty.nodes.heat]\nfalse_acept = { beta = [1, 2] }\n",
     ["[uncertainty.nodes.heat]", "unknown key 'false_acept'", "did you mean 'false_accept'"]),
    ("unknown-distribution", "[uncertainty.nodes.heat]\nfalse_accept = { gamma = [1, 2] }\n",
     ["[uncertainty.nodes.heat]", "false_accept=", "unknown distribution 'gamma'", "beta = [a, b]"]),
    ("a-zero", "[uncertainty.nodes.heat]\nfalse_accept = { beta = [0, 2] }\n", ["heat", "false_accept", "a=0"]),
    ("a-negative", "[uncertainty.defaults]\nprior = { beta = [-1, 2] }\n", ["[uncertainty.defaults]", "prior", "a=-1"]),
    ("b-nan", "[uncertainty.nodes.heat]\nfalse_accept = { beta = [1, nan] }\n", ["heat", "b=nan"]),
    ("b-inf", "[uncertainty.nodes.heat]\nfalse_accept = { beta = [1, inf] }\n", ["heat", "b=inf"]),
    ("three-parameters", "[uncertainty.nodes.heat]\nfalse_accept = { beta = [1, 2, 3] }\n",
     ["heat", "false_accept", "two numbers"]),
    ("string-parameters", "[uncertainty.nodes.heat]\nfalse_accept = { uniform = 'x' }\n", ["heat", "two numbers"]),
    ("uniform-reversed", "[uncertainty.nodes.heat]\nfalse_accept = { uniform = [0.3, 0.1] }\n",
     ["heat", "false_accept", "0 <= lo <= hi <= 1"]),
    ("uniform-above-one", "[uncertainty.nodes.heat]\nexposure = { uniform = [0.3, 1.5] }\n", ["heat", "exposure"]),
    ("not-a-table", "[uncertainty.nodes]\nheat = 3\n", ["[uncertainty.nodes.heat]", "must be a table"]),
    ("a-number", "[uncertainty.nodes.heat]\nfalse_accept = 0.1\n", ["heat", "false_accept=0.1 is not a distribution"]),
    ("empty", "[uncertainty.nodes.heat]\nfalse_accept = {}\n", ["heat", "names no distribution"]),
    ("two-names", "[uncertainty.nodes.heat]\nprior = { beta = [1, 2], uniform = [0, 1] }\n", ["heat", "more than one"]),
    ("top-unknown", "[uncertainty]\nnode = 3\n", ["[uncertainty]", "unknown key 'node'", "did you mean 'nodes'"]),
    ("unknown-group", "[uncertainty.blind_spots.h]\nprobability = { beta = [1, 2] }\n",
     ["[uncertainty.blind_spots.h]", "'h' is not a group"]),
    ("group-key", "[uncertainty.blind_spots.g]\nprob = { beta = [1, 2] }\n", ["[uncertainty.blind_spots.g]", "'prob'"]),
    ("group-no-probability", "[uncertainty.blind_spots.g]\n", ["[uncertainty.blind_spots.g]", "probability is missing"]),
    ("prior-on-internal", "[uncertainty.nodes.r]\nprior = { beta = [1, 2] }\n", ["[uncertainty.nodes.r]", "prior=", "internal"]),
    ("coverage-on-leaf", "[uncertainty.nodes.heat]\ncoverage = { beta = [1, 2] }\n", ["heat", "coverage=", "no children"]),
    ("audit-on-root", "[uncertainty.nodes.r]\naudit = { beta = [1, 2] }\n", ["[uncertainty.nodes.r]", "audit=", "root"]),
    ("error-and-rate", "[uncertainty.nodes.heat]\nerror = { beta = [1, 2] }\nfalse_reject = { beta = [1, 2] }\n",
     ["heat", "error=", "false_reject=", "shorthand"]),
    ("elo", "[uncertainty.nodes.heat]\nelo = { beta = [1, 2] }\n", ["heat", "unknown key 'elo'"]),
    ("rule", "[uncertainty.defaults]\nrule = { beta = [1, 2] }\n", ["[uncertainty.defaults]", "unknown key 'rule'"]),
    ("influence", "[uncertainty]\ninfluence = { beta = [1] }\n", ["[uncertainty]", "influence=", "two numbers"]),
]  # fmt: skip
INLINE_ERRORS = [
    ("uncertainty-not-a-table", "uncertainty = 3\n" + BASE, ["[uncertainty]", "must be a table"]),
    ("inline-and-table", BASE.replace('[nodes.heat]\nparent = "r"', '[nodes.heat]\nparent = "r"\nprior = { beta = [1, 2] }')
     + "[uncertainty.nodes.heat]\nprior = { beta = [1, 3] }\n",
     ["[uncertainty.nodes.heat]", "prior=", "in node 'heat' too"]),
    ("inline-error-table-rate",
     BASE.replace('[nodes.heat]\nparent = "r"', '[nodes.heat]\nparent = "r"\nerror = { beta = [1, 2] }')
     + "[uncertainty.nodes.heat]\nfalse_accept = { beta = [1, 3] }\n",
     ["[uncertainty.nodes.heat]", "error=", "false_accept=", "node 'heat'"]),
    ("inline-prior-on-internal", BASE.replace('[nodes.r]\nrule = "all"', '[nodes.r]\nrule = "all"\nprior = { beta = [1, 2] }'),
     ["node 'r'", "prior=", "internal"]),
    ("inline-bad", BASE.replace('[nodes.heat]\nparent = "r"', '[nodes.heat]\nparent = "r"\nfalse_accept = { beta = [1, -2] }'),
     ["node 'heat'", "false_accept=", "b=-2"]),
    ("group-twice", BASE.replace("probability = 0.1", "probability = { beta = [1, 9] }")
     + "[uncertainty.blind_spots.g]\nprobability = { beta = [1, 3] }\n", ["[uncertainty.blind_spots.g]", "blind spot 'g' too"]),
    ("influence-twice", "influence = { beta = [1, 9] }\n" + BASE + "[uncertainty]\ninfluence = { beta = [1, 3] }\n",
     ["[uncertainty]", "influence=", "the top level too"]),
    ("defaults-twice", BASE.replace("error = 0.1", "error = 0.1\nprior = { beta = [1, 9] }").replace("prior = 0.5\n", "", 1)
     + "[uncertainty.defaults]\nprior = { beta = [1, 3] }\n", ["[uncertainty.defaults]", "prior=", "[defaults] too"]),
    ("generated-unknown", 'name="g"\n[defaults]\nerror=0.1\nprior=0.5\n[generate]\ndepth=2\nbranching=2\nrule="all"\n'
     "[uncertainty.nodes.L3_0]\nfalse_accept = { beta = [1, 2] }\n", ["[uncertainty.nodes.L3_0]", "not a node"]),
    ("generated-prior-on-internal", 'name="g"\n[defaults]\nerror=0.1\nprior=0.5\n[generate]\ndepth=2\nbranching=2\n'
     'rule="all"\n[uncertainty.nodes.L1_0]\nprior = { beta = [1, 2] }\n', ["[uncertainty.nodes.L1_0]", "internal"]),
]  # fmt: skip


@pytest.mark.parametrize("text, fragments", [(BASE + c[1], c[2]) for c in ERRORS] + [c[1:] for c in INLINE_ERRORS],
                         ids=[c[0] for c in ERRORS + INLINE_ERRORS])  # fmt: skip
def test_input_errors_are_one_line_naming_file_table_and_key(tmp_path, capsys, text, fragments):
    path = write(tmp_path, text, "chip.toml")
    code, out, err = run(["analyze", str(path), "--no-adversary", "--no-importance", "--bounds", "none"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"rrm-theory: error: {path}: ")
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_a_hand_edited_tree_is_checked_where_it_is_used():
    tree = rrm.from_dict({"nodes": {"a": {"prior": 0.5, "error": {"beta": [1, 9]}}}})
    tree.graph["uncertainty"]["nodes"]["zz"] = {"prior": Beta(1.0, 1.0)}
    with pytest.raises(SpecError, match="node 'zz': has distributions but is not a node"):
        rrm.to_dict(tree)
    with pytest.raises(SpecError, match="node 'zz'"):
        propagate(tree, 3)
    tree.graph["uncertainty"]["nodes"] = {"a": {"prior": Beta(0.0, 1.0)}}
    with pytest.raises(SpecError, match="a=0.0 is not a finite number > 0"):
        parameters(tree)


def assert_round_trip(tree: nx.DiGraph, tmp_path: Path) -> None:
    for suffix in (".toml", ".json"):
        path = tmp_path / f"round{suffix}"
        rrm.write_spec(tree, path)
        again = rrm.load_spec(path)
        assert nx.utils.graphs_equal(again, tree)
        assert again.graph == tree.graph


def test_round_trip_keeps_every_kind_of_distribution(tmp_path):
    tree = rrm.from_dict({
        "influence": {"beta": [1, 99]},
        "defaults": {"prior": {"uniform": [0.8, 1.0]}, "error": {"beta": [2, 38]}, "exposure": {"uniform": [0, 1]}},
        "nodes": {"r": {"rule": "weighted", "threshold": 0.5, "coverage": {"beta": [9, 1]}},
                  "a b": {"parent": "r", "false_accept": 0.2, "weight": 2.0}, "c": {"parent": "r", "audit": {"beta": [1, 4]}}},
        "blind_spots": {"g": {"probability": 0.1, "members": ["a b", "c"]}},
        "uncertainty": {"blind_spots": {"g": {"probability": {"uniform": [0.05, 0.15]}}}},
    })  # fmt: skip
    assert_round_trip(tree, tmp_path)


def test_loading_a_spec_with_distributions_imports_no_scipy(tmp_path):
    path = write(tmp_path, FITTER)
    code = f"import sys, rrm_theory as r; r.exact_analysis(r.load_spec({str(path)!r})); print('scipy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


# ------------------------------------------------------------------ propagation

betas = st.builds(lambda a, b: {"beta": [a, b]}, st.sampled_from([0.3, 1.0, 2.0, 5.0, 40.0]),
                  st.sampled_from([0.3, 1.0, 3.0, 60.0]))  # fmt: skip
uniforms = st.tuples(st.sampled_from([0.0, 0.05, 0.3, 0.5, 1.0]), st.sampled_from([0.0, 0.1, 0.4, 1.0])).map(
    lambda t: {"uniform": [min(t), max(t)]})  # with lo = hi at 0, 1 and inside: constants
distributions = st.one_of(betas, uniforms)


@st.composite
def uncertain_specs(draw, max_nodes: int = 5):
    """A drawn spec with every feature, and distributions on a drawn subset of its probabilities."""
    spec = draw(tree_specs(max_nodes=max_nodes))
    nodes = spec["nodes"]
    has_kids = {t["parent"] for t in nodes.values() if "parent" in t}
    table: dict = {}
    for v, t in nodes.items():
        keys = ["false_accept", "false_reject", "error", "deception", "exposure"]
        keys += ["coverage"] if v in has_kids else ["prior"]
        keys += ["audit"] if "parent" in t else []
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=3))
        if "error" in chosen:
            chosen = [k for k in chosen if k not in ("false_accept", "false_reject")]
        for key in chosen:
            table.setdefault("nodes", {}).setdefault(v, {})[key] = draw(distributions)
    if draw(st.booleans()):
        table["influence"] = draw(distributions)
    for g in spec.get("blind_spots", {}):
        if draw(st.booleans()):
            table.setdefault("blind_spots", {})[g] = {"probability": draw(distributions)}
    if not table:
        table["nodes"] = {"n0": {"false_accept": draw(distributions)}}
    spec["uncertainty"] = table
    return spec


def assert_same_draws(a: dict, b: dict) -> None:
    for m in METRICS:
        x, y = a[m], b[m]
        assert (np.isnan(x) == np.isnan(y)).all(), m
        both = ~np.isnan(x)
        assert np.abs(x[both] - y[both]).max(initial=0.0) <= 1e-12, (m, x, y)


@settings(max_examples=120, deadline=None)
@given(uncertain_specs())
def test_vectorised_draws_equal_exact_analysis_per_draw(spec):
    tree = rrm.from_dict(spec)
    fast = propagate(tree, 4, rng=11)
    slow = propagate(tree, 4, rng=11, method="per-draw")
    assert np.array_equal(fast.inputs, slow.inputs)
    assert_same_draws(fast.samples, slow.samples)


@settings(max_examples=40, deadline=None)
@given(uncertain_specs())
def test_round_trip_of_drawn_uncertain_trees(tmp_path_factory, spec):
    assert_round_trip(rrm.from_dict(spec), tmp_path_factory.mktemp("rt"))


def test_the_draws_written_into_the_tree_are_what_exact_analysis_sees():
    tree = rrm.from_dict({"nodes": {"h": {"prior": 0.5, "false_accept": {"beta": [2, 8]}, "false_reject": 0.1}}})
    result = propagate(tree, 3, rng=2)
    for row, fa in zip(result.inputs, result.samples["false_accept"]):
        G = with_draw(tree, result.parameters, row)
        assert "uncertainty" not in G.graph and G.nodes["h"]["false_accept"] == row[0] == fa
    assert tree.nodes["h"]["false_accept"] == 0.2  # the caller's tree is unchanged


def test_large_juries_take_the_closed_form_per_draw():
    """Count rules over 48+ children: draws where the children are alike take the closed form."""
    shared = rrm.from_dict({"defaults": {"prior": 0.7, "error": 0.2},
                            "generate": {"depth": 1, "branching": 50, "rule": "majority",
                                         "internal": {"false_accept": {"beta": [1, 9]}}}})  # fmt: skip
    each = rrm.from_dict({"defaults": {"prior": 0.7, "error": {"uniform": [0.1, 0.3]}},
                          "generate": {"depth": 1, "branching": 49, "rule": "majority"}})  # fmt: skip
    for tree in (shared, each):
        assert_same_draws(propagate(tree, 3, rng=5).samples, propagate(tree, 3, rng=5, method="per-draw").samples)


def test_chunks_change_no_number(monkeypatch):
    from rrm_theory import _batched_exact

    tree = rrm.load_spec("models/chip-design.toml")
    tree.graph["uncertainty"] = {"influence": None, "blind_spots": {"thermal-base-model": Uniform(0.0, 0.1)},
                                 "nodes": {"heat": {"error": Beta(2.0, 30.0)}}}  # fmt: skip
    whole = propagate(tree, 37, rng=3)
    monkeypatch.setattr(_batched_exact, "_CHUNK", 50)  # a few draws per chunk
    for m in METRICS:
        assert np.array_equal(propagate(tree, 37, rng=3).samples[m], whole.samples[m])


def test_same_seed_same_numbers_and_fewer_draws_are_a_prefix():
    tree = leaf(false_accept={"beta": [2, 8]}, deception={"uniform": [0, 0.1]})
    a, b = propagate(tree, 500, rng=9), propagate(tree, 500, rng=9)
    assert np.array_equal(a.inputs, b.inputs) and a.summary == b.summary and a.seed == 9
    assert np.array_equal(propagate(tree, 100, rng=9).inputs, a.inputs[:100])
    assert not np.array_equal(propagate(tree, 100, rng=10).inputs, a.inputs[:100])
    g1, g2 = np.random.default_rng(4), np.random.default_rng(4)
    assert np.array_equal(propagate(tree, 20, rng=g1).inputs, propagate(tree, 20, rng=g2).inputs)
    fresh = propagate(tree, 20)
    assert np.array_equal(propagate(tree, 20, rng=fresh.seed).inputs, fresh.inputs)


def test_a_tree_without_distributions_is_a_clear_error():
    with pytest.raises(SpecError, match="needs rates given as distributions"):
        propagate(leaf(), 10)
    with pytest.raises(SpecError, match="needs rates given as distributions"):
        sobol(leaf(), 64)


def test_bad_arguments():
    tree = leaf(false_accept={"beta": [2, 8]})
    for kwargs, match in [({"draws": 0}, "draws"), ({"draws": 5, "level": 1.0}, "level"),
                          ({"draws": 5, "exceed": 1.5}, "exceed"), ({"draws": 5, "method": "fast"}, "method")]:  # fmt: skip
        with pytest.raises(ValueError, match=match):
            propagate(tree, **kwargs)
    with pytest.raises(ValueError, match="power of two"):
        sobol(tree, 100)


def test_exact_refusals_pass_through():
    tree = rrm.from_dict({"defaults": {"prior": 0.5, "error": {"beta": [1, 9]}},
                          "nodes": {"r": {"rule": "majority"}, **{f"c{i}": {"parent": "r"} for i in range(5)}},
                          "blind_spots": {f"g{i}": {"probability": 0.1, "members": [f"c{i}", f"c{(i + 1) % 5}"]}
                                          for i in range(5)}})  # fmt: skip
    with pytest.raises(rrm.ExactRefused, match="max_shared_events=2"):
        propagate(tree, 5, max_shared_events=2)


N = 20_000


def test_beta_rate_on_a_single_leaf_matches_the_beta_distribution():
    a, b, level, exceed = 3.5, 40.5, 0.9, 0.12
    result = propagate(leaf(false_accept={"beta": [a, b]}), N, rng=123, level=level, exceed=exceed)
    fa = result.summary["false_accept"]
    dist = stats.beta(a, b)
    assert fa.defined == N
    assert abs(fa.mean - a / (a + b)) <= 5 * dist.std() / math.sqrt(N)
    kurtosis = float(dist.stats(moments="k")) + 3.0
    assert abs(fa.sd / dist.std() - 1) <= 5 * math.sqrt((kurtosis - 1) / (4 * N))
    for q, got in (((1 - level) / 2, fa.low), (0.5, fa.median), ((1 + level) / 2, fa.high)):
        want = dist.ppf(q)
        assert abs(got - want) <= 5 * math.sqrt(q * (1 - q) / N) / dist.pdf(want), (q, got, want)
    p = dist.sf(exceed)
    assert abs(result.p_exceed - p) <= 5 * math.sqrt(p * (1 - p) / N)
    assert fa.se == pytest.approx(fa.sd / math.sqrt(N))
    # the other rate is fixed: its posterior is a point
    fr = result.summary["false_reject"]
    assert fr.sd == pytest.approx(0.0, abs=1e-15) and fr.low == pytest.approx(0.1) == fr.high


def test_uniform_rate_and_a_metric_linear_in_it():
    """FA of a leaf with deception d: fa + d (1 - fa), linear in d: its mean is fa + E[d] (1 - fa)."""
    lo, hi, fa = 0.02, 0.2, 0.1
    result = propagate(leaf(false_accept=fa, deception={"uniform": [lo, hi]}), N, rng=5)
    s = result.summary["false_accept"]
    sd = (hi - lo) * (1 - fa) / math.sqrt(12)
    assert abs(s.mean - (fa + (lo + hi) / 2 * (1 - fa))) <= 5 * sd / math.sqrt(N)
    assert abs(s.sd / sd - 1) <= 5 * math.sqrt(0.8 / (4 * N))  # a uniform's kurtosis is 1.8
    assert np.allclose(result.samples["false_accept"], fa + result.inputs[:, 0] * (1 - fa), atol=1e-15)


def test_undefined_metrics_are_left_out_of_the_summaries():
    result = propagate(leaf(prior=1.0, false_reject={"beta": [1, 9]}), 200, rng=1, exceed=0.1)
    assert result.summary["false_accept"].defined == 0 and result.summary["false_accept"].mean is None
    assert result.p_exceed is None and result.to_dict()["root"]["false_accept"] is None
    assert result.summary["false_reject"].defined == 200


# ------------------------------------------------------------------ Sobol


def test_sobol_of_a_rate_the_metric_does_not_depend_on():
    """The verdict's false accept is the human's own: first and total index 1 for it, exactly 0 for the other."""
    tree = leaf(false_accept={"uniform": [0.0, 0.2]}, false_reject={"uniform": [0.0, 0.2]})
    s = sobol(tree, 1024, rng=1)
    assert [p.label for p in s.parameters] == ["h.false_accept", "h.false_reject"]
    assert s.evaluations == 1024 * 4
    for index, conf in ((s.first, s.first_conf), (s.total, s.total_conf)):
        assert abs(index[0] - 1.0) <= 3 * conf[0] + 1e-3
        assert index[1] == 0.0 and conf[1] == 0.0
    assert s.ranked() == [0, 1]


def test_sobol_of_an_interaction_matches_the_closed_form():
    """FA = 1 - (1 - fa)(1 - d) with fa, d uniform on [0, 0.2]: S = (E Z)^2 Var X / V, S_T = E[Z^2] Var X / V."""
    tree = leaf(false_accept={"uniform": [0.0, 0.2]}, deception={"uniform": [0.0, 0.2]})
    mean, var = 0.9, 0.2**2 / 12
    square = var + mean**2
    total_var = square**2 - mean**4
    want_first, want_total = mean**2 * var / total_var, square * var / total_var
    s = sobol(tree, 4096, rng=2)
    for j in (0, 1):
        assert abs(s.first[j] - want_first) <= 3 * s.first_conf[j] + 1e-3
        assert abs(s.total[j] - want_total) <= 3 * s.total_conf[j] + 1e-3


def test_sobol_is_seeded_and_refuses_undefined_metrics():
    tree = leaf(false_accept={"uniform": [0.0, 0.2]}, deception={"uniform": [0.0, 0.2]})
    a, b = sobol(tree, 64, rng=8), sobol(tree, 64, rng=8)
    assert np.array_equal(a.first, b.first) and np.array_equal(a.total_conf, b.total_conf)
    from rrm_theory.uncertainty import UndefinedMetric

    with pytest.raises(UndefinedMetric, match="undefined in"):
        sobol(leaf(prior=1.0, false_accept={"beta": [1, 9]}), 64, rng=1)


def test_without_salib_the_error_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "SALib" or m.startswith("SALib.")] + ["SALib"]:
        monkeypatch.setitem(sys.modules, name, None)
    tree = leaf(false_accept={"uniform": [0.0, 0.2]})
    with pytest.raises(ModuleNotFoundError, match=r'pip install "rrm-theory\[sensitivity\]"'):
        sobol(tree, 64)


# ------------------------------------------------------------------ command line

UNCERTAIN = """
[uncertainty.nodes.heat]
false_accept = { beta = [3.5, 40.5] }
false_reject = { beta = [2.0, 61.0] }
[uncertainty.blind_spots.thermal-base-model]
probability = { uniform = [0.0, 0.05] }
"""
QUICK = ["--no-adversary", "--no-importance", "--bounds", "none"]


@pytest.fixture
def chip(tmp_path) -> Path:
    return write(tmp_path, Path("models/chip-design.toml").read_text() + UNCERTAIN, "chip.toml")


def test_json_line_carries_the_uncertainty_key(chip, capsys):
    code, out, err = run(["analyze", str(chip), "--json", "--uncertainty", "400", "--exceed", "0.25",
                          "--credible", "0.9", "--sobol", "64", "--seed", "3"], capsys)  # fmt: skip
    assert code == 0 and err == ""
    obj = json.loads(out)
    assert "monte_carlo" not in obj  # --seed with --uncertainty asks for no Monte Carlo
    unc = obj["uncertainty"]
    tree = rrm.load_spec(chip)
    want = propagate(tree, 400, rng=3, level=0.9, exceed=0.25).to_dict()
    assert unc["propagation"] == json.loads(json.dumps(want))
    assert unc["propagation"]["parameters"][0] == {"parameter": "blind_spots.thermal-base-model",
                                                   "distribution": {"uniform": [0.0, 0.05]}}  # fmt: skip
    assert unc["sobol"]["seed"] == 3 and unc["sobol"]["evaluations"] == 64 * 5
    assert obj["root"] == rrm.exact_analysis(tree).root.to_dict()  # the point values' analysis, unchanged
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "analyze.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(obj)


def test_human_summary_has_a_few_lines_per_spec(chip, capsys):
    code, out, _ = run(["analyze", str(chip), "--uncertainty", "300", "--exceed", "0.25", "--sobol", "64",
                        "--seed", "1", *QUICK], capsys)  # fmt: skip
    assert code == 0
    assert "uncertain rates: 300 draws of 3 inputs (seed 1)" in out
    assert "P(approve | bad work)" in out and "P(false accept > 0.25) = " in out
    assert "Sobol indices of the root false accept (64 base samples, 320 exact evaluations" in out
    code, out, _ = run(["analyze", str(chip), "models/chip-design.toml", "--uncertainty", "30", *QUICK], capsys)
    assert code == 2  # the second spec has no distributions; the first is still reported
    assert out.count("uncertain rates: 30 draws") == 1


def test_a_spec_without_distributions_exits_2_with_one_line(capsys):
    for option in (["--uncertainty", "10"], ["--sobol", "64"]):
        code, out, err = run(["analyze", "models/chip-design.toml", *option], capsys)
        assert code == 2 and out == "" and err.count("\n") == 1
        assert f"models/chip-design.toml: {option[0]} needs rates given as distributions" in err


def test_sobol_needs_a_power_of_two(chip, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", str(chip), "--sobol", "100"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "100 is not a power of two" in err and "64 or 128" in err


def test_without_salib_the_command_says_so_and_exits_1(chip, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "SALib" or m.startswith("SALib.")] + ["SALib"]:
        monkeypatch.setitem(sys.modules, name, None)
    code, out, err = run(["analyze", str(chip), "--json", "--sobol", "64", "--uncertainty", "20", *QUICK], capsys)
    assert code == 1 and 'pip install "rrm-theory[sensitivity]"' in err
    obj = json.loads(out)
    assert obj["uncertainty"]["sobol"] is None and obj["uncertainty"]["propagation"]["draws"] == 20
    assert "rrm-theory[sensitivity]" in obj["skipped"]["sobol"]


def test_declined_trees_skip_the_propagation_with_a_note(tmp_path, capsys):
    nodes = "".join(f'[nodes.c{i}]\nparent = "r"\n' for i in range(17))
    groups = "".join(f'[blind_spots.g{i}]\nprobability = 0.1\nmembers = ["c{i}", "c{(i + 1) % 17}"]\n' for i in range(17))
    text = '[defaults]\nerror = { beta = [1, 9] }\nprior = 0.5\n' + groups + '[nodes.r]\nrule = "majority"\n' + nodes
    code, out, err = run(["analyze", str(write(tmp_path, text)), "--json", "--uncertainty", "5", "--samples", "2000",
                          "--seed", "1", *QUICK], capsys)  # fmt: skip
    obj = json.loads(out)
    assert code == 0 and obj["uncertainty"]["propagation"] is None and "uncertainty" in obj["skipped"]
    assert "uncertainty skipped" in err


# ------------------------------------------------------------------ figures


@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_posterior_plot_draws_the_draws(plt):
    from rrm_theory.plotting import posterior_plot

    result = propagate(leaf(false_accept={"beta": [3.5, 40.5]}), 3000, rng=4, exceed=0.1, level=0.9)
    fig, ax = plt.subplots()
    assert posterior_plot(result, ax=ax, bins=30) is ax
    heights, edges = np.histogram(result.samples["false_accept"], bins=30, density=True)
    bars = ax.containers[0]
    assert np.allclose([b.get_height() for b in bars], heights)
    assert np.allclose([b.get_x() for b in bars], edges[:-1])
    assert sum(b.get_height() * b.get_width() for b in bars) == pytest.approx(1.0)
    s = result.summary["false_accept"]
    marks = [line.get_xdata()[0] for line in ax.lines]
    assert marks == pytest.approx([s.low, s.high, s.median, 0.1])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("90% credible") for label in labels)
    assert f"P(> 0.1) = {result.p_exceed:.2g}" in labels
    assert ax.get_xlabel() == "root P(approve | bad work)"


def test_sobol_chart_draws_the_indices(plt):
    from rrm_theory.plotting import sobol_chart

    s = sobol(leaf(false_accept={"uniform": [0.0, 0.2]}, deception={"uniform": [0.0, 0.1]}), 256, rng=1)
    fig, ax = plt.subplots()
    assert sobol_chart(s, ax=ax) is ax
    order = s.ranked()
    from matplotlib.container import BarContainer

    first, total = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [b.get_width() for b in first] == pytest.approx([s.first[j] for j in order])
    assert [b.get_width() for b in total] == pytest.approx([s.total[j] for j in order])
    segments = first.errorbar.lines[2][0].get_segments()
    assert [seg[1][0] - seg[0][0] for seg in segments] == pytest.approx([2 * s.first_conf[j] for j in order])
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.parameters[j].label for j in order]
    assert "P(approve | bad work)" in ax.get_xlabel()
