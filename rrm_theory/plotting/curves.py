"""Curves: a metric against depth, the adversary's curve, training-level trajectories.

Each function takes results and ``ax=None`` (the current Axes), draws, and returns
the Axes. Colours and line styles come from the Axes' property cycle (set by
:func:`~rrm_theory.plotting.paper_style`), never from inside the function.
"""

from __future__ import annotations

from typing import Any, Hashable, Mapping

import numpy as np

__all__ = ["METRIC_LABELS", "depth_curve", "adversary_curve", "levels_trajectory"]

#: Axis labels that say what each metric means.
METRIC_LABELS = {
    "false_accept": "P(approve | bad work)",
    "false_reject": "P(reject | good work)",
    "error": "P(verdict wrong)",
    "p_good": "P(work acceptable)",
    "youden": "Youden's J = 1 - FA - FR",
    "worst_false_accept": "worst P(approve | bad work)",
}


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _next_style(ax: Any) -> dict[str, Any]:
    """The colour and line style the Axes' cycle gives next (drawing a throwaway line)."""
    (probe,) = ax.plot([], [])
    style = {"color": probe.get_color(), "linestyle": probe.get_linestyle()}
    probe.remove()
    return style


def _series(table: Any, series: str | None) -> list[tuple[Hashable, Any]]:
    if series is None:
        return [(None, table)]
    values = list(dict.fromkeys(table[series].tolist()))  # first-seen order
    return [(v, table[table[series] == v]) for v in values]


def depth_curve(
    table: Any,
    *,
    metric: str = "false_accept",
    x: str = "generate.depth",
    series: str | None = None,
    ax: Any = None,
    labels: Mapping[Hashable, str] | None = None,
    xlabel: str = "depth (levels of decomposition)",
) -> Any:
    """A metric against depth: exact lines, Monte Carlo points with interval bars, bounds as a band.

    Parameters
    ----------
    table : pandas.DataFrame
        A study's table (:func:`rrm_theory.studies.results`): rows with ``method``
        ``exact`` (the line), ``monte-carlo`` (points, bars from ``<metric>_lo`` to
        ``<metric>_hi``) and ``bounds`` (a band from ``<metric>_lower`` to
        ``<metric>_upper``); any of them may be absent.
    metric : str
        The metric's column (and the y label, :data:`METRIC_LABELS`).
    x : str
        The depth column.
    series : str, optional
        A column whose values get one curve each (a rule, an error rate).
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Legend labels by series value (default ``str(value)``).
    xlabel : str
        The x axis's label.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        If the table lacks the ``method``, ``x``, ``metric`` or ``series`` column,
        or Monte Carlo rows lack ``<metric>_lo`` and ``<metric>_hi``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> table = pd.DataFrame({"generate.depth": [0, 1, 2], "method": "exact",
    ...                       "false_accept": [0.1, 0.15, 0.2]})
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = depth_curve(table, ax=ax)
    >>> ax.lines[0].get_ydata().tolist()
    [0.1, 0.15, 0.2]
    """
    ax = _axes(ax)
    for value, rows in _series(table, series):
        style = _next_style(ax)
        label = None if value is None else (labels or {}).get(value, str(value))
        exact = rows[rows["method"] == "exact"].sort_values(x)
        if len(exact):
            ax.plot(exact[x].to_numpy(float), exact[metric].to_numpy(float), label=label, **style)
            label = None
        mc = rows[rows["method"] == "monte-carlo"].sort_values(x)
        if len(mc):
            y = mc[metric].to_numpy(float)
            err = np.vstack([y - mc[f"{metric}_lo"].to_numpy(float), mc[f"{metric}_hi"].to_numpy(float) - y])
            ax.errorbar(mc[x].to_numpy(float), y, yerr=err, fmt="o", color=style["color"], markersize=2.5,
                        elinewidth=0.8, label=label if label else None)  # fmt: skip
            label = None
        bounds = rows[rows["method"] == "bounds"].sort_values(x)
        if len(bounds) and f"{metric}_lower" in bounds:
            ax.fill_between(bounds[x].to_numpy(float), bounds[f"{metric}_lower"].to_numpy(float),
                            bounds[f"{metric}_upper"].to_numpy(float), color=style["color"], alpha=0.12,
                            edgecolor=style["color"], linewidth=0.4, linestyle=style["linestyle"], label=label)  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    if series is not None:
        ax.legend()
    return ax


def adversary_curve(results: Any, *, ax: Any = None, series: str = "model") -> Any:
    """The worst false accept rate against the number of corruptions.

    Parameters
    ----------
    results : Robustness, mapping of label -> Robustness, or pandas.DataFrame
        One curve, one per label, or a study's table with ``corruptions`` and
        ``worst_false_accept`` columns (one curve per value of ``series``).
    ax : matplotlib Axes, optional
    series : str
        With a table: the column naming each curve.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        If a table lacks the ``corruptions`` or ``worst_false_accept`` column.
    AttributeError
        If a mapping's values are not :class:`~rrm_theory.Robustness` results.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/chip-design.toml")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = adversary_curve({"chip-design": rrm.robustness(tree, budget=2)}, ax=ax)
    >>> [round(float(y), 3) for y in ax.lines[0].get_ydata()]
    [0.233, 0.745, 0.942]
    """
    from ..adversary import Robustness

    ax = _axes(ax)
    curves: list[tuple[str | None, list[float]]] = []
    if isinstance(results, Robustness):
        curves = [(None, results.worst_false_accept or [])]
    elif isinstance(results, Mapping):
        curves = [(str(k), r.worst_false_accept or []) for k, r in results.items()]
    else:
        rows = results[results["method"] == "robustness"] if "method" in results else results
        for value, part in _series(rows, series if series in rows else None):
            part = part.sort_values("corruptions")
            curves.append((None if value is None else str(value), part["worst_false_accept"].tolist()))
    for i, (label, ys) in enumerate(curves):
        from ._style import MARKERS

        ax.plot(range(len(ys)), ys, marker=MARKERS[i % len(MARKERS)], label=label)
    ax.set_xlabel("evaluators the adversary corrupts")
    ax.set_ylabel(METRIC_LABELS["worst_false_accept"])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(-0.02, 1.02)
    if any(label for label, _ in curves):
        ax.legend()
    return ax


def levels_trajectory(model: Any, *, levels: int = 20, ax: Any = None) -> Any:
    """Assisted and unaided error over training levels, with the map's fixed points.

    Parameters
    ----------
    model : rrm_theory.levels.TrainingModel, or a mapping with ``assisted`` and ``unaided`` lists
        The training-level model (docs/theory.md section 2), or its trajectory.
    levels : int
        Levels drawn (with a model).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        If a mapping lacks ``assisted`` or ``unaided``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from rrm_theory.levels import TrainingModel
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = levels_trajectory(TrainingModel(human_error=0.1, difficulty=0.9, helpers=3), levels=5, ax=ax)
    >>> len(ax.lines[0].get_xdata())
    6
    """
    from .. import levels as lv

    ax = _axes(ax)
    fixed: list[tuple[float, bool]] = []
    if isinstance(model, Mapping):
        path = model
    else:
        path = lv.trajectory(model, levels)
        fixed = lv.level_fixed_points(model)
    k = np.arange(len(path["assisted"]))
    ax.plot(k, path["assisted"], marker="o", label="assisted (the tree)")
    ax.plot(k, path["unaided"], marker="s", label="unaided human")
    for value, stable in fixed:
        if 0.0 < value < 0.5:
            ax.axhline(value, color="0.4", linewidth=0.8, linestyle="-" if stable else ":",
                       label=f"{'stable' if stable else 'unstable'} fixed point {value:.3g}")  # fmt: skip
    ax.set_xlabel("training level k")
    ax.set_ylabel("error of the level's oversight")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return ax
