"""The nested-oversight figure of Engels et al. (2025): success and optimal steps against the gap."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .curves import _axes, _series

__all__ = ["nso_panels", "nso_table"]

GAME_ORDER = ("mafia", "debate", "backdoor-code", "wargames")


def nso_table(gaps: Sequence[float], *, games: Sequence[str] = GAME_ORDER, max_steps: int = 20) -> Any:
    """The optimal number of nested-oversight steps and its success, per game and gap.

    By the closed form of :mod:`rrm_theory.nso` (:func:`~rrm_theory.nso.optimal_steps`),
    from the default starting guard.

    Parameters
    ----------
    gaps : sequence of float
        General-Elo gaps from the starting guard to the target houdini.
    games : sequence of str, keyword-only
        Keys of :data:`rrm_theory.nso.GAMES`.
    max_steps : int, keyword-only
        The most steps tried.

    Returns
    -------
    pandas.DataFrame
        One row per (game, gap), games outermost: ``game``, ``gap``, ``optimal_steps``,
        ``success`` (at the optimal number of steps).

    Raises
    ------
    KeyError
        For a game that is not in :data:`~rrm_theory.nso.GAMES`.
    ValueError
        For a gap that is not finite, or ``max_steps`` not a whole number >= 1.

    Examples
    --------
    >>> t = nso_table([400], games=["debate"])
    >>> int(t["optimal_steps"][0]), round(float(t["success"][0]), 4)
    (1, 0.5136)
    """
    import pandas as pd

    from .. import nso

    rows = []
    for game in games:
        for gap in gaps:
            result = nso.optimal_steps(nso.GAMES[game], float(gap), max_steps=max_steps)
            rows.append({"game": game, "gap": float(gap), "optimal_steps": result.optimal_steps,
                         "success": result.success})  # fmt: skip
    return pd.DataFrame(rows)


def nso_panels(table: Any, *, axes: Any = None) -> Any:
    """Success against the gap for each game, and the optimal number of steps against the gap.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``game``, ``gap``, ``success`` and ``optimal_steps`` (:func:`nso_table`, or a
        ``kind = "nso"`` study's table).
    axes : sequence of two matplotlib Axes, optional
        Default: a new figure with two panels side by side.

    Returns
    -------
    numpy.ndarray of two Axes

    Raises
    ------
    KeyError
        If the table lacks one of the four columns.

    References
    ----------
    J. Engels, D. D. Baek, S. Kantamneni, M. Tegmark (2025). Scaling laws for scalable
    oversight. arXiv:2504.18530.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> axes = nso_panels(nso_table([0, 400, 800], games=["debate", "mafia"]))
    >>> [line.get_label() for line in axes[0].lines]
    ['mafia', 'debate']
    >>> [round(float(y), 4) for y in axes[0].lines[1].get_ydata()][1]    # debate at a 400 gap
    0.5136
    """
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, sharex=True)
    axes = np.asarray(axes)
    ordered = sorted(set(table["game"]), key=lambda g: (GAME_ORDER.index(g) if g in GAME_ORDER else 99, g))
    for game in ordered:
        rows = table[table["game"] == game].sort_values("gap")
        x = rows["gap"].to_numpy(float)
        axes[0].plot(x, rows["success"].to_numpy(float), label=game)
        axes[1].step(x, rows["optimal_steps"].to_numpy(float), where="mid", label=game)
    axes[0].set_ylabel("P(oversight succeeds)\nat the best number of steps")
    axes[1].set_ylabel("best number of oversight steps")
    for ax in axes:
        ax.set_xlabel("general Elo gap, guard to houdini")
    axes[1].yaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylim(0.0, 1.0)
    axes[0].legend()
    return axes
