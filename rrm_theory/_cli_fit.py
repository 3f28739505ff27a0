"""The ``fit`` command: evaluator error rates fitted from labelled data (docs/fit.md).

``rrm-theory fit LABELS.csv --spec SPEC [--out FITTED.toml] [--json] [--level L]``
prints a short table per node (or, with ``--json``, one JSON line described by
``docs/schemas/fit.json``) and with ``--out`` writes the fitted spec. A bad table or
spec raises :class:`~rrm_theory.errors.SpecError` (the caller prints it on one line
and exits 2).
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ._argtypes import number, whole

__all__ = ["add_fit_parser", "run_fit", "format_fit", "DEFAULT_MAX_ITER"]


def _prior(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not A,B (two numbers > 0)")
    positive = number(0.0, open_low=True)
    return positive(parts[0]), positive(parts[1])


#: ``--max-iter``'s default, shown in --help: rrm_theory.fit.DEFAULT_MAX_ITER (checked equal in the tests;
#: registering the parser imports only the standard library).
DEFAULT_MAX_ITER = 1000


def add_fit_parser(commands: Any, epilog: str) -> argparse.ArgumentParser:
    """Register the ``fit`` subcommand on an argparse subparsers object; return its parser."""
    p = commands.add_parser(
        "fit",
        help="fit evaluators' error rates from labelled data",
        description="Fit each labelled node's false_accept and false_reject from a label table (task, node, "
        "worker, label; optional gold, input): from gold where the truth is known, by two-coin Dawid-Skene EM "
        "where it is not, as Beta posteriors with credible intervals; optionally write the spec with the fitted "
        "rates and an [uncertainty] table. Internal nodes without input get observed rates only. See docs/fit.md.",
        epilog=epilog,
    )
    p.add_argument("labels", metavar="LABELS.csv", help="the label table (CSV; .tsv for tab-separated)")
    p.add_argument("--spec", required=True, metavar="SPEC", help="the spec whose nodes the labels name (.toml or "
                   ".json)")  # fmt: skip
    p.add_argument("--out", metavar="FITTED.toml", help="write the fitted spec here (TOML)")
    p.add_argument("--json", action="store_true", help="one JSON line (docs/schemas/fit.json)")
    p.add_argument("--level", type=number(0.0, 1.0, open_low=True, open_high=True), default=0.95,
                   help="credible level of the intervals (default 0.95)")  # fmt: skip
    p.add_argument("--prior", type=_prior, default=(1.0, 1.0), metavar="A,B",
                   help="the Beta(A, B) prior of every rate (default 1,1: uniform)")  # fmt: skip
    p.add_argument("--max-iter", type=whole(1), default=DEFAULT_MAX_ITER,
                   help=f"most EM iterations (default {DEFAULT_MAX_ITER:,})")  # fmt: skip
    return p


def run_fit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Fit, print, and write the fitted spec if asked; the exit status (0).

    Raises
    ------
    SpecError
        If the table, the spec or ``--out`` is not valid input.
    """
    from pathlib import Path

    from ._jsonl import write_json_line
    from ._text import printable
    from .errors import SpecError
    from .fit import fit_rates

    if args.out is not None and Path(args.out).suffix.lower() != ".toml":
        raise SpecError(f"{printable(args.out)}: --out writes the fitted spec as TOML: give a .toml file")
    fit = fit_rates(args.labels, args.spec, level=args.level, prior=tuple(args.prior), max_iter=args.max_iter)
    if args.out is not None:
        fit.write_spec(args.out)
    for v, node in fit.evaluators.items():
        if not node.converged:
            print(f"rrm-theory fit: warning: node {printable(v)}: EM did not converge in {args.max_iter:,} "
                  "iterations; its rates are where it stopped (raise --max-iter)", file=err)  # fmt: skip
    for v, node in fit.evaluators.items():
        for name in ("false_accept", "false_reject"):
            rate = getattr(node, name)
            if rate.labels == 0 or rate.information < 0.01:
                print(f"rrm-theory fit: note: node {printable(v)}: the labels say next to nothing about {name} "
                      "(none on items of its class with a known reference, or too few labels per item to tell); "
                      "its posterior is the prior", file=err)  # fmt: skip
    if fit.overridden:
        print(f"rrm-theory fit: note: the spec also gives {', '.join(printable(v) for v in fit.overridden)} "
              "approvals besides the channel (deception, blind spots, influence); the fitted rates count them "
              "too (docs/fit.md)", file=err)  # fmt: skip
    if args.json:
        write_json_line(out, "fit", fit.to_dict())
    else:
        out.write(format_fit(fit))
        if args.out is not None:
            out.write(f"fitted spec written to {printable(args.out)}\n")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_fit(fit: Any) -> str:
    """The human summary: a short table per node, pooled first, then each worker."""
    from ._text import printable

    a, b = fit.prior
    lines = [f"{printable(fit.source)} on {printable(fit.spec_source)}: {_count(len(fit.evaluators), 'labelled node')}; "
             f"posterior means and {fit.level * 100:g}% credible intervals, prior Beta({a:g}, {b:g})"]  # fmt: skip
    for v, node in fit.evaluators.items():
        if node.rates == "channel":
            kind = ("leaf" if node.leaf else "internal, against its input") + ": channel rates, written"
        else:
            kind = "internal, no input: observed rates P(V=1|Y=0), P(V=0|Y=1) against gold, not written"
        facts = f"{_count(node.labels, 'label')} on {_count(node.items, 'item')}, {node.gold:,} of them with gold"
        if node.reference == "input":
            facts += f" and {node.input:,} with input"
        if node.em_items:
            facts += f"; EM on {_count(node.em_items, 'item')} ({_count(node.iterations, 'iteration')}"
            facts += ")" if node.converged else ", NOT converged)"
        if node.unused:
            facts += f"; {node.unused:,} labels without gold unused"
        lines.append(f"{printable(v)} ({kind}): {facts}")
        known = "input" if node.reference == "input" else "gold"  # the labels whose reference is given
        rows = [("(pooled)", node.false_accept, node.false_reject, node.labels, getattr(node, known))]
        rows += [(printable(w), f.false_accept, f.false_reject, f.labels, getattr(f, known))
                 for w, f in node.workers.items()]  # fmt: skip
        cells = [(name, _rate(fa), _rate(fr), f"{n:,}", f"{g:,}") for name, fa, fr, n, g in rows]
        head = ("evaluator", "false_accept", "false_reject", "labels", f"with {known}")
        widths = [max(len(r[i]) for r in cells + [head]) for i in range(5)]
        for r in [head] + cells:
            left = "  ".join(c.ljust(w) for c, w in zip(r[:3], widths[:3]))
            right = "  ".join(c.rjust(w) for c, w in zip(r[3:], widths[3:]))
            lines.append(f"  {left}  {right}")
    if fit.unlabelled:
        lines.append(f"not labelled (kept as in the spec): {', '.join(printable(v) for v in fit.unlabelled)}")
    return "\n".join(lines) + "\n"


def _rate(rate: Any) -> str:
    lo, hi = rate.interval
    return f"{_num(rate.estimate)} [{_num(lo)}, {_num(hi)}]"


def _num(x: float) -> str:
    return f"{x:.3f}" if x == 0 or x >= 0.001 else f"{x:.1e}"
