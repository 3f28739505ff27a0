"""Heatmaps and bar charts: the noise x depth phase diagram and the importance tornado."""

from __future__ import annotations

from typing import Any

import numpy as np

from .curves import METRIC_LABELS, _axes

__all__ = ["phase_diagram", "importance_chart"]


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres (half-way between neighbours, same step at the ends)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def phase_diagram(
    table: Any,
    *,
    x: str = "generate.internal.error",
    y: str = "generate.depth",
    metric: str = "error",
    threshold: float | None = None,
    threshold_label: str = "noise threshold",
    ax: Any = None,
    colorbar: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
    colorbar_label: str | None = None,
    legend_loc: str = "upper right",
) -> Any:
    """A metric over two axes (say evaluator error x depth) as a heatmap, with a threshold line.

    Parameters
    ----------
    table : pandas.DataFrame
        A study's table; its ``exact`` rows (all rows, when it has none, as a theory
        study's table) give one cell per (x, y).
    x, y : str
        The columns across and up.
    metric : str
        The colour's column (and the colour bar's label).
    threshold : float, optional
        An x value drawn as a vertical line (an analytic threshold).
    threshold_label : str
        Its legend label.
    ax : matplotlib Axes, optional
    colorbar : bool
        Add a colour bar beside the Axes.
    xlabel, ylabel, colorbar_label : str, optional
        Axis and colour-bar labels (defaults: evaluator error, depth, and the metric's
        meaning from :data:`METRIC_LABELS`).
    legend_loc : str
        Where the threshold's legend goes (a matplotlib legend location).

    Returns
    -------
    matplotlib.axes.Axes
        The mesh is ``ax.collections[0]``; its array holds the metric, one row per y
        (ascending), one column per x (ascending).

    Raises
    ------
    ValueError
        If the table has no rows to draw.
    KeyError
        If it lacks the ``x``, ``y`` or ``metric`` column.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> t = pd.DataFrame({"e": [0.1, 0.2, 0.1, 0.2], "d": [1, 1, 2, 2], "error": [0.1, 0.2, 0.15, 0.3]})
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = phase_diagram(t, x="e", y="d", threshold=1 / 6, ax=ax)
    >>> ax.collections[0].get_array().ravel().tolist()
    [0.1, 0.2, 0.15, 0.3]
    """
    ax = _axes(ax)
    exact = "method" in table and (table["method"] == "exact").any()
    rows = table[table["method"] == "exact"] if exact else table
    if not len(rows):
        raise ValueError("phase_diagram: the table has no rows to draw")
    xs = np.array(sorted(set(rows[x].tolist())), dtype=float)
    ys = np.array(sorted(set(rows[y].tolist())), dtype=float)
    grid = np.full((len(ys), len(xs)), np.nan)
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    for a, b, v in zip(rows[x].to_numpy(float), rows[y].to_numpy(float), rows[metric].to_numpy(float)):
        grid[yi[b], xi[a]] = v
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), np.ma.masked_invalid(grid), shading="flat", rasterized=True)
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=colorbar_label or METRIC_LABELS.get(metric, metric))
    if threshold is not None:
        ax.axvline(threshold, color="white", linewidth=1.6)
        ax.axvline(threshold, color="black", linewidth=0.9, linestyle="--", label=threshold_label)
        ax.legend(loc=legend_loc, frameon=True, framealpha=0.85, edgecolor="none")
    ax.set_xlabel(xlabel or ("evaluator error (each rate)" if x.endswith("error") else x))
    ax.set_ylabel(ylabel or ("depth (levels of decomposition)" if y.endswith("depth") else y))
    return ax


def importance_chart(importance: Any, *, top: int = 8, which: str = "both", ax: Any = None) -> Any:
    """A tornado: how the root false accept changes if each evaluator were perfect, or failed.

    Parameters
    ----------
    importance : rrm_theory.Importance
        From :func:`rrm_theory.importance`.
    top : int
        The evaluators shown (most important first, at the top).
    which : {"both", "perfect", "failed"}
        The bars drawn: the change if the evaluator reported its input faithfully
        ("perfect"), if it always approved ("failed"), or both on one axis. The two
        often differ by orders of magnitude: draw them on two panels then.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per kind drawn: each bar's width is the change of the root
        rate from its value (negative: the evaluator's improvement lowers it).

    Raises
    ------
    ValueError
        For an unknown ``which``, or when the root's false accept rate is
        undefined (the work is never bad).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import rrm_theory as rrm
    >>> ranked = rrm.importance(rrm.load_spec("models/chip-design.toml"))
    >>> fig, ax = plt.subplots()
    >>> ax = importance_chart(ranked, top=3, ax=ax)
    >>> [t.get_text() for t in ax.get_yticklabels()]     # the most important at the top
    ['design', 'side-channels', 'security']
    >>> round(float(ax.containers[0][0].get_width()), 4)     # design perfect: the root rate falls by
    -0.0088
    """
    from .._text import printable
    from ._style import PALETTE

    if which not in ("both", "perfect", "failed"):
        raise ValueError(f"which={which!r} is not 'both', 'perfect' or 'failed'")
    ax = _axes(ax)
    base = importance.root.false_accept
    if base is None:
        raise ValueError("the root's false accept rate is undefined (the work is never bad): nothing to rank")
    records = importance.top(top)
    y = np.arange(len(records))[::-1]
    kinds = [("perfect", "false_accept_if_perfect", "if perfect", PALETTE[1]),
             ("failed", "false_accept_if_failed", "if always approving", PALETTE[2])]  # fmt: skip
    for kind, field, label, colour in kinds:
        if which in (kind, "both"):
            change = [0.0 if getattr(r, field) is None else getattr(r, field) - base for r in records]
            ax.barh(y, change, height=0.6, color=colour, label=label)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(y, [printable(str(r.node)) for r in records])
    what = {"both": "", "perfect": " if perfect", "failed": " if always approving"}[which]
    ax.set_xlabel(f"change in root P(approve | bad work){what}")
    if which == "both":
        ax.legend(loc="lower right")
    return ax
