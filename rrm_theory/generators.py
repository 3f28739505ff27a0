"""Homogeneous trees, built in Python (the ``[generate]`` table of MODEL.md section 6).

Both generators go through the spec machinery, so a tree built here is the
same tree a ``[generate]`` spec with the same values gives, with the same
validation and the same node ids (``L<level>_<index>``, root ``L0_0``).
"""

from __future__ import annotations

from typing import Any, Mapping

import networkx as nx

from .spec import from_dict

__all__ = ["balanced", "chain"]

_RATE_KEYS = (
    "prior", "error", "false_accept", "false_reject", "coverage",
    "deception", "audit", "exposure", "threshold", "weight",
)  # fmt: skip


def _spec(
    generate: dict[str, Any],
    rates: Mapping[str, Any],
    leaves: Mapping[str, Any] | None,
    internal: Mapping[str, Any] | None,
    influence: float,
    blind_spots: Mapping[str, Any] | None,
    name: str,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name,
        "influence": influence,
        "defaults": {k: v for k, v in rates.items() if v is not None},
        "generate": generate,
    }
    if leaves:
        generate["leaves"] = dict(leaves)
    if internal:
        generate["internal"] = dict(internal)
    if blind_spots:
        spec["blind_spots"] = {g: dict(d) for g, d in blind_spots.items()}
    return spec


def balanced(
    depth: int,
    branching: int,
    *,
    rule: str,
    leaves: Mapping[str, Any] | None = None,
    internal: Mapping[str, Any] | None = None,
    influence: float = 0.0,
    blind_spots: Mapping[str, Any] | None = None,
    name: str | None = None,
    **rates: Any,
) -> nx.DiGraph:
    """A balanced tree: every internal node has ``branching`` children, every leaf is at ``depth``.

    Parameters
    ----------
    depth : int
        Edges from the root to every leaf (0 gives a single leaf).
    branching : int
        Children per internal node.
    rule : str
        The internal nodes' rule (MODEL.md section 2.2).
    leaves, internal : mapping, optional
        Values for leaves only / internal nodes only (as ``[generate.leaves]``
        and ``[generate.internal]``); they override ``rates``.
    influence : float
        P(manipulation event) per episode.
    blind_spots : mapping, optional
        Group name -> ``{"probability": p, "members": [node ids]}``.
    name : str, optional
        The tree's name; default ``balanced-<depth>x<branching>-<rule>``.
    **rates
        Values for every node, as ``[defaults]``: ``prior``, ``error``,
        ``false_accept``, ``false_reject``, ``coverage``, ``deception``,
        ``audit``, ``exposure``, ``threshold``, ``weight``.

    Returns
    -------
    networkx.DiGraph
        A validated evaluation tree, nodes ``L<level>_<index>`` (root ``L0_0``).

    Raises
    ------
    SpecError
        For invalid values, or more than ``MAX_GENERATED_NODES`` nodes.
    TypeError
        For a keyword argument that is not one of ``rates``.

    Examples
    --------
    >>> tree = balanced(2, 3, rule="majority", error=0.1, prior=0.5)
    >>> tree.number_of_nodes(), sorted(tree.successors("L0_0"))
    (13, ['L1_0', 'L1_1', 'L1_2'])
    """
    unknown = set(rates) - set(_RATE_KEYS)
    if unknown:
        raise TypeError(f"balanced() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    generate = {"shape": "balanced", "depth": depth, "branching": branching, "rule": rule}
    label = name or f"balanced-{depth}x{branching}-{rule}"
    return from_dict(
        _spec(generate, rates, leaves, internal, influence, blind_spots, label),
        source=f"balanced({depth}, {branching})",
    )


def chain(
    depth: int,
    *,
    leaves: Mapping[str, Any] | None = None,
    internal: Mapping[str, Any] | None = None,
    influence: float = 0.0,
    blind_spots: Mapping[str, Any] | None = None,
    name: str | None = None,
    **rates: Any,
) -> nx.DiGraph:
    """A chain: ``depth`` internal evaluators, each relying on one helper, over one human leaf.

    Every rule of MODEL.md gives the same verdict over one child, so the chain
    uses ``"all"``.

    Parameters
    ----------
    depth : int
        Internal evaluators (edges from the root to the leaf; 0 gives a single leaf).
    leaves, internal : mapping, optional
        Values for the leaf only / the internal nodes only (as ``[generate.leaves]``
        and ``[generate.internal]``); they override ``rates``.
    influence : float
        P(manipulation event) per episode.
    blind_spots : mapping, optional
        Group name -> ``{"probability": p, "members": [node ids]}``.
    name : str, optional
        The tree's name; default ``chain-<depth>``.
    **rates
        Values for every node, as ``[defaults]`` (the keys of :func:`balanced`).

    Returns
    -------
    networkx.DiGraph
        A validated evaluation tree, nodes ``L0_0`` (the root) to ``L<depth>_0`` (the leaf).

    Raises
    ------
    SpecError
        For invalid values, or more than ``MAX_GENERATED_NODES`` nodes.
    TypeError
        For a keyword argument that is not one of ``rates``.

    Examples
    --------
    >>> tree = chain(3, error=0.1, prior=0.5)
    >>> list(tree.edges)
    [('L0_0', 'L1_0'), ('L1_0', 'L2_0'), ('L2_0', 'L3_0')]
    """
    unknown = set(rates) - set(_RATE_KEYS)
    if unknown:
        raise TypeError(f"chain() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    generate = {"shape": "chain", "depth": depth, "rule": "all"}
    return from_dict(
        _spec(generate, rates, leaves, internal, influence, blind_spots, name or f"chain-{depth}"),
        source=f"chain({depth})",
    )
