"""The theory commands: threshold, fixed-point, depth, levels, nso."""

from __future__ import annotations

import json

import pytest

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
