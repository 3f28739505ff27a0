"""What every exporter does first: check the tree, name its nodes, write the header."""

from __future__ import annotations

import networkx as nx

from .._compile import Compiled, compile_tree
from ._names import Names, json_text, mapping_lines, safe_names

__all__ = ["Tree", "prepare", "header_lines", "DEFAULT_MAX_ENTRIES"]

#: What the exporters take: a networkx tree, or one compiled by :func:`rrm_theory.compile_tree`.
Tree = nx.DiGraph | Compiled

#: The most table entries (Bayesian networks) or formula arguments (fault trees) a file may hold
#: unless a writer is told otherwise: about 16.8 million, some hundreds of MB of text.
DEFAULT_MAX_ENTRIES = 2**24


def prepare(tree: Tree) -> tuple[Compiled, Names]:
    """The tree in array form (validated: :class:`~rrm_theory.errors.SpecError` if not valid;
    a compiled tree is valid already) and the safe ids of its nodes and groups."""
    c = tree if isinstance(tree, Compiled) else compile_tree(tree)
    return c, safe_names(c.nodes, [g for g, _, _ in c.groups])


def header_lines(c: Compiled, names: Names, what: str, body: list[str]) -> list[str]:
    """The header comment: provenance, ``body`` (what the file computes), the renamed ids."""
    from .. import __version__

    return [
        f"rrm-theory {__version__}: the evaluation tree {json_text(c.name)} as {what}",
        "(the model of MODEL.md; every prefix is described in docs/export.md)",
        *body,
        *mapping_lines(names),
    ]
