"""Capability gaps in Elo: nested scalable oversight (Engels et al. 2025).

Evaluators in MODEL.md section 2 are described by error rates. This module
derives such rates from *capabilities* instead, after Engels, Baek, Kantamneni
and Tegmark (2025): oversight is a game between a *guard* (the overseer) and a
*houdini* (the system overseen, trying to get a bad output accepted), each
with an Elo score in the oversight domain.

Notation
    ``g``
        general Elo of a model (a proxy for overall capability).
    ``E = domain(g)``
        its domain Elo in the oversight game. The paper's "double ReLU":
        ``domain(g) = slope * clip(g, low, high) + intercept``, flat below the
        incompetence plateau ``low`` and above the saturation plateau ``high``
        (either may be absent). Guard and houdini have separate lines.
    ``P(E_G, E_H) = 1 / (1 + 10 ** ((E_H - E_G) / 400))``
        probability that a guard of domain Elo ``E_G`` catches a houdini of
        domain Elo ``E_H`` (the Elo formula). Computed as
        ``expit(k * (E_G - E_H))`` with ``k = ln(10) / 400``, which is the same
        number and neither overflows nor warns for huge gaps.
    ``D``
        the general-Elo gap between the starting guard, at general Elo ``G0``,
        and the target houdini, at ``G0 + D``.

Nested oversight in ``n`` steps
    Step ``j = 0, ..., n-1`` has the guard at general Elo ``G0 + j D / n``
    oversee a houdini at ``G0 + (j + 1) D / n``; the overseen model then
    becomes the next step's guard. Each side's domain Elo comes from its own
    line, and oversight succeeds if every step succeeds::

        S(n) = prod_j P(guard.domain(G0 + j D/n), houdini.domain(G0 + (j+1) D/n))

    computed as ``exp(sum_j log P)``. The optimal number of steps ``n*``
    maximises ``S(n)`` over ``n = 1, ..., N`` (default ``N = 20``, as in the
    authors' code); ties go to the smallest ``n``.

Data
    :data:`GAMES` holds the guard and houdini lines the authors fitted for
    their four oversight games (from their public code, notebook
    ``elo/theory-predictions.ipynb``), with ``G0 =`` :data:`DEFAULT_START`
    ``= 1103``, and no plateaus. With them, :func:`optimal_steps` reproduces
    that notebook's printed optima at ``D = 400`` (see ``tests/test_nso.py``).

References
----------
J. Engels, D. D. Baek, S. Kantamneni, M. Tegmark (2025). Scaling Laws For
Scalable Oversight. arXiv:2504.18530. Code:
https://github.com/subhashk01/oversight-scaling-laws
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Protocol, Sequence, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._nso_games import DEFAULT_MAX_STEPS, DEFAULT_START, GAME_LINES

__all__ = [
    "EloLine",
    "Game",
    "GAMES",
    "DEFAULT_START",
    "DEFAULT_MAX_STEPS",
    "win_probability",
    "error_from_elo",
    "nested_success",
    "NSOResult",
    "optimal_steps",
    "game_from_lines",
]

# DEFAULT_START (general Elo of the starting guard in the paper's application to its games) and
# DEFAULT_MAX_STEPS (the most steps optimal_steps tries by default) live in _nso_games with the
# games' lines, which the command line's parsers read without numpy.

# Elo's base-10, 400-point logistic as a natural-log logistic.
_K = math.log(10.0) / 400.0


def _expit(x: float) -> float:
    """``1 / (1 + exp(-x))`` without overflow: for x < 0 as ``exp(x) / (1 + exp(x))``."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _log_expit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``log(expit(x))`` elementwise, as scipy.special.log_expit: ``min(x, 0) - log1p(exp(-|x|))``."""
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is not a finite number")
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name}={value!r} is not a whole number >= 1")
    return int(value)


@dataclass(frozen=True)
class EloLine:
    """Domain Elo as a function of general Elo, with optional plateaus.

    ``domain(g) = slope * clip(g, low, high) + intercept``: a line between the
    general Elos ``low`` and ``high``, flat outside them (the paper's
    "double ReLU"). ``None`` leaves that side unclipped.

    Attributes
    ----------
    slope, intercept : float
        The line, in domain Elo per general Elo and domain Elo.
    low, high : float or None
        General Elo of the incompetence and saturation plateaus.

    Raises
    ------
    ValueError
        If a number is not finite or ``low > high``.

    Examples
    --------
    >>> line = EloLine(2.0, -1000.0, low=800.0, high=1200.0)
    >>> line.domain(1000.0)
    1000.0
    >>> line.domain([0.0, 1000.0, 5000.0]).tolist()
    [600.0, 1000.0, 1400.0]
    """

    slope: float
    intercept: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        for name in ("slope", "intercept", "low", "high"):
            value = getattr(self, name)
            if value is not None or name in ("slope", "intercept"):
                object.__setattr__(self, name, _finite(name, value))
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low={self.low!r} is above high={self.high!r}; need low <= high")

    @overload
    def domain(self, general: float) -> float: ...
    @overload
    def domain(self, general: ArrayLike) -> float | NDArray[np.float64]: ...

    def domain(self, general: ArrayLike) -> float | NDArray[np.float64]:
        """Domain Elo at general Elo ``general`` (a number or an array of them).

        Returns a float for a scalar and a new array otherwise.
        """
        g = np.asarray(general, dtype=float)
        if self.low is not None or self.high is not None:
            g = np.clip(g, self.low, self.high)
        out = self.slope * g + self.intercept
        return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Game:
    """An oversight game: the guard's and the houdini's Elo lines.

    Attributes
    ----------
    name : str
        The game's name (a key of :data:`GAMES` for the paper's four).
    guard : EloLine
        The overseer's domain Elo by general Elo.
    houdini : EloLine
        The overseen system's domain Elo by general Elo.

    Examples
    --------
    >>> GAMES["debate"].houdini.slope
    0.04936115584058696
    """

    name: str
    guard: EloLine
    houdini: EloLine


def _game(name: str, guard: tuple[float, float], houdini: tuple[float, float]) -> Game:
    return Game(name, EloLine(*guard), EloLine(*houdini))


#: The four oversight games of Engels et al. (2025), lines as fitted in the
#: authors' code (domain Elo = slope * general Elo + intercept, no plateaus).
GAMES: dict[str, Game] = {name: _game(name, guard, houdini) for name, (guard, houdini) in GAME_LINES.items()}


class _Line(Protocol):
    def domain(self, general: Any) -> Any: ...


class _GameLike(Protocol):
    @property
    def guard(self) -> _Line: ...
    @property
    def houdini(self) -> _Line: ...


def win_probability(guard_elo: float, houdini_elo: float) -> float:
    """Probability that a guard of domain Elo ``guard_elo`` catches a houdini.

    ``P = 1 / (1 + 10 ** ((houdini_elo - guard_elo) / 400))``, evaluated as
    ``expit(ln(10) / 400 * (guard_elo - houdini_elo))``: exact to rounding at
    any gap, 0.0 or 1.0 (without warnings) when the gap is astronomical.

    Parameters
    ----------
    guard_elo, houdini_elo : float
        Domain Elos of the overseer and of the system overseen.

    Returns
    -------
    float
        A probability in [0, 1]; 0.5 at equal Elo.

    Raises
    ------
    ValueError
        If an Elo is not a finite number.

    Examples
    --------
    >>> win_probability(1500, 1500)
    0.5
    >>> round(win_probability(1500, 1100), 6)  # 400 points up: 10/11
    0.909091
    >>> win_probability(0, 1e6)
    0.0

    References
    ----------
    Engels et al. (2025), arXiv:2504.18530, section 2 (Elo win probability).
    """
    g = _finite("guard_elo", guard_elo)
    h = _finite("houdini_elo", houdini_elo)
    return _expit(_K * (g - h))


def error_from_elo(evaluator_elo: float, target_elo: float) -> float:
    """False-accept rate of an evaluator from its Elo gap to the target it oversees.

    ``1 - win_probability(evaluator_elo, target_elo)``, the chance the target
    gets a bad output past the evaluator, so a spec can state Elos instead of
    error rates. Evaluated as ``win_probability(target_elo, evaluator_elo)``,
    the same number without cancellation when it is tiny.

    Parameters
    ----------
    evaluator_elo, target_elo : float
        Domain Elos of the evaluator (guard) and the target (houdini).

    Returns
    -------
    float
        A false-accept rate in [0, 1]; 0.5 at equal Elo.

    Raises
    ------
    ValueError
        If an Elo is not a finite number.

    Examples
    --------
    An evaluator 400 points weaker than its target is fooled 10 times in 11:

    >>> round(error_from_elo(1100, 1500), 6)
    0.909091
    >>> error_from_elo(1500, 1500)
    0.5

    References
    ----------
    Engels et al. (2025), arXiv:2504.18530.
    """
    e = _finite("evaluator_elo", evaluator_elo)
    t = _finite("target_elo", target_elo)
    return _expit(_K * (t - e))


def _lines(game: _GameLike) -> tuple[_Line, _Line]:
    try:
        guard, houdini = game.guard, game.houdini
        guard.domain, houdini.domain
    except AttributeError:
        raise TypeError(f"game={game!r} has no .guard and .houdini Elo lines (see EloLine)") from None
    return guard, houdini


def _log_success(guard: _Line, houdini: _Line, gap: float, steps: int, start: float) -> float:
    j = np.arange(steps, dtype=float)
    guard_elo = np.asarray(guard.domain(start + gap * j / steps), dtype=float)
    houdini_elo = np.asarray(houdini.domain(start + gap * (j + 1.0) / steps), dtype=float)
    return float(np.sum(_log_expit(_K * (guard_elo - houdini_elo))))


def nested_success(game: Game | _GameLike, gap: float, steps: int, *, start: float = DEFAULT_START) -> float:
    """Probability that nested oversight in ``steps`` equal steps succeeds.

    ``S(n) = prod_j P(guard.domain(G0 + j D/n), houdini.domain(G0 + (j+1) D/n))``
    over ``j = 0, ..., n-1``, summed in log space and exponentiated.

    Parameters
    ----------
    game : Game
        The guard and houdini lines (any object with ``.guard`` and
        ``.houdini`` having a ``domain`` method will do).
    gap : float
        General-Elo gap ``D`` from the starting guard to the target houdini.
    steps : int
        Number of oversight steps ``n`` (>= 1).
    start : float, optional
        General Elo ``G0`` of the starting guard.

    Returns
    -------
    float
        The success probability, in [0, 1].

    Raises
    ------
    ValueError
        If ``gap`` or ``start`` is not finite, or ``steps`` is not a whole
        number >= 1.
    TypeError
        If ``game`` has no ``.guard`` and ``.houdini`` with a ``domain`` method.

    Examples
    --------
    One step at a 400-point gap in Debate, as in the authors' code:

    >>> round(nested_success(GAMES["debate"], 400, 1), 4)
    0.5136
    >>> round(nested_success(GAMES["debate"], 400, 2), 4)
    0.4164

    References
    ----------
    Engels et al. (2025), arXiv:2504.18530, section on nested scalable oversight.
    """
    guard, houdini = _lines(game)
    d = _finite("gap", gap)
    n = _count("steps", steps)
    g0 = _finite("start", start)
    return math.exp(_log_success(guard, houdini, d, n, g0))


@dataclass(frozen=True)
class NSOResult:
    """The best number of nested-oversight steps and the success it gives.

    Attributes
    ----------
    optimal_steps : int
        The ``n`` in ``1..N`` maximising the success; the smallest on ties.
    success : float
        The success probability with ``optimal_steps`` steps.
    success_by_steps : list of float
        Success with ``n = 1, ..., N`` steps (entry ``n - 1`` for ``n``).

    Examples
    --------
    >>> result = optimal_steps(GAMES["debate"], 400, max_steps=3)
    >>> result.optimal_steps, [round(s, 4) for s in result.to_dict()["success_by_steps"]]
    (1, [0.5136, 0.4164, 0.3253])
    """

    optimal_steps: int
    success: float
    success_by_steps: list[float]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (a copy), for JSON reports."""
        return {
            "optimal_steps": self.optimal_steps,
            "success": self.success,
            "success_by_steps": list(self.success_by_steps),
        }


def optimal_steps(
    game: Game | _GameLike, gap: float, *, start: float = DEFAULT_START, max_steps: int = DEFAULT_MAX_STEPS
) -> NSOResult:
    """Number of nested-oversight steps that maximises the success probability.

    Evaluates :func:`nested_success` for ``n = 1, ..., max_steps`` and keeps
    the best, comparing log-success so that successes too small for a float
    are still ranked; ties go to the smallest ``n``.

    Parameters
    ----------
    game : Game
        The guard and houdini lines.
    gap : float
        General-Elo gap ``D`` from the starting guard to the target houdini.
    start : float, optional
        General Elo ``G0`` of the starting guard.
    max_steps : int, optional
        Largest number of steps ``N`` tried (>= 1).

    Returns
    -------
    NSOResult

    Raises
    ------
    ValueError
        If ``gap`` or ``start`` is not finite, or ``max_steps`` is not a
        whole number >= 1.
    TypeError
        If ``game`` has no ``.guard`` and ``.houdini`` with a ``domain`` method.

    Examples
    --------
    Backdoor Code at a 400-point gap is best overseen in two steps:

    >>> result = optimal_steps(GAMES["backdoor-code"], 400)
    >>> result.optimal_steps, round(result.success, 4)
    (2, 0.2757)
    >>> [round(s, 4) for s in result.success_by_steps[:3]]
    [0.2134, 0.2757, 0.2578]

    References
    ----------
    Engels et al. (2025), arXiv:2504.18530, section on nested scalable oversight.
    """
    guard, houdini = _lines(game)
    d = _finite("gap", gap)
    g0 = _finite("start", start)
    top = _count("max_steps", max_steps)
    logs = [_log_success(guard, houdini, d, n, g0) for n in range(1, top + 1)]
    best = max(range(top), key=lambda i: (logs[i], -i))
    by_steps = [math.exp(v) for v in logs]
    return NSOResult(optimal_steps=best + 1, success=by_steps[best], success_by_steps=by_steps)


def _as_line(name: str, line: EloLine | Sequence[float]) -> EloLine:
    if isinstance(line, EloLine):
        return line
    if isinstance(line, (str, bytes)) or not isinstance(line, Sequence) or not 2 <= len(line) <= 4:
        raise ValueError(f"{name}={line!r} is not (slope, intercept) or (slope, intercept, low, high)")
    return EloLine(*line)


def game_from_lines(
    guard: EloLine | Sequence[float], houdini: EloLine | Sequence[float], *, name: str = "custom"
) -> Game:
    """A :class:`Game` from two lines written as tuples.

    Parameters
    ----------
    guard, houdini : EloLine or sequence of float
        ``(slope, intercept)``, optionally followed by the plateaus
        ``low, high`` (None for no plateau), or an :class:`EloLine`.
    name : str, optional
        The game's name.

    Returns
    -------
    Game

    Raises
    ------
    ValueError
        If a line has the wrong length or a non-finite number.

    Examples
    --------
    Identical lines of slope 1: a 400-point gap in one step is a 400-point
    domain gap.

    >>> game = game_from_lines(guard=(1.0, 0.0), houdini=(1.0, 0.0))
    >>> round(nested_success(game, 400, 1), 6)  # 1/11
    0.090909
    """
    return Game(name, _as_line("guard", guard), _as_line("houdini", houdini))
