"""The theory commands of ``rrm-theory``: threshold, fixed-point, depth, levels, nso.

Each prints a short human summary, or with ``--json`` one JSON line
(:func:`rrm_theory._jsonl.write_json_line`: ``"schema": "rrm-theory/<command>/1"`` and
``"version"`` first; the keys are described in ``docs/schemas/<command>.json``).

Registering the parsers imports only the standard library and this package's small
standard-library modules: a command imports what it computes with when it runs (numpy
always; sympy only for ``--latex``, a linear ``levels`` closed form and the exact tangency
thresholds of committees of at most 7; scipy never).

Every model value either is required or has a default that ``--help`` shows and the JSON
echoes; input errors are ValueErrors whose message names the option and its value (the
caller prints them on one line and exits 2).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, TextIO

from ._argtypes import number, whole
from ._jsonl import write_json_line
from ._nso_games import DEFAULT_MAX_STEPS, DEFAULT_START, GAME_LINES

__all__ = ["add_commands", "run", "COMMANDS"]

_RULES = "all, any, majority, at_least:K"


def _line(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not SLOPE,INTERCEPT")
    return (number()(parts[0]), number()(parts[1]))


_probability = number(0.0, 1.0)
_error = number(0.0, 0.5)


def _tree_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--rule", required=required, help=f"the internal nodes' rule: {_RULES}")
    p.add_argument("--branching", type=whole(1), required=required, help="children per internal node")


def add_commands(commands: Any) -> None:
    """Register the theory subcommands on an argparse subparsers object."""
    p = commands.add_parser("threshold", help="the largest evaluator error a homogeneous tree tolerates",
                            description="Noise threshold of a homogeneous tree: the largest symmetric evaluator "
                            "error (every node alike, truths all equal) at which the per-level map keeps a stable "
                            "fixed point below 1/2. See docs/theory.md.")  # fmt: skip
    _tree_options(p, required=True)
    p.add_argument("--deception", action="store_true", help="the threshold for the deception rate instead")
    p.add_argument("--error", type=_error, help="with --deception: every evaluator's symmetric error "
                   "(default 0: deception alone)")  # fmt: skip
    p.add_argument("--latex", action="store_true", help="add LaTeX of the threshold and the map")
    p.add_argument("--json", action="store_true", help="one JSON line (docs/schemas/threshold.json)")

    p = commands.add_parser("fixed-point", help="fixed points of the per-level error map and the limit",
                            description="Fixed points in [0, 1/2] of the per-level error map of a homogeneous "
                            "tree whose truths are all 1, and where the error converges as depth grows.")  # fmt: skip
    _tree_options(p, required=True)
    p.add_argument("--error", type=_error, required=True, help="every internal evaluator's symmetric error E")
    p.add_argument("--leaf-error", type=_error, help="the leaves' error E0 (default: --error)")
    p.add_argument("--latex", action="store_true", help="add LaTeX of the map")
    p.add_argument("--json", action="store_true", help="one JSON line (docs/schemas/fixed-point.json)")

    p = commands.add_parser("depth", help="the deepest tree whose root error stays below a target",
                            description="Root error by depth of a homogeneous tree (a [generate] spec, or "
                            "--rule, --branching and --error) and the largest depth that stays below "
                            "--target.")  # fmt: skip
    p.add_argument("spec", nargs="?", metavar="SPEC", help="a [generate] spec file; or give --rule, --branching "
                   "and --error")  # fmt: skip
    _tree_options(p, required=False)
    p.add_argument("--error", type=_error, help="internal evaluators' symmetric error (required without SPEC)")
    p.add_argument("--leaf-error", type=_error, help="leaves' error (default: --error)")
    p.add_argument("--prior", type=_probability, help="P(a leaf's work is good) (default 1: all work good, "
                   "the error map of docs/theory.md)")  # fmt: skip
    p.add_argument("--target", type=_probability, required=True, help="the root error to stay below")
    p.add_argument("--max-depth", type=whole(0), default=10_000, help="deepest depth examined (default 10,000)")
    p.add_argument("--json", action="store_true", help="one JSON line (docs/schemas/depth.json)")

    p = commands.add_parser("levels", help="oversight error across recursive training levels",
                            description="The training-level map of docs/theory.md: level k's helpers learn from "
                            "level k-1's labels; the human's unaided error grows with difficulty.")  # fmt: skip
    p.add_argument("--human-error", type=_error, required=True, help="u_0, the human's unaided error at level 0")
    p.add_argument("--difficulty", type=number(0.0, 1.0, open_low=True), required=True,
                   help="r in (0, 1]: each level multiplies the human's advantage 1/2 - u by r")  # fmt: skip
    p.add_argument("--helpers", type=whole(0), required=True, help="m, helpers per level")
    p.add_argument("--amplification", type=number(0.0), default=1.0, help="gamma (default 1: labels' noise "
                   "passes on unamplified)")  # fmt: skip
    p.add_argument("--gap", type=number(0.0), default=0.0, help="g, the generalisation gap (default 0)")
    p.add_argument("--combine-error", type=_error, default=0.0, help="c, the human's error combining the votes "
                   "(default 0)")  # fmt: skip
    p.add_argument("--rule", default="majority", help=f"how the votes combine: {_RULES} (default majority)")
    p.add_argument("--no-human-vote", action="store_true", help="the human does not vote herself")
    p.add_argument("--levels", type=whole(0), default=20, help="levels to show (default 20)")
    p.add_argument("--target", type=_probability, help="report the highest level below this error")
    p.add_argument("--json", action="store_true", help="one JSON line (docs/schemas/levels.json)")

    p = commands.add_parser("nso", help="nested scalable oversight over a capability gap (Engels et al. 2025)",
                            description="Success of nested oversight over a general-Elo gap with n steps, and "
                            "the best n (Engels, Baek, Kantamneni, Tegmark 2025, arXiv 2504.18530).")  # fmt: skip
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--game", choices=sorted(GAME_LINES), help="one of the paper's four games")
    source.add_argument("--guard", type=_line, metavar="SLOPE,INTERCEPT", help="the guard's domain-Elo line")
    p.add_argument("--houdini", type=_line, metavar="SLOPE,INTERCEPT", help="the houdini's line (with --guard)")
    p.add_argument("--start", type=number(), help=f"G0, the starting guard's general Elo (default "
                   f"{DEFAULT_START:g} with --game, the paper's; required with --guard)")  # fmt: skip
    p.add_argument("--gap", type=number(), required=True, help="the general-Elo gap D")
    p.add_argument("--max-steps", type=whole(1), default=DEFAULT_MAX_STEPS,
                   help=f"N, the most steps tried (default {DEFAULT_MAX_STEPS})")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON line (docs/schemas/nso.json)")


def _check_rule(rule: str, children: int, *, count: str) -> None:
    """``--rule`` names a rule these commands take, with no more than ``children`` inputs (``count`` says why)."""
    from .rules import parse_rule

    if rule == "weighted":
        raise ValueError("--rule 'weighted' is not taken here: every child weighs the same, so weighted "
                         "with threshold T over k children is at_least:K with K = ceil(T k); give --rule "
                         "at_least:K")  # fmt: skip
    try:
        parsed = parse_rule(rule)
    except ValueError:
        if rule.startswith("at_least:"):
            raise ValueError(f"--rule {rule!r} needs a whole number K >= 1 after 'at_least:'") from None
        raise ValueError(f"--rule {rule!r} is not a rule; valid rules: {_RULES}") from None
    if parsed.kind == "at_least" and parsed.k is not None and parsed.k > children:
        raise ValueError(f"--rule {rule!r} needs at least {parsed.k} inputs; {count}")


def _threshold(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    _check_rule(args.rule, args.branching, count=f"--branching is {args.branching}")
    if args.error is not None and not args.deception:
        raise ValueError(f"--error {args.error:g} goes with --deception (the noise threshold is itself the "
                         "evaluators' error)")  # fmt: skip
    from . import homogeneous as hom

    if args.deception:
        obj = hom.deception_threshold(args.rule, args.branching, error=0.0 if args.error is None else args.error)
    else:
        obj = hom.noise_threshold(args.rule, args.branching)
    obj["deception"] = args.deception
    what = "deception rate" if args.deception else "symmetric evaluator error"
    text = (f"{args.rule} over {args.branching}: largest {what} with a stable fixed point below 1/2: "
            f"{obj['threshold']:.10g}" + (f" = {obj['exact']}" if obj["exact"] else ""))  # fmt: skip
    if args.latex:
        obj["latex"] = _threshold_latex(args, obj)
        shown = obj["latex"]["threshold"] if obj["latex"]["threshold"] is not None else "(no exact value)"
        text += f"\nLaTeX of the threshold: {shown}\nLaTeX of the map: e' = {obj['latex']['map']}"
    return obj, text


def _threshold_latex(args: argparse.Namespace, obj: dict[str, Any]) -> dict[str, Any]:
    """LaTeX of the exact threshold and of the map whose threshold it is (in E, or in d for deception)."""
    import sympy as sp

    from ._symbolic_map import expanded_map, symbols, to_sympy
    from .homogeneous import Homogeneous

    e, E, D = symbols()
    T = Homogeneous(args.rule, args.branching).T
    if args.deception:
        err = to_sympy(obj["error"])
        expanded = expanded_map(args.branching, T, err, err, D, 0, 0, e)  # bad work: deception approves
    else:
        expanded = expanded_map(args.branching, T, E, E, 0, 0, 1, e)
    return {"threshold": None if obj["exact"] is None else sp.latex(sp.sympify(obj["exact"])),
            "map": sp.latex(expanded)}  # fmt: skip


def _fixed_point(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    _check_rule(args.rule, args.branching, count=f"--branching is {args.branching}")
    from . import homogeneous as hom

    leaf = args.error if args.leaf_error is None else args.leaf_error
    model = hom.Homogeneous.symmetric(args.rule, args.branching, args.error, leaf_error=leaf)
    points = hom.fixed_points(model)
    obj: dict[str, Any] = {
        "fixed_points": [p.value for p in points],
        "stable": [p.stable for p in points],
        "limit": hom.limit(model),
        "map": hom._expanded_error_map_str(model),  # = str(sp.expand(hom.error_map(model))), without sympy
        "rule": args.rule,
        "branching": args.branching,
        "error": args.error,
        "leaf_error": leaf,
    }
    if args.latex:
        import sympy as sp

        obj["latex"] = sp.latex(hom._expanded_error_map(model))  # = hom.latex(error_map): simplify only expands
    shown = ", ".join(f"{p.value:.6g} ({'stable' if p.stable else 'unstable'})" for p in points)
    text = f"e' = {obj['map']}\nfixed points in [0, 1/2]: {shown or 'none'}\nlimit as depth grows: {obj['limit']:.6g}"
    if args.latex:
        text += f"\nLaTeX: e' = {obj['latex']}"
    return obj, text


def _depth(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import dataclasses

    from . import homogeneous as hom

    options = {"--rule": args.rule, "--branching": args.branching, "--error": args.error,
               "--leaf-error": args.leaf_error, "--prior": args.prior}  # fmt: skip
    if args.spec is not None:
        given = [(name, value) for name, value in options.items() if value is not None]
        if given:
            name, value = given[0]
            shown = repr(value) if isinstance(value, str) else f"{value:g}"
            raise ValueError(f"{name} {shown} is not taken with a SPEC: {args.spec} gives the tree's rule and "
                             "rates (without a SPEC, give --rule, --branching and --error)")  # fmt: skip
        from .spec import load_spec_dict

        model = hom.Homogeneous.from_spec(load_spec_dict(args.spec), source=args.spec)
    else:
        for name in ("--rule", "--branching", "--error"):
            if options[name] is None:
                raise ValueError(f"{name} is required without a SPEC: give a [generate] SPEC, or --rule, "
                                 "--branching and --error")  # fmt: skip
        _check_rule(args.rule, args.branching, count=f"--branching is {args.branching}")
        model = hom.Homogeneous.symmetric(args.rule, args.branching, args.error, leaf_error=args.leaf_error,
                                          prior=1.0 if args.prior is None else args.prior)  # fmt: skip

    def errors(cap: int) -> Any:
        return (m["error"] for m in hom.iter_metrics_by_depth(model))

    obj = hom.max_depth(errors, args.target, cap=args.max_depth)
    obj.update({"target": args.target, "spec": args.spec, "model": dataclasses.asdict(model)})
    if obj["max_depth"] is not None:
        text = f"the root error stays below {args.target} up to depth {obj['max_depth']}"
    elif obj["unbounded"]:
        text = f"the root error stays below {args.target} at every depth up to {args.max_depth}"
    else:
        text = f"even a single evaluator's error is {obj['errors'][0]:.6g}, not below {args.target}"
    return obj, text


def _levels(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import dataclasses
    import math

    votes = args.helpers + (0 if args.no_human_vote else 1)
    if votes < 1:
        raise ValueError("--helpers 0 with --no-human-vote leaves no votes: give a helper or let the human vote")
    _check_rule(args.rule, votes, count=f"--helpers {args.helpers}" + ("" if args.no_human_vote else
                " and the human's own vote") + f" make {votes}")  # fmt: skip
    from .levels import TrainingModel, level_fixed_points, linear_closed_form, max_level, trajectory

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
    obj["target"] = args.target
    obj["model"] = dataclasses.asdict(model)
    rows = [f"  {k:>3}  {a:.4f}  {u:.4f}" for k, (a, u) in enumerate(zip(obj["assisted"], obj["unaided"]))]
    text = "level  assisted  unaided\n" + "\n".join(rows)
    return obj, text


def _nso(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    if args.game is not None:
        if args.houdini is not None:
            raise ValueError("--houdini goes with --guard, not with --game")
        start = DEFAULT_START if args.start is None else args.start
    else:
        if args.houdini is None:
            raise ValueError("--guard needs --houdini SLOPE,INTERCEPT")
        if args.start is None:
            raise ValueError(f"--start is required with --guard and --houdini (its default, {DEFAULT_START:g}, "
                             "is the paper's starting guard for its four games)")  # fmt: skip
        start = args.start
    from .nso import GAMES, game_from_lines, optimal_steps

    game = GAMES[args.game] if args.game is not None else game_from_lines(args.guard, args.houdini)
    result = optimal_steps(game, args.gap, start=start, max_steps=args.max_steps)
    obj = result.to_dict()
    obj.update({
        "game": game.name,
        "guard": _line_dict(game.guard),
        "houdini": _line_dict(game.houdini),
        "gap": args.gap,
        "start": start,
        "max_steps": args.max_steps,
    })  # fmt: skip
    text = (f"{game.name}: gap {args.gap:g} from {start:g}: best with {result.optimal_steps} "
            f"step{'s' if result.optimal_steps > 1 else ''}, success {result.success:.6g}")  # fmt: skip
    return obj, text


def _line_dict(line: Any) -> dict[str, float | None]:
    return {"slope": line.slope, "intercept": line.intercept, "low": line.low, "high": line.high}


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
    if args.json:
        write_json_line(out, args.command, obj)
    else:
        out.write(text + "\n")
    return 0
