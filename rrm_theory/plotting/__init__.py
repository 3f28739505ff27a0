"""Figures: plotting functions in the seaborn/ArviZ convention, and the paper style.

Every function takes results (an :class:`~rrm_theory.Analysis`, a
:class:`~rrm_theory.Robustness`, an :class:`~rrm_theory.Importance`, a study's
table, a theory object) and ``ax=None``, draws on it and returns the Axes.
Styling lives in one place, :func:`paper_style`. Importing ``rrm_theory``
does not import matplotlib; importing this package does.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import rrm_theory as rrm
>>> from rrm_theory.plotting import paper_style, tree_diagram
>>> with paper_style(columns=1):
...     fig, ax = plt.subplots()
...     ax = tree_diagram(rrm.load_spec("models/chip-design.toml"), ax=ax)
>>> plt.close(fig)
"""

from ._style import LINESTYLES, MARKERS, PALETTE, WIDTHS, paper_style, save
from .curves import METRIC_LABELS, adversary_curve, depth_curve, levels_trajectory
from .maps import importance_chart, phase_diagram
from .oversight import nso_panels, nso_table
from .trees import tree_diagram, tree_layout
from .uncertainty import posterior_plot, sobol_chart

__all__ = [
    "paper_style",
    "save",
    "PALETTE",
    "LINESTYLES",
    "MARKERS",
    "WIDTHS",
    "METRIC_LABELS",
    "depth_curve",
    "phase_diagram",
    "adversary_curve",
    "importance_chart",
    "tree_diagram",
    "tree_layout",
    "levels_trajectory",
    "nso_panels",
    "nso_table",
    "posterior_plot",
    "sobol_chart",
]
