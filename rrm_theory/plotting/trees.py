"""The evaluation tree drawn top-down, each node coloured by a per-node metric."""

from __future__ import annotations

from typing import Any, Hashable, Mapping

import numpy as np

from .curves import METRIC_LABELS, _axes

__all__ = ["tree_layout", "tree_diagram"]

_RULES = {"all": "all", "any": "any", "majority": "maj", "weighted": "w"}


def tree_layout(tree: Any) -> dict[Hashable, tuple[float, float]]:
    """A tidy layered layout of a tree, top-down, in which edges never cross.

    y is minus the level; the leaves are at consecutive x in depth-first order and
    every parent is centred over its first and last child, so subtrees never overlap.

    Parameters
    ----------
    tree : networkx.DiGraph
        An evaluation tree.

    Returns
    -------
    dict
        Node -> ``(x, y)``.

    Raises
    ------
    SpecError
        If ``tree`` has not exactly one root.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> pos = tree_layout(rrm.balanced(1, 3, rule="all", error=0.1, prior=0.5))
    >>> pos["L0_0"], pos["L1_0"], pos["L1_2"]
    ((1.0, 0.0), (0.0, -1.0), (2.0, -1.0))
    """
    from ..tree import tree_root

    root = tree_root(tree)
    pos: dict[Hashable, tuple[float, float]] = {}
    next_leaf = 0.0
    stack: list[tuple[Hashable, int, bool]] = [(root, 0, False)]
    while stack:  # iterative post-order: children placed before their parent
        v, level, seen = stack.pop()
        kids = list(tree.successors(v))
        if not kids:
            pos[v] = (next_leaf, -float(level) + 0.0)
            next_leaf += 1.0
        elif seen:
            pos[v] = ((pos[kids[0]][0] + pos[kids[-1]][0]) / 2.0, -float(level) + 0.0)  # no -0.0
        else:
            stack.append((v, level, True))
            stack.extend((k, level + 1, False) for k in reversed(kids))
    return pos


def _wrap(name: str, width: int = 9) -> str:
    """A long node name broken at its hyphens or underscores, so that neighbours' names do not collide."""
    if len(name) <= width:
        return name
    parts, line, out = name.replace("_", "_ ").replace("-", "- ").split(" "), "", []
    for part in parts:
        if line and len(line) + len(part) > width:
            out.append(line)
            line = ""
        line += part
    out.append(line)
    return "\n".join(out)


def _rule(attrs: Mapping[str, Any]) -> str:
    rule = str(attrs.get("rule", ""))
    if rule.startswith("at_least:"):
        return "\u2265" + rule.split(":", 1)[1]
    if rule == "weighted":
        return f"w\u2265{attrs.get('threshold', 0):g}"
    return _RULES.get(rule, rule)


def tree_diagram(
    tree: Any,
    values: Any = None,
    *,
    metric: str = "false_accept",
    ax: Any = None,
    labels: bool = True,
    colorbar: bool = True,
) -> Any:
    """The tree top-down (a tidy layered layout), nodes coloured by a per-node metric.

    Internal nodes are labelled with their rule (``all``, ``any``, ``maj``, ``≥K``,
    ``w≥θ``); members of a shared blind spot get a coloured ring, one colour per group
    (named in the legend). Readable up to about 60 nodes.

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated evaluation tree.
    values : Analysis or mapping of node -> float, optional
        The per-node metric (default: the tree's exact analysis); None values are grey.
    metric : str
        Which metric of an :class:`~rrm_theory.Analysis` to colour by.
    ax : matplotlib Axes, optional
    labels : bool
        Write each node's name.
    colorbar : bool
        Add a colour bar.

    Returns
    -------
    matplotlib.axes.Axes
        The nodes are ``ax.collections[1]`` (after the edges), in the order of ``tree``.

    Raises
    ------
    SpecError
        If ``tree`` has not exactly one root, or (with ``values=None``) is not a
        valid evaluation tree.
    ExactRefused
        With ``values=None``, where exact analysis declines the tree.
    KeyError
        If ``values`` is an Analysis of another tree, or a blind spot names a node
        that is not in the tree (a tree that was not validated).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rrm_theory as rrm
    >>> tree = rrm.load_spec("models/chip-design.toml")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax = tree_diagram(tree, ax=ax)
    >>> nodes = ax.collections[1]
    >>> round(float(nodes.get_array()[0]), 4)                 # the root's false accept
    0.233
    """
    from matplotlib.collections import LineCollection

    from .._text import printable

    ax = _axes(ax)
    if values is None:
        from ..exact import exact_analysis

        values = exact_analysis(tree)
    if hasattr(values, "per_node"):
        per = values.per_node
        data = [getattr(per[v], metric) for v in tree]
    else:
        data = [values.get(v) for v in tree]
    pos = tree_layout(tree)
    order = list(tree)
    xy = np.array([pos[v] for v in order])
    segments = [[pos[a], pos[b]] for a, b in tree.edges]
    ax.add_collection(LineCollection(segments, colors="0.55", linewidths=0.7, zorder=1))
    arr = np.array([np.nan if d is None else float(d) for d in data])
    import matplotlib as mpl

    cmap = mpl.colormaps[mpl.rcParams["image.cmap"]].with_extremes(bad="0.85")  # undefined metric: grey
    nodes = ax.scatter(xy[:, 0], xy[:, 1], c=arr, s=140, zorder=3, edgecolors="black",
                       linewidths=0.5, vmin=0.0, vmax=max(0.05, float(np.nanmax(arr)) if np.isfinite(arr).any() else 1.0),
                       plotnonfinite=True, cmap=cmap)  # fmt: skip
    groups = tree.graph.get("blind_spots", {})
    for k, (name, group) in enumerate(groups.items()):
        from ._style import PALETTE

        members = [pos[m] for m in group["members"]]
        pts = np.array(members)
        ax.scatter(pts[:, 0], pts[:, 1], s=320 + 120 * k, facecolors="none", zorder=2,
                   edgecolors=PALETTE[(k + 2) % len(PALETTE)], linewidths=1.4,
                   label=f"blind spot {printable(str(name))} (p = {group['probability']:g})")  # fmt: skip
    for v, (x, y) in zip(order, xy):
        attrs = tree.nodes[v]
        if labels:
            ax.annotate(_wrap(printable(str(v))), (x, y), xytext=(0, -11), textcoords="offset points",
                        ha="center", va="top", fontsize=6, linespacing=0.95, zorder=4,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.85})  # fmt: skip
        if tree.out_degree(v):
            # beside the node, away from the edge that comes in from its parent
            parents = list(tree.predecessors(v))
            left = bool(parents) and pos[parents[0]][0] > x
            ax.annotate(_rule(attrs), (x, y), xytext=(-8 if left else 8, 6), textcoords="offset points",
                        ha="right" if left else "left", va="bottom", fontsize=6, style="italic")  # fmt: skip
    if colorbar:
        ax.figure.colorbar(nodes, ax=ax, label=METRIC_LABELS.get(metric, metric), shrink=0.8)
    if groups:
        ax.legend(loc="upper left", fontsize=6, markerscale=0.45)
    ax.set_xlim(xy[:, 0].min() - 0.7, xy[:, 0].max() + 0.7)
    ax.set_ylim(xy[:, 1].min() - 0.75, 0.5)
    ax.set_axis_off()
    return ax
