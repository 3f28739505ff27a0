"""The house style of rrm-theory's figures, in one place (a context manager).

Colour-blind-safe colours (Okabe and Ito's palette) paired with line styles and
markers that survive greyscale printing, sizes for one- and two-column papers,
fonts embedded in PDF as TrueType (Type 42), no titles inside figures (captions
say what a figure shows), and the metadata that would make files differ between
runs left out, so the same inputs give the same bytes.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["paper_style", "PALETTE", "LINESTYLES", "MARKERS", "WIDTHS", "save"]

#: Okabe & Ito (2008), without yellow (too light on white): black first.
PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")
#: Line styles paired with the colours, so series stay apart in greyscale.
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
#: Markers paired with the colours, for curves drawn with points.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
#: Figure widths in inches: one column and two columns of a typical two-column paper.
WIDTHS = {1: 3.4, 2: 7.0}


def _rc(columns: int) -> dict[str, Any]:
    from cycler import cycler

    width = WIDTHS[columns]
    return {
        "figure.figsize": (width, width * (0.68 if columns == 1 else 0.36)),
        "figure.dpi": 100,
        "figure.constrained_layout.use": True,
        "savefig.dpi": 300,
        "font.family": "DejaVu Sans",
        "font.size": 8,
        "axes.labelsize": 8,
        "axes.titlesize": 8,
        "legend.fontsize": 7,
        "legend.frameon": False,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "axes.linewidth": 0.6,
        "lines.linewidth": 1.2,
        "lines.markersize": 3.5,
        "errorbar.capsize": 1.5,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": cycler(color=list(PALETTE)) + cycler(linestyle=list(LINESTYLES)),
        "axes.grid": False,
        "image.cmap": "viridis",
        "pdf.fonttype": 42,  # TrueType: text stays text, selectable and editable
        "ps.fonttype": 42,
        "svg.hashsalt": "rrm-theory",
        "svg.fonttype": "none",
    }


@contextlib.contextmanager
def paper_style(columns: int = 1) -> Iterator[None]:
    """The house style for the figures drawn inside the ``with`` block.

    Parameters
    ----------
    columns : {1, 2}
        The figure's width: one column (3.4 in) or the page (7.0 in).

    Yields
    ------
    None
        Inside the block matplotlib's rcParams are the house style's; they are
        restored on leaving it.

    Raises
    ------
    ValueError
        If ``columns`` is not 1 or 2.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rrm_theory.plotting import paper_style
    >>> with paper_style(columns=2):
    ...     fig, ax = plt.subplots()
    >>> tuple(round(float(x), 2) for x in fig.get_size_inches())
    (7.0, 2.52)
    >>> plt.close(fig)
    """
    if columns not in WIDTHS:
        raise ValueError(f"columns={columns!r} is not 1 or 2")
    import matplotlib as mpl

    with mpl.rc_context(_rc(columns)):
        yield


def save(fig: Any, path: Any) -> None:
    """Save a figure by its suffix (``.pdf``, ``.png``, ``.svg``), the same bytes on every run.

    The metadata that changes between runs (creation dates, the software
    version string) is left out; other suffixes are saved as matplotlib does.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    path : str or pathlib.Path
        The file; its suffix names the format.

    Raises
    ------
    ValueError
        For a suffix matplotlib cannot write.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import pathlib, tempfile
    >>> fig, ax = plt.subplots()
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "figure.png"
    >>> save(fig, path)
    >>> first = path.read_bytes()
    >>> save(fig, path)
    >>> path.read_bytes() == first
    True
    >>> plt.close(fig)
    """
    from pathlib import Path

    suffix = Path(path).suffix.lower()
    metadata: dict[str, Any] = {}
    if suffix == ".pdf":
        metadata = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
    elif suffix == ".png":
        metadata = {"Software": None}
    elif suffix == ".svg":
        metadata = {"Date": None, "Creator": None}
    fig.savefig(path, metadata=metadata)
