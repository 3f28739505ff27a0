"""The ``export`` command: a spec as a Bayesian network (BIF, XMLBIF) or a fault tree (MEF).

A thin shell over :func:`rrm_theory.readwrite.export_network` (docs/export.md). With
``--json`` one JSON line describes the file written (``docs/schemas/export.json``).
Exit status: 0 written; 1 the tree cannot be exported (a rule past the limit of exact
analysis); 2 an input error (a bad spec, ``--out`` that cannot be written).
"""

from __future__ import annotations

import argparse
import os
import stat
from typing import Any, TextIO

__all__ = ["add_export_parser", "run_export"]

_FORMATS = ("bif", "xmlbif", "mef")  # rrm_theory.readwrite.FORMATS, without importing it at start-up


def add_export_parser(commands: Any, epilog: str) -> argparse.ArgumentParser:
    """Register ``export`` on an argparse sub-parsers object; return its parser."""
    p = commands.add_parser(
        "export",
        help="write a spec as a Bayesian network (BIF, XMLBIF) or a fault tree (Open-PSA MEF)",
        description="Write an evaluation tree for independent engines (docs/export.md): a Bayesian network "
        "of every variable of the model, in BIF or XMLBIF (pgmpy, pyAgrum: P(V_root = 1 | Y_root = 0) is the "
        "false-accept rate), or an Open-PSA MEF fault tree (SCRAM, XFTA) whose top event, the root approves "
        "bad work, has probability false_accept x (1 - p_good).",
        epilog=epilog,
    )
    p.add_argument("spec", metavar="SPEC", help="a spec file (.toml or .json)")
    p.add_argument("--to", required=True, choices=_FORMATS, metavar="FORMAT",
                   help="bif, xmlbif (pyAgrum reads it from a .bifxml file) or mef")  # fmt: skip
    p.add_argument("--out", metavar="FILE", help="write the file here (default: standard output)")
    p.add_argument("--json", action="store_true", help="one JSON line on what was written (docs/schemas/"
                   "export.json); needs --out")  # fmt: skip
    return p


def _refuse_out(path: str) -> str | None:
    """Why ``--out`` cannot be written to, from its metadata; None if it may be."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot write: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        return f"cannot write: {kind}; give a file path"
    return None


def run_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Export one spec; the exit status."""
    from ._jsonl import write_json_line
    from ._text import printable
    from .errors import RRMError, SpecError
    from .readwrite import export_network
    from .spec import load_spec

    shown = printable(args.out) if args.out is not None else None
    if args.json and args.out is None:
        print("rrm-theory export: error: --json describes the file written, so it needs --out FILE", file=err)
        return 2
    if args.out is not None:
        problem = _refuse_out(args.out)
        if problem is None and os.path.exists(args.spec) and os.path.exists(args.out) \
                and os.path.samefile(args.spec, args.out):  # fmt: skip
            problem = "is the spec file itself; give another path"
        if problem is not None:
            print(f"rrm-theory export: error: --out {shown}: {problem}", file=err)
            return 2
    try:
        tree = load_spec(args.spec)
    except SpecError as exc:
        print(f"rrm-theory: error: {exc}", file=err)
        return 2
    try:
        exported = export_network(tree, format=args.to)
    except SpecError as exc:
        print(f"rrm-theory: error: {exc}", file=err)
        return 2
    except RRMError as exc:
        print(f"rrm-theory: {exc}", file=err)
        return 1
    if args.out is None:
        out.write(exported.text)
        return 0
    try:
        with open(args.out, "w", encoding="ascii", newline="\n") as f:
            f.write(exported.text)
    except OSError as exc:
        print(f"rrm-theory export: error: --out {shown}: cannot write: {printable(exc.strerror or str(exc))}",
              file=err)  # fmt: skip
        return 2
    if args.json:
        write_json_line(out, "export", {
            "spec": args.spec,
            "name": tree.graph.get("name", ""),
            "format": exported.format,
            "out": args.out,
            "bytes": len(exported.text),
            "nodes": tree.number_of_nodes(),
            "variables": exported.variables,
            "arcs": exported.arcs,
            "entries": exported.entries,
            "gates": exported.gates,
            "basic_events": exported.basic_events,
            "renamed": exported.renamed,
        })  # fmt: skip
    return 0
