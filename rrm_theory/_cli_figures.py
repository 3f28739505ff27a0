"""The ``figures`` command: run the catalog's studies and draw the paper's figure set."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, TextIO

__all__ = ["run_figures", "caption"]

FORMATS = ("pdf", "png", "svg")


def _values(values: list[Any]) -> str:
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and len(values) > 3:
        return f"{min(values):g} to {max(values):g} ({len(values)} values)"
    if all(isinstance(v, list) for v in values):
        return f"{len(values)} lists of {min(map(len, values))} to {max(map(len, values))} items"
    shown = [Path(v).stem if isinstance(v, str) and v.endswith(".toml") else v for v in values]
    shown = list(dict.fromkeys(str(v) for v in shown))  # a zip axis repeats its values
    return ", ".join(shown[:8]) + (", ..." if len(shown) > 8 else "")


def caption(figure: Any, study: Any, facts: str, quick: bool) -> str:
    """The figure's caption: question, model, parameters, seed, and what it shows."""
    parts = [f"**Question.** {figure.question}"]
    if study is not None:
        model = study.base.get("name") if isinstance(study.base, dict) and study.base else None
        axes = "; ".join(f"`{p}` = {_values(study.quick.get(p, v) if quick else v)}" for dim in study.axes
                         for p, v in dim)  # fmt: skip
        fixed = ""
        if study.kind != "analysis" and study.base:
            fixed = "; fixed: " + ", ".join(f"`{k}` = {v}" for k, v in study.base.items())
        parts.append(f"**Model.** {study.description}" + (f" (model `{model}`)" if model else "")
                     + f"; study `sims/{study.path.name}`{' with its [quick] axes' if quick else ''}.")  # fmt: skip
        methods = ", ".join(study.methods) if study.kind == "analysis" else f"the `{study.kind}` command"
        parts.append(f"**Parameters.** {axes}{fixed}; methods: {methods}; seed {study.seed}.")
    else:
        parts.append("**Model.** `models/chip-design.toml` (exact analysis).")
    parts.append(f"**Shows.** {facts}")
    return " ".join(parts)


def run_figures(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Draw the figures named (default: the whole set); the exit status."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import __version__
    from .errors import RRMError, SpecError
    from .plotting import paper_style, save
    from .plotting.figure_set import FIGURES, figure_names
    from .studies import Store, executor_for, load_study, results, run_study

    sims = Path(args.sims)
    if not sims.is_dir():
        print(f"rrm-theory figures: error: no studies folder {sims} (run from a clone of the repository, or give "
              "--sims DIR)", file=err)  # fmt: skip
        return 2
    wanted = args.figures or figure_names()
    unknown = [n for n in wanted if n not in figure_names()]
    if unknown:
        print(f"rrm-theory figures: error: {unknown[0]!r} is not a figure; the set: {', '.join(figure_names())}",
              file=err)  # fmt: skip
        return 2
    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        print(f"rrm-theory figures: error: --format {args.format!r}: give some of {', '.join(FORMATS)}", file=err)
        return 2
    scratch = tempfile.TemporaryDirectory(prefix="rrm-figures-") if args.quick else None
    try:
        out_dir = Path(args.out) if args.out else (Path(scratch.name) / "figures" if scratch else Path("figures"))
        out_dir.mkdir(parents=True, exist_ok=True)
        stores = Path(scratch.name) if scratch else sims
        root = sims.resolve().parent
        entries = []
        tables: dict[str, tuple[Any, Any]] = {}
        with executor_for(args.workers, args.scheduler) as executor:
            for figure in (f for f in FIGURES if f.name in wanted):
                study = table = None
                if figure.study is not None:
                    if figure.study not in tables:
                        try:
                            study = load_study(sims / figure.study)
                        except SpecError as exc:
                            print(f"rrm-theory: error: {exc}", file=err)
                            return 2
                        with Store(stores / f"{study.name}.sqlite") as store:
                            run_study(study, store=store, executor=executor, quick=args.quick)
                            tables[figure.study] = (study, results(store, study, quick=args.quick))
                    study, table = tables[figure.study]
                with paper_style(columns=figure.columns):
                    fig, axes = plt.subplots(*figure.panels, squeeze=False)
                    data, facts = figure.draw(table, axes.ravel(), root)
                    for fmt in formats:
                        save(fig, out_dir / f"{figure.name}.{fmt}")
                    plt.close(fig)
                data.to_csv(out_dir / f"{figure.name}.csv", index=False)
                entries.append((figure, caption(figure, study, facts, args.quick)))
                print(f"rrm-theory: {figure.name}: " + ", ".join(str(out_dir / f"{figure.name}.{x}")
                                                           for x in (*formats, "csv")), file=err)  # fmt: skip
        if len(entries) == len(FIGURES):  # the README describes the whole set
            _readme(out_dir, entries, __version__, args.quick, formats)
        else:
            print(f"rrm-theory: note: {out_dir / 'README.md'} is written when the whole set is drawn", file=err)
        if scratch is not None and not args.out:
            print(f"rrm-theory: the quick figures are in {out_dir} (a scratch folder, removed on exit: give --out "
                  "to keep them)", file=err)  # fmt: skip
        return 0
    except RRMError as exc:
        print(f"rrm-theory: {exc}", file=err)
        return 1
    finally:
        if scratch is not None:
            scratch.cleanup()


def _readme(out_dir: Path, entries: list[tuple[Any, str]], version: str, quick: bool, formats: list[str]) -> None:
    lines = [
        "# Figures",
        "",
        "The figures of an RRM error-propagation paper, generated from the studies in [`sims/`](../sims/) by",
        f"`rrm-theory figures`{' --quick' if quick else ''} (rrm-theory {version}). Regenerate all of them with",
        "",
        "```sh",
        "rrm-theory figures            # resumes from the studies' stores in sims/",
        "```",
        "",
        f"Each figure is here as {', '.join(f'`.{x}`' for x in formats)} and, beside it, the data it plots as `.csv`.",
        "The same inputs give byte-identical files (no timestamps in the metadata).",
        "",
    ]
    for figure, text in entries:
        lines += [f"## {figure.name}", ""]
        if "png" in formats:
            lines += [f"![{figure.name}]({figure.name}.png)", ""]
        lines += [text, ""]
    (out_dir / "README.md").write_text("\n".join(lines))
