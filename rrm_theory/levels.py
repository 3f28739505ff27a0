"""Training levels: the "recursive" in recursive reward modeling (MODEL.md section 5; docs/theory.md).

Level k's helpers are trained by reward modeling on labels produced by the
assisted evaluation of level k - 1; the human's unaided error grows with each
level's difficulty. The level map, stated as formulas (``eps_k`` is the
oversight error of level k's assisted evaluation, ``u_k`` the human's unaided
error, ``h_k`` a level-k helper's error):

    u_k   = 1/2 - (1/2 - u_0) * r**k                     difficulty: the unaided advantage shrinks by r per level
    h_k   = min(1/2, gamma * (eps_{k-1} + g))            reward learning from labels with error eps_{k-1},
                                                         a generalisation gap g, amplification gamma >= 0
                                                         (optimisation pressure against the reward model)
    eps_0 = u_0                                          level 0: the human alone
    eps_k = c + (1 - 2c) * P(rule over the votes is wrong)

where the votes are m independent helpers with error ``h_k`` plus (optionally)
the human's own direct look with error ``u_k``, combined by ``rule`` (good work,
so a vote is wrong when it rejects; the rule is wrong when fewer than T votes
approve), and ``c`` is the human's own error in combining them. The helpers' and
human's errors are symmetric here (the same for false accepts and rejects).

With one helper and no vote of the human's own (``helpers=1``, ``human_vote=False``)
the map is linear below the clip, ``eps_k = A eps_{k-1} + B`` with
``A = (1 - 2c) gamma`` and ``B = c + (1 - 2c) gamma g``, and has the closed form
``eps_k = A**k eps_0 + B (1 - A**k) / (1 - A)``; its fixed point ``B / (1 - A)`` is
stable iff ``A < 1``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .rules import parse_rule, threshold_form

if TYPE_CHECKING:
    import sympy as sp

__all__ = ["TrainingModel", "trajectory", "level_fixed_points", "max_level", "linear_closed_form"]


def _tail(p: np.ndarray, k: int) -> float:
    """P(S >= k) for S a sum of independent Bernoulli(p) (Poisson binomial), exactly.

    The same dynamic programme as ``rrm_theory.bounds.poisson_binomial_tail``, here so that the
    level map needs neither networkx nor scipy.
    """
    dist = np.zeros(len(p) + 1)
    dist[0] = 1.0
    for q in p:
        dist[1:] = dist[1:] * (1.0 - q) + dist[:-1] * q
        dist[0] *= 1.0 - q
    return float(dist[max(k, 0):].sum())


@dataclass(frozen=True)
class TrainingModel:
    """Parameters of the level map (module docstring).

    Attributes
    ----------
    human_error : float
        u_0, the human's unaided error at level 0.
    difficulty : float
        r in (0, 1]: each level multiplies the human's unaided advantage 1/2 - u by r.
    helpers : int
        m, helpers assisting the human at every level.
    amplification : float
        gamma >= 0, how much optimisation pressure amplifies label noise.
    gap : float
        g >= 0, the generalisation gap added to the label error.
    combine_error : float
        c, the human's own error when combining the votes.
    rule : str
        How the votes combine (MODEL.md section 2.2).
    human_vote : bool
        Whether the human's own direct look is one of the votes.

    Raises
    ------
    ValueError
        If an error rate is not in [0, 1/2], ``difficulty`` not in (0, 1],
        ``amplification`` or ``gap`` not a finite number >= 0, ``helpers`` not a
        whole number >= 0, there is no vote, or the rule needs more votes than
        there are.

    Examples
    --------
    >>> m = TrainingModel(human_error=0.1, difficulty=0.9, helpers=3)
    >>> m.votes, round(m.unaided(2), 4), round(m.step(0.1, 1), 5)
    (4, 0.176, 0.06202)
    """

    human_error: float = 0.1
    difficulty: float = 0.9
    helpers: int = 3
    amplification: float = 1.0
    gap: float = 0.0
    combine_error: float = 0.0
    rule: str = "majority"
    human_vote: bool = True

    def __post_init__(self) -> None:
        for name in ("human_error", "combine_error"):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.5:
                raise ValueError(f"{name}={value!r} is not an error rate in [0, 1/2]")
        if not 0.0 < self.difficulty <= 1.0:
            raise ValueError(f"difficulty={self.difficulty!r} is not in (0, 1]")
        if not (self.amplification >= 0.0 and math.isfinite(self.amplification)):
            raise ValueError(f"amplification={self.amplification!r} is not a finite number >= 0")
        if not (self.gap >= 0.0 and math.isfinite(self.gap)):
            raise ValueError(f"gap={self.gap!r} is not a finite number >= 0")
        if isinstance(self.helpers, bool) or not isinstance(self.helpers, int) or self.helpers < 0:
            raise ValueError(f"helpers={self.helpers!r} is not a whole number >= 0")
        if self.votes < 1:
            raise ValueError("no votes: give at least one helper or the human's own vote")
        rule = parse_rule(self.rule)
        if rule.kind == "at_least" and rule.k is not None and rule.k > self.votes:
            raise ValueError(f"rule={self.rule!r} needs {rule.k} votes, there are {self.votes}")

    @property
    def votes(self) -> int:
        """The votes combined at every level: the helpers, and the human's own if it votes."""
        return self.helpers + int(self.human_vote)

    def unaided(self, level: float) -> float:
        """u_k; ``level = inf`` gives the limit (1/2 when r < 1)."""
        if math.isinf(level):
            return 0.5 if self.difficulty < 1.0 else self.human_error
        if level == 0:
            return self.human_error
        return 0.5 - (0.5 - self.human_error) * self.difficulty**level

    def helper_error(self, label_error: float) -> float:
        """h_k from the previous level's oversight error."""
        return min(0.5, self.amplification * (label_error + self.gap))

    def assisted(self, helper: float, unaided: float) -> float:
        """eps_k from the helpers' and the human's errors."""
        errors = [helper] * self.helpers + ([unaided] if self.human_vote else [])
        n = len(errors)
        T = threshold_form(parse_rule(self.rule), n, weights=[1.0] * n, threshold=0.5).threshold
        wrong = _tail(np.array(errors), n - T + 1)  # fewer than T votes approve good work
        c = self.combine_error
        return c + (1.0 - 2.0 * c) * wrong

    def step(self, previous: float, level: float) -> float:
        """The level map: eps_{k-1} -> eps_k."""
        return self.assisted(self.helper_error(previous), self.unaided(level))


def trajectory(model: TrainingModel, levels: int) -> dict[str, list[float]]:
    """Assisted and unaided error (and the helpers') for levels 0..levels.

    Parameters
    ----------
    model : TrainingModel
        The level map's parameters.
    levels : int
        The last level.

    Returns
    -------
    dict of str to list of float
        ``assisted`` (eps_k), ``unaided`` (u_k) and ``helper`` (h_k, NaN at level 0,
        which has no helpers), each with ``levels + 1`` entries.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`TrainingModel` (whose values are checked when it is built).
    TypeError
        If ``levels`` is not an integer.

    Examples
    --------
    >>> out = trajectory(TrainingModel(human_error=0.1, difficulty=0.9, helpers=3), 3)
    >>> [round(x, 4) for x in out["unaided"]]
    [0.1, 0.14, 0.176, 0.2084]
    >>> out["assisted"][0] == out["unaided"][0]
    True
    """
    assisted = [model.human_error]
    helper = [float("nan")]
    for k in range(1, levels + 1):
        helper.append(model.helper_error(assisted[-1]))
        assisted.append(model.step(assisted[-1], k))
    return {"assisted": assisted, "unaided": [model.unaided(k) for k in range(levels + 1)], "helper": helper}


def level_fixed_points(model: TrainingModel, *, level: float = math.inf) -> list[tuple[float, bool]]:
    """Fixed points of the level map in [0, 1/2] at the difficulty of ``level`` (default: its limit).

    The map depends on the level through u_k; its fixed points describe where
    the oversight error settles once difficulty has saturated. Found by
    bracketing sign changes on a fine grid and bisecting each to adjacent floats;
    stability is ``|map'(x)| < 1`` (central difference).

    Parameters
    ----------
    model : TrainingModel
        The level map's parameters.
    level : float, keyword-only
        The level whose unaided error enters the map; ``math.inf`` for the limit.

    Returns
    -------
    list of (float, bool)
        Each fixed point (rounded to 12 decimals), ascending, and whether it is stable.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`TrainingModel` (whose values are checked when it is built).

    Examples
    --------
    Three helpers and no vote of the human's own: majority of three, ``e -> 3e^2 - 2e^3``:

    >>> level_fixed_points(TrainingModel(helpers=3, human_vote=False))
    [(0.0, True), (0.5, False)]
    """
    def g(x: float) -> float:
        return model.step(x, level) - x

    grid = np.linspace(0.0, 0.5, 2001)
    values = np.array([g(x) for x in grid])
    roots = [float(x) for x, v in zip(grid, values) if v == 0.0]
    for (x0, v0), (x1, v1) in zip(zip(grid, values), zip(grid[1:], values[1:])):
        if v0 * v1 < 0:
            roots.append(_bisect(g, float(x0), float(x1), float(v0)))
    out = []
    for x in sorted(set(round(r, 12) for r in roots)):
        h = 1e-7
        lo, hi = max(0.0, x - h), min(0.5, x + h)
        slope = (model.step(hi, level) - model.step(lo, level)) / (hi - lo)
        out.append((x, abs(slope) < 1.0))
    return out


def _bisect(g: Callable[[float], float], a: float, b: float, ga: float) -> float:
    """A zero of g in [a, b], where g changes sign, to adjacent floats (the end with the smaller |g|)."""
    gb = g(b)
    while True:
        mid = a + (b - a) / 2
        if not a < mid < b:
            return a if abs(ga) <= abs(gb) else b
        gm = g(mid)
        if gm == 0.0:
            return mid
        if (gm > 0) == (ga > 0):
            a, ga = mid, gm
        else:
            b, gb = mid, gm


def max_level(model: TrainingModel, target: float, *, cap: int = 1000) -> dict[str, Any]:
    """The highest level whose assisted error stays below ``target`` at every level up to it.

    Parameters
    ----------
    model : TrainingModel
        The level map's parameters.
    target : float
        The error every level up to the answer stays strictly below.
    cap : int, keyword-only
        The last level considered.

    Returns
    -------
    dict
        ``{"max_level": int | None, "unbounded": bool}``: None with ``unbounded``
        false when even level 0 fails, None with ``unbounded`` true when no level up
        to ``cap`` fails.

    Raises
    ------
    AttributeError
        If ``model`` is not a :class:`TrainingModel` (whose values are checked when it is built).
    TypeError
        If ``cap`` is not an integer.

    Examples
    --------
    >>> model = TrainingModel(human_error=0.1, difficulty=0.9, helpers=3)
    >>> max_level(model, 0.2)
    {'max_level': 20, 'unbounded': False}
    >>> max_level(TrainingModel(helpers=3, human_vote=False), 0.2)
    {'max_level': None, 'unbounded': True}
    """
    errors = trajectory(model, cap)["assisted"]
    for k, err in enumerate(errors):
        if not err < target:
            return {"max_level": None if k == 0 else k - 1, "unbounded": False}
    return {"max_level": None, "unbounded": True}


def linear_closed_form(model: TrainingModel) -> sp.Expr:
    """eps_k in closed form for the linear case (one helper, no human vote), valid below the clip.

    Parameters
    ----------
    model : TrainingModel
        With ``helpers=1`` and ``human_vote=False``.

    Returns
    -------
    sympy.Expr
        eps_k in the symbol ``k``, the rates read as the decimals written (0.01 -> 1/100).

    Raises
    ------
    ValueError
        If the model is not the linear case.

    Examples
    --------
    >>> m = TrainingModel(human_error=0.1, helpers=1, human_vote=False, amplification=1.2, gap=0.01)
    >>> linear_closed_form(m)                 # A = 6/5 > 1: the error grows geometrically
    4*(6/5)**k/25 - 3/50
    """
    import sympy as sp

    if model.helpers != 1 or model.human_vote:
        raise ValueError("the closed form is for the linear case: helpers=1 and human_vote=False")

    def exact(x: float) -> sp.Rational:
        f = Fraction(x) if isinstance(x, Fraction) else Fraction(str(float(x)))
        return sp.Rational(f.numerator, f.denominator)

    k = sp.Symbol("k", integer=True, nonnegative=True)
    c, gamma, g = (exact(x) for x in (model.combine_error, model.amplification, model.gap))
    A = (1 - 2 * c) * gamma
    B = c + (1 - 2 * c) * gamma * g
    e0 = exact(model.human_error)
    if A == 1:
        return e0 + B * k
    star = B / (1 - A)
    return star + (e0 - star) * A**k
