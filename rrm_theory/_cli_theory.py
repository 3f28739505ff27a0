"""The theory commands of ``rrm-theory``: threshold, fixed-point, depth, levels, nso.

Each prints a short human summary, or with ``--json`` one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, Callable, TextIO

import sympy as sp

from . import homogeneous as hom
from ._argtypes import number, whole
from .levels import TrainingModel, level_fixed_points, linear_closed_form, max_level, trajectory
from .nso import GAMES, DEFAULT_START, game_from_lines, optimal_steps
from .spec import load_spec_dict

__all__ = ["add_commands", "COMMANDS"]


def _line(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not SLOPE,INTERCEPT")
    return (number()(parts[0]), number()(parts[1]))


_probability = number(0.0, 1.0)
_error = number(0.0, 0.5)


def _tree_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--rule", required=required, help="the internal nodes' rule: all, any, majority, at_least:K")
    p.add_argument("--branching", type=whole(1), required=required, help="children per internal node")


def add_commands(commands: Any) -> None:
    """Register the theory subcommands on an argparse subparsers object."""
    p = commands.add_parser("threshold", help="the largest evaluator error a homogeneous tree tolerates",
                            description="Noise threshold of a homogeneous tree: the largest symmetric evaluator "
                            "error (every node alike, truths all equal) at which the per-level map keeps a stable "
                            "fixed point below 1/2. See docs/theory.md.")  # fmt: skip
    _tree_options(p, required=True)
    p.add_argument("--deception", action="store_true", help="the threshold for the deception rate instead")
    p.add_argument("--error", type=_error, default=0.0, help="with --deception: every evaluator's error (default 0)")
    p.add_argument("--latex", action="store_true", help="add LaTeX of the threshold and the map")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("fixed-point", help="fixed points of the per-level error map and the limit",
                            description="Fixed points in [0, 1/2] of the per-level error map of a homogeneous "
                            "tree whose truths are all 1, and where the error converges as depth grows.")  # fmt: skip
    _tree_options(p, required=True)
    p.add_argument("--error", type=_error, required=True, help="every internal evaluator's symmetric error E")
    p.add_argument("--leaf-error", type=_error, help="the leaves' error E0 (default E)")
    p.add_argument("--latex", action="store_true", help="add LaTeX of the map")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("depth", help="the deepest tree whose root error stays below a target",
                            description="Root error by depth of a homogeneous tree (a [generate] spec, or the "
                            "options below) and the largest depth that stays below --target.")  # fmt: skip
    p.add_argument("spec", nargs="?", metavar="SPEC", help="a [generate] spec file; or give --rule and --branching")
    _tree_options(p, required=False)
    p.add_argument("--error", type=_error, default=0.0, help="internal evaluators' symmetric error")
    p.add_argument("--leaf-error", type=_error, help="leaves' error (default --error)")
    p.add_argument("--prior", type=_probability, default=1.0, help="P(a leaf's work is good) (default 1)")
    p.add_argument("--target", type=_probability, required=True, help="the root error to stay below")
    p.add_argument("--max-depth", type=whole(0), default=10_000, help="deepest depth examined (default 10,000)")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("levels", help="oversight error across recursive training levels",
                            description="The training-level map of docs/theory.md: level k's helpers learn from "
                            "level k-1's labels; the human's unaided error grows with difficulty.")  # fmt: skip
    p.add_argument("--human-error", type=_error, default=0.1, help="u_0 (default 0.1)")
    p.add_argument("--difficulty", type=number(0.0, 1.0, open_low=True), default=0.9, help="r in (0, 1] (default 0.9)")
    p.add_argument("--helpers", type=whole(0), default=3, help="m (default 3)")
    p.add_argument("--amplification", type=number(0.0), default=1.0, help="gamma (default 1)")
    p.add_argument("--gap", type=number(0.0), default=0.0, help="g, the generalisation gap (default 0)")
    p.add_argument("--combine-error", type=_error, default=0.0, help="c (default 0)")
    p.add_argument("--rule", default="majority", help="how the votes combine (default majority)")
    p.add_argument("--no-human-vote", action="store_true", help="the human does not vote herself")
    p.add_argument("--levels", type=whole(0), default=20, help="levels to show (default 20)")
    p.add_argument("--target", type=_probability, help="report the highest level below this error")
    p.add_argument("--json", action="store_true")

    p = commands.add_parser("nso", help="nested scalable oversight over a capability gap (Engels et al. 2025)",
                            description="Success of nested oversight over a general-Elo gap with n steps, and "
                            "the best n (Engels, Baek, Kantamneni, Tegmark 2025, arXiv 2504.18530).")  # fmt: skip
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--game", choices=sorted(GAMES), help="one of the paper's four games")
    source.add_argument("--guard", type=_line, metavar="SLOPE,INTERCEPT", help="the guard's domain-Elo line")
    p.add_argument("--houdini", type=_line, metavar="SLOPE,INTERCEPT", help="the houdini's line (with --guard)")
    p.add_argument("--start", type=number(), default=DEFAULT_START, help=f"G0 (default {DEFAULT_START:g})")
    p.add_argument("--gap", type=number(), required=True, help="the general-Elo gap D")
    p.add_argument("--max-steps", type=whole(1), default=20, help="N (default 20)")
    p.add_argument("--json", action="store_true")


def _threshold(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    if args.deception:
        obj = hom.deception_threshold(args.rule, args.branching, error=args.error)
    else:
        obj = hom.noise_threshold(args.rule, args.branching)
    if args.latex:
        model = hom.Homogeneous(args.rule, args.branching)
        x = sp.Symbol("E")
        obj["latex"] = {
            "threshold": None if obj["exact"] is None else sp.latex(sp.sympify(obj["exact"])),
            "map": sp.latex(hom._expanded_map(model, x, x, 0, 0, 1, hom.e)),
        }
    what = "deception rate" if args.deception else "symmetric evaluator error"
    text = (f"{args.rule} over {args.branching}: largest {what} with a stable fixed point below 1/2: "
            f"{obj['threshold']:.10g}" + (f" = {obj['exact']}" if obj["exact"] else ""))  # fmt: skip
    return obj, text


def _fixed_point(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    model = hom.Homogeneous.symmetric(args.rule, args.branching, args.error, leaf_error=args.leaf_error)
    points = hom.fixed_points(model)
    expanded = hom._expanded_error_map(model)  # = sp.expand(hom.error_map(model)), in integers: fast for large k
    obj: dict[str, Any] = {
        "fixed_points": [p.value for p in points],
        "stable": [p.stable for p in points],
        "limit": hom.limit(model),
        "map": str(expanded),
    }
    if args.latex:
        obj["latex"] = sp.latex(expanded)  # = hom.latex(error_map): simplify only expands it, slowly
    shown = ", ".join(f"{p.value:.6g} ({'stable' if p.stable else 'unstable'})" for p in points)
    text = f"e' = {obj['map']}\nfixed points in [0, 1/2]: {shown or 'none'}\nlimit as depth grows: {obj['limit']:.6g}"
    return obj, text


def _depth(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    if args.spec is not None:
        model = hom.Homogeneous.from_spec(load_spec_dict(args.spec), source=args.spec)
    else:
        if args.rule is None or args.branching is None:
            raise ValueError("give a [generate] SPEC, or --rule and --branching")
        model = hom.Homogeneous.symmetric(args.rule, args.branching, args.error, leaf_error=args.leaf_error,
                                          prior=args.prior)  # fmt: skip

    def errors(depth: int) -> list[float]:
        return [float(m["error"] or 0.0) for m in hom.metrics_by_depth(model, depth)]

    obj = hom.max_depth(errors, args.target, cap=args.max_depth)
    if obj["max_depth"] is not None:
        text = f"the root error stays below {args.target} up to depth {obj['max_depth']}"
    elif obj["unbounded"]:
        text = f"the root error stays below {args.target} at every depth up to {args.max_depth}"
    else:
        text = f"even a single evaluator's error is {obj['errors'][0]:.6g}, not below {args.target}"
    return obj, text


def _levels(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    model = TrainingModel(human_error=args.human_error, difficulty=args.difficulty, helpers=args.helpers,
                          amplification=args.amplification, gap=args.gap, combine_error=args.combine_error,
                          rule=args.rule, human_vote=not args.no_human_vote)  # fmt: skip
    path = trajectory(model, args.levels)
    obj: dict[str, Any] = {"assisted": path["assisted"], "unaided": path["unaided"],
                           "helper": [None if math.isnan(x) else x for x in path["helper"]]}  # fmt: skip
    points = level_fixed_points(model)
    obj["fixed_points"] = [x for x, _ in points]
    obj["stable"] = [s for _, s in points]
    obj["closed_form"] = str(linear_closed_form(model)) if model.helpers == 1 and not model.human_vote else None
    if args.target is not None:
        obj.update(max_level(model, args.target))
    rows = [f"  {k:>3}  {a:.4f}  {u:.4f}" for k, (a, u) in enumerate(zip(obj["assisted"], obj["unaided"]))]
    text = "level  assisted  unaided\n" + "\n".join(rows)
    return obj, text


def _nso(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    if args.game is not None:
        if args.houdini is not None:
            raise ValueError("--houdini goes with --guard, not with --game")
        game = GAMES[args.game]
    else:
        if args.houdini is None:
            raise ValueError("--guard needs --houdini")
        game = game_from_lines(args.guard, args.houdini)
    result = optimal_steps(game, args.gap, start=args.start, max_steps=args.max_steps)
    text = (f"{game.name}: gap {args.gap:g} from {args.start:g}: best with {result.optimal_steps} "
            f"step{'s' if result.optimal_steps > 1 else ''}, success {result.success:.6g}")  # fmt: skip
    return result.to_dict(), text


COMMANDS: dict[str, Callable[[argparse.Namespace], tuple[dict[str, Any], str]]] = {
    "threshold": _threshold,
    "fixed-point": _fixed_point,
    "depth": _depth,
    "levels": _levels,
    "nso": _nso,
}


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run one theory command; input errors raise ValueError (exit status 2 in the caller)."""
    obj, text = COMMANDS[args.command](args)
    out.write((json.dumps(obj, indent=2, allow_nan=False) if args.json else text) + "\n")
    return 0
