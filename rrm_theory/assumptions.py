"""The assumptions of the recursive-reward-modeling literature, as checkable predicates.

Each assumption is a claim about a decomposition that arguments for RRM lean on
(Leike et al. 2018, section 4; Irving, Christiano, Amodei 2018 for "evaluation
is easier than generation"). :func:`check_assumptions` reports, for one tree,
whether each holds, fails (naming the offending nodes) or is not stated by the
spec (for example no ``difficulty`` values to compare).

Spec keys used (docs/spec-format.md): node ``difficulty`` and
``generation_difficulty`` (in [0, 1]); top-level ``human_reach`` (the hardest
difficulty a human judges reliably unaided) and ``unaided_error`` (the human's
error judging the whole task directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

import networkx as nx

from .errors import ExactRefused
from .exact import exact_analysis
from .tree import tree_leaves, tree_root

__all__ = ["ASSUMPTIONS", "Check", "check_assumptions"]

#: Each assumption's name and the claim it formalises.
ASSUMPTIONS: dict[str, str] = {
    "easier_subtasks": "every subtask is strictly easier to evaluate than its parent (difficulty decreases downward)",
    "leaves_within_reach": "every leaf is within direct human reach (difficulty <= human_reach)",
    "sufficient_decomposition": "the decomposition is sufficient: no defect escapes every subtask (coverage 1)",
    "independent_errors": "evaluators err independently: no shared blind spots, no manipulation of exposed judges",
    "assistance_helps": "the assisted verdict errs less often than the human judging the whole task unaided",
    "evaluation_easier": "evaluation is easier than generation wherever both difficulties are stated",
}


@dataclass(frozen=True)
class Check:
    """One assumption's verdict on one tree.

    Attributes
    ----------
    name, claim : str
        The assumption (:data:`ASSUMPTIONS`).
    status : str
        ``"holds"``, ``"fails"`` or ``"not stated"``.
    nodes : list
        The offending nodes when it fails.
    detail : str
        What was compared.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> check = rrm.check_assumptions(rrm.chain(1, error=0.1, prior=0.5))[0]
    >>> check.name, check.status, check.detail
    ('easier_subtasks', 'not stated', '0 parent-child pairs compared')
    """

    name: str
    claim: str
    status: str
    nodes: list[Hashable] = field(default_factory=list)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The check as one item of ``rrm-theory check --json`` (node ids as strings)."""
        return {"name": self.name, "claim": self.claim, "status": self.status,
                "nodes": [str(v) for v in self.nodes], "detail": self.detail}  # fmt: skip


def _check(name: str, status: str, nodes: list[Hashable] | None = None, detail: str = "") -> Check:
    return Check(name, ASSUMPTIONS[name], status, nodes or [], detail)


def check_assumptions(
    tree: nx.DiGraph, *, human_reach: float | None = None, unaided_error: float | None = None
) -> list[Check]:
    """Which of the RRM assumptions hold for this tree.

    Parameters
    ----------
    tree : networkx.DiGraph
        A validated evaluation tree.
    human_reach, unaided_error : float, optional
        Override the spec's top-level values.

    Returns
    -------
    list of Check
        One per assumption, in the order of :data:`ASSUMPTIONS`.

    Raises
    ------
    SpecError
        If ``tree`` has not exactly one root, or (when an unaided error is
        known, so the assisted error is computed) is not a valid evaluation
        tree. The other checks read the attributes a validated tree carries.

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> checks = check_assumptions(rrm.load_spec("models/chip-design.toml"))
    >>> [(c.name, c.status) for c in checks][:4]
    [('easier_subtasks', 'holds'), ('leaves_within_reach', 'holds'), ('sufficient_decomposition', 'fails'), ('independent_errors', 'fails')]
    >>> checks[2].nodes
    ['design', 'security']
    """
    data = tree.nodes
    root = tree_root(tree)
    out = []

    pairs = [(p, c) for p, c in tree.edges if "difficulty" in data[p] and "difficulty" in data[c]]
    bad = [c for p, c in pairs if not data[c]["difficulty"] < data[p]["difficulty"]]
    out.append(_check("easier_subtasks", "not stated" if not pairs else ("fails" if bad else "holds"), bad,
                      f"{len(pairs)} parent-child pairs compared"))  # fmt: skip

    reach = tree.graph.get("human_reach") if human_reach is None else human_reach
    stated = [v for v in tree_leaves(tree) if "difficulty" in data[v]]
    if reach is None or not stated:
        out.append(_check("leaves_within_reach", "not stated", detail="needs human_reach and leaf difficulties"))
    else:
        far = [v for v in stated if data[v]["difficulty"] > reach]
        out.append(_check("leaves_within_reach", "fails" if far else "holds", far, f"human_reach = {reach}"))

    gaps = [v for v in tree if tree.out_degree(v) and data[v]["coverage"] < 1.0]
    out.append(_check("sufficient_decomposition", "fails" if gaps else "holds", gaps,
                      "internal nodes with coverage < 1"))  # fmt: skip

    shared: list[Hashable] = []
    if tree.graph.get("influence", 0.0) > 0.0:
        shared += [v for v in tree if data[v]["exposure"] > 0.0]
    for group in tree.graph.get("blind_spots", {}).values():
        if group["probability"] > 0.0:
            shared += [m for m in group["members"] if m not in shared]
    out.append(_check("independent_errors", "fails" if shared else "holds", shared,
                      "nodes in a blind spot or exposed to influence"))  # fmt: skip

    unaided = tree.graph.get("unaided_error") if unaided_error is None else unaided_error
    if unaided is None:
        out.append(_check("assistance_helps", "not stated", detail="needs unaided_error"))
    else:
        try:
            assisted = exact_analysis(tree).root.error
        except ExactRefused:
            from .montecarlo import monte_carlo

            assisted = monte_carlo(tree, samples=1_000_000, rng=0).root["error"].estimate  # type: ignore[union-attr]
        worse = not assisted < unaided
        out.append(_check("assistance_helps", "fails" if worse else "holds", [root] if worse else [],
                          f"assisted error {assisted:.4g} vs unaided {unaided:.4g}"))  # fmt: skip

    both = [v for v in tree if "difficulty" in data[v] and "generation_difficulty" in data[v]]
    harder = [v for v in both if not data[v]["difficulty"] < data[v]["generation_difficulty"]]
    out.append(_check("evaluation_easier", "not stated" if not both else ("fails" if harder else "holds"), harder,
                      f"{len(both)} nodes state both"))  # fmt: skip
    return out
