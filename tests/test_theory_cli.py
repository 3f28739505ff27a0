"""The theory commands: threshold, fixed-point, depth, levels, nso."""

from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy as sp

import rrm_theory as rrm
from rrm_theory import homogeneous as hom
from rrm_theory.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(args, capsys) -> dict:
    """The command's --json output: exactly one line, one JSON object (JSON Lines)."""
    code, out, err = run(args, capsys)
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1
    obj = json.loads(out)
    assert isinstance(obj, dict) and list(obj)[:2] == ["schema", "version"]
    return obj


def test_threshold_json(capsys):
    obj = one_line(["threshold", "--rule", "majority", "--branching", "3", "--json", "--latex"], capsys)
    assert list(obj)[2:6] == ["rule", "branching", "threshold", "exact"]
    assert obj["schema"] == "rrm-theory/threshold/1" and obj["version"] == rrm.__version__
    assert obj["exact"] == "1/6" and obj["threshold"] == pytest.approx(1 / 6) and obj["deception"] is False
    assert obj["latex"]["threshold"] == "\\frac{1}{6}"


def test_threshold_latex_is_printed_without_json_too(capsys):
    code, out, _ = run(["threshold", "--rule", "majority", "--branching", "3", "--latex"], capsys)
    assert code == 0 and "= 1/6" in out
    assert "LaTeX of the threshold: \\frac{1}{6}" in out and "LaTeX of the map: e' = 4 E e^{3}" in out
    code, out, _ = run(["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.1", "--latex"], capsys)
    assert code == 0 and "LaTeX: e' = - \\frac{8 e^{3}}{5}" in out


def test_fixed_point_json(capsys):
    obj = one_line(["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.1", "--json"], capsys)
    assert obj["fixed_points"] == pytest.approx([0.14644660940672624, 0.5])
    assert obj["stable"] == [True, False] and obj["limit"] == pytest.approx(0.14644660940672624)
    assert (obj["error"], obj["leaf_error"]) == (0.1, 0.1)  # the leaves' error used, default made explicit


def test_depth_json_from_options_and_spec(capsys):
    obj = one_line(["depth", "--rule", "majority", "--branching", "3", "--error", "0.2", "--target", "0.45",
                    "--json"], capsys)  # fmt: skip
    d = obj["max_depth"]
    assert obj["errors"][d] < 0.45 <= obj["errors"][d + 1]
    assert obj["spec"] is None and obj["model"]["prior"] == 1.0 and obj["model"]["leaf_false_accept"] == 0.2
    obj = one_line(["depth", "models/ternary-majority.toml", "--target", "0.4", "--json"], capsys)
    assert obj["max_depth"] == 4 and len(obj["errors"]) == 6
    assert obj["spec"] == "models/ternary-majority.toml" and obj["model"]["prior"] == 0.5


@pytest.mark.parametrize("k", [3, 51, 201])
def test_depth_for_wide_committees_matches_the_exact_analysis(k, capsys):
    # the symbolic multinomial joint map had (k+1)(k+2)(k+3)/6 terms: infeasible at k = 201
    args = ["--rule", "majority", "--branching", str(k), "--error", "0.1", "--leaf-error", "0.3", "--prior", "0.7"]
    obj = one_line(["depth", *args, "--target", "0.5", "--max-depth", "3", "--json"], capsys)
    assert obj["unbounded"] and len(obj["errors"]) == 4
    model = hom.Homogeneous.symmetric("majority", k, 0.1, leaf_error=0.3, prior=0.7)
    for depth in range(3 if k < 100 else 2):
        exact = rrm.exact_analysis(model.tree(depth)).root.error
        assert obj["errors"][depth] == pytest.approx(exact, abs=1e-12)


def test_depth_of_a_wide_committee_near_its_threshold_is_quick(capsys):
    # just below Evans-Schulman's threshold the error creeps up over thousands of levels: each costs
    # O(k^2), and the scan stops at the first failure
    E = float(Fraction(1, 2) - Fraction(2**199, 201 * math.comb(200, 100))) - 1e-4
    obj = one_line(["depth", "--rule", "majority", "--branching", "201", "--error", repr(E), "--target", "0.49",
                    "--json"], capsys)  # fmt: skip
    assert obj["unbounded"] or obj["errors"][-1] >= 0.49


def test_levels_json(capsys):
    obj = one_line(["levels", "--human-error", "0.1", "--difficulty", "0.9", "--helpers", "3", "--levels", "4",
                    "--target", "0.2", "--json"], capsys)  # fmt: skip
    assert len(obj["assisted"]) == len(obj["unaided"]) == 5
    assert set(obj) >= {"assisted", "unaided", "fixed_points", "stable", "max_level"}
    assert obj["model"] == {"human_error": 0.1, "difficulty": 0.9, "helpers": 3, "amplification": 1.0, "gap": 0.0,
                            "combine_error": 0.0, "rule": "majority", "human_vote": True}  # fmt: skip


def test_nso_json(capsys):
    obj = one_line(["nso", "--game", "backdoor-code", "--gap", "400", "--json"], capsys)
    assert list(obj)[2:5] == ["optimal_steps", "success", "success_by_steps"]
    # the authors' notebook (elo/theory-predictions.ipynb): Backdoor Code at a 400 gap, 2 steps, 0.2756914
    assert obj["optimal_steps"] == 2 and obj["success"] == pytest.approx(0.2756914, abs=1e-7)
    assert len(obj["success_by_steps"]) == 20 and obj["start"] == 1103.0 and obj["game"] == "backdoor-code"


@pytest.mark.parametrize("args, message", [
    (["threshold", "--rule", "majority"], "the following arguments are required: --branching"),
    (["threshold", "--rule", "most", "--branching", "3"],
     "rrm-theory threshold: error: --rule 'most' is not a rule; valid rules: all, any, majority, at_least:K"),
    (["threshold", "--rule", "at_least:x", "--branching", "3"], "--rule 'at_least:x' needs a whole number K >= 1"),
    (["threshold", "--rule", "at_least:4", "--branching", "3"], "--rule 'at_least:4' needs at least 4 inputs; "
                                                                "--branching is 3"),
    (["threshold", "--rule", "weighted", "--branching", "3"], "--rule 'weighted' is not taken here"),
    (["threshold", "--rule", "majority", "--branching", "3", "--error", "0.1"], "--error 0.1 goes with --deception"),
    (["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.9"], "argument --error: 0.9 is not at"),
    (["fixed-point", "--rule", "any", "--branching", "3"], "the following arguments are required: --error"),
    (["depth", "--target", "0.2"], "--rule is required without a SPEC"),
    (["depth", "--rule", "majority", "--branching", "3", "--target", "0.3"], "--error is required without a SPEC"),
    (["depth", "models/ternary-majority.toml", "--target", "0.2", "--error", "0.1"],
     "--error 0.1 is not taken with a SPEC: models/ternary-majority.toml gives"),
    (["depth", "models/ternary-majority.toml", "--target", "0.2", "--prior", "0.5"], "--prior 0.5 is not taken"),
    (["depth", "models/chip-design.toml", "--target", "0.2"], "[generate]"),
    (["levels", "--helpers", "3"], "the following arguments are required: --human-error, --difficulty"),
    (["levels", "--human-error", "0.1", "--difficulty", "0.9", "--helpers", "3", "--rule", "at_least:9"],
     "--rule 'at_least:9' needs at least 9 inputs; --helpers 3 and the human's own vote make 4"),
    (["levels", "--human-error", "0.1", "--difficulty", "0.9", "--helpers", "3", "--rule", "weighted"], "at_least:K"),
    (["levels", "--human-error", "0.1", "--difficulty", "0.9", "--helpers", "0", "--no-human-vote"], "no votes"),
    (["nso", "--guard", "1,0", "--gap", "100"], "--guard needs --houdini"),
    (["nso", "--guard", "1,0", "--houdini", "1,0", "--gap", "100"], "--start is required with --guard"),
    (["nso", "--game", "debate", "--houdini", "1,0", "--gap", "100"], "--houdini goes with --guard"),
    (["nso", "--game", "chess", "--gap", "100"], "argument --game: invalid choice: 'chess'"),
])  # fmt: skip
def test_bad_input_is_one_line_and_status_2(args, message, capsys):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and out == ""
    # usage errors name the command; a spec's errors (SpecError, printed by rrm_theory.cli) name the file
    assert err.startswith((f"rrm-theory {args[0]}: error: ", "rrm-theory: error: ")) and message in err


@pytest.mark.parametrize("k", [67, 101, 201])
def test_wide_committees(k, capsys):
    # k = 67 crashed (binomial coefficients overflowing int64), k = 101 exited 2 as if the input were wrong
    obj = one_line(["threshold", "--rule", "majority", "--branching", str(k), "--json"], capsys)
    want = Fraction(1, 2) - Fraction(2 ** (k - 2), k * math.comb(k - 1, (k - 1) // 2))  # Evans & Schulman (2003)
    assert obj["exact"] == str(want) and obj["threshold"] == float(want)
    obj = one_line(["fixed-point", "--rule", "majority", "--branching", str(k), "--error", "0.3", "--json"], capsys)
    assert obj["stable"] == [True, False] and obj["fixed_points"][1] == 0.5
    assert 0.3 < obj["fixed_points"][0] < 0.3 + 1e-3 and obj["limit"] == obj["fixed_points"][0]
    # the map, expanded: leading coefficient (1 - 2E) (-1)^(k - T) C(k - 1, T - 1), T = (k + 1) / 2
    poly = sp.Poly(sp.sympify(obj["map"]), sp.Symbol("e"))
    assert poly.degree() == k and poly.LC() == sp.Rational(2 * (-1) ** ((k - 1) // 2) * math.comb(k - 1, k // 2), 5)
    for rule in ("all", "any", f"at_least:{k // 3}"):
        commands = (["threshold"], ["threshold", "--deception", "--error", "0.05"], ["fixed-point", "--error", "0.2"])
        for command in commands:
            one_line([*command, "--rule", rule, "--branching", str(k), "--json"], capsys)
    code, out, _ = run(["fixed-point", "--rule", "majority", "--branching", str(k), "--error", "0.45"], capsys)
    assert code == 0 and "fixed points in [0, 1/2]" in out


def test_threshold_reached_at_one_half_is_exact(capsys):
    # all over 3, bad work: the stable point reaches 1/2 at d = 3/7 (it came back as 0.428571427918, exact null)
    obj = one_line(["threshold", "--rule", "all", "--branching", "3", "--deception", "--json", "--latex"], capsys)
    assert obj["exact"] == "3/7" and obj["threshold"] == 3 / 7 and obj["latex"]["threshold"] == "\\frac{3}{7}"
    assert obj["error"] == 0.0 and obj["deception"] is True
    assert obj["latex"]["map"] == "- d e^{3} + d + e^{3}"  # bad work's map, in the deception rate d


def test_no_spurious_fixed_point(capsys):
    obj = one_line(["fixed-point", "--rule", "majority", "--branching", "29", "--error", "0.39", "--json"], capsys)
    assert obj["fixed_points"] == [0.5] and obj["stable"] == [True] and obj["limit"] == 0.5


def test_latex_of_the_map(capsys):
    obj = one_line(["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.1", "--json", "--latex"],
                   capsys)  # fmt: skip
    assert obj["latex"] == "- \\frac{8 e^{3}}{5} + \\frac{12 e^{2}}{5} + \\frac{1}{10}"
    assert obj["map"] == "-8*e**3/5 + 12*e**2/5 + 1/10"


def test_the_map_reads_rates_as_the_decimals_written(capsys):
    # sympy's nsimplify read 0.326 as 3*2**(35/283)*3**(279/566)*5**(55/283)*7**(213/566)/49
    obj = one_line(["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.326", "--json",
                    "--latex"], capsys)  # fmt: skip
    assert obj["map"] == "-87*e**3/125 + 261*e**2/250 + 163/500"
    assert obj["latex"] == "- \\frac{87 e^{3}}{125} + \\frac{261 e^{2}}{250} + \\frac{163}{500}"
    obj = one_line(["levels", "--human-error", "0.326", "--difficulty", "1", "--helpers", "1", "--no-human-vote",
                    "--amplification", "0.5", "--json"], capsys)  # fmt: skip
    assert obj["closed_form"] == "163/(500*2**k)"


def test_wide_even_committee(capsys):
    # k = 68 (binomial coefficients past int64) was a TypeError traceback, exit 1
    for args in (["threshold"], ["fixed-point", "--error", "0.3"]):
        one_line([*args, "--rule", "majority", "--branching", "68", "--json"], capsys)
    obj = one_line(["threshold", "--rule", "majority", "--branching", "68", "--json"], capsys)
    assert obj["bad"] == {"threshold": 0.5, "exact": "1/2"} and 0.4 < obj["good"]["threshold"] < 0.5


# ------------------------------------------------ every --json line against its JSON Schema

jsonschema = pytest.importorskip("jsonschema")

TREE = ["--rule", "majority", "--branching", "3"]
HUMAN = ["--human-error", "0.1", "--difficulty", "0.9"]
OUTPUTS = {
    "threshold": [
        [*TREE],
        [*TREE, "--latex"],
        ["--rule", "all", "--branching", "3", "--deception", "--latex"],
        ["--rule", "majority", "--branching", "5", "--deception", "--error", "0.05"],
        ["--rule", "at_least:3", "--branching", "8"],  # bad work: no exact value (a tangency beyond k = 7)
        ["--rule", "at_least:3", "--branching", "8", "--latex"],
        ["--rule", "at_least:2", "--branching", "4", "--latex"],  # bad work: a tangency, an algebraic number
        ["--rule", "any", "--branching", "101"],
    ],
    "fixed-point": [
        [*TREE, "--error", "0.1"],
        [*TREE, "--error", "0.1", "--leaf-error", "0.3", "--latex"],
        ["--rule", "all", "--branching", "1", "--error", "0"],  # an identity map: no isolated fixed point
        ["--rule", "at_least:2", "--branching", "51", "--error", "0.45", "--leaf-error", "0"],
    ],
    "depth": [
        ["models/ternary-majority.toml", "--target", "0.4"],
        ["models/ternary-majority.toml", "--target", "0.01"],  # even depth 0 fails: max_depth null
        [*TREE, "--error", "0.05", "--target", "0.2"],  # unbounded
        [*TREE, "--error", "0.05", "--leaf-error", "0.3", "--prior", "0.5", "--target", "0.45", "--max-depth", "30"],
        ["--rule", "any", "--branching", "201", "--error", "0.01", "--prior", "0.2", "--target", "0.3"],
    ],
    "levels": [
        [*HUMAN, "--helpers", "3"],
        [*HUMAN, "--helpers", "3", "--target", "0.2", "--levels", "5"],
        [*HUMAN, "--helpers", "1", "--no-human-vote", "--amplification", "1.2", "--gap", "0.01", "--target", "0.3"],
        [*HUMAN, "--helpers", "0", "--combine-error", "0.05", "--rule", "any", "--levels", "0"],
    ],
    "nso": [
        ["--game", "debate", "--gap", "400"],
        ["--game", "mafia", "--gap", "1000", "--start", "800", "--max-steps", "3"],
        ["--guard", "1,0", "--houdini", "1,0", "--gap", "400", "--start", "0"],
        ["--guard", "1.5,-300", "--houdini", "0.5,400", "--gap", "1e6", "--start", "1000", "--max-steps", "1"],
    ],
}


@pytest.mark.parametrize("command, options", [(c, o) for c, runs in OUTPUTS.items() for o in runs])
def test_json_lines_match_the_schema(command, options, capsys):
    schema = json.loads((SCHEMAS / f"{command}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    obj = one_line([command, *options, "--json"], capsys)
    jsonschema.Draft202012Validator(schema).validate(obj)
    assert obj["schema"] == schema["properties"]["schema"]["const"] == f"rrm-theory/{command}/1"


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_runs_concatenate_into_a_json_lines_table(command, capsys):
    # one line per run: the lines of several runs are one table, one row per run
    pd = pytest.importorskip("pandas")
    import io

    runs = OUTPUTS[command][:3]
    text = "".join(json.dumps(one_line([command, *options, "--json"], capsys)) + "\n" for options in runs)
    table = pd.read_json(io.StringIO(text), lines=True)
    assert len(table) == len(runs) and list(table.columns[:2]) == ["schema", "version"]
    assert set(table["schema"]) == {f"rrm-theory/{command}/1"}


def test_the_schemas_reject_what_they_do_not_describe(capsys):
    obj = one_line(["threshold", *TREE, "--json"], capsys)
    check = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "threshold.json").read_text()))
    for broken in ({**obj, "extra": 1}, {**obj, "deception": True}, {k: v for k, v in obj.items() if k != "exact"}):
        assert not check.is_valid(broken)


# ------------------------------------------------ start-up: nothing heavy at import or in numeric commands


def _heavy_modules(code: str) -> list[str]:
    """sympy and scipy modules loaded by a fresh interpreter running ``code`` (from the repository root)."""
    code += "\nimport sys; print(sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'scipy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1].replace("'", '"'))


def test_theory_modules_import_no_sympy_or_scipy():
    modules = "rrm_theory._cli_theory, rrm_theory.homogeneous, rrm_theory.levels, rrm_theory.nso"
    assert _heavy_modules(f"import {modules}") == []
    # registering the parsers imports only the standard library (and this package's own small modules)
    code = ("import argparse, sys\nfrom rrm_theory import _cli_theory\n"
            "_cli_theory.add_commands(argparse.ArgumentParser().add_subparsers())\n"
            "print([m for m in ('numpy', 'networkx', 'rrm_theory.homogeneous', 'rrm_theory.levels', 'rrm_theory.nso') "
            "if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("argv", [
    ["threshold", "--rule", "majority", "--branching", "101", "--json"],
    ["threshold", "--rule", "all", "--branching", "9", "--deception", "--error", "0.05", "--json"],
    ["fixed-point", "--rule", "majority", "--branching", "201", "--error", "0.3", "--json"],
    ["depth", "--rule", "majority", "--branching", "51", "--error", "0.2", "--target", "0.4", "--json"],
    ["levels", "--human-error", "0.1", "--difficulty", "0.9", "--helpers", "3", "--json"],
    ["nso", "--game", "debate", "--gap", "400", "--json"],
])  # fmt: skip
def test_numeric_commands_import_no_sympy_or_scipy(argv):
    code = ("import argparse, sys\nfrom rrm_theory import _cli_theory\n"
            "parser = argparse.ArgumentParser()\n"
            "_cli_theory.add_commands(parser.add_subparsers(dest='command'))\n"
            f"_cli_theory.run(parser.parse_args({argv!r}), sys.stdout)")  # fmt: skip
    assert _heavy_modules(code) == []
