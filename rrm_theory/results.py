"""Result objects: the metrics of MODEL.md section 3, at the root and at every node.

=============== ======================================================
metric          definition (at node v, with truth Y_v and report V_v)
=============== ======================================================
``p_good``      P(Y = 1)
``error``       P(V != Y)
``false_accept`` P(V = 1 | Y = 0); None when P(Y = 0) = 0
``false_reject`` P(V = 0 | Y = 1); None when P(Y = 1) = 0
``youden``      1 - false_accept - false_reject; None if either is None
=============== ======================================================
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Hashable, Iterator, Mapping, TypeVar

import numpy as np

__all__ = ["METRICS", "Metrics", "ByNode", "NodeMetrics", "Analysis"]

#: The metric names, in the order they are reported.
METRICS = ("p_good", "error", "false_accept", "false_reject", "youden")


@dataclass(frozen=True)
class Metrics:
    """The five metrics of one node's verdict (None = undefined).

    Attributes
    ----------
    p_good : float
        P(Y = 1), the probability that the work is acceptable.
    error : float
        P(V != Y), the probability that the verdict is wrong.
    false_accept : float or None
        P(V = 1 | Y = 0); None when P(Y = 0) = 0.
    false_reject : float or None
        P(V = 0 | Y = 1); None when P(Y = 1) = 0.
    youden : float or None
        ``1 - false_accept - false_reject``; None if either is None.

    Examples
    --------
    >>> Metrics(p_good=1.0, error=0.1, false_accept=None, false_reject=0.1, youden=None).to_dict()
    {'p_good': 1.0, 'error': 0.1, 'false_accept': None, 'false_reject': 0.1, 'youden': None}
    """

    p_good: float
    error: float
    false_accept: float | None
    false_reject: float | None
    youden: float | None

    def to_dict(self) -> dict[str, float | None]:
        """The metrics as a plain dict, in the order of :data:`METRICS`."""
        return {m: getattr(self, m) for m in METRICS}


def _value(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


V = TypeVar("V")


class ByNode(Mapping[Hashable, V]):
    """A read-only mapping node -> value, computed on access from row ``i`` of some arrays.

    Subclasses implement ``_row(i)``, the value of the node at row ``i``; node ``v``
    is row ``nodes.index(v)``, and iteration follows ``nodes``.

    Parameters
    ----------
    nodes : list
        The node ids, one per row.

    Examples
    --------
    >>> class Squares(ByNode):
    ...     def _row(self, i):
    ...         return i * i
    >>> squares = Squares(["a", "b", "c"])
    >>> squares["c"], list(squares), len(squares)
    (4, ['a', 'b', 'c'], 3)
    >>> squares
    <Squares of 3 nodes>
    """

    def __init__(self, nodes: list[Hashable]):
        self._nodes = nodes if isinstance(nodes, tuple) else list(nodes)  # a tuple is kept: it cannot change
        self._index: dict[Hashable, int] | None = None  # built on the first look-up (big trees)

    @abstractmethod
    def _row(self, i: int) -> V:
        """The value of the node at row ``i``."""

    def __getitem__(self, node: Hashable) -> V:
        if self._index is None:
            self._index = dict(zip(self._nodes, range(len(self._nodes))))
        return self._row(self._index[node])

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {len(self)} nodes>"


class NodeMetrics(ByNode[Metrics]):
    """Per-node metrics, a read-only mapping node -> :class:`Metrics` backed by arrays.

    :meth:`array` gives one metric for every node at once (NaN = undefined),
    in the order of iteration.

    Parameters
    ----------
    nodes : list
        The node ids, one per row.
    arrays : mapping of str to array_like
        Each metric of :data:`METRICS` for every node, NaN where undefined (read-only
        float copies are kept).

    Examples
    --------
    >>> import numpy as np
    >>> per = NodeMetrics(["a", "b"], {"p_good": [1.0, 0.5], "error": [0.1, 0.2],
    ...                                "false_accept": [np.nan, 0.2], "false_reject": [0.1, 0.2],
    ...                                "youden": [np.nan, 0.6]})
    >>> per["a"]
    Metrics(p_good=1.0, error=0.1, false_accept=None, false_reject=0.1, youden=None)
    >>> per.array("error").tolist()
    [0.1, 0.2]
    """

    def __init__(self, nodes: list[Hashable], arrays: Mapping[str, np.ndarray]):
        super().__init__(nodes)
        self._arrays = {m: np.asarray(arrays[m], dtype=float) for m in METRICS}
        for a in self._arrays.values():
            a.setflags(write=False)

    def _row(self, i: int) -> Metrics:
        return Metrics(*(_value(self._arrays[m][i]) for m in METRICS))  # type: ignore[arg-type]

    def array(self, metric: str) -> np.ndarray:
        """One metric for every node (a copy; NaN where undefined).

        Raises
        ------
        KeyError
            If ``metric`` is not one of :data:`METRICS`.
        """
        if metric not in self._arrays:
            raise KeyError(f"{metric!r} is not a metric; metrics: {', '.join(METRICS)}")
        return self._arrays[metric].copy()


@dataclass(frozen=True)
class Analysis:
    """The analysis of one evaluation tree.

    Attributes
    ----------
    name : str
        The tree's name.
    nodes, leaves, depth : int
        Tree size; depth counts edges from the root to the deepest leaf.
    method : str
        ``"exact"``.
    root_node : hashable
        The root's node id.
    root : Metrics
        The metrics of the root verdict.
    per_node : NodeMetrics
        The same metrics for every node (with that node's own report V_v).

    Examples
    --------
    >>> import rrm_theory as rrm
    >>> a = rrm.exact_analysis(rrm.chain(1, error=0.1, prior=0.5))
    >>> a.name, a.nodes, a.leaves, a.depth, a.method, a.root_node
    ('chain-1', 2, 1, 1, 'exact', 'L0_0')
    >>> round(a.root.false_accept, 4), round(a.per_node["L1_0"].false_accept, 4)
    (0.18, 0.1)
    >>> sorted(a.to_dict(per_node=True)["per_node"])
    ['L0_0', 'L1_0']
    """

    name: str
    nodes: int
    leaves: int
    depth: int
    method: str
    root_node: Hashable
    root: Metrics
    per_node: NodeMetrics

    def to_dict(self, *, per_node: bool = False) -> dict[str, Any]:
        """The JSON object ``rrm-theory analyze --json`` prints (node ids as strings)."""
        out: dict[str, Any] = {
            "name": self.name,
            "nodes": self.nodes,
            "leaves": self.leaves,
            "depth": self.depth,
            "method": self.method,
            "root": self.root.to_dict(),
        }
        if per_node:
            out["per_node"] = {str(v): m.to_dict() for v, m in self.per_node.items()}
        return out
