"""Training levels: the documented level map, its fixed points and closed form."""

from __future__ import annotations

import math

import pytest
import sympy as sp

from rrm_theory.levels import TrainingModel, level_fixed_points, linear_closed_form, max_level, trajectory


def test_the_map_is_the_documented_formula():
    m = TrainingModel(human_error=0.1, difficulty=0.8, helpers=2, amplification=1.5, gap=0.02, combine_error=0.01)
    out = trajectory(m, 3)
    for k in range(1, 4):
        u = 0.5 - 0.4 * 0.8**k
        h = min(0.5, 1.5 * (out["assisted"][k - 1] + 0.02))
        # three votes (two helpers and the human), majority: wrong when at least two are wrong
        wrong = h * h * (1 - u) + 2 * h * (1 - h) * u + h * h * u
        assert out["unaided"][k] == pytest.approx(u)
        assert out["helper"][k] == pytest.approx(h)
        assert out["assisted"][k] == pytest.approx(0.01 + 0.98 * wrong)
    assert out["assisted"][0] == out["unaided"][0] == 0.1


def test_linear_closed_form_equals_the_trajectory():
    m = TrainingModel(human_error=0.05, helpers=1, human_vote=False, amplification=0.9, gap=0.01, combine_error=0.02)
    form = linear_closed_form(m)
    k = sp.Symbol("k", integer=True, nonnegative=True)
    out = trajectory(m, 8)["assisted"]
    for level in range(9):
        assert float(form.subs(k, level)) == pytest.approx(out[level], abs=1e-12)
    # fixed point B / (1 - A), stable since A = 0.96 * 0.9 < 1
    A, B = 0.96 * 0.9, 0.02 + 0.96 * 0.9 * 0.01
    points = level_fixed_points(m)
    assert points == [(pytest.approx(B / (1 - A)), True)]


def test_amplification_above_one_has_no_stable_fixed_point_below_the_clip():
    m = TrainingModel(human_error=0.05, helpers=1, human_vote=False, amplification=1.2, gap=0.01)
    assert [stable for _, stable in level_fixed_points(m) if _ < 0.5] == []
    assert trajectory(m, 60)["assisted"][-1] == pytest.approx(0.5)


def test_max_level():
    m = TrainingModel(human_error=0.1, helpers=1, human_vote=False, amplification=1.2, gap=0.01)
    errors = trajectory(m, 30)["assisted"]
    level = max_level(m, 0.3)["max_level"]
    assert errors[level] < 0.3 <= errors[level + 1]
    assert max_level(m, 0.05) == {"max_level": None, "unbounded": False}
    assert max_level(TrainingModel(amplification=0.5, difficulty=1.0), 0.2)["unbounded"]


@pytest.mark.parametrize("options,match", [({"difficulty": 0.0}, "difficulty"), ({"helpers": -1}, "helpers"),
                                           ({"helpers": 0, "human_vote": False}, "no votes"),
                                           ({"human_error": 0.7}, "human_error"),
                                           ({"amplification": math.inf}, "amplification")])  # fmt: skip
def test_invalid(options, match):
    with pytest.raises(ValueError, match=match):
        TrainingModel(**options)


def test_the_closed_form_reads_the_rates_as_the_decimals_written():
    # sympy's nsimplify read 0.326 as 3*2**(35/283)*3**(279/566)*5**(55/283)*7**(213/566)/49
    m = TrainingModel(human_error=0.326, helpers=1, human_vote=False, amplification=0.5)
    assert str(linear_closed_form(m)) == "163/(500*2**k)"


@pytest.mark.parametrize("options", [{}, {"helpers": 5, "amplification": 1.3, "gap": 0.02},
                                     {"helpers": 1, "human_vote": False, "amplification": 0.9, "gap": 0.01},
                                     {"helpers": 2, "difficulty": 1.0, "combine_error": 0.03, "rule": "any"}])  # fmt: skip
def test_fixed_points_are_sign_changes_between_adjacent_floats(options):
    # each root is bisected to adjacent floats (no scipy) and reported to 12 decimals
    m = TrainingModel(**options)
    points = level_fixed_points(m)
    assert points
    for x, _ in points:
        g = [m.step(y, math.inf) - y for y in (x - 1e-11, x, x + 1e-11)]
        assert abs(g[1]) < 1e-11 and g[0] * g[2] <= 0 or x in (0.0, 0.5)
