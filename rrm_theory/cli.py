"""The ``rrm-theory`` command: a thin shell over the public functions.

Exit status, for every command (and ``EXIT_STATUS`` below):

==== ===========================================================================
0    success
1    failure (for example ``--method exact`` on a tree exact analysis declines)
2    input error: a bad spec file, option or value (one line on stderr)
3    an assumption fails (``check``)
4    a precision target missed (``--ci-width`` not reached within ``--max-samples``)
130  interrupted (SIGINT); 143 terminated (SIGTERM); worker processes are ended too
==== ===========================================================================

A batch of several specs reports every one it can and exits with the most
serious status among them: 2 > 1 > 4 > 3 > 0.

The module imports only the standard library at start-up; each command
imports what it needs, so ``--version`` and ``--help`` answer at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TextIO

from . import __version__
from ._argtypes import number, whole
from ._cli_theory import COMMANDS as THEORY_COMMANDS
from ._cli_theory import add_commands as add_theory_commands

__all__ = ["main", "EXIT_STATUS", "worst_status"]

#: Exit status by outcome.
EXIT_STATUS = {"success": 0, "failure": 1, "input": 2, "assumption": 3, "precision": 4,
               "interrupted": 130, "terminated": 143}  # fmt: skip
_SEVERITY = {0: 0, 3: 1, 4: 2, 1: 3, 2: 4}  # a batch exits with the most serious: 2 > 1 > 4 > 3 > 0

_EXIT_HELP = (
    "exit status: 0 success; 1 failure; 2 input error; 3 an assumption fails (check); 4 a precision target "
    "missed; 130/143 interrupted (SIGINT/SIGTERM). A batch exits with the most serious: 2 > 1 > 4 > 3."
)

# Defaults shown in --help; the library's own constants, checked equal in the tests.
DEFAULT_SAMPLES = 100_000
DEFAULT_MAX_SAMPLES = 100_000_000
DEFAULT_WORKERS = None  # every command: all the CPUs this process may use; results are the same for any number
DEFAULT_BOUNDS_BUDGET = 5.0
INTERVALS = ("wilson", "clopper-pearson")


def worst_status(codes: Sequence[int]) -> int:
    """The most serious of several exit statuses (2 > 1 > 4 > 3 > 0).

    A batch of specs exits with this status over its specs (:data:`EXIT_STATUS`).

    Parameters
    ----------
    codes : sequence of int
        Exit statuses (any iterable will do). A status not in the order above
        (130 or 143, say) counts as more serious than all of them; among several
        such, the first is returned.

    Returns
    -------
    int
        The most serious of ``codes``; 0 (success) if there are none.

    Raises
    ------
    TypeError
        If ``codes`` is not iterable, or holds an item that cannot be hashed.

    Examples
    --------
    >>> worst_status([0, 3, 4]), worst_status([4, 1]), worst_status([1, 2, 0]), worst_status([])
    (4, 1, 2, 0)
    >>> worst_status([2, 130])
    130
    """
    return max(codes, key=lambda c: _SEVERITY.get(c, 5), default=0)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that ``finally`` blocks end the workers."""


_WORKERS_HELP = ("local worker processes (default: every CPU this process may use; small jobs run in this "
                 "process); the numbers are the same for any")
_fraction = number(0.0, 1.0, open_low=True, open_high=True)
_fraction_closed = number(0.0, 1.0)


def _power_of_two(text: str) -> int:
    value = whole(2)(text)
    if value & (value - 1):
        below = 1 << (value.bit_length() - 1)
        raise argparse.ArgumentTypeError(f"{text} is not a power of two (Sobol' sequences balance only at powers of "
                                         f"two: {below:,} or {2 * below:,})")  # fmt: skip
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rrm-theory",
        description="Error propagation in recursive reward modeling: evaluation trees and their oversight error.",
        epilog=_EXIT_HELP,
    )
    parser.add_argument("--version", action="version", version=f"rrm-theory {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    analyze = commands.add_parser(
        "analyze",
        help="false-accept / false-reject rates of one or more spec files",
        description="Analyse evaluation-tree specs (TOML or JSON, docs/spec-format.md): exactly, "
        "by Monte Carlo with confidence intervals, or both; with bounds that hold without independence, "
        "an adversary and the importance of every evaluator.",
        epilog=_EXIT_HELP,
    )
    analyze.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (.toml or .json)")
    analyze.add_argument("--json", action="store_true", help="one JSON object per spec, one per line (JSON Lines)")
    analyze.add_argument("--per-node", action="store_true", help="add every node's metrics")
    analyze.add_argument(
        "--method",
        choices=("exact", "monte-carlo", "both"),
        help="default: exact, or both when a Monte Carlo option is given; where exact analysis "
        "declines a tree, the default runs Monte Carlo instead and says so",
    )
    extras = analyze.add_argument_group("bounds, adversary, importance")
    extras.add_argument("--bounds", choices=("auto", "tight", "fast", "none"), default="auto",
                        help="bounds without independence: tight (linear programming), fast (propagated "
                        "inequalities) or none; default auto: tight where they fit --bounds-budget, else fast")  # fmt: skip
    extras.add_argument("--bounds-budget", type=number(0.0, open_low=True), default=DEFAULT_BOUNDS_BUDGET,
                        metavar="SECONDS", help=f"the predicted time the tight bounds may take (default "
                        f"{DEFAULT_BOUNDS_BUDGET:g})")  # fmt: skip
    extras.add_argument("--budget", type=whole(0), default=3, help="adversary's corruption budget T (default 3)")
    extras.add_argument("--corrupt-root", action="store_true", help="let the adversary corrupt the root overseer")
    extras.add_argument("--no-adversary", action="store_true", help="skip the adversary")
    extras.add_argument("--no-importance", action="store_true", help="skip the importance ranking")
    mc = analyze.add_argument_group("Monte Carlo")
    mc.add_argument("--samples", type=whole(1), help=f"episodes to sample (default {DEFAULT_SAMPLES:,})")
    mc.add_argument("--seed", type=whole(0), help="seed of Monte Carlo and of --uncertainty and --sobol (default: "
                    "fresh, and reported so the run can be repeated); alone, it asks for Monte Carlo too, except "
                    "with --uncertainty or --sobol")  # fmt: skip
    mc.add_argument("--ci-width", type=_fraction, help="sample until every root interval is narrower than this "
                    "(exit status 4 if --max-samples comes first)")  # fmt: skip
    mc.add_argument("--max-samples", type=whole(1), default=DEFAULT_MAX_SAMPLES,
                    help=f"hard cap on the episodes sampled (default {DEFAULT_MAX_SAMPLES:,})")  # fmt: skip
    mc.add_argument("--workers", type=whole(1), default=DEFAULT_WORKERS, help=_WORKERS_HELP)
    mc.add_argument("--scheduler", metavar="ADDRESS", help="sample on a Dask cluster: tcp://HOST:PORT, or 'local' "
                    "(needs the dask extra; the same numbers as one worker)")  # fmt: skip
    mc.add_argument("--batch-size", type=whole(1), default=1 << 20, help="episodes per task (same numbers)")
    mc.add_argument("--confidence", type=_fraction, default=0.95, help="interval level (default 0.95)")
    mc.add_argument("--interval", choices=INTERVALS, default="wilson", help="interval for proportions")
    mc.add_argument("--quiet", action="store_true", help="no progress bar")
    unc = analyze.add_argument_group("uncertain rates (docs/uncertainty.md; the spec gives rates as distributions)")
    unc.add_argument("--uncertainty", type=whole(1), metavar="DRAWS", help="draw the uncertain rates DRAWS times "
                     "and analyse each draw exactly: the mean, median and credible interval of every root "
                     "metric")  # fmt: skip
    unc.add_argument("--credible", type=_fraction, default=0.95, metavar="LEVEL",
                     help="level of the equal-tailed credible intervals (default 0.95)")  # fmt: skip
    unc.add_argument("--exceed", type=_fraction_closed, metavar="LEVEL",
                     help="also report P(root false accept > LEVEL) over the draws")  # fmt: skip
    unc.add_argument("--sobol", type=_power_of_two, metavar="N", help="Sobol indices of the root false accept for "
                     "each uncertain rate, from N base samples (a power of two; N (k + 2) exact evaluations; needs the "
                     "sensitivity extra); intervals at --confidence")  # fmt: skip
    check = commands.add_parser(
        "check",
        help="which assumptions of the RRM literature a decomposition satisfies",
        description="Check the assumptions of rrm_theory.assumptions on each spec.",
        epilog=_EXIT_HELP,
    )
    check.add_argument("specs", nargs="+", metavar="SPEC")
    check.add_argument("--human-reach", type=_fraction_closed, help="override the spec's human_reach")
    check.add_argument("--unaided-error", type=_fraction_closed, help="override the spec's unaided_error")
    check.add_argument("--json", action="store_true", help="one JSON object per spec, one per line (JSON Lines)")
    sim = commands.add_parser(
        "sim",
        help="run simulation studies (sims/*.toml) into resumable results stores",
        description="Run study files (docs/studies.md): every point the store lacks is computed and stored as it "
        "finishes, so an interrupted run resumes where it stopped.",
        epilog=_EXIT_HELP,
    )
    sim.add_argument("studies", nargs="+", metavar="STUDY", help="study files (.toml)")
    sim.add_argument("--workers", type=whole(1), default=DEFAULT_WORKERS, help=_WORKERS_HELP)
    sim.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster: tcp://HOST:PORT, or 'local' for "
                     "a local cluster of --workers processes (needs the dask extra)")  # fmt: skip
    sim.add_argument("--store", metavar="PATH", help="the results database (default: the study's folder, "
                     "<name>.sqlite)")  # fmt: skip
    sim.add_argument("--status", action="store_true", help="print done/total per method; compute nothing")
    sim.add_argument("--export", metavar="FILE", help="write the tidy table (.csv or .parquet) of the studies' points")
    sim.add_argument("--fresh", action="store_true", help="delete the studies' stored rows first and compute them again")
    sim.add_argument("--quick", action="store_true", help="the studies' [quick] axes")
    sim.add_argument("--json", action="store_true", help="one JSON object per computed point (JSON Lines)")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    figures = commands.add_parser(
        "figures",
        help="the paper's figures, from the studies in sims/",
        description="Run the catalog's studies (resuming from their stores) and draw every figure of the set as "
        "vector PDF and 300-dpi PNG, each with the data it plots as CSV, and a README with the captions.",
        epilog=_EXIT_HELP,
    )
    figures.add_argument("figures", nargs="*", metavar="FIGURE", help="figures of the set (default: all)")
    figures.add_argument("--sims", default="sims", metavar="DIR", help="the studies folder (default ./sims)")
    figures.add_argument("--out", metavar="DIR", help="where the files go (default ./figures; with --quick, a "
                         "scratch folder)")  # fmt: skip
    figures.add_argument("--format", default="pdf,png", help="comma-separated: pdf, png, svg (default pdf,png)")
    figures.add_argument("--quick", action="store_true", help="the studies' [quick] axes, stores in a scratch folder")
    figures.add_argument("--workers", type=whole(1), default=DEFAULT_WORKERS, help=_WORKERS_HELP)
    figures.add_argument("--scheduler", metavar="ADDRESS", help="run the studies on a Dask cluster (see sim)")
    add_theory_commands(commands)
    from ._cli_export import add_export_parser
    from ._cli_fit import add_fit_parser

    add_fit_parser(commands, _EXIT_HELP)
    add_export_parser(commands, _EXIT_HELP)
    return parser


def _load_all(paths: Sequence[str], err: TextIO) -> tuple[list[tuple[str, Any, Any]], int]:
    """Every spec that loads, as (path, tree, compiled tree), and status 2 if one does not
    (each bad one named on one line). Loading validates by compiling: the analyses reuse it."""
    from .errors import SpecError
    from .spec import _load

    trees, status = [], 0
    for path in paths:
        try:
            trees.append((path, *_load(path)))
        except SpecError as exc:
            print(f"rrm-theory: error: {exc}", file=err)
            status = 2
    return trees, status


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._jsonl import write_json_line
    from ._text import printable
    from .assumptions import check_assumptions

    trees, status = _load_all(args.specs, err)
    codes = [status]
    for path, tree, _ in trees:
        checks = check_assumptions(tree, human_reach=args.human_reach, unaided_error=args.unaided_error)
        failed = any(c.status == "fails" for c in checks)
        codes.append(3 if failed else 0)
        if args.json:
            write_json_line(out, "check", {"name": tree.graph["name"], "source": path, "all_hold": not failed,
                                           "assumptions": [c.to_dict() for c in checks]})  # fmt: skip
        else:
            out.write(f"{printable(tree.graph['name'])}  ({printable(path)})\n")
            for c in checks:
                mark = {"holds": "holds     ", "fails": "FAILS     ", "not stated": "not stated"}[c.status]
                nodes = f"  [{', '.join(printable(str(v)) for v in c.nodes)}]" if c.nodes else ""
                out.write(f"  {mark}  {c.name}: {c.claim}{nodes}\n")
    return worst_status(codes)


@dataclass
class _Outcome:
    source: str
    tree: Any
    compiled: Any  # the tree compiled once (rrm_theory._compile.Compiled), for every analysis that takes it
    exact: Any = None
    mc: Any = None
    status: int = 0
    notes: list[tuple[str, str]] = field(default_factory=list)  # (note | warning, one line): declined, skipped
    skipped: dict[str, str] = field(default_factory=dict)
    bounds: Any = None
    robustness: Any = None
    importance: Any = None
    concentration: list[dict[str, Any]] | None = None
    analytic: bool = False  # bounds, adversary and importance were considered
    uncertain: bool = False  # --uncertainty or --sobol was asked for
    uncertainty: Any = None
    sobol: Any = None

    def shape(self) -> tuple[int, int, int]:
        """Nodes, leaves and depth of the tree."""
        c = self.compiled
        return c.size, int(c.is_leaf.sum()), int(c.level[-1])

    def json(self, per_node: bool) -> dict[str, Any]:
        if self.exact is not None:
            obj = self.exact.to_dict(per_node=per_node)
        else:
            est = {m: (None if e is None else e.estimate) for m, e in self.mc.root.items()}
            nodes, leaves, depth = self.shape()
            obj = {
                "name": self.mc.name,
                "nodes": nodes,
                "leaves": leaves,
                "depth": depth,
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
        if self.uncertain:
            obj["uncertainty"] = {
                "propagation": None if self.uncertainty is None else self.uncertainty.to_dict(),
                "sobol": None if self.sobol is None else self.sobol.to_dict(),
            }
        obj["source"] = self.source
        obj["skipped"] = dict(self.skipped)
        return obj

    def root(self) -> dict[str, float | None]:
        if self.exact is not None:
            return self.exact.root.to_dict()
        return {m: (None if e is None else e.estimate) for m, e in self.mc.root.items()}

    def skip(self, what: str, why: str) -> None:
        self.skipped[what] = why
        self.notes.append(("note", f"{what} {why}"))


def _run(source: str, tree: Any, compiled: Any, args: argparse.Namespace, interactive: bool) -> _Outcome:
    """Every analysis ``args`` asks for. ``compiled`` is ``tree`` compiled (when it was loaded):
    it goes to each analysis that takes a compiled tree, so that none reads and checks the graph
    again; the graph goes where it is needed (distributions, importance's edited copies)."""
    from .errors import ExactRefused
    from .exact import exact_analysis

    uncertain = args.uncertainty is not None or args.sobol is not None
    if uncertain:
        _require_distributions(source, tree, args)
    sampling = args.samples is not None or args.ci_width is not None or (args.seed is not None and not uncertain)
    method = args.method or ("both" if sampling else "auto")
    o = _Outcome(source, tree, compiled)
    if method in ("exact", "both", "auto"):
        try:
            o.exact = exact_analysis(compiled)
        except ExactRefused as exc:
            if method == "exact":
                raise ExactRefused(f"{exc}; run with --method monte-carlo") from None
            o.notes.append(("note", f"exact analysis declined: {exc}; Monte Carlo estimates below"))
    if method in ("monte-carlo", "both") or (method == "auto" and o.exact is None):
        from .montecarlo import monte_carlo

        executor = None
        if args.scheduler is not None:
            from .studies.executors import executor_for

            executor = executor_for(args.workers, args.scheduler)
        try:
            o.mc = _sample(monte_carlo, compiled, args, interactive, executor)
        finally:
            if executor is not None:
                executor.close()
        if o.mc.reached is False:
            metric, width = o.mc.widest()
            o.status = 4
            o.notes.append(("warning", f"{o.mc.name}: stopped at the sample cap ({o.mc.samples:,} episodes) before "
                            f"every root interval was narrower than {args.ci_width} (widest: {metric}, {width:.3g}); "
                            "raise --max-samples"))  # fmt: skip
    if uncertain:
        _uncertainty(o, tree, args)
    if method == "monte-carlo":
        return o
    o.analytic = True
    if args.bounds == "none":
        o.skipped["bounds"] = "--bounds none"
    else:
        o.bounds = _optional(o, "bounds", lambda: _bounds(compiled, args, o))
    if args.no_adversary:
        o.skipped["adversary"] = "--no-adversary"
    elif o.exact is None:
        o.skip("adversary", "skipped: it needs exact analysis, which declined this tree")
    else:
        from .adversary import robustness

        o.robustness = _optional(o, "adversary", lambda: robustness(
            compiled, budget=args.budget, root_corruptible=args.corrupt_root))  # fmt: skip
    if args.no_importance:
        o.skipped["importance"] = "--no-importance"
    else:
        from ._conditioning import shared_events
        from .importance import importance

        # the compiled tree serves the adjoint method (exact, no shared events); the other
        # methods (exact differences, Monte Carlo where exact analysis declines) edit copies of the graph
        adjoint = o.exact is not None and len(shared_events(compiled)) == 0
        o.importance = _optional(o, "importance", lambda: importance(
            compiled if adjoint else tree, samples=args.samples or min(20_000, args.max_samples),
            rng=args.seed))  # fmt: skip
        if o.importance is not None and o.importance.method == "monte-carlo":
            o.notes.append(("note", f"importance: Monte Carlo estimates ({o.importance.samples:,} episodes per "
                                    "evaluator variant), as exact analysis declined this tree"))  # fmt: skip
    if o.exact is not None and args.bounds == "none":  # the tail bounds are bounds too
        o.skipped["concentration"] = "--bounds none"
    elif o.exact is not None:
        from .bounds import concentration

        o.concentration = _optional(o, "concentration", lambda: concentration(tree, analysis=o.exact))
    return o


def _require_distributions(source: str, tree: Any, args: argparse.Namespace) -> None:
    from .errors import SpecError
    from .uncertainty import parameters

    if not parameters(tree):
        option = "--uncertainty" if args.uncertainty is not None else "--sobol"
        raise SpecError(f"{source}: {option} needs rates given as distributions (an [uncertainty] table, or "
                        "{ beta = [a, b] } in place of a value; docs/uncertainty.md), and this spec has none")


def _uncertainty(o: _Outcome, tree: Any, args: argparse.Namespace) -> None:
    """--uncertainty and --sobol, one seed for both (the one given, or a fresh one, reported)."""
    import numpy as np

    from .uncertainty import propagate, sobol

    o.uncertain = True
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if args.uncertainty is not None:
        o.uncertainty = _optional(o, "uncertainty", lambda: propagate(
            tree, args.uncertainty, rng=seed, level=args.credible, exceed=args.exceed))  # fmt: skip
    if args.sobol is not None:
        try:
            o.sobol = _optional(o, "sobol", lambda: sobol(tree, args.sobol, rng=seed, level=args.confidence))
        except ModuleNotFoundError as exc:  # SALib, the sensitivity extra
            o.skip("sobol", f"skipped: {exc}")
            o.status = worst_status([o.status, 1])


def _sample(monte_carlo: Callable[..., Any], tree: Any, args: argparse.Namespace, interactive: bool,
            executor: Any) -> Any:  # fmt: skip
    options = dict(
        samples=args.samples or min(DEFAULT_SAMPLES, args.max_samples),
        rng=args.seed,
        batch_size=args.batch_size,
        workers=args.workers,
        ci_width=args.ci_width,
        max_samples=args.max_samples,
        confidence=args.confidence,
        interval=args.interval,
        progress=interactive,
    )
    if executor is not None:
        options["executor"] = executor
    return monte_carlo(tree, **options)


def _bounds(compiled: Any, args: argparse.Namespace, o: _Outcome) -> Any:
    from .bounds import _choose

    result, chosen = _choose(compiled, args.bounds, args.bounds_budget)  # bounds(), with its plan
    if args.bounds == "auto" and result.method == "fast":
        bits, seconds = chosen.bits, chosen.seconds
        if chosen.stopped:
            why = (f"the tight bounds' column generation ({bits} free response bits) passed {chosen.stopped:,} "
                   f"round{'s' * (chosen.stopped != 1)}, twice what their plan assumes; give --bounds tight to run "
                   "it to the end")  # fmt: skip
        elif not chosen.pricer:
            why = (f"the tight bounds are beyond reach for {bits:,} free response bits (at most 62, and fewer "
                   "for wide rules; docs/bounds.md section 2.4)")  # fmt: skip
        else:
            why = (f"the tight bounds ({bits} free response bits) would take about {seconds:.3g} s, over "
                   f"--bounds-budget {args.bounds_budget:g}; raise it, or give --bounds tight")  # fmt: skip
        o.notes.append(("note", f"bounds: the fast inequalities, as {why}"))
    return result


def _optional(o: _Outcome, what: str, compute: Callable[[], Any]) -> Any:
    """An extra that may decline a tree (too many states or analyses): a one-line note and null."""
    from .errors import RRMError

    try:
        return compute()
    except RRMError as exc:
        o.skip(what, f"skipped: {exc}")
        return None


def _analyze(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._jsonl import write_json_line
    from .errors import RRMError, SpecError

    if args.samples is not None and args.samples > args.max_samples:
        print(f"rrm-theory analyze: error: --samples {args.samples} is more than --max-samples {args.max_samples} "
              "(a hard cap)", file=err)  # fmt: skip
        return 2
    trees, status = _load_all(args.specs, err)
    codes = [status]
    interactive = not args.quiet and out.isatty() and err.isatty()  # a progress bar only on a terminal
    outcomes = []
    for path, tree, compiled in trees:
        try:
            o = _run(path, tree, compiled, args, interactive)
        except SpecError as exc:
            print(f"rrm-theory: error: {exc}", file=err)
            codes.append(2)
            continue
        except RRMError as exc:
            print(f"rrm-theory: {exc}", file=err)
            codes.append(1)
            continue
        codes.append(o.status)
        for kind, note in o.notes:
            print(f"rrm-theory: {kind}: {note}", file=err)
        outcomes.append(o)
        if args.json:
            write_json_line(out, "analyze", o.json(args.per_node))
            out.flush()
    if not args.json and outcomes:
        _print_text(outcomes, args, out)
    return worst_status(codes)


def _print_text(outcomes: list[_Outcome], args: argparse.Namespace, out: TextIO) -> None:
    from ._text import printable
    from .report import format_comparison

    if len(outcomes) == 1 or args.per_node or any(o.mc is not None or o.uncertain for o in outcomes):
        out.write("\n\n".join(_summary(o, args.per_node) for o in outcomes) + "\n")
        return
    rows = [(printable(o.tree.graph["name"]), o.shape()[0], o.shape()[2], o.root()) for o in outcomes]
    extras = [
        (o.bounds.false_accept if o.bounds else None,
         o.robustness.worst_false_accept[1]
         if o.robustness and o.robustness.worst_false_accept and len(o.robustness.worst_false_accept) > 1
         else None)
        for o in outcomes
    ]  # fmt: skip
    out.write(format_comparison(rows, extras) + "\n")


def _summary(o: _Outcome, per_node: bool) -> str:
    from ._text import printable
    from .report import format_bounds, format_importance, format_robustness, format_summary

    nodes, leaves, depth = o.shape()
    parts = [format_summary(
        o.exact,
        o.mc,
        nodes=nodes,
        leaves=leaves,
        depth=depth,
        name=printable(o.tree.graph["name"]),
        source=printable(o.source),
        per_node=per_node,
        note="\n".join(text for _, text in o.notes),
    )]  # fmt: skip
    if o.bounds is not None:
        parts.append(format_bounds(o.bounds))
    if o.robustness is not None:
        parts.append(format_robustness(o.robustness))
    if o.importance is not None:
        parts.append(format_importance(o.importance))
    if o.uncertainty is not None:
        parts.append(_format_propagation(o.uncertainty))
    if o.sobol is not None:
        parts.append(_format_sobol(o.sobol))
    return "\n".join(p for p in parts if p)


_UNCERTAIN_LABELS = {"false_accept": "P(approve | bad work)", "false_reject": "P(reject | good work)",
                     "error": "P(verdict wrong)"}  # fmt: skip


def _format_propagation(result: Any) -> str:
    level = f"{100 * result.level:g}%"
    k = len(result.parameters)
    lines = [f"uncertain rates: {result.draws:,} draws of {k} input{'s' * (k != 1)} (seed {result.seed}), each "
             f"analysed exactly; {level} equal-tailed credible intervals"]  # fmt: skip
    for metric, label in _UNCERTAIN_LABELS.items():
        s = result.summary[metric]
        if s.defined == 0:
            lines.append(f"  {label:<22} undefined in every draw")
            continue
        lines.append(f"  {label:<22} mean {s.mean:.4g}  median {s.median:.4g}  {level} [{s.low:.4g}, {s.high:.4g}]")
    if result.exceed is not None and result.p_exceed is not None:
        defined = result.summary["false_accept"].defined
        lines.append(f"  P(false accept > {result.exceed:g}) = {result.p_exceed:.4g} (of {defined:,} draws)")
    return "\n".join(lines)


def _format_sobol(s: Any) -> str:
    from ._text import printable

    lines = [f"Sobol indices of the root {s.metric.replace('_', ' ')} ({s.samples:,} base samples, {s.evaluations:,} "
             f"exact evaluations; +- {100 * s.level:g}% bootstrap), largest total first"]  # fmt: skip
    labels = [printable(p.label) for p in s.parameters]
    width = min(36, max(len(x) for x in labels))
    for j in s.ranked():
        lines.append(f"  {labels[j]:<{width}}  first {s.first[j]:6.3f} +- {s.first_conf[j]:.3f}   "
                     f"total {s.total[j]:6.3f} +- {s.total_conf[j]:.3f}")  # fmt: skip
    return "\n".join(lines)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    This is the ``rrm-theory`` command (also ``python -m rrm_theory``): output goes to
    ``sys.stdout``, messages to ``sys.stderr``. While it runs in the main thread,
    SIGTERM ends the command (status 143, worker processes ended too); the previous
    handler is restored on return.

    The errors rrm-theory raises on purpose are reported on stderr in one line and
    become the exit status, not exceptions: a :class:`~rrm_theory.errors.SpecError`
    2, any other :class:`~rrm_theory.errors.RRMError` 1; so do a theory command's
    ``ValueError`` (an invalid combination of options, 2) and an output that cannot
    be written (1; a closed pipe, 0).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name, as a shell splits them; default
        ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status (:data:`EXIT_STATUS`): 0 success, 1 failure, 2 an input
        error, 3 an assumption fails, 4 a precision target missed, 130 interrupted
        (``KeyboardInterrupt``), 143 terminated (SIGTERM). A batch of specs returns
        the most serious of its specs' statuses (:func:`worst_status`).

    Raises
    ------
    SystemExit
        From argument parsing: after ``--help`` or ``--version`` (status 0), and on
        a usage error such as an unknown option or a value out of range (status 2,
        one line on stderr). Any other exception that escapes is a bug, and
        propagates with its traceback.

    Examples
    --------
    >>> status = main(["check", "models/chip-design.toml"])  # doctest: +ELLIPSIS
    chip-design  (models/chip-design.toml)
      holds       easier_subtasks: every subtask is strictly easier to evaluate than its parent ...
    ...
    >>> status  # some assumptions fail
    3
    """
    args = _parser().parse_args(argv)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (e.g. called from a worker thread): keep the default
        previous = None
    try:
        return _dispatch(args)
    except _Terminated:
        return 143
    except KeyboardInterrupt:
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    from .errors import RRMError, SpecError

    try:
        if args.command in THEORY_COMMANDS:
            from ._cli_theory import run as run_theory

            return run_theory(args, sys.stdout)
        if args.command == "check":
            return _check(args, sys.stdout, sys.stderr)
        if args.command == "sim":
            from ._cli_sim import run_sim

            return run_sim(args, sys.stdout, sys.stderr)
        if args.command == "figures":
            from ._cli_figures import run_figures

            return run_figures(args, sys.stdout, sys.stderr)
        if args.command == "fit":
            from ._cli_fit import run_fit

            return run_fit(args, sys.stdout, sys.stderr)
        if args.command == "export":
            from ._cli_export import run_export

            return run_export(args, sys.stdout, sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
