"""Labelled data: the tidy table that :func:`rrm_theory.fit.fit_rates` fits (docs/fit.md).

One row per label, in crowd-kit's convention (``task, worker, label``) extended by
the node of the evaluation tree (MODEL.md section 2):

========== ======== ==========================================================
column     required meaning
========== ======== ==========================================================
``task``   yes      the episode (one output of the target agent)
``node``   yes      the node of the spec whose evaluator gave the label
``worker`` yes      who gave the label (several may label one item)
``label``  yes      the report V_v: 1 = approve, 0 = reject
``gold``   no       the truth Y_v of the node's subtask on that task, where known
``input``  no       internal nodes: U_v, what the node's rule gave from the
                    reports it received, where known
========== ======== ==========================================================

An *item* is one (task, node) pair; its gold and input may be written on any of
its rows (on each, or once), and rows of one item may not disagree. Binary cells
are ``0`` or ``1`` (also written ``0.0``, ``1.0``) or ``true``/``false`` in any
case; an empty ``gold`` or ``input`` cell means unknown. Rows whose every cell is
empty (blank lines) are skipped; a row with fewer cells than the header has the
missing ones empty, a row with more is an error.

The file is read like a spec file (docs/spec-format.md, "Reading a file"): only a
regular file of at most :data:`MAX_LABEL_BYTES` bytes of UTF-8 text (a byte-order
mark is allowed), comma-separated (tab-separated when the name ends in ``.tsv``).
Every problem is one :class:`~rrm_theory.errors.SpecError` line naming the file,
the line (1-based, as an editor counts) and the column.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .._files import file_label, read_regular_file
from .._text import printable, quote
from ..errors import SpecError

__all__ = [
    "read_labels", "read_table", "table_from_frame", "file_label", "first_rows", "Table", "Rows",
    "LABEL_COLUMNS", "OPTIONAL_COLUMNS", "MAX_LABEL_BYTES",
]  # fmt: skip

#: The columns every label table has.
LABEL_COLUMNS = ("task", "node", "worker", "label")
#: The columns a label table may have.
OPTIONAL_COLUMNS = ("gold", "input")
#: The largest label file :func:`read_labels` reads, in bytes (1 GiB: about 30 million labels).
MAX_LABEL_BYTES = 1 << 30

_COLUMNS = LABEL_COLUMNS + OPTIONAL_COLUMNS
_KINDS = "task, node, worker, label; optional: gold, input"
_TRUE, _FALSE = frozenset({"1", "true"}), frozenset({"0", "false"})
_UNKNOWN, _BAD = -1, -2


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read and check a label table (CSV), one row per label.

    Parameters
    ----------
    path : str or pathlib.Path
        The file: comma-separated (``.tsv``: tab-separated), the first line naming
        the columns ``task, node, worker, label`` and optionally ``gold``, ``input``.

    Returns
    -------
    pandas.DataFrame
        Columns ``task``, ``node``, ``worker`` (strings) and ``label`` (``int8``),
        plus ``gold`` and ``input`` where the file has them (nullable ``Int8``;
        ``<NA>`` = unknown), indexed by ``line``, the 1-based line of each row in
        the file (blank lines skipped); ``attrs["source"]`` names the file, so that
        :func:`~rrm_theory.fit.fit_rates` can say where a problem is.

    Raises
    ------
    SpecError
        If the file cannot be read, a column is missing or unknown, a cell is empty
        or not binary, a worker labels an item twice, or two rows of an item
        disagree on its gold or input: one line naming the file, line and column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.csv"
    >>> _ = p.write_text("task,node,worker,label,gold\\nt1,heat,ann,1,1\\nt1,heat,bob,0,\\n")
    >>> read_labels(p)  # doctest: +NORMALIZE_WHITESPACE
         task  node worker  label  gold
    line
    2      t1  heat    ann      1     1
    3      t1  heat    bob      0  <NA>
    >>> _ = p.write_text("task,node,worker,label\\nt1,heat,ann,yes\\n")
    >>> read_labels(p)
    Traceback (most recent call last):
    ...
    rrm_theory.errors.SpecError: ...labels.csv: line 2: column 'label': 'yes' is not a binary label (0, 1, true or false)
    """
    return read_table(path).frame()


# ----------------------------------------------------------------- the checked table

@dataclass(frozen=True, eq=False)
class Rows:
    """How messages name the rows of a table: by line of the file, or by a DataFrame's index."""

    source: str
    rows: np.ndarray
    by_line: bool

    def name(self, k: int) -> str:
        row = self.rows[k]
        if isinstance(row, np.generic):
            row = row.item()
        return f"line {row}" if self.by_line else f"row {printable(repr(row))}"

    def where(self, k: int, column: str | None = None) -> str:
        """``<source>: line <n>[: column '<column>']``."""
        return f"{self.source}: {self.name(k)}" + (f": column {quote(column)}" if column else "")


@dataclass(frozen=True, eq=False)
class Table:
    """A checked label table as integer codes (internal to :mod:`rrm_theory.fit`).

    ``task``, ``node``, ``worker`` index ``tasks``, ``nodes``, ``workers``; ``item``
    indexes the (node, task) pairs, ``item_node``/``item_task`` their parts;
    ``label`` is 0/1, ``gold`` and ``input`` are 0/1 or -1 (unknown) per row, and
    ``item_gold``/``item_input`` per item. ``at`` names the rows in messages.
    """

    at: Rows
    columns: tuple[str, ...]
    task: np.ndarray
    tasks: np.ndarray
    node: np.ndarray
    nodes: np.ndarray
    worker: np.ndarray
    workers: np.ndarray
    label: np.ndarray
    gold: np.ndarray
    input: np.ndarray
    item: np.ndarray
    item_node: np.ndarray
    item_task: np.ndarray
    item_gold: np.ndarray
    item_input: np.ndarray

    @property
    def source(self) -> str:
        return self.at.source

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (see :func:`read_labels`)."""
        data: dict[str, Any] = {
            "task": self.tasks[self.task], "node": self.nodes[self.node], "worker": self.workers[self.worker],
            "label": self.label.astype(np.int8),
        }  # fmt: skip
        for name in OPTIONAL_COLUMNS:
            if name in self.columns:
                values = getattr(self, name)
                data[name] = pd.arrays.IntegerArray(np.maximum(values, 0).astype(np.int8), mask=values < 0)
        index = pd.Index(self.at.rows, name="line" if self.at.by_line else None)
        frame = pd.DataFrame(data, index=index)
        frame.attrs["source"] = self.at.source
        return frame


def read_table(path: str | Path) -> Table:
    """:func:`read_labels` as a :class:`Table`."""
    path = Path(path)
    label = file_label(path)
    data = _read_bytes(path, label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{label}: not UTF-8 text (byte {exc.start}, on line {line}); save the file as UTF-8") from None
    del data
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    header, cells, lines = _parse(text, delimiter, label)
    return _build(header, cells, lines, label, by_line=True)


def table_from_frame(frame: pd.DataFrame) -> Table:
    """Check a DataFrame in the layout of :func:`read_labels` and code it as a :class:`Table`.

    Messages name ``frame.attrs["source"]`` (default ``labels``) and the row by its
    index label, or by line when the index is named ``line`` (as :func:`read_labels`
    makes it).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"labels must be a pandas DataFrame or a path, got {type(frame).__name__}")
    source = printable(str(frame.attrs.get("source", "labels")))
    header = [str(c) for c in frame.columns]
    _check_header(header, f"{source}: columns")
    by_line = frame.index.name == "line"
    cells = {name: frame.iloc[:, i] for i, name in enumerate(header)}
    return _build(header, cells, np.asarray(frame.index), source, by_line=by_line)


# ----------------------------------------------------------------- reading the file

def _read_bytes(path: Path, label: str) -> bytes:
    """The bytes of a regular file of at most MAX_LABEL_BYTES bytes, read as spec files are."""
    return read_regular_file(path, label, limit=MAX_LABEL_BYTES, noun="a label table",
                             hint="a label table is a .csv file")  # fmt: skip


def _check_header(header: list[str], at: str) -> None:
    """``at``: where the header is, ``<file>: line 1`` or ``<source>: columns``."""
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise SpecError(f"{at}: column {quote(name)} is named twice (each column once)")
        seen.add(name)
        if name not in _COLUMNS:
            hint = difflib.get_close_matches(name, _COLUMNS, n=1)
            also = f"did you mean {quote(hint[0])}? " if hint else ""
            raise SpecError(f"{at}: unknown column {quote(name)} ({also}the columns: {_KINDS})")
    for name in LABEL_COLUMNS:
        if name not in seen:
            has = ", ".join(printable(h) for h in header) or "nothing"
            raise SpecError(f"{at}: column {quote(name)} is missing (the header has {has}; "
                            f"the columns: {_KINDS})")  # fmt: skip


def _parse(text: str, delimiter: str, label: str) -> tuple[list[str], dict[str, Any], np.ndarray]:
    """The header, each column's cells and each row's line number, blank rows dropped.

    Without quotes every record is one line and pandas' C reader parses the body; a
    file with quotes (a cell may then hold a line break) is read by the csv module,
    which counts lines as it goes."""
    if "\r" in text and text.count("\r") == text.count("\r\n"):
        text = text.replace("\r\n", "\n")
    fast = '"' not in text and "\r" not in text
    if fast:
        first = text.split("\n", 1)[0]
        header = first.split(delimiter) if first else []
        records = text.count("\n") + (not text.endswith("\n"))
        fast = text.count(delimiter) == (len(header) - 1) * records  # every line has every cell
    else:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    if not any(h.strip() for h in header):
        raise SpecError(f"{label}: line 1 is empty: the first line names the columns ({_KINDS})")
    _check_header(header, f"{label}: line 1")
    width = len(header)
    frame = None
    if fast:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)  # pandas would drop extra cells
                frame = pd.read_csv(io.StringIO(text), sep=delimiter, header=0, index_col=False, dtype=str,
                                    keep_default_na=False, na_filter=False, skip_blank_lines=False,
                                    quoting=csv.QUOTE_NONE, engine="c")  # fmt: skip
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            frame = None  # a row with too many cells: the csv module says where
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame({i: [] for i in range(width)}, dtype=object)
    if frame is not None:
        cells = {name: frame.iloc[:, i] for i, name in enumerate(header)}
        lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    else:
        cells, lines = _parse_slowly(text, delimiter, header, label)
    blank = np.ones(len(lines), dtype=bool)
    for name in header[1:]:
        blank &= np.asarray(cells[name] == "", dtype=bool)
    if blank.any():
        blank[blank] = [not str(c).strip() for c in cells[header[0]][blank]]
        keep = ~blank
        cells = {name: col[keep] for name, col in cells.items()}
        lines = lines[keep]
    return header, cells, lines


def _parse_slowly(text: str, delimiter: str, header: list[str], label: str) -> tuple[dict[str, Any], np.ndarray]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    try:
        next(reader)
        previous = reader.line_num
        for row in reader:
            start = previous + 1
            previous = reader.line_num
            if len(row) != width:
                if len(row) > width:
                    raise SpecError(f"{label}: line {start}: {len(row)} cells, but the header names {width} "
                                    f"columns ({', '.join(printable(h) for h in header)})")  # fmt: skip
                row = row + [""] * (width - len(row))
            rows.append(row)
            lines.append(start)
    except csv.Error as exc:
        raise SpecError(f"{label}: line {reader.line_num}: not valid CSV: {printable(str(exc))}") from None
    columns = list(zip(*rows)) if rows else [()] * width
    cells = {name: np.array(col, dtype=object) for name, col in zip(header, columns)}
    return cells, np.array(lines, dtype=np.int64)


# ----------------------------------------------------------------- coding and checking

def _codes(values: Any) -> tuple[np.ndarray, Any]:
    """Codes numbered in order of first appearance (-1 for a missing value) and the uniques."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), uniques


def _repeated(key: np.ndarray, size: int) -> np.ndarray:
    """Rows whose key (in ``range(size)``) an earlier row has."""
    if size <= 8 * len(key):  # counting is cheaper than hashing
        seen_twice = np.bincount(key, minlength=size)[key] > 1
        if not seen_twice.any():
            return seen_twice
        rows = np.flatnonzero(seen_twice)
    else:
        rows = np.arange(len(key))
    out = np.zeros(len(key), dtype=bool)
    out[rows] = True
    out[rows[first_rows(_codes(key[rows])[0])]] = False
    return out


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, for codes numbered in order of first appearance
    (as :func:`pandas.factorize` numbers them), without a sort."""
    new = np.empty(len(codes), dtype=bool)
    new[:1] = True
    np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=new[1:])
    return np.flatnonzero(new)


def _binary_value(value: Any) -> int:
    """0 or 1, _UNKNOWN for an empty cell, _BAD for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return _UNKNOWN
        if text in _TRUE:
            return 1
        if text in _FALSE:
            return 0
        try:
            value = float(text)
        except ValueError:
            return _BAD
    if isinstance(value, (int, float, np.integer, np.floating)):
        if math.isnan(value):
            return _UNKNOWN
        return int(value) if value in (0, 1) else _BAD
    return _BAD


class _Problems:
    """Candidate problems, each with its row; the one nearest the top of the table is raised."""

    def __init__(self) -> None:
        self.found: list[tuple[int, Callable[[], str]]] = []

    def add(self, bad: np.ndarray, message: Callable[[int], str]) -> None:
        hits = np.flatnonzero(bad)
        if len(hits):
            k = int(hits[0])
            self.found.append((k, lambda: message(k)))

    def raise_first(self) -> None:
        if self.found:
            raise SpecError(min(self.found, key=lambda f: f[0])[1]())


def _build(header: list[str], cells: dict[str, Any], rows: np.ndarray, source: str, *, by_line: bool) -> Table:
    n = len(rows)
    if n == 0:
        raise SpecError(f"{source}: no labels (the table has a header and no rows)")
    at = Rows(source, rows, by_line)
    problems = _Problems()
    ids: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in ("task", "node", "worker"):
        codes, uniques = _codes(cells[name])
        text = pd.Index(uniques).astype(str)
        names = text.to_numpy(dtype=object)
        blank = np.append(np.asarray(text.str.strip() == "", dtype=bool), True)
        bad = blank[codes]  # code -1 (a missing value) indexes the last entry: blank
        why = {"task": "every label names the task (episode) it judges",
               "node": "every label names the node of the spec whose evaluator gave it",
               "worker": "every label names the worker who gave it"}[name]  # fmt: skip
        problems.add(bad, lambda k, name=name, why=why: f"{at.where(k, name)} is empty: {why}")
        ids[name] = (codes, names)
    binary: dict[str, np.ndarray] = {}
    for name in ("label",) + OPTIONAL_COLUMNS:
        if name not in cells:
            binary[name] = np.full(n, _UNKNOWN, dtype=np.int8)
            continue
        codes, uniques = _codes(cells[name])
        shown = list(uniques)
        table = np.array([_binary_value(u) for u in shown] + [_UNKNOWN], dtype=np.int8)
        values = table[codes]
        binary[name] = values
        what = "label" if name == "label" else f"{name} value"
        problems.add(values == _BAD, lambda k, name=name, what=what, codes=codes, shown=shown:
                     f"{at.where(k, name)}: {quote(str(shown[codes[k]]))} is not a binary {what} "
                     "(0, 1, true or false)")  # fmt: skip
        if name == "label":
            problems.add(values == _UNKNOWN, lambda k: (
                f"{at.where(k, 'label')}: worker {quote(ids['worker'][1][ids['worker'][0][k]])} gives no label "
                "(the cell is empty); each row is one worker's label of one item, 0 or 1"))  # fmt: skip
    problems.raise_first()
    task, tasks = ids["task"]
    node, nodes = ids["node"]
    worker, workers = ids["worker"]
    item = task if len(nodes) == 1 else _codes(node * len(tasks) + task)[0]  # (node, task) pairs
    first_row = first_rows(item)
    n_items = len(first_row)
    item_node, item_task = node[first_row], task[first_row]
    problems = _Problems()
    pair = item * len(workers) + worker

    def again(k: int) -> str:
        first = int(np.flatnonzero(pair == pair[k])[0])
        return (f"{at.where(k, 'worker')}: worker {quote(workers[worker[k]])} labels task {quote(tasks[task[k]])} "
                f"at node {quote(nodes[node[k]])} a second time (first on {at.name(first)}); "
                "give each worker's label of an item once")  # fmt: skip

    problems.add(_repeated(pair, n_items * len(workers)), again)
    per_item: dict[str, np.ndarray] = {}
    for name in OPTIONAL_COLUMNS:
        values = binary[name]
        given = values >= 0
        value = np.full(n_items, _UNKNOWN, dtype=np.int8)
        if given.any():
            rows_given = np.flatnonzero(given)
            first = rows_given[first_rows(_codes(item[rows_given])[0])]  # each item's first row with a value
            value[item[first]] = values[first]
            first_of = np.full(n_items, -1, dtype=np.int64)
            first_of[item[first]] = first
            clash = given & (values != value[item])

            def disagree(k: int, name: str = name, first_of: np.ndarray = first_of, values: np.ndarray = values) -> str:
                j = int(first_of[item[k]])
                return (f"{at.where(k, name)}: {name}={values[k]} for task {quote(tasks[task[k]])} at node "
                        f"{quote(nodes[node[k]])}, but {at.name(j)} gives {name}={values[j]} "
                        f"(an item has one {'truth' if name == 'gold' else 'input'})")  # fmt: skip

            problems.add(clash, disagree)
        per_item[name] = value
    problems.raise_first()
    return Table(
        at=at, columns=tuple(c for c in OPTIONAL_COLUMNS if c in cells),
        task=task, tasks=tasks, node=node, nodes=nodes, worker=worker, workers=workers,
        label=binary["label"], gold=binary["gold"], input=binary["input"],
        item=item, item_node=item_node, item_task=item_task,
        item_gold=per_item["gold"], item_input=per_item["input"],
    )  # fmt: skip

