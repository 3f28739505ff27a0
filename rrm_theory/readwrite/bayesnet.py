"""An evaluation tree as a Bayesian network, in BIF and XMLBIF (docs/export.md).

The network holds every random variable of MODEL.md section 2 (the variables and
their prefixes are listed in :mod:`rrm_theory.readwrite._network` and docs/export.md),
so that a general-purpose inference engine (pyAgrum, pgmpy) reproduces exact
analysis: P(V_root = 1 | Y_root = 0) is the false-accept rate, P(V_root = 0 |
Y_root = 1) the false-reject rate and P(Y_root = 1) is ``p_good``.

Count and weighted rules are written as counting chains (:mod:`._counting`), never as
one table over all children, so a node with ``n`` children costs tables of about
``n * classes**2`` entries instead of ``2**n``.

BIF follows the interchange format of Hulten and Domingos (``probability ( X | A, B )``
blocks with one line per parents' state); XMLBIF is version 0.3 (Cozman), the
``<TABLE>`` listing each parents' state in turn, the last ``<GIVEN>`` changing fastest
before it and the ``<FOR>`` variable fastest of all. Numbers are written as Python's
``repr`` writes them (shortest round-trip: full double precision).
"""

from __future__ import annotations

from ._common import DEFAULT_MAX_ENTRIES, Tree, header_lines, prepare
from ._names import safe_text
from ._network import Network, bayesian_network

__all__ = ["to_bif", "to_xmlbif"]


def _body(root: str) -> list[str]:
    return [
        f"P(V_{root} = 1 | Y_{root} = 0) is the root's false-accept rate, P(V_{root} = 0 | Y_{root} = 1) its",
        f"false-reject rate and P(Y_{root} = 1) its p_good. Variables, each binary with states 0 and 1:",
        "Y truth, V report, R received report (audited nodes), U input (internal nodes), H coverage",
        "(0 = a defect no subtask covers), D deception, S swayed (given M), M influence, B blind spot;",
        "counting chains, with the states they need: CY<j> / CU<j> the class of the summed truths /",
        "received reports of the first j children; O<k> a node's overrides ORed.",
    ]


def build_bn(tree: Tree, format: str, max_entries: int) -> tuple[Network, str, int]:
    """The network, its text in ``format`` (``"bif"`` or ``"xmlbif"``) and the ids renamed."""
    c, names = prepare(tree)
    network = bayesian_network(c, names, max_entries=max_entries)
    what = "a Bayesian network in " + ("BIF" if format == "bif" else "XMLBIF 0.3")
    header = header_lines(c, names, what, _body(names.nodes[0]))
    write = _bif if format == "bif" else _xmlbif
    return network, write(network, header, safe_text(c.name)), names.renamed


def _numbers(values: list[float]) -> str:
    return ", ".join(map(repr, values))


def to_bif(tree: Tree, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> str:
    """The tree's Bayesian network in BIF (the interchange format pgmpy and pyAgrum read).

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, checked as every analysis checks it (or one compiled
        by :func:`rrm_theory.compile_tree`).
    max_entries : int, keyword-only
        Refuse a network of more table entries than this (default 2**24).

    Returns
    -------
    str
        The file's text (ASCII), the same for the same tree.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExportRefused
        If a rule needs more classes of partial sums than exact analysis allows, or
        the tables would pass ``max_entries``.

    Notes
    -----
    pyAgrum 3.3 reads BIF numbers in single precision; XMLBIF keeps every digit.

    Examples
    --------
    >>> from rrm_theory import chain
    >>> text = to_bif(chain(2, error=0.1, prior=0.5))
    >>> print(text[text.index("probability ( V_L2_0"):].split("}")[0])
    probability ( V_L2_0 | Y_L2_0 ) {
      (0) 0.9, 0.1;
      (1) 0.1, 0.9;
    <BLANKLINE>
    """
    return build_bn(tree, "bif", max_entries)[1]


def _bif(network: Network, header: list[str], name: str) -> str:
    out = [f"// {line}" for line in header]
    out += [f'network "{name}" {{', "}"]
    for v in network.variables:
        states = ", ".join(map(str, range(v.states)))
        out += [f"variable {v.name} {{", f"  type discrete [ {v.states} ] {{ {states} }};", "}"]
    for v in network.variables:
        if not v.parents:
            out += [f"probability ( {v.name} ) {{", f"  table {_numbers(v.table.tolist())};"]
        else:
            out.append(f"probability ( {v.name} | {', '.join(v.parents)} ) {{")
            rows = v.table.reshape(-1, v.states).tolist()
            out += [f"  ({', '.join(map(str, row))}) {_numbers(p)};" for row, p in zip(v.rows(), rows)]
        out.append("}")
    return "\n".join(out) + "\n"


def to_xmlbif(tree: Tree, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> str:
    """The tree's Bayesian network in XMLBIF 0.3 (pyAgrum reads it from a ``.bifxml`` file).

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, checked as every analysis checks it (or one compiled
        by :func:`rrm_theory.compile_tree`).
    max_entries : int, keyword-only
        Refuse a network of more table entries than this (default 2**24).

    Returns
    -------
    str
        The file's text (ASCII XML), the same for the same tree.

    Raises
    ------
    SpecError
        If ``tree`` is not a valid evaluation tree.
    ExportRefused
        If a rule needs more classes of partial sums than exact analysis allows, or
        the tables would pass ``max_entries``.

    Examples
    --------
    >>> from rrm_theory import chain
    >>> text = to_xmlbif(chain(2, error=0.1, prior=0.5))
    >>> print(text[text.index("<DEFINITION>\\n  <FOR>V_L2_0"):].split("</DEFINITION>")[0])
    <DEFINITION>
      <FOR>V_L2_0</FOR>
      <GIVEN>Y_L2_0</GIVEN>
      <TABLE>0.9 0.1 0.1 0.9</TABLE>
    <BLANKLINE>
    """
    return build_bn(tree, "xmlbif", max_entries)[1]


def _xmlbif(network: Network, header: list[str], name: str) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<!--", *(f"  {line}" for line in header), "-->",
           '<BIF VERSION="0.3">', "<NETWORK>", f"<NAME>{name}</NAME>"]  # fmt: skip
    for v in network.variables:
        out += ['<VARIABLE TYPE="nature">', f"  <NAME>{v.name}</NAME>"]
        out += [f"  <OUTCOME>{k}</OUTCOME>" for k in range(v.states)]
        out.append("</VARIABLE>")
    for v in network.variables:
        out += ["<DEFINITION>", f"  <FOR>{v.name}</FOR>", *(f"  <GIVEN>{p}</GIVEN>" for p in v.parents),
                f"  <TABLE>{' '.join(map(repr, v.table.ravel().tolist()))}</TABLE>", "</DEFINITION>"]  # fmt: skip
    out += ["</NETWORK>", "</BIF>"]
    return "\n".join(out) + "\n"
