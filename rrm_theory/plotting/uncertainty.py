"""Uncertain rates: the posterior of a root metric, and the Sobol indices (docs/uncertainty.md).

Both take results of :mod:`rrm_theory.uncertainty` and ``ax=None``, draw and return the Axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .curves import METRIC_LABELS, _axes

__all__ = ["posterior_plot", "sobol_chart"]


def posterior_plot(
    result: Any,
    *,
    metric: str = "false_accept",
    bins: int | str = "auto",
    exceed: float | None = None,
    ax: Any = None,
) -> Any:
    """A histogram of a root metric over the draws, with its credible interval and an exceedance level.

    Parameters
    ----------
    result : rrm_theory.uncertainty.UncertaintyResult
        From :func:`rrm_theory.uncertainty.propagate`.
    metric : str
        A root metric (default the false accept rate, P(approve | bad work)).
    bins : int or str
        Histogram bins (numpy's ``histogram_bin_edges``); ``"auto"`` by default.
    exceed : float, optional
        A level to mark, with the fraction of draws above it (default ``result.exceed``,
        drawn only for ``false_accept`` unless given).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        The bars are ``ax.containers[0]`` (a density: their areas sum to 1 over the
        draws where the metric is defined); ``ax.lines`` are vertical marks at the
        credible interval's ends, the median and the exceedance level, in that order,
        labelled in the legend.

    Raises
    ------
    ValueError
        If the metric is undefined in every draw.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import rrm_theory as rrm
    >>> from rrm_theory.uncertainty import propagate
    >>> tree = rrm.from_dict({"nodes": {"human": {"prior": 0.5, "false_accept": {"beta": [3.5, 37.5]},
    ...                                           "false_reject": 0.05}}})
    >>> fig, ax = plt.subplots()
    >>> ax = posterior_plot(propagate(tree, 2000, rng=1, exceed=0.15), ax=ax)
    >>> ax.get_xlabel()
    'root P(approve | bad work)'
    >>> plt.close(fig)
    """
    from ._style import PALETTE

    ax = _axes(ax)
    x = np.asarray(result.samples[metric], dtype=float)
    x = x[~np.isnan(x)]
    if not len(x):
        raise ValueError(f"{metric} is undefined in every draw: nothing to draw")
    summary = result.summary[metric]
    edges = np.histogram_bin_edges(x, bins=bins)
    if edges[0] == edges[-1]:  # every draw the same: one narrow bar
        edges = np.array([edges[0] - 0.5e-3, edges[0] + 0.5e-3])
    heights, edges = np.histogram(x, bins=edges, density=True)
    ax.bar(edges[:-1], heights, width=np.diff(edges), align="edge", color=PALETTE[5], edgecolor="none",
           label=f"{len(x):,} draws")  # fmt: skip
    level = f"{100 * result.level:g}%"
    top = 1.08 * float(heights.max())  # marks stop below the legend, which sits in the headroom

    def mark(at: float, label: str | None, **style: Any) -> None:
        ax.plot([at, at], [0.0, top], label=label, **style)

    for end in (summary.low, summary.high):
        mark(end, f"{level} credible [{summary.low:.3g}, {summary.high:.3g}]" if end == summary.low else None,
             color=PALETTE[1], linestyle="--", linewidth=1.0)  # fmt: skip
    mark(summary.median, f"median {summary.median:.3g}", color=PALETTE[0], linewidth=1.0)
    if exceed is None and metric == "false_accept":
        exceed = result.exceed
    if exceed is not None:
        above = float(np.mean(x > exceed))
        mark(exceed, f"P(> {exceed:g}) = {above:.2g}", color=PALETTE[2], linestyle="-.", linewidth=1.2)
    ax.set_xlabel(f"root {METRIC_LABELS.get(metric, metric)}")
    ax.set_ylabel("density over draws of the rates")
    ax.set_ylim(0.0, 1.45 * float(heights.max()))  # headroom for the legend
    ax.legend(loc="upper left", ncols=2, columnspacing=1.0, handlelength=1.6)
    return ax


def sobol_chart(sobol: Any, *, ax: Any = None) -> Any:
    """Horizontal bars of the first-order and total Sobol indices, each with its confidence interval.

    Parameters
    ----------
    sobol : rrm_theory.uncertainty.Sobol
        From :func:`rrm_theory.uncertainty.sobol`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Two bar containers (``matplotlib.container.BarContainer`` among ``ax.containers``),
        first-order then total; the inputs run down the y axis,
        the largest total index at the top, and each bar's error bar is SALib's
        bootstrap interval (``ax.containers[i].errorbar``).

    Raises
    ------
    AttributeError
        If ``sobol`` is not a :class:`~rrm_theory.uncertainty.Sobol`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import rrm_theory as rrm
    >>> from rrm_theory.uncertainty import sobol
    >>> tree = rrm.from_dict({"nodes": {"human": {"prior": 0.5,
    ...     "false_accept": {"uniform": [0.0, 0.2]}, "false_reject": {"uniform": [0.0, 0.2]}}}})
    >>> fig, ax = plt.subplots()
    >>> ax = sobol_chart(sobol(tree, 256, rng=3), ax=ax)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['human.false_accept', 'human.false_reject']
    >>> plt.close(fig)
    """
    from .._text import printable
    from ._style import PALETTE

    ax = _axes(ax)
    order = sobol.ranked()
    y = np.arange(len(order))[::-1].astype(float)
    h = 0.38
    for offset, values, conf, colour, label in (
        (h / 2, sobol.first, sobol.first_conf, PALETTE[1], "first order"),
        (-h / 2, sobol.total, sobol.total_conf, PALETTE[2], "total"),
    ):
        ax.barh(y + offset, [values[j] for j in order], height=h, xerr=[conf[j] for j in order], color=colour,
                label=label, error_kw={"ecolor": PALETTE[0], "elinewidth": 0.8})  # fmt: skip
    ax.axvline(0.0, color=PALETTE[0], linewidth=0.6)
    ax.set_yticks(y, [printable(sobol.parameters[j].label) for j in order])
    ax.set_xlabel(f"Sobol index of\nroot {METRIC_LABELS.get(sobol.metric, sobol.metric)}")
    ax.set_xlim(min(0.0, ax.get_xlim()[0]), max(1.0, ax.get_xlim()[1]))
    ax.legend(loc="lower right")  # beside the smallest indices, drawn at the bottom
    return ax
