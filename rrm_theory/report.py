"""Human-readable summaries of analyses, as ``rrm-theory analyze`` prints them."""

from __future__ import annotations

import math
from typing import Hashable, Sequence

from .montecarlo import MonteCarloResult
from .results import METRICS, Analysis

__all__ = ["fmt", "format_summary", "format_comparison", "WORST_SHOWN"]

#: How many evaluators the summary ranks.
WORST_SHOWN = 5

_NOTES = {
    "p_good": "P(the work is acceptable)",
    "error": "P(verdict wrong)",
    "false_accept": "P(approve | bad work): the safety-critical rate",
    "false_reject": "P(reject | good work)",
    "youden": "1 - FA - FR (0 = the verdict carries no information)",
}


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
        width = max(len(str(v)) for v, *_ in shown)
        lines.append(f"  {'node':<{width}}  {'error':>10}  {'false_accept':>12}  {'false_reject':>12}")
        lines += [f"  {str(v):<{width}}  {fmt(e):>10}  {fmt(fa):>12}  {fmt(fr):>12}" for v, e, fa, fr in shown]
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


def format_comparison(rows: Sequence[tuple[str, int, int, dict[str, float | None]]]) -> str:
    """One row per tree: ``(name, nodes, depth, root metrics)`` side by side."""
    width = max(len("name"), *(len(r[0]) for r in rows))
    head = f"{'name':<{width}}  {'nodes':>7}  {'depth':>5}  " + "  ".join(f"{m:>12}" for m in METRICS)
    body = [
        f"{name:<{width}}  {nodes:>7}  {depth:>5}  " + "  ".join(f"{fmt(root[m]):>12}" for m in METRICS)
        for name, nodes, depth, root in rows
    ]
    return "\n".join([head, *body])
