"""Human-readable summaries of analyses, as ``rrm-theory analyze`` prints them."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Hashable, Sequence

from ._text import printable
from .results import METRICS

if TYPE_CHECKING:  # the summaries only read these results; importing them here would be slow
    from .adversary import Robustness
    from .bounds import Bounds
    from .importance import Importance
    from .montecarlo import MonteCarloResult
    from .results import Analysis

__all__ = [
    "fmt",
    "format_summary",
    "format_comparison",
    "format_bounds",
    "format_robustness",
    "format_importance",
    "WORST_SHOWN",
]

#: How many evaluators the summary ranks.
WORST_SHOWN = 5

_NOTES = {
    "p_good": "P(the work is acceptable)",
    "error": "P(verdict wrong)",
    "false_accept": "P(approve | bad work): the safety-critical rate",
    "false_reject": "P(reject | good work)",
    "youden": "1 - FA - FR (0 = the verdict carries no information)",
}


def _show(node: Hashable) -> str:
    """A node id as the summaries print it: terminal control and bidi characters escaped."""
    return printable(str(node))


def fmt(x: float | None) -> str:
    """A probability for people: 4 decimals, scientific below 1e-3, ``n/a`` when undefined.

    >>> fmt(0.23300465), fmt(3e-20), fmt(None)
    ('0.2330', '3.000e-20', 'n/a')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0.0 or abs(x) >= 1e-3:
        return f"{x:.4f}"
    return f"{x:.3e}"


def _interval(mc: MonteCarloResult, metric: str) -> tuple[str, str]:
    e = mc.root[metric]
    if e is None:
        return "n/a", ""
    return fmt(e.estimate), f"[{fmt(e.ci[0])}, {fmt(e.ci[1])}]"


def format_summary(
    exact: Analysis | None,
    mc: MonteCarloResult | None,
    *,
    nodes: int,
    leaves: int,
    depth: int,
    name: str,
    source: str = "",
    per_node: bool = False,
    note: str = "",
) -> str:
    """Size, root metrics (exact and/or Monte Carlo with intervals) and the worst evaluators."""
    lines = [f"{name}: {nodes} nodes, {leaves} leaves, depth {depth}" + (f"  ({source})" if source else "")]
    if note:
        lines.append(note)
    if mc is not None:
        level = f"{mc.confidence:.0%} {mc.interval}"
        lines.append(f"Monte Carlo: {mc.samples:,} episodes, seed {mc.seed}, intervals {level}")
    if mc is None:
        assert exact is not None
        lines.append("root verdict (exact):")
        lines += [f"  {m:<13}{fmt(getattr(exact.root, m)):>11}   {_NOTES[m]}" for m in METRICS]
    else:
        lines.append(f"root verdict:{'      exact' if exact is not None else ''}  Monte Carlo   interval")
        for m in METRICS:
            ex = f"{fmt(getattr(exact.root, m)):>11}" if exact is not None else ""
            est, ci = _interval(mc, m)
            lines.append(f"  {m:<13}{ex}  {est:>11}   {ci}")
    ranked = _ranked(exact, mc, per_node)
    if ranked:
        shown, total = ranked
        title = "every node" if per_node else f"worst evaluators (highest error, {len(shown)} of {total})"
        lines.append(f"{title}:")
        width = max(len(_show(v)) for v, *_ in shown)
        lines.append(f"  {'node':<{width}}  {'error':>10}  {'false_accept':>12}  {'false_reject':>12}")
        lines += [f"  {_show(v):<{width}}  {fmt(e):>10}  {fmt(fa):>12}  {fmt(fr):>12}" for v, e, fa, fr in shown]
    return "\n".join(lines)


Row = tuple[Hashable, "float | None", "float | None", "float | None"]


def _ranked(exact: Analysis | None, mc: MonteCarloResult | None, per_node: bool) -> tuple[list[Row], int] | None:
    rows: list[Row]
    if exact is not None:
        rows = [(v, m.error, m.false_accept, m.false_reject) for v, m in exact.per_node.items() if v != exact.root_node]
    elif mc is not None:
        rows = []
        for v, est in mc.per_node.items():
            if v != mc.root_node:
                error, fa, fr = (est[m] for m in ("error", "false_accept", "false_reject"))
                rows.append((v, *(None if e is None else e.estimate for e in (error, fa, fr))))  # type: ignore[arg-type]
    else:
        return None
    if not rows:
        return None
    shown = rows if per_node else sorted(rows, key=lambda r: -(r[1] or 0.0))[:WORST_SHOWN]
    return shown, len(rows)


def format_comparison(
    rows: Sequence[tuple[str, int, int, dict[str, float | None]]],
    extras: Sequence[tuple[tuple[float, float] | None, float | None]] | None = None,
) -> str:
    """One row per tree: ``(name, nodes, depth, root metrics)`` side by side; ``extras``
    adds each tree's false_accept bounds and its worst false_accept after one corruption."""
    width = max(len("name"), *(len(r[0]) for r in rows))
    head = f"{'name':<{width}}  {'nodes':>7}  {'depth':>5}  " + "  ".join(f"{m:>12}" for m in METRICS)
    if extras is not None:
        head += f"  {'FA bounds':>18}  {'FA, 1 corrupt':>13}"
    body = []
    for k, (name, nodes, depth, root) in enumerate(rows):
        line = f"{name:<{width}}  {nodes:>7}  {depth:>5}  " + "  ".join(f"{fmt(root[m]):>12}" for m in METRICS)
        if extras is not None:
            bound, one = extras[k]
            line += f"  {_pair(bound):>18}  {fmt(one):>13}"
        body.append(line)
    return "\n".join([head, *body])


def _pair(x: tuple[float, float] | None) -> str:
    return "n/a" if x is None else f"[{fmt(x[0])}, {fmt(x[1])}]"


def format_bounds(b: Bounds) -> str:
    """The dependence-free bounds in one block."""
    kind = "tight, by linear programming" if b.method == "tight" else "fast inequalities, valid but possibly loose"
    return "\n".join([
        f"bounds without independence ({kind}):",
        f"  false_accept {_pair(b.false_accept)}   false_reject {_pair(b.false_reject)}   error {_pair(b.error)}",
    ])  # fmt: skip


def format_robustness(r: Robustness) -> str:
    """The adversary curve and the most likely bad outcome."""
    who = "helpers and the root" if r.root_corruptible else "helpers (not the root)"
    lines = [f"adversary corrupting up to {r.budget} {who}: worst false_accept by corruptions"]
    if r.worst_false_accept is None:
        lines.append("  n/a (the work is never bad)")
    else:
        lines.append("  " + "   ".join(f"{t}: {fmt(x)}" for t, x in enumerate(r.worst_false_accept)))
    if r.min_corruptions is None:
        outcome = "no corruption makes the root approve"
    elif r.min_corruptions == 0:
        outcome = "the root approves it without any corruption"
    else:
        names = ", ".join(_show(v) for v in r.chosen)
        outcome = f"{r.min_corruptions} corruption{'s' if r.min_corruptions > 1 else ''} ({names})"
        if r.min_corruptions > r.budget:
            outcome += f", beyond the budget of {r.budget}"
    lines.append(f"  most likely bad outcome (probability {fmt(r.outcome_probability)}): {outcome}")
    return "\n".join(lines)


def format_importance(imp: Importance, k: int = WORST_SHOWN) -> str:
    """The top of the importance ranking."""
    top = imp.top(k)
    if not top:
        return ""
    width = max(len("node"), *(len(_show(r.node)) for r in top))
    lines = [
        f"most important evaluators (root false_accept if each were perfect; {imp.method}):",
        f"  {'node':<{width}}  {'FA if perfect':>13}  {'dFA/dfa':>10}  {'RRW':>8}  {'RAW':>8}",
    ]
    for r in top:
        rrw = "n/a" if r.risk_reduction_worth is None else f"{r.risk_reduction_worth:.3g}"
        raw = "n/a" if r.risk_achievement_worth is None else f"{r.risk_achievement_worth:.3g}"
        lines.append(
            f"  {_show(r.node):<{width}}  {fmt(r.false_accept_if_perfect):>13}  "
            f"{fmt(r.d_false_accept['false_accept']):>10}  {rrw:>8}  {raw:>8}"
        )
    return "\n".join(lines)
