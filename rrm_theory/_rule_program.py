"""Threshold rules as programs over classes of partial sums (MODEL.md section 2.2).

A node's rule accepts iff ``sum(w_c * x_c) >= T`` (integer weights, see
:mod:`rrm_theory.rules`). Folding the children in one at a time, what must be
remembered after the first ``j`` children is not their partial sum ``s`` but
only how ``s`` will compare with ``T`` once the remaining children are added:
two partial sums are *equivalent* when, for every subset sum ``x`` of the
remaining weights, ``s + x >= T`` holds for both or for neither. So a partial
sum is replaced by its **class**, the position of ``T - s`` among the sorted
subset sums of the remaining weights (capped at ``T``). Classes are ordered
like the sums they contain, every sum past the threshold is one class (a sum
past it stays past it) and every sum that can no longer reach it is one class.

This merges equal sums, caps at the threshold, and, for generic decimal
weights, keeps at most ``min(2**j, 2**(n - j) + 1)`` classes at step j: the
meet-in-the-middle bound, without a separate combination step. For unit
weights (``majority``, ``at_least:K``) the classes are the counts that can
still matter. The comparison stays exact: sums are Python integers (or int64
where they fit), only class indices reach the numeric kernels.

A :class:`RuleProgram` lists, for every child position, where each class goes
when the child's value is 0 and when it is 1 (``maps[j][0]``, ``maps[j][1]``,
both non-decreasing). After the last child there are exactly two classes,
0 = reject and 1 = accept. The exact analysis, the bounds, importance and the
adversary all run on these programs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["RuleProgram", "rule_program", "TooManySums", "MAX_CLASSES"]

#: The most classes (distinct partial sums that still matter) one step of a rule may need.
MAX_CLASSES = 2048
_STORED_CUTS = 1 << 22  # subset sums of the remaining weights kept for classifying (all steps together)
_CUTS_PER_STEP = 1 << 17  # more than this at one step: classify by raw sums there (and before)
_INT64_SAFE = 1 << 62


class TooManySums(Exception):
    """A rule needs more classes at one step than allowed (``needed`` at child ``position``)."""

    def __init__(self, needed: int, position: int, limit: int):
        super().__init__(needed, position, limit)
        self.needed, self.position, self.limit = needed, position, limit


@dataclass(frozen=True, eq=False)
class RuleProgram:
    """The class maps of one threshold rule.

    Attributes
    ----------
    weights, T
        The rule: accept iff ``sum(weights[c] * x_c) >= T``.
    sizes : tuple of int
        Number of classes before child j (``sizes[0] == 1``) and after the last (2).
    maps : tuple of (ndarray, ndarray)
        For child j: the class after it, for each class before it, when the
        child's value is 0 and when it is 1 (int64, non-decreasing).
    runs : tuple
        For child j and value x: ``(starts, targets)`` of the runs of equal
        entries in ``maps[j][x]``, for segment reductions.
    """

    weights: tuple[int, ...]
    T: int
    sizes: tuple[int, ...]
    maps: tuple[tuple[np.ndarray, np.ndarray], ...]
    runs: tuple[tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], ...]

    @property
    def widest(self) -> int:
        """The most classes at any step."""
        return max(self.sizes)

    def work(self) -> int:
        """Joint (truth class, report class) updates of one pass: sum over children of A_j * A_{j+1}."""
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))


def _array(values: list[int], big: bool) -> np.ndarray:
    return np.array(values, dtype=object) if big else np.asarray(values, dtype=np.int64)


def _cut_points(weights: tuple[int, ...], T: int, big: bool) -> dict[int, np.ndarray]:
    """Sorted subset sums of ``weights[j:]``, capped at T, for the steps j where they are small."""
    n = len(weights)
    stored: dict[int, np.ndarray] = {n: _array([0], big)}
    total = 1
    sums = stored[n]
    for j in range(n - 1, 0, -1):
        grown = np.concatenate([sums, np.minimum(sums + weights[j], T)])
        sums = np.unique(grown)
        total += len(sums)
        if total > _STORED_CUTS or len(sums) > _CUTS_PER_STEP:
            break  # earlier steps have at least as many: they keep raw (capped) sums
        stored[j] = sums
    return stored


def _runs(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.concatenate([[True], m[1:] != m[:-1]]))
    return starts, m[starts]


def rule_program(weights: tuple[int, ...], T: int, limit: int = MAX_CLASSES) -> RuleProgram:
    """The class program of ``sum(weights[c] * x_c) >= T`` (cached, refusals too).

    Raises
    ------
    TooManySums
        If one step needs more than ``limit`` classes.
    """
    found = _build(weights, T, limit)
    if isinstance(found, TooManySums):
        raise TooManySums(found.needed, found.position, found.limit)
    return found


@lru_cache(maxsize=256)
def _build(weights: tuple[int, ...], T: int, limit: int) -> RuleProgram | TooManySums:
    try:
        return _program(weights, T, limit)
    except TooManySums as exc:  # remembered: building up to the refusal can take a while
        return exc


def _program(weights: tuple[int, ...], T: int, limit: int) -> RuleProgram:
    n = len(weights)
    big = sum(weights) >= _INT64_SAFE
    remaining = [0] * (n + 1)
    for j in range(n - 1, -1, -1):
        remaining[j] = remaining[j + 1] + weights[j]
    cuts = _cut_points(weights, T, big)
    reps = _array([0], big)  # one partial sum per class
    sizes, maps, runs = [1], [], []
    for j, w in enumerate(weights):
        candidates = np.concatenate([reps, reps + w])
        cut = cuts.get(j + 1)
        if cut is not None:
            keys = len(cut) - np.searchsorted(cut, T - candidates, side="left")
        else:  # raw sums, with every sum past T one class and every hopeless sum another
            keys = np.clip(candidates, T - remaining[j + 1] - 1, T)
        unique, inverse = np.unique(keys, return_inverse=True)
        if len(unique) > limit:
            raise TooManySums(len(unique), j + 1, limit)
        inverse = inverse.astype(np.int64).reshape(-1)
        new_reps = np.empty(len(unique), dtype=candidates.dtype)
        new_reps[inverse] = candidates
        m0, m1 = inverse[: len(reps)], inverse[len(reps) :]
        for m in (m0, m1):
            m.setflags(write=False)
        maps.append((m0, m1))
        runs.append((_runs(m0), _runs(m1)))
        reps = new_reps
        sizes.append(len(unique))
    assert sizes[-1] == 2, "a valid rule can both accept and reject"
    return RuleProgram(tuple(weights), T, tuple(sizes), tuple(maps), tuple(runs))
