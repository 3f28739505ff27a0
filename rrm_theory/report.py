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

    Parameters
    ----------
    x : float or None
        The value; None and NaN are undefined.

    Returns
    -------
    str

    Raises
    ------
    TypeError
        If ``x`` is not a number or None.

    Examples
    --------
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


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


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
    """Size, root metrics (exact and/or Monte Carlo with intervals) and the worst evaluators.

    Parameters
    ----------
    exact : Analysis or None
        The exact analysis, if there is one.
    mc : MonteCarloResult or None
        The Monte Carlo estimate, if there is one (with ``exact``, side by side).
    nodes, leaves, depth : int, keyword-only
        The tree's size, for the first line.
    name : str, keyword-only
        The tree's name.
    source : str, keyword-only
        Where it came from (a file), shown after the size.
    per_node : bool, keyword-only
        List every node instead of the :data:`WORST_SHOWN` with the highest error.
    note : str, keyword-only
        A line printed under the first (what was skipped, say).

    Returns
    -------
    str
        Lines without a final newline.

    Raises
    ------
    ValueError
        If both ``exact`` and ``mc`` are None.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> tree = rrm.chain(1, error=0.1, prior=0.5)
    >>> print(format_summary(rrm.exact_analysis(tree), None, nodes=2, leaves=1, depth=1, name="chain-1"))
    chain-1: 2 nodes, 1 leaf, depth 1
    root verdict (exact):
      p_good            0.5000   P(the work is acceptable)
      error             0.1800   P(verdict wrong)
      false_accept      0.1800   P(approve | bad work): the safety-critical rate
      false_reject      0.1800   P(reject | good work)
      youden            0.6400   1 - FA - FR (0 = the verdict carries no information)
    worst evaluators (highest error, 1 of 1):
      node       error  false_accept  false_reject
      L1_0      0.1000        0.1000        0.1000
    """
    if exact is None and mc is None:
        raise ValueError("format_summary needs an exact analysis, a Monte Carlo result or both")
    lines = [f"{name}: {_count(nodes, 'node')}, {_count(leaves, 'leaf', 'leaves')}, depth {depth}"
             + (f"  ({source})" if source else "")]
    if note:
        lines.append(note)
    if mc is not None:
        level = f"{mc.confidence:.0%} {mc.interval}"
        lines.append(f"Monte Carlo: {mc.samples:,} episodes, seed {mc.seed}, intervals {level}")
    if mc is None:
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
    if exact is not None and not per_node:  # the worst few, from the arrays (a row per node is seconds at 2M)
        import numpy as np

        names = list(exact.per_node)
        cols = [exact.per_node.array(m) for m in ("error", "false_accept", "false_reject")]
        if names and names[0] == exact.root_node:  # breadth-first: the root leads
            index = np.arange(1, len(names))
        else:
            index = np.flatnonzero(np.array([v != exact.root_node for v in names], dtype=bool))
        if not len(index):
            return None
        worst = index[np.argsort(-np.nan_to_num(cols[0][index], nan=0.0), kind="stable")[:WORST_SHOWN]]
        value = lambda x: None if np.isnan(x) else float(x)  # noqa: E731
        return [(names[i], *(value(c[i]) for c in cols)) for i in worst.tolist()], len(index)  # type: ignore[misc]
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
    """One row per tree, side by side: its size and root metrics (``rrm-theory compare``).

    Parameters
    ----------
    rows : sequence of (str, int, int, dict)
        ``(name, nodes, depth, root metrics)`` per tree; the dict has every metric of
        :data:`~rrm_theory.results.METRICS` (None where undefined).
    extras : sequence of (tuple or None, float or None), optional
        Per row: its false_accept bounds ``(lo, hi)`` and its worst false_accept
        after one corruption, as two more columns.

    Returns
    -------
    str
        A header line and one line per row, without a final newline.

    Raises
    ------
    TypeError
        If ``rows`` is empty.
    KeyError
        If a row's metrics lack one.
    IndexError
        If ``extras`` is shorter than ``rows``.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> root = rrm.exact_analysis(rrm.chain(1, error=0.1, prior=0.5)).root.to_dict()
    >>> print(format_comparison([("chain-1", 2, 1, root)]))
    name       nodes  depth        p_good         error  false_accept  false_reject        youden
    chain-1        2      1        0.5000        0.1800        0.1800        0.1800        0.6400
    """
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
    """The dependence-free bounds in one block.

    Parameters
    ----------
    b : Bounds
        From :func:`rrm_theory.bounds`.

    Returns
    -------
    str
        Two lines.

    Raises
    ------
    AttributeError
        If ``b`` is not a :class:`~rrm_theory.Bounds`.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> print(format_bounds(rrm.bounds(rrm.chain(1, error=0.1, prior=0.5))))
    bounds without independence (tight, by linear programming):
      false_accept [0.0000, 0.2000]   false_reject [0.0000, 0.2000]   error [0.0000, 0.2000]
    """
    kind = "tight, by linear programming" if b.method == "tight" else "fast inequalities, valid but possibly loose"
    return "\n".join([
        f"bounds without independence ({kind}):",
        f"  false_accept {_pair(b.false_accept)}   false_reject {_pair(b.false_reject)}   error {_pair(b.error)}",
    ])  # fmt: skip


def format_robustness(r: Robustness) -> str:
    """The adversary curve and the most likely bad outcome.

    Parameters
    ----------
    r : Robustness
        From :func:`rrm_theory.robustness`.

    Returns
    -------
    str
        Three lines.

    Raises
    ------
    AttributeError
        If ``r`` is not a :class:`~rrm_theory.Robustness`.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> print(format_robustness(rrm.robustness(rrm.chain(1, error=0.1, prior=0.5), budget=1)))
    adversary corrupting up to 1 helpers (not the root): worst false_accept by corruptions
      0: 0.1800   1: 0.9090
      most likely bad outcome (probability 0.3281): 1 corruption (L1_0)
    """
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
    """The top of the importance ranking.

    Parameters
    ----------
    imp : Importance
        From :func:`rrm_theory.importance`.
    k : int
        The evaluators shown.

    Returns
    -------
    str
        A title, a header and one line per evaluator; empty when ``k`` is 0.

    Raises
    ------
    AttributeError
        If ``imp`` is not an :class:`~rrm_theory.Importance`.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> print(format_importance(rrm.importance(rrm.chain(1, error=0.1, prior=0.5))))
    most important evaluators (root false_accept if each were perfect; adjoint):
      node  FA if perfect     dFA/dfa       RRW       RAW
      L0_0         0.1000      0.9000       1.8      5.56
      L1_0         0.1000      0.8000       1.8         5
    """
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
