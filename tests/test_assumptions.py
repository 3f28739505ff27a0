"""Assumption checks and the ``check`` command."""

from __future__ import annotations

import json

import pytest

import rrm_theory as rrm
from rrm_theory.assumptions import ASSUMPTIONS, check_assumptions
from rrm_theory.cli import main

BASE = {"defaults": {"error": 0.1, "prior": 0.8}}


def spec(**parts):
    return rrm.from_dict({**BASE, **parts})


def status(tree, **kw):
    return {c.name: (c.status, [str(v) for v in c.nodes]) for c in check_assumptions(tree, **kw)}


def test_every_assumption_is_reported_in_order():
    checks = check_assumptions(spec(nodes={"a": {}}))
    assert [c.name for c in checks] == list(ASSUMPTIONS)


def test_easier_subtasks_and_evaluation_easier():
    tree = spec(nodes={"r": {"rule": "all", "difficulty": 0.8, "generation_difficulty": 0.9},
                       "a": {"parent": "r", "difficulty": 0.5, "generation_difficulty": 0.4},
                       "b": {"parent": "r", "difficulty": 0.8}})  # fmt: skip
    got = status(tree)
    assert got["easier_subtasks"] == ("fails", ["b"])  # 0.8 is not strictly below 0.8
    assert got["evaluation_easier"] == ("fails", ["a"])  # 0.5 to evaluate, 0.4 to generate


def test_reach_coverage_independence_and_assistance():
    tree = spec(unaided_error=0.2, human_reach=0.4, influence=0.1,
                nodes={"r": {"rule": "all", "coverage": 0.9}, "a": {"parent": "r", "difficulty": 0.3},
                       "b": {"parent": "r", "difficulty": 0.6}})  # fmt: skip
    got = status(tree)
    assert got["leaves_within_reach"] == ("fails", ["b"])
    assert got["sufficient_decomposition"] == ("fails", ["r"])
    assert got["independent_errors"] == ("fails", ["a", "b"])  # exposed leaves under influence
    error = rrm.exact_analysis(tree).root.error
    assert got["assistance_helps"] == (("holds", []) if error < 0.2 else ("fails", ["r"]))
    assert status(tree, unaided_error=error)["assistance_helps"] == ("fails", ["r"])  # not strictly below
    assert status(tree, human_reach=0.7)["leaves_within_reach"] == ("holds", [])


def test_unstated_assumptions():
    got = status(spec(nodes={"a": {}}))
    assert {k for k, (s, _) in got.items() if s == "not stated"} == {
        "easier_subtasks", "leaves_within_reach", "assistance_helps", "evaluation_easier"}  # fmt: skip
    assert got["independent_errors"] == ("holds", [])


def test_check_command_exit_status(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[defaults]\nerror = 0.1\nprior = 0.9\n[nodes.r]\nrule = "all"\ndifficulty = 0.9\n'
                    '[nodes.a]\nparent = "r"\ndifficulty = 0.3\n')
    assert main(["check", str(good)]) == 0
    assert "holds       easier_subtasks" in capsys.readouterr().out
    assert main(["check", "models/chip-design.toml", "--json"]) == 3
    obj = json.loads(capsys.readouterr().out)
    failing = {a["name"]: a["nodes"] for a in obj["assumptions"] if a["status"] == "fails"}
    assert obj["all_hold"] is False and failing["sufficient_decomposition"] == ["design", "security"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[nodes.a]\nprior = 2\n")
    assert main(["check", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_new_spec_keys_round_trip(tmp_path):
    tree = spec(unaided_error=0.3, human_reach=0.5,
                nodes={"r": {"rule": "all", "generation_difficulty": 0.9}, "a": {"parent": "r"}})  # fmt: skip
    path = tmp_path / "t.toml"
    rrm.write_spec(tree, path)
    again = rrm.load_spec(path)
    assert again.graph["unaided_error"] == 0.3 and again.nodes["r"]["generation_difficulty"] == 0.9
    with pytest.raises(rrm.SpecError, match="human_reach=2"):
        spec(human_reach=2, nodes={"a": {}})
