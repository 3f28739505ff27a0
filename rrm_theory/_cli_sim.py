"""The ``sim`` command: run study files into their results stores (docs/studies.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

__all__ = ["run_sim"]


def _store_path(study: Any, args: argparse.Namespace) -> Path:
    if args.store is not None:
        return Path(args.store)
    folder = study.path.parent if study.path is not None else Path(".")
    return folder / f"{study.name}.sqlite"


def run_sim(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run (or report on) every study given; the exit status of the batch."""
    from ._jsonl import write_json_line
    from .cli import worst_status
    from .errors import RRMError, SpecError
    from .studies import Store, executor_for, export, load_study, results, run_study

    studies, codes = [], [0]
    for path in args.studies:
        try:
            studies.append(load_study(path))
        except SpecError as exc:
            print(f"rrm-theory: error: {exc}", file=err)
            codes.append(2)
    tables = []
    interactive = not args.quiet and out.isatty() and err.isatty()
    for study in studies:
        try:
            points = study.points(quick=args.quick)
        except SpecError as exc:
            print(f"rrm-theory: error: {exc}", file=err)
            codes.append(2)
            continue
        store_path = _store_path(study, args)
        try:
            with Store(store_path, lock=not args.status) as store:
                if args.status:
                    _status(study, points, store, out)
                else:
                    _run(study, store, args, err, interactive)
                    if args.json:
                        keys = [(p.key, p.method) for p in points]
                        for row in store.rows(keys):
                            axes = {path: value for path, value in row["axes"]}
                            write_json_line(out, "sim", {"study": row["study"], "key": row["key"],
                                                         "method": row["method"], "axes": axes,
                                                         "result": row["result"], "computed_by": row["version"]})  # fmt: skip
                if args.export:
                    tables.append(results(store, study, quick=args.quick))
        except RRMError as exc:
            print(f"rrm-theory: {exc}", file=err)
            codes.append(1)
    if args.export and tables:
        import pandas as pd

        try:
            export(pd.concat(tables, ignore_index=True), args.export)
        except RRMError as exc:
            print(f"rrm-theory: {exc}", file=err)
            codes.append(1)
    return worst_status(codes)


def _status(study: Any, points: list, store: Any, out: TextIO) -> None:
    done = store.done()
    methods: dict[str, list[int]] = {}
    for p in points:
        tally = methods.setdefault(p.method, [0, 0])
        tally[1] += 1
        tally[0] += (p.key, p.method) in done
    parts = ", ".join(f"{m} {d}/{t}" for m, (d, t) in methods.items())
    out.write(f"{study.name}: {parts}  ({store.path})\n")


def _run(study: Any, store: Any, args: argparse.Namespace, err: TextIO, interactive: bool) -> None:
    import warnings

    from .studies import executor_for, run_study

    bar = None
    if interactive:
        from tqdm.auto import tqdm

        bar = tqdm(total=0, unit="point", desc=study.name, leave=False, file=err)

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        with executor_for(args.workers, args.scheduler) as executor:
            summary = run_study(study, store=store, executor=executor, quick=args.quick, fresh=args.fresh,
                                progress=progress)  # fmt: skip
    if bar is not None:
        bar.close()
    for w in caught:
        print(f"rrm-theory: warning: {w.message}", file=err)
    if summary.declined:
        print(f"rrm-theory: note: {study.name}: {summary.declined} of {summary.computed} computed points were "
              "declined by their method (see the 'declined' column)", file=err)  # fmt: skip
