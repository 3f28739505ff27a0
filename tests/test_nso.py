"""Nested scalable oversight from Elo gaps (rrm_theory.nso), against closed forms and brute force."""

from __future__ import annotations

import dataclasses
import math
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rrm_theory.nso import (
    DEFAULT_START,
    GAMES,
    EloLine,
    Game,
    NSOResult,
    error_from_elo,
    game_from_lines,
    nested_success,
    optimal_steps,
    win_probability,
)

elos = st.floats(-5000, 5000, allow_nan=False)
slopes = st.floats(-3, 3, allow_nan=False)
intercepts = st.floats(-2000, 2000, allow_nan=False)
lines = st.builds(EloLine, slopes, intercepts)


def elo_formula(guard: float, houdini: float) -> float:
    """The Elo formula as written, 1 / (1 + 10^((E_H - E_G)/400))."""
    return 1.0 / (1.0 + 10.0 ** ((houdini - guard) / 400.0))


def brute_force(game: Game, gap: float, start: float = DEFAULT_START, max_steps: int = 20) -> tuple[int, list[float]]:
    """Plain loops: the product of step successes for each n, and the first best n."""
    by_steps = []
    for n in range(1, max_steps + 1):
        p = 1.0
        for j in range(n):
            guard_general = start + j * gap / n
            houdini_general = start + (j + 1) * gap / n
            guard_domain = game.guard.slope * guard_general + game.guard.intercept
            houdini_domain = game.houdini.slope * houdini_general + game.houdini.intercept
            p *= elo_formula(guard_domain, houdini_domain)
        by_steps.append(p)
    best = 0
    for i, p in enumerate(by_steps):
        if p > by_steps[best]:
            best = i
    return best + 1, by_steps


# --- the Elo win probability ------------------------------------------------


def test_equal_elo_is_a_coin_flip():
    assert win_probability(1234.5, 1234.5) == 0.5
    assert error_from_elo(0, 0) == 0.5


def test_400_points_is_ten_to_one():
    # 1 / (1 + 10^(-400/400)) = 1 / (1 + 1/10) = 10/11
    assert win_probability(1500, 1100) == pytest.approx(10 / 11, rel=1e-15)
    assert win_probability(1100, 1500) == pytest.approx(1 / 11, rel=1e-15)


@given(elos, elos)
def test_win_probability_is_symmetric_and_matches_the_formula(a, b):
    assert win_probability(a, b) + win_probability(b, a) == pytest.approx(1.0, abs=1e-15)
    assert win_probability(a, b) == pytest.approx(elo_formula(a, b), rel=1e-12, abs=1e-300)


@given(elos, elos)
def test_error_from_elo_is_one_minus_win_probability(evaluator, target):
    assert error_from_elo(evaluator, target) == pytest.approx(1.0 - win_probability(evaluator, target), abs=1e-15)


def test_huge_gaps_saturate_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert win_probability(1e6, 0) == 1.0
        assert win_probability(0, 1e6) == 0.0
        assert error_from_elo(1e6, 0) == 0.0
        assert error_from_elo(0, 1e6) == 1.0
        assert nested_success(game_from_lines((1.0, 0.0), (1.0, 0.0)), 1e6, 1) == 0.0
        assert optimal_steps(game_from_lines((1.0, 0.0), (1.0, 0.0)), 1e6).success == 0.0


def test_a_small_error_keeps_its_digits():
    # 1 - P would round to 0; 1 / (1 + 10^25) is about 1e-25.
    assert error_from_elo(10_000, 0) == pytest.approx(1e-25, rel=1e-12)


# --- nested success ------------------------------------------------------------


def test_one_step_is_one_game_between_the_end_points():
    # Mafia, D = 400 from G0 = 1103, one step: the guard at general 1103 oversees
    # the houdini at general 1503.
    #   guard:   1.5305382247861692 * 1103 - 622.9317463747565 = 1065.2519...
    #   houdini: 0.8344154600833648 * 1503 + 173.2206142928111 = 1427.3470...
    #   P = 1 / (1 + 10^((1427.3470 - 1065.2519) / 400)) = 1 / (1 + 10^0.905238) = 0.110624
    guard = 1.5305382247861692 * 1103 - 622.9317463747565
    houdini = 0.8344154600833648 * 1503 + 173.2206142928111
    by_hand = 1 / (1 + 10 ** ((houdini - guard) / 400))
    assert by_hand == pytest.approx(0.110624, abs=5e-7)
    assert nested_success(GAMES["mafia"], 400, 1) == pytest.approx(by_hand, rel=1e-13)
    assert nested_success(GAMES["mafia"], 400, 1) == pytest.approx(win_probability(guard, houdini), rel=1e-13)


@pytest.mark.parametrize("name", sorted(GAMES))
@pytest.mark.parametrize("gap", [0, 50, 200, 400, 700, 1000, 1500, 2000, 3000])
def test_optimal_steps_agrees_with_brute_force(name, gap):
    n_best, by_steps = brute_force(GAMES[name], gap)
    result = optimal_steps(GAMES[name], gap)
    assert len(result.success_by_steps) == 20
    assert result.success_by_steps == pytest.approx(by_steps, rel=1e-12, abs=1e-300)
    assert result.optimal_steps == n_best
    assert result.success == max(result.success_by_steps)
    assert result.success == result.success_by_steps[result.optimal_steps - 1]
    for n in (1, 2, 7):
        assert nested_success(GAMES[name], gap, n) == pytest.approx(by_steps[n - 1], rel=1e-12, abs=1e-300)


@given(lines, lines, st.floats(0, 3000), st.floats(0, 2000), st.integers(1, 25))
def test_optimal_steps_is_the_best_of_its_table(guard, houdini, gap, start, max_steps):
    result = optimal_steps(Game("random", guard, houdini), gap, start=start, max_steps=max_steps)
    assert len(result.success_by_steps) == max_steps
    assert all(0.0 <= s <= 1.0 for s in result.success_by_steps)
    assert 1 <= result.optimal_steps <= max_steps
    assert result.success == result.success_by_steps[result.optimal_steps - 1]
    assert result.success == pytest.approx(max(result.success_by_steps), rel=1e-12)


@pytest.mark.parametrize("slope", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("gap", [100, 400, 1600, 5000])
def test_one_shared_line_gives_the_closed_form(slope, gap):
    # Guard and houdini on the same line: each step's domain gap is slope * D / n,
    # so S(n) = (1 / (1 + 10^(slope * D / (400 n))))^n, whatever the intercept and G0.
    game = game_from_lines(guard=(slope, -300.0), houdini=(slope, -300.0))
    closed = [(1 / (1 + 10 ** (slope * gap / (400 * n)))) ** n for n in range(1, 21)]
    result = optimal_steps(game, gap, start=777.0)
    assert result.success_by_steps == pytest.approx(closed, rel=1e-12)
    assert result.optimal_steps == 1 + max(range(20), key=lambda i: (closed[i], -i))


def test_shared_line_one_step_at_400_is_one_in_eleven():
    game = game_from_lines((1.0, 0.0), (1.0, 0.0))
    assert nested_success(game, 400, 1) == pytest.approx(1 / 11, rel=1e-15)
    # Two steps of 200 domain points each: (1 / (1 + 10^0.5))^2.
    assert nested_success(game, 400, 2) == pytest.approx((1 / (1 + math.sqrt(10))) ** 2, rel=1e-14)


# --- double ReLU plateaus ---------------------------------------------------------


def test_domain_elo_is_flat_beyond_the_plateaus():
    line = EloLine(2.0, -1000.0, low=800.0, high=1200.0)
    assert line.domain(800.0) == 600.0
    assert line.domain(1200.0) == 1400.0
    assert line.domain(1000.0) == 1000.0
    assert line.domain(-1e9) == line.domain(0.0) == line.domain(799.9999) == 600.0
    assert line.domain(1e9) == line.domain(5000.0) == 1400.0
    assert line.domain([0.0, 1000.0, 3000.0]).tolist() == [600.0, 1000.0, 1400.0]
    assert EloLine(2.0, 0.0, high=10.0).domain(-50.0) == -100.0
    assert EloLine(2.0, 0.0, low=10.0).domain(50.0) == 100.0
    assert EloLine(2.0, 0.0).domain(1e6) == 2e6


def test_saturated_players_play_even_games():
    # Both saturate at G0: beyond it every guard and houdini has the same domain
    # Elo, so each step is a coin flip and S(n) = 0.5^n; one step is best.
    line = EloLine(1.5, 10.0, high=DEFAULT_START)
    result = optimal_steps(Game("saturated", line, line), 800)
    assert result.success_by_steps == pytest.approx([0.5**n for n in range(1, 21)], rel=1e-14)
    assert result.optimal_steps == 1


def test_a_clipped_houdini_matches_brute_force():
    # The houdini stops improving at general 1303: gaps beyond 200 cost nothing more
    # once the last step's houdini is capped.
    guard = EloLine(1.0, 0.0)
    houdini = EloLine(1.0, 100.0, high=1303.0)

    def by_hand(gap: float, n: int) -> float:
        p = 1.0
        for j in range(n):
            g = DEFAULT_START + j * gap / n
            h = min(DEFAULT_START + (j + 1) * gap / n, 1303.0)
            p *= elo_formula(g, h + 100.0)
        return p

    game = Game("capped", guard, houdini)
    for gap in (100, 200, 600, 2000):
        for n in (1, 3, 10):
            assert nested_success(game, gap, n) == pytest.approx(by_hand(gap, n), rel=1e-12)
    # One step: the houdini is the same capped model at any gap >= 200.
    assert nested_success(game, 600, 1) == pytest.approx(nested_success(game, 200, 1), rel=1e-15)


# --- published numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, steps, success",
    [
        # Printed output of the authors' notebook elo/theory-predictions.ipynb
        # (github.com/subhashk01/oversight-scaling-laws, commit 86e693d), cell 2,
        # at "AI G-Elo: 400.0" with start_elo = 1103, n in 1..20, 80-digit Decimals:
        ("mafia", 1, 0.11062359444258422706723677091642544636171686148068322734999450854598927855240270),
        ("debate", 1, 0.51358447510963367244302599275195577983985660970271833404975422849136944649826308),
        ("backdoor-code", 2, 0.27569140767676612969294726409000944977447592600113526805958023052758624981812797),
        ("wargames", 1, 0.097977002063203731666081304638152687439088824498353092261166928338526196691132794),
    ],
)
def test_authors_notebook_at_a_400_point_gap(name, steps, success):
    # The paper's abstract (arXiv:2504.18530v2/v3) quotes 13.5%, 51.7%, 10.0% and
    # 9.4% at the same gap; those come from fits that differ from the lines in the
    # code, so the code's own output is what these lines must reproduce.
    result = optimal_steps(GAMES[name], 400)
    assert result.optimal_steps == steps
    assert result.success == pytest.approx(success, rel=1e-12)


# --- results, helpers and validation ----------------------------------------------------


def test_result_is_frozen_and_its_dict_is_plain_data():
    result = optimal_steps(GAMES["debate"], 400, max_steps=3)
    assert isinstance(result, NSOResult)
    d = result.to_dict()
    assert set(d) == {"optimal_steps", "success", "success_by_steps"}
    assert d["optimal_steps"] == 1 and len(d["success_by_steps"]) == 3
    d["success_by_steps"].append(1.0)
    assert len(result.success_by_steps) == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.success = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        GAMES["debate"].guard.slope = 0.0  # type: ignore[misc]


def test_a_single_step_budget_has_one_answer():
    result = optimal_steps(GAMES["backdoor-code"], 400, max_steps=1)
    assert result.optimal_steps == 1
    assert result.success_by_steps == [result.success]
    assert result.success == pytest.approx(nested_success(GAMES["backdoor-code"], 400, 1), rel=1e-15)


def test_start_moves_the_lines():
    # Debate one step from G0 = 0: guard -47.4989..., houdini 0.0493... * 400 + 1080.398...
    guard = -47.49890598669299
    houdini = 0.04936115584058696 * 400 + 1080.3983558810423
    assert nested_success(GAMES["debate"], 400, 1, start=0) == pytest.approx(elo_formula(guard, houdini), rel=1e-13)


def test_any_object_with_guard_and_houdini_lines_is_a_game():
    duck = SimpleNamespace(guard=GAMES["wargames"].guard, houdini=GAMES["wargames"].houdini)
    assert nested_success(duck, 1000, 2) == nested_success(GAMES["wargames"], 1000, 2)
    assert optimal_steps(duck, 1000) == optimal_steps(GAMES["wargames"], 1000)
    with pytest.raises(TypeError, match="guard"):
        nested_success(SimpleNamespace(guard=1), 400, 1)


def test_game_from_lines_builds_games():
    game = game_from_lines(guard=(1.0, 2.0), houdini=(3.0, 4.0, None, 1500.0), name="toy")
    assert game == Game("toy", EloLine(1.0, 2.0), EloLine(3.0, 4.0, None, 1500.0))
    assert game_from_lines(EloLine(1.0, 0.0), (1.0, 0.0)).name == "custom"


def test_the_shipped_games():
    assert sorted(GAMES) == ["backdoor-code", "debate", "mafia", "wargames"]
    assert DEFAULT_START == 1103.0
    assert GAMES["backdoor-code"].houdini == EloLine(1.9518243250891987, -1361.61176329289)
    assert all(name == game.name for name, game in GAMES.items())


# Wrong types on purpose, hidden from the type checker.
NOT_CHECKED: dict[Any, Any] = {x: x for x in ("1500", 2.5, "1,0")}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: win_probability(float("nan"), 0), "guard_elo=nan is not a finite number"),
        (lambda: win_probability(0, float("inf")), "houdini_elo=inf is not a finite number"),
        (lambda: error_from_elo(NOT_CHECKED["1500"], 0), "evaluator_elo='1500' is not a finite number"),
        (lambda: nested_success(GAMES["mafia"], float("nan"), 1), "gap=nan is not a finite number"),
        (lambda: nested_success(GAMES["mafia"], 400, 0), "steps=0 is not a whole number >= 1"),
        (lambda: nested_success(GAMES["mafia"], 400, NOT_CHECKED[2.5]), "steps=2.5 is not a whole number >= 1"),
        (lambda: nested_success(GAMES["mafia"], 400, True), "steps=True is not a whole number >= 1"),
        (lambda: nested_success(GAMES["mafia"], 400, 1, start=-math.inf), "start=-inf is not a finite number"),
        (lambda: optimal_steps(GAMES["mafia"], 400, max_steps=0), "max_steps=0 is not a whole number >= 1"),
        (lambda: optimal_steps(GAMES["mafia"], math.inf), "gap=inf is not a finite number"),
        (lambda: EloLine(float("nan"), 0.0), "slope=nan is not a finite number"),
        (lambda: EloLine(1.0, 0.0, high=float("inf")), "high=inf is not a finite number"),
        (lambda: EloLine(1.0, 0.0, low=5.0, high=1.0), "low=5.0 is above high=1.0"),
        (lambda: game_from_lines((1.0,), (1.0, 0.0)), r"guard=\(1.0,\) is not \(slope, intercept\)"),
        (lambda: game_from_lines((1.0, 0.0), NOT_CHECKED["1,0"]), "houdini='1,0' is not"),
    ],
)
def test_invalid_input_is_named_in_a_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- no scipy: the logistic by hand -------------------------------------------------------------


@given(st.floats(-700, 800, allow_nan=False))
def test_the_logistic_is_scipys(x):
    # (below -709 scipy's 1 / (1 + exp(-x)) is 0 where exp(x) / (1 + exp(x)) still has subnormal digits)
    special = pytest.importorskip("scipy.special")
    from rrm_theory import nso

    assert nso._expit(x) == pytest.approx(float(special.expit(x)), rel=4e-16, abs=1e-320)
    got = nso._log_expit(np.array([x]))[0]
    assert got == pytest.approx(float(special.log_expit(x)), rel=4e-16, abs=1e-320)


def test_the_games_come_from_one_table():
    from rrm_theory._nso_games import DEFAULT_MAX_STEPS as STEPS
    from rrm_theory._nso_games import DEFAULT_START as START
    from rrm_theory._nso_games import GAME_LINES

    assert list(GAMES) == list(GAME_LINES) and (DEFAULT_START, STEPS) == (START, 20)
    for name, (guard, houdini) in GAME_LINES.items():
        assert GAMES[name] == Game(name, EloLine(*guard), EloLine(*houdini))
