"""The theory commands: threshold, fixed-point, depth, levels, nso."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
import sympy as sp

from rrm_theory.cli import main


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_threshold_json(capsys):
    code, out, _ = run(["threshold", "--rule", "majority", "--branching", "3", "--json", "--latex"], capsys)
    obj = json.loads(out)
    assert code == 0 and list(obj)[:4] == ["rule", "branching", "threshold", "exact"]
    assert obj["exact"] == "1/6" and obj["threshold"] == pytest.approx(1 / 6)
    assert obj["latex"]["threshold"] == "\\frac{1}{6}"


def test_fixed_point_json(capsys):
    obj = json.loads(run(["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.1", "--json"],
                         capsys)[1])
    assert obj["fixed_points"] == pytest.approx([0.14644660940672624, 0.5])
    assert obj["stable"] == [True, False] and obj["limit"] == pytest.approx(0.14644660940672624)


def test_depth_json_from_options_and_spec(capsys):
    obj = json.loads(run(["depth", "--rule", "majority", "--branching", "3", "--error", "0.2", "--target", "0.45",
                          "--json"], capsys)[1])
    d = obj["max_depth"]
    assert obj["errors"][d] < 0.45 <= obj["errors"][d + 1]
    obj = json.loads(run(["depth", "models/ternary-majority.toml", "--target", "0.4", "--json"], capsys)[1])
    assert obj["max_depth"] == 4 and len(obj["errors"]) == 6


def test_levels_json(capsys):
    obj = json.loads(run(["levels", "--levels", "4", "--target", "0.2", "--json"], capsys)[1])
    assert len(obj["assisted"]) == len(obj["unaided"]) == 5
    assert set(obj) >= {"assisted", "unaided", "fixed_points", "stable", "max_level"}


def test_nso_json(capsys):
    obj = json.loads(run(["nso", "--game", "backdoor-code", "--gap", "400", "--json"], capsys)[1])
    assert list(obj) == ["optimal_steps", "success", "success_by_steps"]
    # the authors' notebook (elo/theory-predictions.ipynb): Backdoor Code at a 400 gap, 2 steps, 0.2756914
    assert obj["optimal_steps"] == 2 and obj["success"] == pytest.approx(0.2756914, abs=1e-7)
    assert len(obj["success_by_steps"]) == 20


@pytest.mark.parametrize("args", [
    ["threshold", "--rule", "majority"],
    ["threshold", "--rule", "most", "--branching", "3"],
    ["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.9"],
    ["depth", "--target", "0.2"],
    ["depth", "models/chip-design.toml", "--target", "0.2"],
    ["levels", "--rule", "at_least:9"],
    ["nso", "--guard", "1,0", "--gap", "100"],
    ["nso", "--game", "chess", "--gap", "100"],
])  # fmt: skip
def test_bad_input_is_one_line_and_status_2(args, capsys):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("k", [67, 101, 201])
def test_wide_committees(k, capsys):
    # k = 67 crashed (binomial coefficients overflowing int64), k = 101 exited 2 as if the input were wrong
    code, out, _ = run(["threshold", "--rule", "majority", "--branching", str(k), "--json"], capsys)
    obj = json.loads(out)
    want = Fraction(1, 2) - Fraction(2 ** (k - 2), k * math.comb(k - 1, (k - 1) // 2))  # Evans & Schulman (2003)
    assert code == 0 and obj["exact"] == str(want) and obj["threshold"] == float(want)
    code, out, _ = run(["fixed-point", "--rule", "majority", "--branching", str(k), "--error", "0.3", "--json"], capsys)
    obj = json.loads(out)
    assert code == 0 and obj["stable"] == [True, False] and obj["fixed_points"][1] == 0.5
    assert 0.3 < obj["fixed_points"][0] < 0.3 + 1e-3 and obj["limit"] == obj["fixed_points"][0]
    # the map, expanded: leading coefficient (1 - 2E) (-1)^(k - T) C(k - 1, T - 1), T = (k + 1) / 2
    poly = sp.Poly(sp.sympify(obj["map"]), sp.Symbol("e"))
    assert poly.degree() == k and poly.LC() == sp.Rational(2 * (-1) ** ((k - 1) // 2) * math.comb(k - 1, k // 2), 5)
    for rule in ("all", "any", f"at_least:{k // 3}"):
        commands = (["threshold"], ["threshold", "--deception", "--error", "0.05"], ["fixed-point", "--error", "0.2"])
        for command in commands:
            code, out, _ = run([*command, "--rule", rule, "--branching", str(k), "--json"], capsys)
            assert code == 0 and json.loads(out)
    code, out, _ = run(["fixed-point", "--rule", "majority", "--branching", str(k), "--error", "0.45"], capsys)
    assert code == 0 and "fixed points in [0, 1/2]" in out


def test_threshold_reached_at_one_half_is_exact(capsys):
    # all over 3, bad work: the stable point reaches 1/2 at d = 3/7 (it came back as 0.428571427918, exact null)
    obj = json.loads(run(["threshold", "--rule", "all", "--branching", "3", "--deception", "--json", "--latex"],
                         capsys)[1])  # fmt: skip
    assert obj["exact"] == "3/7" and obj["threshold"] == 3 / 7 and obj["latex"]["threshold"] == "\\frac{3}{7}"


def test_no_spurious_fixed_point(capsys):
    obj = json.loads(run(["fixed-point", "--rule", "majority", "--branching", "29", "--error", "0.39", "--json"],
                         capsys)[1])  # fmt: skip
    assert obj["fixed_points"] == [0.5] and obj["stable"] == [True] and obj["limit"] == 0.5


def test_latex_of_the_map(capsys):
    obj = json.loads(run(["fixed-point", "--rule", "majority", "--branching", "3", "--error", "0.1", "--json",
                          "--latex"], capsys)[1])  # fmt: skip
    assert obj["latex"] == "- \\frac{8 e^{3}}{5} + \\frac{12 e^{2}}{5} + \\frac{1}{10}"
    assert obj["map"] == "-8*e**3/5 + 12*e**2/5 + 1/10"


def test_wide_even_committee(capsys):
    # k = 68 (binomial coefficients past int64) was a TypeError traceback, exit 1
    for args in (["threshold"], ["fixed-point", "--error", "0.3"]):
        code, out, _ = run([*args, "--rule", "majority", "--branching", "68", "--json"], capsys)
        assert code == 0 and json.loads(out)
    obj = json.loads(run(["threshold", "--rule", "majority", "--branching", "68", "--json"], capsys)[1])
    assert obj["bad"] == {"threshold": 0.5, "exact": "1/2"} and 0.4 < obj["good"]["threshold"] < 0.5
