"""Study options checked by the command line's own parsers, so a study and a command agree."""

from __future__ import annotations

import argparse
import contextlib
import io
from typing import Any, Iterable

from ..errors import SpecError

__all__ = ["validate", "analyze_options", "namespace"]

_ANALYZE_DESTS = {
    "samples": "samples", "ci-width": "ci_width", "max-samples": "max_samples", "confidence": "confidence",
    "interval": "interval", "batch-size": "batch_size", "bounds": "bounds", "bounds-budget": "bounds_budget",
    "budget": "budget", "corrupt-root": "corrupt_root",
}  # fmt: skip
_NOT_PARAMETERS = {"command", "json", "latex", "func"}


def _parse(argv: list[str], where: str) -> argparse.Namespace:
    from ..cli import _parser

    message = io.StringIO()
    try:
        with contextlib.redirect_stderr(message):
            return _parser().parse_args(argv)
    except SystemExit:
        text = message.getvalue().strip().splitlines()
        detail = text[-1] if text else "not valid"
        detail = detail.split("error: ", 1)[-1].replace(" (see rrm-theory --help)", "")
        for suffix in (" (see rrm-theory analyze --help)",):
            detail = detail.replace(suffix, "")
        raise SpecError(f"{where}: {detail}") from None


def _argv(options: dict[str, Any], where: str) -> list[str]:
    argv: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            if value:
                argv.append(flag)
        elif isinstance(value, (int, float, str)):
            argv += [flag, str(value)]
        elif isinstance(value, list) and len(value) == 2 and all(isinstance(x, (int, float)) for x in value):
            argv += [flag, f"{value[0]},{value[1]}"]  # a SLOPE,INTERCEPT line
        else:
            raise SpecError(f"{where}: {name}={value!r} is not a number, a string, a boolean or a [slope, intercept] pair")
    return argv


def analyze_options(method: str, table: dict[str, Any], allowed: Iterable[str], where: str) -> dict[str, Any]:
    """``analyze``'s options for one method, validated by its parser: option name -> value."""
    allowed = tuple(allowed)
    for name in table:
        if name not in allowed:
            valid = ", ".join(allowed) or "none"
            raise SpecError(f"{where}: {name!r} is not an option of {method} (valid: {valid})")
    args = _parse(["analyze", "study.toml", *_argv(table, where)], where)
    return {name: getattr(args, _ANALYZE_DESTS[name]) for name in table}


def validate(kind: str, parameters: dict[str, Any], where: str) -> dict[str, Any]:
    """A theory command's options from a point's parameters, checked by the command's parser."""
    args = _parse([kind, *_argv(parameters, where), "--json"], where)
    out = {}
    for key, value in vars(args).items():
        if key in _NOT_PARAMETERS:
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def namespace(kind: str, options: dict[str, Any]) -> argparse.Namespace:
    """The argparse namespace the theory command runs with."""
    values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in options.items()}
    return argparse.Namespace(command=kind, json=True, latex=False, **values)
