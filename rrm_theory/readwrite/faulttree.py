"""An evaluation tree's verdict as an Open-PSA MEF fault tree (docs/export.md).

The top event is "the root approves bad work", ``V_root AND NOT Y_root``, so its
probability is P(V_root = 1, Y_root = 0) = false_accept x (1 - p_good): a fault-tree
engine that handles NOT gates exactly (SCRAM with its BDD algorithm, XFTA) reproduces
exact analysis. The gates, basic events and their prefixes are listed in
:mod:`rrm_theory.readwrite._faulttree` and docs/export.md. Probabilities are written
as Python's ``repr`` writes them (full double precision).
"""

from __future__ import annotations

from ._common import DEFAULT_MAX_ENTRIES, Tree, header_lines, prepare
from ._faulttree import TOP, Const, Event, Expr, FaultTree, Not, Op, fault_tree
from ._names import safe_text

__all__ = ["to_mef"]


def _formula(e: Expr, pad: str, out: list[str]) -> None:
    if isinstance(e, Const):
        out.append(f'{pad}<constant value="{"true" if e.value else "false"}"/>')
    elif isinstance(e, Event):
        out.append(f'{pad}<{e.kind} name="{e.name}"/>')
    elif isinstance(e, Not):
        out.append(f"{pad}<not>")
        _formula(e.arg, pad + "  ", out)
        out.append(f"{pad}</not>")
    else:
        assert isinstance(e, Op)
        out.append(f"{pad}<{e.op}>")
        for a in e.args:
            _formula(a, pad + "  ", out)
        out.append(f"{pad}</{e.op}>")


def _body(root: str) -> list[str]:
    return [
        f'top event "{TOP}" = V_{root} AND NOT Y_{root}: the root approves bad work, so',
        f"P({TOP}) = P(V_{root} = 1, Y_{root} = 0) = false_accept x (1 - p_good) at the root.",
        "Basic events (each with the probability that it occurs): Y a leaf's work is acceptable (prior),",
        "H no coverage defect (coverage), FA / FR the false-accept / false-reject draw, D deception,",
        "M influence, X exposure (swayed: M AND X), B blind spot, A audit. Gates: Y truth, U input,",
        "V report, R received report, CY<j>c<k> / CU<j>c<k> the truths / received reports of the first",
        "j children sum to class k.",
    ]


def _tree_name(name: str) -> str:
    safe = safe_text(name)
    return safe if safe[0].isalpha() else f"tree_{safe}"


def mef_text(ft: FaultTree, header: list[str], name: str) -> str:
    """The MEF document of a built fault tree."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<!--", *(f"  {line}" for line in header), "-->",
           "<opsa-mef>", f'  <define-fault-tree name="{name}">']  # fmt: skip
    for gate, formula in ft.gates.items():
        out.append(f'    <define-gate name="{gate}">')
        if gate == TOP:
            out.append("      <label>the root approves bad work</label>")
        _formula(formula, "      ", out)
        out.append("    </define-gate>")
    for event, p in ft.basic_events.items():
        out.append(f'    <define-basic-event name="{event}"><float value="{p!r}"/></define-basic-event>')
    out += ["  </define-fault-tree>", "</opsa-mef>"]
    return "\n".join(out) + "\n"


def build_mef(tree: Tree, max_entries: int) -> tuple[FaultTree, str, int]:
    """The fault tree, its MEF text and the ids renamed."""
    c, names = prepare(tree)
    ft = fault_tree(c, names, max_entries=max_entries)
    header = header_lines(c, names, "an Open-PSA MEF fault tree", _body(names.nodes[0]))
    return ft, mef_text(ft, header, _tree_name(c.name)), names.renamed


def to_mef(tree: Tree, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> str:
    """The tree's verdict as an Open-PSA MEF fault tree (SCRAM and XFTA read it).

    The top event, ``top``, is "the root approves bad work": its probability is
    P(V_root = 1, Y_root = 0) = false_accept x (1 - p_good). The encoding is
    non-coherent (NOT gates); count and weighted rules are counting gates, one per
    class of partial sums and child, never a gate per subset of children.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, checked as every analysis checks it (or one compiled
        by :func:`rrm_theory.compile_tree`).
    max_entries : int, keyword-only
        Refuse a fault tree whose formulas hold more arguments than this (default 2**24).

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
        the formulas would pass ``max_entries``.

    Examples
    --------
    One human, who approves bad work with probability 0.1:

    >>> from rrm_theory import chain
    >>> text = to_mef(chain(0, false_accept=0.1, false_reject=0.2, prior=0.5))
    >>> top = text[text.index('<define-gate name="top">'):]
    >>> print(top[:top.index("</define-gate>")].rstrip())
    <define-gate name="top">
          <label>the root approves bad work</label>
          <and>
            <gate name="V_L0_0"/>
            <not>
              <basic-event name="Y_L0_0"/>
            </not>
          </and>
    >>> print(text[text.index('<define-basic-event name="FA_L0_0">'):].splitlines()[0])
    <define-basic-event name="FA_L0_0"><float value="0.1"/></define-basic-event>
    """
    return build_mef(tree, max_entries)[1]
