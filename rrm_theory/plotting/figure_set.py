"""The paper's figure set: one figure per catalog study in ``sims/``, plus the chip-design tree.

Each :class:`Figure` names its study (or none, when it is computed directly),
draws itself from the study's table on a new figure in the paper style, returns
the data it plotted (written beside it as CSV), and writes its caption: the
question it answers, the model, the parameters, the seed, and what it shows with
the key numbers (the figures' README).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .curves import METRIC_LABELS, adversary_curve, depth_curve, levels_trajectory
from .maps import importance_chart, phase_diagram
from .oversight import nso_panels
from .trees import tree_diagram

__all__ = ["Figure", "FIGURES", "figure_names"]

_CHIP = "models/chip-design.toml"


@dataclass(frozen=True)
class Figure:
    """One figure of the set.

    Attributes
    ----------
    name : str
        The file stem (``<out>/<name>.pdf``, ``.png``, ``.csv``).
    study : str or None
        The study file in the studies folder it draws from.
    columns : int
        One- or two-column width.
    panels : tuple of int
        Rows and columns of panels.
    question : str
        What the figure answers (the caption's first sentence).
    draw : callable
        ``draw(table, axes, root) -> (data, facts)``: draws, returns the plotted data (a
        DataFrame) and the key numbers the caption quotes (a string).

    Examples
    --------
    >>> figure = FIGURES[0]
    >>> figure.name, figure.study, figure.columns, figure.panels
    ('depth-by-rule', 'depth-by-rule.toml', 2, (1, 3))
    """

    name: str
    study: str | None
    columns: int
    panels: tuple[int, int]
    question: str
    draw: Callable[[Any, Any, Path], tuple[Any, str]]


def _f(x: float) -> str:
    return f"{x:.3g}"


def _exact(threshold: dict[str, Any]) -> str:
    """A threshold as a fraction where it is rational, else to three digits."""
    exact = threshold.get("exact")
    return exact if exact and "Root" not in exact and len(exact) < 12 else _f(threshold["threshold"])


def _hide_rest(axes: Any, used: int) -> None:
    """Panels without data (a quick run's smaller axes) are left out."""
    for ax in axes[used:]:
        ax.set_visible(False)


def _depth_by_rule(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    facts = []
    rules = [r for r in ("all", "any", "majority") if r in set(table["generate.rule"])]
    _hide_rest(axes, len(rules))
    for ax, rule in zip(axes, rules):
        rows = table[table["generate.rule"] == rule]
        depth_curve(rows, metric="error", series="defaults.prior", ax=ax,
                    labels={p: f"prior {p:g}" for p in rows["defaults.prior"].unique()})  # fmt: skip
        ax.set_ylim(0.0, 1.0)
        ax.text(0.03, 0.97, f"rule {rule}", transform=ax.transAxes, va="top")
        if ax is not axes[0]:
            ax.set_ylabel("")
            ax.get_legend().remove()
        exact = rows[rows["method"] == "exact"]
        deepest = exact[exact["generate.depth"] == exact["generate.depth"].max()]
        facts.append(f"{rule}: " + ", ".join(f"{_f(e)} at prior {p:g}" for p, e in zip(deepest["defaults.prior"],
                                                                                     deepest["error"])))  # fmt: skip
    depth = int(table["generate.depth"].max())
    data = table[["generate.rule", "defaults.prior", "generate.depth", "method", "error", "error_lo", "error_hi",
                  "error_lower", "error_upper"]]  # fmt: skip
    return data, (f"lines: exact; points: Monte Carlo with 95% intervals; bands: the dependence-free bounds. "
                  f"P(verdict wrong) at depth {depth}: " + "; ".join(facts) + ".")


def _noise_phase(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    from .. import homogeneous

    long = table.assign(depth=table["errors"].map(lambda s: list(range(len(json.loads(s))))),
                        root_error=table["errors"].map(json.loads)).explode(["depth", "root_error"])  # fmt: skip
    long = long[["branching", "error", "depth", "root_error"]].astype(float)
    facts = []
    ks = sorted(long["branching"].unique())[:3]
    _hide_rest(axes, len(ks))
    for ax, k in zip(axes, ks):
        threshold = homogeneous.noise_threshold("majority", int(k))
        part = long[long["branching"] == k]
        phase_diagram(part, x="error", y="depth", metric="root_error", threshold=threshold["threshold"],
                      threshold_label=f"threshold {threshold['exact']}", ax=ax, colorbar=k == ks[-1],
                      colorbar_label="root P(verdict wrong)", xlabel="evaluator error E")  # fmt: skip
        ax.text(0.04, 0.04, f"majority of {int(k)}", transform=ax.transAxes, va="bottom", color="white")
        facts.append(f"{threshold['exact']} for {int(k)}")
    for ax in axes[1:]:
        ax.set_ylabel("")
    return long, ("the noise thresholds (Evans and Schulman 2003) are " + ", ".join(facts)
                  + "; below them the root error settles, above them it climbs to 1/2 with depth.")


def _deception_depth(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    from .. import homogeneous

    rows = table[table["method"] == "exact"]
    facts = []
    errors = sorted(rows["defaults.error"].unique())[:2]
    _hide_rest(axes, len(errors))
    for ax, err in zip(axes, errors):
        part = rows[rows["defaults.error"] == err]
        t = homogeneous.deception_threshold("majority", 3, error=float(err))
        phase_diagram(part, x="defaults.deception", y="generate.depth", metric="false_accept",
                      threshold=t["threshold"], threshold_label=f"threshold {_exact(t)}", ax=ax,
                      colorbar=err == errors[-1], xlabel="deception rate of every evaluator",
                      legend_loc="lower right")  # fmt: skip
        ax.text(0.03, 0.97, f"error {err:g}", transform=ax.transAxes, va="top", color="white")
        facts.append(f"{_exact(t)} with honest error {err:g}")
    axes[1].set_ylabel("")
    data = rows[["defaults.error", "defaults.deception", "generate.depth", "false_accept"]]
    return data, "the colluding thresholds are " + "; ".join(facts) + "."


def _blind_spots(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    from ._style import LINESTYLES, PALETTE

    ax = axes[0]
    exact = table[table["method"] == "exact"].copy()
    exact["p"] = exact["blind_spots.g.probability"] + exact["generate.leaves.deception"]
    bounds = table[table["method"] == "bounds"].copy()
    bounds["p"] = bounds["blind_spots.g.probability"] + bounds["generate.leaves.deception"]
    present = sorted(exact["generate.branching"].unique())
    sizes = [k for k in present if k in (3, 9)] or present[-1:]
    facts = []
    for i, k in enumerate(sizes):
        colour = PALETTE[(i + 1) % len(PALETTE)]
        for style, kind in zip(LINESTYLES, ("correlated", "independent")):
            part = exact[(exact["generate.branching"] == k) & (exact["description"] == kind)].sort_values("p")
            ax.plot(part["p"], part["false_accept"], color=colour, linestyle=style,
                    label=f"{int(k)} helpers, {'one shared blind spot' if kind == 'correlated' else 'independent'}")  # fmt: skip
        b = bounds[(bounds["generate.branching"] == k) & (bounds["description"] == "correlated")].sort_values("p")
        ax.fill_between(b["p"], b["false_accept_lower"], b["false_accept_upper"], color=colour, alpha=0.12,
                        linewidth=0)  # fmt: skip
        top = exact[(exact["generate.branching"] == k) & (exact["p"] == exact["p"].max())]
        c = top[top["description"] == "correlated"]["false_accept"].iloc[0]
        ind = top[top["description"] == "independent"]["false_accept"].iloc[0]
        facts.append(f"{int(k)} helpers at p = {_f(top['p'].iloc[0])}: {_f(c)} correlated vs {_f(ind)} independent")
    ax.set_xlabel("P(blind spot fires) = each helper's extra approval rate")
    ax.set_ylabel(METRIC_LABELS["false_accept"])
    ax.set_ylim(0.0, 1.0)
    ax.legend(loc="upper left")
    data = table[["generate.branching", "description", "blind_spots.g.probability", "generate.leaves.deception",
                  "method", "false_accept", "false_accept_lower", "false_accept_upper"]]  # fmt: skip
    return data, ("root false accept; the band is the dependence-free bound for the same marginals. "
                  + "; ".join(facts) + ".")


def _audits(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    rows = table[(table["method"] == "exact") & table["defaults.audit"].isin([0.0, 0.01, 0.05, 0.1, 0.2, 0.5])]
    depth_curve(rows, metric="error", series="defaults.audit", ax=axes[0],
                labels={a: f"audit rate {a:g}" for a in rows["defaults.audit"].unique()})  # fmt: skip
    axes[0].set_ylim(0.0, 0.64)  # headroom above the curves for the legend, which would cross them below
    axes[0].legend(ncol=2, loc="upper left", columnspacing=1.0)
    deepest = rows[rows["generate.depth"] == rows["generate.depth"].max()]
    facts = ", ".join(f"{_f(e)} at audit {a:g}" for a, e in zip(deepest["defaults.audit"], deepest["error"]))
    data = table[table["method"] == "exact"][["defaults.audit", "generate.depth", "error", "false_accept"]]
    return data, f"root P(verdict wrong) at depth {int(deepest['generate.depth'].iloc[0])}: {facts}."


def _influence(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    rows = table[table["method"] == "exact"]
    depths = sorted(rows["generate.depth"].unique())
    shown = sorted({depths[0], depths[-1]})
    _hide_rest(axes, len(shown))
    facts = []
    for ax, d in zip(axes, shown):
        part = rows[(rows["generate.depth"] == d) & rows["influence"].isin([0.0, 0.05, 0.2, 0.5, 1.0])]
        depth_curve(part, metric="false_accept", x="generate.leaves.exposure", series="influence", ax=ax,
                    labels={i: f"influence {i:g}" for i in part["influence"].unique()},
                    xlabel="exposure of the leaves (P(swayed | manipulated))")  # fmt: skip
        ax.text(0.02, 0.97, f"depth {int(d)}", transform=ax.transAxes, va="top")
        ax.set_ylim(0.0, 1.02)
        full = part[(part["influence"] == 1.0) & (part["generate.leaves.exposure"] == part["generate.leaves.exposure"].max())]
        if len(full):
            facts.append(f"depth {int(d)}: {_f(full['false_accept'].iloc[0])} with influence 1 and full exposure")
    if len(shown) > 1:  # one legend, where the last panel is empty (low exposure, high rates)
        axes[0].get_legend().remove()
        axes[1].set_ylabel("")
        axes[1].legend(loc="center left", bbox_to_anchor=(0.0, 0.62))
    data = rows[["influence", "generate.leaves.exposure", "generate.depth", "false_accept"]]
    return data, "root false accept of bad work; " + "; ".join(facts) + "."


def _adversary(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    rows = table[table["method"] == "robustness"].copy()
    rows["model"] = rows["model"].map(lambda p: Path(str(p)).stem)
    adversary_curve(rows, series="model", ax=axes[0])
    facts = []
    for name, part in rows.groupby("model", sort=False):
        curve = part.sort_values("corruptions")["worst_false_accept"].tolist()
        one = curve[1] if len(curve) > 1 else float("nan")
        facts.append(f"{name} {_f(curve[0])} -> {_f(one)}")
    return rows[["model", "corruptions", "worst_false_accept"]], (
        "worst-case false accept with no corruption and with one: " + "; ".join(facts) + ".")


def _importance(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    import pandas as pd

    from ..importance import importance
    from ..spec import load_spec

    ranked = importance(load_spec(root / _CHIP))
    importance_chart(ranked, top=7, which="perfect", ax=axes[0])
    importance_chart(ranked, top=7, which="failed", ax=axes[1])
    axes[1].set_yticklabels([])
    data = pd.DataFrame([r.to_dict() | {"root_false_accept": ranked.root.false_accept} for r in ranked.nodes])
    data = data.drop(columns=["d_false_accept", "d_false_reject", "intervals"])
    top = ranked.nodes[0]
    raised = [str(r.node) for r in ranked.nodes if (r.false_accept_if_perfect or 0) > ranked.root.false_accept]
    return data, (f"the root false accept is {_f(ranked.root.false_accept)}. Making one evaluator perfect moves it "
                  f"by at most {_f(ranked.root.false_accept - top.false_accept_if_perfect)} ({top.node}, "
                  f"the most important); making one always approve raises it up to "
                  f"{_f(max(r.false_accept_if_failed or 0 for r in ranked.nodes))}. "
                  + (f"A perfect {', '.join(raised)} would raise it slightly." if raised else ""))  # fmt: skip


def _tree(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    import pandas as pd

    from ..exact import exact_analysis
    from ..spec import load_spec

    tree = load_spec(root / _CHIP)
    analysis = exact_analysis(tree)
    tree_diagram(tree, analysis, metric="false_accept", ax=axes[0])
    data = pd.DataFrame([{"node": str(v), **analysis.per_node[v].to_dict()} for v in tree])
    worst = max((v for v in tree if v != analysis.root_node), key=lambda v: analysis.per_node[v].false_accept or 0)
    return data, (f"{tree.number_of_nodes()} evaluators; the verdict's false accept is "
                  f"{_f(analysis.root.false_accept)}, the worst helper's {_f(analysis.per_node[worst].false_accept)} "
                  f"({worst}).")  # fmt: skip


def _training_levels(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    import pandas as pd

    from ._style import PALETTE

    rows = table.copy()
    rows["assisted"] = rows["assisted"].map(json.loads)
    rows["unaided"] = rows["unaided"].map(json.loads)
    helpers = 4 if 4 in set(rows["helpers"]) else sorted(rows["helpers"])[len(set(rows["helpers"])) // 2]
    ax = axes[0]
    chosen = [a for a in sorted(rows["amplification"].unique()) if np.isclose(a, [1.0, 1.6, 2.2, 3.0]).any()]
    long = []
    for i, a in enumerate(chosen):
        r = rows[(rows["helpers"] == helpers) & np.isclose(rows["amplification"], a)].iloc[0]
        ax.plot(range(len(r["assisted"])), r["assisted"], color=PALETTE[(i + 1) % len(PALETTE)],
                label=f"amplification {a:g}")  # fmt: skip
        long += [{"helpers": helpers, "amplification": a, "level": k, "assisted": x, "unaided": u}
                 for k, (x, u) in enumerate(zip(r["assisted"], r["unaided"]))]  # fmt: skip
    first = rows.iloc[0]
    ax.plot(range(len(first["unaided"])), first["unaided"], color="black", linestyle=":", label="unaided human")
    ax.set_xlabel("training level k")
    ax.set_ylabel("error of the level's oversight")
    ax.set_ylim(0.0, 0.55)
    ax.legend(fontsize=6, loc="center right", bbox_to_anchor=(1.0, 0.45),
              title=f"{helpers} helpers + the human's vote", title_fontsize=6)  # fmt: skip
    last = rows.assign(final=rows["assisted"].map(lambda v: v[-1]))
    phase_diagram(last, x="amplification", y="helpers", metric="final", ax=axes[1],
                  xlabel="amplification gamma", ylabel="helpers per level",
                  colorbar_label=f"error at level {len(first['assisted']) - 1}")  # fmt: skip
    worst = last.sort_values("final").iloc[-1]
    best = last.sort_values("final").iloc[0]
    return pd.DataFrame(long), (f"with {helpers} helpers the assisted error after {len(first['assisted']) - 1} levels "
                                f"ranges from {_f(min(r[-1] for r in rows[rows['helpers'] == helpers]['assisted']))} "
                                f"to {_f(max(r[-1] for r in rows[rows['helpers'] == helpers]['assisted']))}; over the "
                                f"grid from {_f(best['final'])} ({int(best['helpers'])} helpers, gamma "
                                f"{best['amplification']:g}) to {_f(worst['final'])}.")  # fmt: skip


def _nested(table: Any, axes: Any, root: Path) -> tuple[Any, str]:
    data = table[["game", "gap", "optimal_steps", "success"]].sort_values(["game", "gap"])
    nso_panels(data, axes=axes)
    at = data[np.isclose(data["gap"], 400)]
    facts = "; ".join(f"{g} {_f(s)} with {int(n)} step{'s' if n > 1 else ''}"
                      for g, s, n in zip(at["game"], at["success"], at["optimal_steps"]))  # fmt: skip
    return data, f"at a gap of 400: {facts}." if facts else "success and the best number of steps by gap."


#: The figure set, one :class:`Figure` each, in the order they are drawn and captioned.
FIGURES: tuple[Figure, ...] = (
    Figure("depth-by-rule", "depth-by-rule.toml", 2, (1, 3),
           "How does the verdict's error compound with depth, for each aggregation rule?", _depth_by_rule),
    Figure("noise-phase", "noise-phase.toml", 2, (1, 3),
           "Up to what evaluator error does a deep majority tree still work (the noisy-majority thresholds)?",
           _noise_phase),
    Figure("deception-depth", "deception-depth.toml", 2, (1, 2),
           "How much collusion (a deception rate) can a majority tree absorb as it grows deeper?", _deception_depth),
    Figure("blind-spots", "blind-spots.toml", 1, (1, 1),
           "What do correlated blind spots cost, against independent errors of the same rates and the "
           "dependence-free bounds?", _blind_spots),
    Figure("audits", "audits.toml", 1, (1, 1), "How much do random audits of the helpers' claims buy, by depth?",
           _audits),
    Figure("influence", "influence.toml", 2, (1, 2),
           "What does a target that manipulates its evaluators (user influence) do to the verdict?", _influence),
    Figure("adversary-catalog", "adversary-catalog.toml", 1, (1, 1),
           "How many corrupted helpers does each decomposition of the catalog need before bad work gets through?",
           _adversary),
    Figure("importance-chip-design", None, 2, (1, 2),
           "Which evaluator of the chip-design decomposition is worth improving first?", _importance),
    Figure("tree-chip-design", None, 1, (1, 1),
           "Where in the chip-design decomposition does bad work get through?", _tree),
    Figure("training-levels", "training-levels.toml", 2, (1, 2),
           "Does recursive training stay accurate level after level, against optimisation pressure?",
           _training_levels),
    Figure("nso-nested-oversight", "nested-oversight.toml", 2, (1, 2),
           "Nested scalable oversight (Engels et al. 2025): how likely does it succeed over a capability gap, and "
           "with how many steps?", _nested),
)


def figure_names() -> list[str]:
    """The names of the figure set, in order.

    Returns
    -------
    list of str
        The :attr:`Figure.name` of every figure of :data:`FIGURES`.

    Examples
    --------
    >>> figure_names()[:3]
    ['depth-by-rule', 'noise-phase', 'deception-depth']
    """
    return [f.name for f in FIGURES]
