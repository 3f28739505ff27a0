"""Writing an exported tree to a file, in any of the formats of :data:`FORMATS`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ._common import DEFAULT_MAX_ENTRIES, Tree

__all__ = ["FORMATS", "SUFFIXES", "Exported", "export_network", "write_network"]

#: The formats, as ``--to`` names them.
FORMATS = ("bif", "xmlbif", "mef")
#: The file suffixes that name a format (pyAgrum reads XMLBIF only from ``.bifxml`` or ``.xml``).
SUFFIXES = {".bif": "bif", ".bifxml": "xmlbif", ".xmlbif": "xmlbif", ".mef": "mef", ".opsa": "mef"}


@dataclass(frozen=True)
class Exported:
    """One export: its text and what it holds.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
    text : str
        The file's content (ASCII).
    variables : int
        Bayesian networks: the variables; fault trees: the events defined (gates and
        basic events).
    arcs : int or None
        Bayesian networks: the parent -> child arcs.
    entries : int
        Bayesian networks: the numbers in the tables; fault trees: the arguments of
        the gates' formulas.
    gates, basic_events : int or None
        Fault trees: the gates (the top event included) and the basic events.
    renamed : int
        Node ids and group names changed to fit the format (listed in the header).

    Examples
    --------
    >>> from rrm_theory import from_dict
    >>> tree = from_dict({"defaults": {"error": 0.1, "prior": 0.5},
    ...                   "nodes": {"the verdict": {"rule": "any"}, "a": {"parent": "the verdict"}}})
    >>> ft = export_network(tree, format="mef")
    >>> ft.gates, ft.basic_events, ft.arcs, ft.renamed
    (5, 5, None, 1)
    >>> "the_verdict <- " in ft.text
    True
    """

    format: str
    text: str
    variables: int
    arcs: int | None
    entries: int
    gates: int | None
    basic_events: int | None
    renamed: int


def export_network(tree: Tree, *, format: str, max_entries: int = DEFAULT_MAX_ENTRIES) -> Exported:
    """Export ``tree`` in ``format`` and say what the file holds.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree (as for :func:`~rrm_theory.readwrite.to_bif`).
    format : {"bif", "xmlbif", "mef"}, keyword-only
        The format (:data:`FORMATS`).
    max_entries : int, keyword-only
        Refuse a file of more table entries (or formula arguments) than this.

    Returns
    -------
    Exported

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExportRefused
        Past the limits of :func:`to_bif` and :func:`to_mef`.
    ValueError
        If ``format`` is not one of :data:`FORMATS`.

    Examples
    --------
    >>> from rrm_theory import balanced
    >>> tree = balanced(2, 3, rule="majority", error=0.1, prior=0.5)
    >>> bn = export_network(tree, format="xmlbif")
    >>> bn.variables, bn.arcs, bn.renamed
    (38, 45, 0)
    >>> ft = export_network(tree, format="mef")
    >>> ft.gates, ft.basic_events
    (38, 35)
    """
    from .bayesnet import build_bn
    from .faulttree import build_mef

    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not one of {', '.join(FORMATS)}")
    if format == "mef":
        ft, text, renamed = build_mef(tree, max_entries)
        return Exported(format, text, len(ft.gates) + len(ft.basic_events), None, ft.entries, len(ft.gates),
                        len(ft.basic_events), renamed)  # fmt: skip
    network, text, renamed = build_bn(tree, format, max_entries)
    return Exported(format, text, len(network.variables), network.arcs, network.entries, None, None, renamed)


def write_network(
    tree: Tree, path: str | os.PathLike[str], *, format: str | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> Exported:  # fmt: skip
    """Write ``tree`` to ``path`` as a Bayesian network (BIF, XMLBIF) or a fault tree (MEF).

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree (as for :func:`~rrm_theory.readwrite.to_bif`).
    path : str or path-like
        The file to write (replaced if it exists). The whole text is built before
        the file is opened, so a refused export leaves no file behind.
    format : {"bif", "xmlbif", "mef"}, optional, keyword-only
        Default: from the suffix (:data:`SUFFIXES`: ``.bif``; ``.bifxml`` or
        ``.xmlbif``; ``.mef`` or ``.opsa``).
    max_entries : int, keyword-only
        As for :func:`export_network`.

    Returns
    -------
    Exported
        What was written.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExportRefused
        Past the limits of :func:`to_bif` and :func:`to_mef`.
    ValueError
        If no format is given and the suffix names none.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from rrm_theory import chain
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "chain.bifxml"
    >>> write_network(chain(3, error=0.1, prior=0.5), path).variables
    11
    >>> path.read_text().splitlines()[0]
    '<?xml version="1.0" encoding="UTF-8"?>'
    """
    path = Path(path)
    if format is None:
        format = SUFFIXES.get(path.suffix.lower())
        if format is None:
            raise ValueError(f"{path}: the suffix {path.suffix or '(none)'!r} names no format; give format= one of "
                             f"{', '.join(FORMATS)} (suffixes: {', '.join(SUFFIXES)})")  # fmt: skip
    exported = export_network(tree, format=format, max_entries=max_entries)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(exported.text)
    return exported
