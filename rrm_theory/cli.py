"""The ``rrm-theory`` command: a thin shell over the public functions.

Exit status: 0 success, 2 input error (one line on stderr, no traceback),
1 any other failure (for example exact analysis declining a tree with
``--method exact``); ``check`` exits 3 when an assumption fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any, Sequence, TextIO

from . import __version__
from .adversary import Robustness, robustness
from .assumptions import check_assumptions
from .bounds import Bounds, bounds, concentration
from .errors import ExactRefused, RRMError, SpecError
from .exact import exact_analysis
from .importance import Importance, importance
from .intervals import INTERVALS
from .montecarlo import DEFAULT_MAX_SAMPLES, MonteCarloResult, monte_carlo
from ._argtypes import number, whole
from ._cli_theory import COMMANDS as THEORY_COMMANDS
from ._cli_theory import add_commands as add_theory_commands
from ._cli_theory import run as run_theory
from .report import format_bounds, format_comparison, format_importance, format_robustness, format_summary
from .results import Analysis
from .spec import load_spec
from .tree import tree_depth, tree_leaves

__all__ = ["main"]

DEFAULT_SAMPLES = 100_000


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_fraction = number(0.0, 1.0, open_low=True, open_high=True)
_fraction_closed = number(0.0, 1.0)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rrm-theory",
        description="Error propagation in recursive reward modeling: evaluation trees and their oversight error.",
    )
    parser.add_argument("--version", action="version", version=f"rrm-theory {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    analyze = commands.add_parser(
        "analyze",
        help="false-accept / false-reject rates of one or more spec files",
        description="Analyse evaluation-tree specs (TOML or JSON, docs/spec-format.md): exactly, "
        "by Monte Carlo with confidence intervals, or both.",
    )
    analyze.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (.toml or .json)")
    analyze.add_argument("--json", action="store_true", help="one JSON object per spec (one per line if several)")
    analyze.add_argument("--per-node", action="store_true", help="add every node's metrics")
    analyze.add_argument(
        "--method",
        choices=("exact", "monte-carlo", "both"),
        help="default: exact, or both when a Monte Carlo option is given; where exact analysis "
        "declines a tree, the default runs Monte Carlo instead and says so",
    )
    extras = analyze.add_argument_group("bounds, adversary, importance")
    extras.add_argument("--budget", type=whole(0), default=3, help="adversary's corruption budget T (default 3)")
    extras.add_argument("--corrupt-root", action="store_true", help="let the adversary corrupt the root overseer")
    mc = analyze.add_argument_group("Monte Carlo")
    mc.add_argument("--samples", type=whole(1), help=f"episodes to sample (default {DEFAULT_SAMPLES:,})")
    mc.add_argument("--seed", type=whole(0), help="seed (default: fresh, and reported so the run can be repeated)")
    mc.add_argument("--ci-width", type=_fraction, help="sample until every root interval is narrower than this")
    mc.add_argument("--max-samples", type=whole(1), default=DEFAULT_MAX_SAMPLES,
                    help=f"cap for --ci-width (default {DEFAULT_MAX_SAMPLES:,})")  # fmt: skip
    mc.add_argument("--workers", type=whole(1), default=1, help="local worker processes (same numbers as 1)")
    mc.add_argument("--batch-size", type=whole(1), default=1 << 20, help="episodes per task (same numbers)")
    mc.add_argument("--confidence", type=_fraction, default=0.95, help="interval level (default 0.95)")
    mc.add_argument("--interval", choices=INTERVALS, default="wilson", help="interval for proportions")
    mc.add_argument("--quiet", action="store_true", help="no progress bar")
    check = commands.add_parser(
        "check",
        help="which assumptions of the RRM literature a decomposition satisfies",
        description="Check the assumptions of rrm_theory.assumptions on each spec. Exit status: 0 when all "
        "that are stated hold, 3 when one fails, 2 on bad input.",
    )
    check.add_argument("specs", nargs="+", metavar="SPEC")
    check.add_argument("--human-reach", type=_fraction_closed, help="override the spec's human_reach")
    check.add_argument("--unaided-error", type=_fraction_closed, help="override the spec's unaided_error")
    check.add_argument("--json", action="store_true", help="one JSON object per spec (one per line if several)")
    add_theory_commands(commands)
    return parser


def _check(args: argparse.Namespace, out: TextIO) -> int:
    trees = [(path, load_spec(path)) for path in args.specs]
    failed = False
    several = len(trees) > 1
    for path, tree in trees:
        checks = check_assumptions(tree, human_reach=args.human_reach, unaided_error=args.unaided_error)
        failed |= any(c.status == "fails" for c in checks)
        if args.json:
            obj = {"name": tree.graph["name"], "all_hold": not any(c.status == "fails" for c in checks),
                   "assumptions": [c.to_dict() for c in checks]}  # fmt: skip
            out.write(json.dumps(obj, indent=None if several else 2) + "\n")
        else:
            out.write(f"{tree.graph['name']}  ({path})\n")
            for c in checks:
                mark = {"holds": "holds     ", "fails": "FAILS     ", "not stated": "not stated"}[c.status]
                nodes = f"  [{', '.join(str(v) for v in c.nodes)}]" if c.nodes else ""
                out.write(f"  {mark}  {c.name}: {c.claim}{nodes}\n")
    return 3 if failed else 0


@dataclass
class _Outcome:
    source: str
    tree: Any
    exact: Analysis | None
    mc: MonteCarloResult | None
    note: str = ""
    bounds: Bounds | None = None
    robustness: Robustness | None = None
    importance: Importance | None = None
    concentration: list[dict[str, Any]] | None = None
    analytic: bool = False  # bounds, adversary and importance were attempted

    def json(self, per_node: bool) -> dict[str, Any]:
        if self.exact is not None:
            obj = self.exact.to_dict(per_node=per_node)
        else:
            assert self.mc is not None
            est = {m: (None if e is None else e.estimate) for m, e in self.mc.root.items()}
            obj = {
                "name": self.mc.name,
                "nodes": self.tree.number_of_nodes(),
                "leaves": len(tree_leaves(self.tree)),
                "depth": tree_depth(self.tree),
                "method": "monte-carlo",
                "root": est,
            }
            if per_node:
                obj["per_node"] = {
                    str(v): {m: (None if e is None else e.estimate) for m, e in d.items()}
                    for v, d in self.mc.per_node.items()
                }
        if self.analytic:
            obj["bounds"] = None if self.bounds is None else self.bounds.to_dict()
            obj["robustness"] = None if self.robustness is None else self.robustness.to_dict()
            obj["importance"] = None if self.importance is None else self.importance.to_list()
            obj["concentration"] = self.concentration
        if self.mc is not None:
            obj["monte_carlo"] = self.mc.to_dict(per_node=per_node)
        return obj

    def root(self) -> dict[str, float | None]:
        if self.exact is not None:
            return self.exact.root.to_dict()
        assert self.mc is not None
        return {m: (None if e is None else e.estimate) for m, e in self.mc.root.items()}


def _run(source: str, tree: Any, args: argparse.Namespace, err: TextIO, interactive: bool) -> _Outcome:
    sampling = args.samples is not None or args.ci_width is not None or args.seed is not None
    method = args.method or ("both" if sampling else "auto")
    exact, note = None, ""
    if method in ("exact", "both", "auto"):
        try:
            exact = exact_analysis(tree)
        except ExactRefused as exc:
            if method == "exact":
                raise ExactRefused(f"{exc}; run with --method monte-carlo") from None
            note = f"exact analysis declined: {exc}; Monte Carlo estimates below"
            print(f"rrm-theory: note: {note}", file=err)
    mc = None
    if method in ("monte-carlo", "both") or (method == "auto" and exact is None):
        mc = monte_carlo(
            tree,
            samples=args.samples or DEFAULT_SAMPLES,
            rng=args.seed,
            batch_size=args.batch_size,
            workers=args.workers,
            ci_width=args.ci_width,
            max_samples=args.max_samples,
            confidence=args.confidence,
            interval=args.interval,
            progress=interactive,
        )
        if mc.reached is False:
            metric, width = mc.widest()
            print(
                f"rrm-theory: warning: {mc.name}: stopped at the sample cap ({mc.samples:,} episodes) before every "
                f"root interval was narrower than {args.ci_width} (widest: {metric}, {width:.3g}); "
                "raise --max-samples",
                file=err,
            )
    outcome = _Outcome(source, tree, exact, mc, note)
    if method != "monte-carlo":
        outcome.analytic = True
        outcome.bounds = _optional("bounds", err, lambda: bounds(tree))
        if exact is not None:
            outcome.robustness = _optional("adversary analysis", err, lambda: robustness(
                tree, budget=args.budget, root_corruptible=args.corrupt_root))  # fmt: skip
            outcome.importance = _optional("importance", err, lambda: importance(tree))
            outcome.concentration = concentration(tree)
    return outcome


def _optional(what: str, err: TextIO, compute: Any) -> Any:
    """An extra that may decline a tree (too many states or analyses): a note and null."""
    try:
        return compute()
    except RRMError as exc:
        print(f"rrm-theory: note: {what} skipped: {exc}", file=err)
        return None


def _analyze(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    trees = [(path, load_spec(path)) for path in args.specs]  # every input checked before any output
    interactive = not args.quiet and out.isatty() and err.isatty()  # a progress bar only on a terminal
    outcomes = [_run(path, tree, args, err, interactive) for path, tree in trees]
    if args.json:
        several = len(outcomes) > 1
        for o in outcomes:
            out.write(json.dumps(o.json(args.per_node), indent=None if several else 2, allow_nan=False) + "\n")
    elif len(outcomes) == 1 or args.per_node or any(o.mc is not None for o in outcomes):
        out.write("\n\n".join(_summary(o, args.per_node) for o in outcomes) + "\n")
    else:
        rows = [(o.tree.graph["name"], o.tree.number_of_nodes(), tree_depth(o.tree), o.root()) for o in outcomes]
        extras = [
            (o.bounds.false_accept if o.bounds else None,
             o.robustness.worst_false_accept[1]
             if o.robustness and o.robustness.worst_false_accept and len(o.robustness.worst_false_accept) > 1
             else None)
            for o in outcomes
        ]  # fmt: skip
        out.write(format_comparison(rows, extras) + "\n")
    return 0


def _summary(o: _Outcome, per_node: bool) -> str:
    parts = [_basic(o, per_node)]
    if o.bounds is not None:
        parts.append(format_bounds(o.bounds))
    if o.robustness is not None:
        parts.append(format_robustness(o.robustness))
    if o.importance is not None:
        parts.append(format_importance(o.importance))
    return "\n".join(p for p in parts if p)


def _basic(o: _Outcome, per_node: bool) -> str:
    return format_summary(
        o.exact,
        o.mc,
        nodes=o.tree.number_of_nodes(),
        leaves=len(tree_leaves(o.tree)),
        depth=tree_depth(o.tree),
        name=o.tree.graph["name"],
        source=o.source,
        per_node=per_node,
        note=o.note,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command in THEORY_COMMANDS:
            return run_theory(args, sys.stdout)
        if args.command == "check":
            return _check(args, sys.stdout)
        return _analyze(args, sys.stdout, sys.stderr)
    except SpecError as exc:
        print(f"rrm-theory: error: {exc}", file=sys.stderr)
        return 2
    except RRMError as exc:
        print(f"rrm-theory: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        if args.command not in THEORY_COMMANDS:
            raise  # not an input error: a bug to report, with its traceback
        print(f"rrm-theory {args.command}: error: {exc}", file=sys.stderr)  # invalid option combinations
        return 2
    except BrokenPipeError:  # output piped into `head`, say
        sys.stderr.close()
        return 0
    except (OSError, UnicodeEncodeError) as exc:  # a full disk, a terminal that cannot show a node id
        print(f"rrm-theory: cannot write the output: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
