"""A revised primal simplex for the tight bounds' master programme (docs/bounds.md section 2.2).

The master is ``max g . q`` subject to ``A q = rhs``, ``q >= 0``, with few rows
(``k + 1`` for k free bits) and columns that arrive over time. A basis (k + 1
columns) stays primal feasible when columns are added or the objective
changes, so every solve starts from the last optimal basis: column generation
is the simplex method with pricing by the pricer. Dense linear algebra on the
basis only; the inverse is refactored from the columns every ``_REFACTOR``
pivots and at the end, so that the returned solution is ``A_B^{-1} rhs``
computed afresh.

Pivoting: Dantzig's rule (the largest reduced value enters). The master is
highly degenerate (many optimal vertices sit at a probability 0), so after
``_STALL`` degenerate pivots in a row the basic values are perturbed and later
restored (Wolfe's perturbation; Bixby 2002 describes its use in practice).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Master"]

_REFACTOR = 50
_STALL = 10
_SHIFT = 1e-9  # the perturbation of the basic values on a stall
_PIVOT = 1e-9  # smallest direction entry a ratio test divides by
_ZERO = 1e-13  # basic values below this count as zero (a degenerate pivot)
_MAX_PIVOTS = 200_000  # per optimisation: never a hang, even if the perturbation failed to break a cycle


class Master:
    """Columns ``A[:, j]`` (0/1 entries after a row of ones) and a feasible basis over them."""

    def __init__(self, columns: np.ndarray, rhs: np.ndarray, basis: np.ndarray) -> None:
        self.A = np.array(columns, dtype=float)  # (rows, columns)
        self.rhs = np.asarray(rhs, dtype=float)
        self.basis = np.array(basis, dtype=np.int64)
        self.target = self.rhs  # the right-hand side pivots work with: rhs, or rhs perturbed
        self._refactor()

    def add(self, columns: np.ndarray) -> None:
        self.A = np.hstack([self.A, columns])

    def keep(self, columns: np.ndarray) -> None:
        """Keep only these columns (sorted indices; every basic column among them)."""
        where = np.full(self.A.shape[1], -1)
        where[columns] = np.arange(len(columns))
        self.A = self.A[:, columns]
        self.basis = where[self.basis]
        assert (self.basis >= 0).all()

    def _refactor(self) -> None:
        B = self.A[:, self.basis]
        self.inv = np.linalg.inv(B)
        self.x = np.linalg.solve(B, self.target)
        self.pivots = 0

    def duals(self, g: np.ndarray) -> np.ndarray:
        return g[self.basis] @ self.inv

    def _reduced(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = self.duals(g)
        reduced = g - y @ self.A
        reduced[self.basis] = 0.0
        return y, reduced

    def optimise(self, g: np.ndarray, tol: float) -> np.ndarray:
        """Pivot until no column has a reduced value above ``tol``; returns the duals.

        On a run of degenerate pivots the basic values are perturbed (each by a
        distinct amount near 1e-9, as if the right-hand side were), which lets
        the pivots make progress; once optimal, the true values are restored and
        any that turned negative are repaired by dual simplex pivots.
        """
        stalled = 0
        for _ in range(_MAX_PIVOTS):
            y, reduced = self._reduced(g)
            candidates = np.flatnonzero(reduced > tol)
            if candidates.size == 0:
                if self.target is not self.rhs:  # drop the perturbation, keep the basis
                    self.target = self.rhs
                    self._refactor()
                    self._repair(g)
                    continue
                self._refactor()
                y, reduced = self._reduced(g)
                if not (reduced > tol).any():
                    return y
                continue
            enter = int(candidates[np.argmax(reduced[candidates])])
            d = self.inv @ self.A[:, enter]
            rows = np.flatnonzero(d > _PIVOT)
            if rows.size == 0:  # pragma: no cover - bounded: every column sums to one in the first row
                raise ArithmeticError("the master programme is unbounded")
            ratios = np.maximum(self.x[rows], 0.0) / d[rows]
            step = ratios.min()
            if step <= _ZERO:
                stalled += 1
                if stalled >= _STALL and self.target is self.rhs:
                    shift = _SHIFT * (1.0 + np.arange(len(self.x)) / len(self.x))
                    self.target = self.rhs + self.A[:, self.basis] @ shift
                    self.x = self.x + shift
                    stalled = 0
                    continue
            else:
                stalled = 0
            ties = rows[ratios <= step + 1e-15]
            self._pivot(enter, int(ties[np.argmax(d[ties])]), d, step)
        raise ArithmeticError(f"no optimum after {_MAX_PIVOTS:,} pivots")  # pragma: no cover - a guard against cycling

    def _repair(self, g: np.ndarray) -> None:
        """Dual simplex pivots until the basic values are non-negative (reduced values stay <= 0)."""
        for _ in range(50 * len(self.x)):
            r = int(np.argmin(self.x))
            if self.x[r] >= -_ZERO:
                return
            _, reduced = self._reduced(g)
            w = self.inv[r] @ self.A
            eligible = np.flatnonzero(w < -_PIVOT)
            if eligible.size == 0:  # pragma: no cover - the programme is feasible
                raise ArithmeticError("the master programme lost feasibility")
            ratios = np.minimum(reduced[eligible], 0.0) / w[eligible]
            enter = int(eligible[np.argmin(ratios)])
            d = self.inv @ self.A[:, enter]
            self._pivot(enter, r, d, self.x[r] / d[r])
        raise ArithmeticError("the master programme could not be repaired")  # pragma: no cover

    def _pivot(self, enter: int, leave: int, d: np.ndarray, step: float) -> None:
        self.x -= step * d
        self.x[leave] = step
        pivot_row = self.inv[leave] / d[leave]
        self.inv -= np.outer(d, pivot_row)
        self.inv[leave] = pivot_row
        self.basis[leave] = enter
        self.pivots += 1
        if self.pivots >= _REFACTOR:
            self._refactor()
