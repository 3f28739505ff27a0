"""The ``rrm-theory`` command: a thin shell over the public functions.

Exit status: 0 success, 2 input error (one line on stderr, no traceback),
1 any other failure (for example exact analysis refusing a tree).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Sequence, TextIO

from . import __version__
from .errors import RRMError, SpecError
from .exact import exact_analysis
from .results import METRICS, Analysis
from .spec import load_spec

__all__ = ["main", "format_analysis", "format_comparison"]

WORST_SHOWN = 5


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rrm-theory",
        description="Error propagation in recursive reward modeling: evaluation trees, exact oversight error.",
    )
    parser.add_argument("--version", action="version", version=f"rrm-theory {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    analyze = commands.add_parser(
        "analyze",
        help="exact false-accept / false-reject rates of one or more spec files",
        description="Analyse evaluation-tree specs (TOML or JSON, MODEL.md section 6) exactly.",
    )
    analyze.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (.toml or .json)")
    analyze.add_argument("--json", action="store_true", help="one JSON object per spec (one per line if several)")
    analyze.add_argument("--per-node", action="store_true", help="add every node's metrics")
    return parser


def fmt(x: float | None) -> str:
    """A probability for people: 4 decimals, scientific below 1e-3, ``n/a`` when undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0.0 or abs(x) >= 1e-3:
        return f"{x:.4f}"
    return f"{x:.3e}"


def format_analysis(result: Analysis, *, source: str = "", per_node: bool = False) -> str:
    """The human summary of one analysis: size, root metrics, worst nodes."""
    lines = [
        f"{result.name}: {result.nodes} nodes, {result.leaves} leaves, depth {result.depth}"
        + (f"  ({source})" if source else ""),
        f"root verdict ({result.method}):",
    ]
    notes = {
        "p_good": "P(the work is acceptable)",
        "error": "P(verdict wrong)",
        "false_accept": "P(approve | bad work): the safety-critical rate",
        "false_reject": "P(reject | good work)",
        "youden": "1 - FA - FR (0 = the verdict carries no information)",
    }
    root = result.root.to_dict()
    lines += [f"  {m:<13}{fmt(root[m]):>11}   {notes[m]}" for m in METRICS]
    others = [(v, m) for v, m in result.per_node.items() if v != result.root_node]
    shown = others if per_node else sorted(others, key=lambda vm: -vm[1].error)[:WORST_SHOWN]
    if shown:
        title = "every node" if per_node else f"worst evaluators (highest error, {len(shown)} of {len(others)})"
        lines.append(f"{title}:")
        width = max(len(str(v)) for v, _ in shown)
        lines.append(f"  {'node':<{width}}  {'error':>10}  {'false_accept':>12}  {'false_reject':>12}")
        lines += [
            f"  {str(v):<{width}}  {fmt(m.error):>10}  {fmt(m.false_accept):>12}  {fmt(m.false_reject):>12}"
            for v, m in shown
        ]
    return "\n".join(lines)


def format_comparison(results: Sequence[Analysis]) -> str:
    """One row per analysis: size and root metrics side by side."""
    width = max(len("name"), *(len(r.name) for r in results))
    head = f"{'name':<{width}}  {'nodes':>7}  {'depth':>5}  " + "  ".join(f"{m:>12}" for m in METRICS)
    rows = [
        f"{r.name:<{width}}  {r.nodes:>7}  {r.depth:>5}  "
        + "  ".join(f"{fmt(getattr(r.root, m)):>12}" for m in METRICS)
        for r in results
    ]
    return "\n".join([head, *rows])


def _analyze(args: argparse.Namespace, out: TextIO) -> int:
    trees = [(path, load_spec(path)) for path in args.specs]  # every input checked before any output
    results = [(path, exact_analysis(tree)) for path, tree in trees]
    if args.json:
        several = len(results) > 1
        for _, result in results:
            obj = result.to_dict(per_node=args.per_node)
            out.write(json.dumps(obj, indent=None if several else 2, allow_nan=False) + "\n")
    elif len(results) == 1 or args.per_node:
        out.write("\n\n".join(format_analysis(r, source=p, per_node=args.per_node) for p, r in results) + "\n")
    else:
        out.write(format_comparison([r for _, r in results]) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _analyze(args, sys.stdout)
    except SpecError as exc:
        print(f"rrm-theory: error: {exc}", file=sys.stderr)
        return 2
    except RRMError as exc:
        print(f"rrm-theory: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head`, say
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
