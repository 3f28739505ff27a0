"""One chunk of episodes of MODEL.md section 2, sampled bit-parallel.

Every node's variables are words of episodes (see :mod:`rrm_theory._bits`).
Nodes are processed leaves first, in groups of equal height and rule, so a
balanced tree costs a few dozen array operations per level. The draws per node:

* truth: a leaf's ``Y ~ Bernoulli(prior)``; an internal node's
  ``Y = rule(Y_c) AND H``, ``H ~ Bernoulli(coverage)`` (drawn only if < 1);
* report: the error channel and the deception and influence overrides act on
  V only through ``P(V = 0 | U, M) = P(W = 0 | U) * (1 - deception) *
  (1 - exposure * M)``, so V is drawn as *one* Bernoulli word whose
  probability per bit follows that bit's (U, M): the same law for V given
  (U, M) as drawing W, D and X separately, with no subtraction of
  probabilities (a false-reject rate of 1e-20 stays 1e-20);
* blind spots: each group's event is one word per chunk, OR-ed into its
  members' reports; the influence event M likewise;
* audit: ``A ~ Bernoulli(audit)``, ``R = A ? Y : V``.

Runs of one-child nodes (chains, :func:`rrm_theory._chains.find_runs`) are taken
out of the groups: a node of a run passes its child's bits through its rule, so
once the run's anchor (the child of its bottom node) is sampled, the run's words
are drawn for all its nodes at once, one call per kind (coverage, V for both
values of the input bit, audit), and the reports follow by a scan of the bit
maps ``R_v = R_c ? F1_v : F0_v`` (:func:`rrm_theory._bits.map_scan`): a few word
operations per node instead of a round of array operations per level. Long runs
go in pieces of a bounded number of words, each piece starting from the state
below it. Heights with many one-child nodes (32 at 256 words: many parallel runs)
stay in groups, which are cheaper there.

The random words are consumed in a fixed order that depends only on the tree
(groups by height, each followed by the pieces of the runs anchored in it), so a
chunk's episodes are a function of the chunk's generator alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ._bits import (ONES, adder_cost, bernoulli_words, map_scan, popcount_rows, program_cost, program_words,
                    threshold_words)  # fmt: skip
from ._chains import CHAIN_MIN, find_runs
from ._compile import Compiled
from ._rule_program import RuleProgram, TooManySums, rule_program

__all__ = ["ChunkSampler", "COUNTS"]

#: Per node counts a chunk returns: episodes with Y = 1, with Y = 0 and V = 1, with Y = 1 and V = 0.
COUNTS = ("good", "false_accepts", "false_rejects")
_PIECE_WORDS = 1 << 18  # node-words of a piece of runs (2 MiB per array)
_WIDE_WORDS = 1 << 13  # node-words of one-child nodes of one height above which they stay in groups


@dataclass
class _Piece:
    """Consecutive nodes of runs (each run bottom first), sampled together.

    ``start``: positions whose child is sampled before the piece (row 0 and every run's
    bottom node); ``covered``/``audited``: positions with coverage < 1 / audit > 0;
    ``silent``: (2 * len(nodes), K) probabilities of V = 0, rows for input 1 then input 0,
    K = 2 for the cases (M, not M), else 1; ``spots``: (group, positions) of blind spots.
    """

    nodes: np.ndarray
    child: np.ndarray
    start: np.ndarray
    segment: np.ndarray
    covered: np.ndarray
    audited: np.ndarray
    silent: np.ndarray
    spots: list[tuple[int, np.ndarray]]


class ChunkSampler:
    """Samples chunks of ``64 * words`` episodes of one compiled tree."""

    def __init__(self, c: Compiled, words: int):
        self.c, self.words = c, words
        one = c.n_children == 1
        # a height with many one-child nodes is one wide group already, whose draws cost less
        # than the scan's (which draws V for both inputs)
        width = np.bincount(c.height[one], minlength=int(c.height.max()) + 1)
        runs = find_runs(c, one & (width[c.height] * words <= _WIDE_WORDS), CHAIN_MIN)
        in_run = np.zeros(c.size, dtype=bool)
        if runs is not None:
            in_run[runs.nodes] = True
        leaves = np.flatnonzero(c.is_leaf)
        self.groups: list[tuple[np.ndarray, tuple[int, ...], int]] = [(leaves, (), 0)]
        by_height: dict[int, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in np.flatnonzero(~c.is_leaf & ~in_run).tolist():
            f = c.forms[i]
            by_height[int(c.height[i])][(f.weights, f.threshold)].append(i)  # type: ignore[union-attr]
        self.programs: dict[tuple, RuleProgram] = {}
        for h in sorted(by_height):
            for (weights, T), nodes in by_height[h].items():
                self.groups.append((np.asarray(nodes, dtype=np.int64), weights, T))
                if len(weights) > 1 and len(set(weights)) > 1 and (weights, T) not in self.programs:
                    try:
                        program = rule_program(weights, T)
                    except TooManySums:
                        continue
                    if program_cost(program) < adder_cost(weights):
                        self.programs[(weights, T)] = program
        self.group_members = [members for _, p, members in c.groups]
        self.group_probs = [p for _, p, _ in c.groups]
        spots: dict[int, list[int]] = defaultdict(list)
        for g, members in enumerate(self.group_members):
            for v in members.tolist():
                spots[v].append(g)
        self.spots = dict(spots)
        # P(V = 0 | U = u, M = m) per node, columns (u, m) = (1, 1), (1, 0), (0, 1), (0, 0)
        stay = 1.0 - c.deception
        swayed = stay * (1.0 - c.exposure)
        fr, keep_fa = c.false_reject, 1.0 - c.false_accept
        self.p_silent = np.stack([fr * swayed, fr * stay, keep_fa * swayed, keep_fa * stay], axis=1)
        self.pieces: list[list[_Piece]] = [[] for _ in self.groups]  # after each group
        if runs is not None:
            self._plan_runs(runs)

    def _plan_runs(self, runs) -> None:  # type: ignore[no-untyped-def]
        """Each run's nodes after its anchor's group, in pieces of at most ``_PIECE_WORDS`` words."""
        c = self.c
        group_of = np.full(c.size, -1, dtype=np.int64)
        for gi, (nodes, _, _) in enumerate(self.groups):
            group_of[nodes] = gi
        owner = group_of[runs.anchor]
        size = max(1, _PIECE_WORDS // self.words)
        for gi in np.unique(owner).tolist():
            at = np.flatnonzero(owner == gi)  # whole runs, in the order find_runs gives them
            for lo in range(0, len(at), size):
                take = at[lo : lo + size]
                start = runs.start[take].copy()
                start[0] = True
                self.pieces[gi].append(self._piece(runs.nodes[take], start))

    def _piece(self, nodes: np.ndarray, start: np.ndarray) -> _Piece:
        c = self.c
        p = self.p_silent[nodes]
        influence = c.influence
        if influence == 0.0 or influence == 1.0 or not (c.exposure[nodes] > 0).any():
            cols = [0, 2] if influence == 1.0 else [1, 3]
            silent = np.concatenate([p[:, cols[0], None], p[:, cols[1], None]])
        else:
            silent = np.concatenate([p[:, 0:2], p[:, 2:4]])
        where = {v: j for j, v in enumerate(nodes.tolist())}
        members: dict[int, list[int]] = defaultdict(list)
        for v, j in where.items():
            for g in self.spots.get(v, ()):
                members[g].append(j)
        return _Piece(
            nodes=nodes,
            child=c.first_child[nodes],
            start=np.flatnonzero(start),
            segment=np.cumsum(start) - 1,
            covered=np.flatnonzero(c.coverage[nodes] < 1.0),
            audited=np.flatnonzero(c.audit[nodes] > 0.0),
            silent=silent,
            spots=[(g, np.asarray(js, dtype=np.int64)) for g, js in sorted(members.items())],
        )

    def sample(self, rng: np.random.Generator, valid: int) -> np.ndarray:
        """Counts (n, 3) over the first ``valid`` episodes of a chunk drawn from ``rng``."""
        c, W = self.c, self.words
        mask = np.zeros(W, dtype=np.uint64)
        full, rest = divmod(valid, 64)
        mask[:full] = ONES
        if rest:
            mask[full] = (np.uint64(1) << np.uint64(rest)) - np.uint64(1)
        m = self._event(rng, c.influence)
        spots = [self._event(rng, p) for p in self.group_probs]
        Y = np.empty((c.size, W), dtype=np.uint64)
        R = np.empty((c.size, W), dtype=np.uint64)
        counts = np.empty((c.size, 3), dtype=np.int64)
        for gi, (nodes, weights, T) in enumerate(self.groups):
            for piece in self.pieces[gi - 1] if gi else ():  # the runs anchored in the previous group
                self._sample_piece(rng, piece, Y, R, m, spots, mask, counts)
            if not weights:
                y = bernoulli_words(rng, c.prior[nodes, None], None, W)
                u = y
            else:
                kids = c.first_child[nodes][:, None] + np.arange(len(weights))
                y = self._rule(Y[kids], weights, T)
                u = self._rule(R[kids], weights, T)
                coverage = c.coverage[nodes]
                if (coverage < 1.0).any():
                    y &= bernoulli_words(rng, coverage[:, None], None, W)
            v = ~self._silent(rng, nodes, u, m)
            for row, node in enumerate(nodes.tolist()):
                for g in self.spots.get(node, ()):
                    v[row] |= spots[g]
            audit = c.audit[nodes]
            if (audit > 0.0).any():
                a = bernoulli_words(rng, audit[:, None], None, W)
                r = (a & y) | (~a & v)
            else:
                r = v
            Y[nodes], R[nodes] = y, r
            counts[nodes, 0] = popcount_rows(y & mask)
            counts[nodes, 1] = popcount_rows(~y & v & mask)
            counts[nodes, 2] = popcount_rows(y & ~v & mask)
        for piece in self.pieces[-1]:
            self._sample_piece(rng, piece, Y, R, m, spots, mask, counts)
        return counts

    def _sample_piece(self, rng: np.random.Generator, piece: _Piece, Y: np.ndarray, R: np.ndarray, m: np.ndarray,
                      spots: list[np.ndarray], mask: np.ndarray, counts: np.ndarray) -> None:  # fmt: skip
        """A piece of runs: its words drawn at once, then the truths and reports by scans."""
        c, W = self.c, self.words
        L = len(piece.nodes)
        below = piece.child[piece.start]  # sampled already: the anchors, or the piece before
        if len(piece.covered):  # Y_v = Y_c & H_v: the maps x -> x & H, constant at the starts
            f1 = np.full((L, W), ONES)
            f1[piece.covered] = bernoulli_words(rng, c.coverage[piece.nodes[piece.covered], None], None, W)
            f1[piece.start] &= Y[below]
            f0 = np.zeros_like(f1)
            f0[piece.start] = f1[piece.start]
            y = map_scan(f1, f0)
        else:
            y = Y[below][piece.segment]
        cases = None
        if piece.silent.shape[1] == 2:
            cases = np.broadcast_to(np.stack([m, ~m])[:, None, :], (2, 2 * L, W))
        v = bernoulli_words(rng, piece.silent, cases, W)
        np.invert(v, out=v)  # V given input 1 (rows :L) and given input 0 (rows L:)
        n1, n0 = v[:L], v[L:]
        for g, rows in piece.spots:
            n1[rows] |= spots[g]
            n0[rows] |= spots[g]
        if len(piece.audited):  # R = A ? Y : V
            a = bernoulli_words(rng, c.audit[piece.nodes[piece.audited], None], None, W)
            rows = piece.audited
            f1, f0 = n1.copy(), n0.copy()
            f1[rows] ^= a & (y[rows] ^ f1[rows])
            f0[rows] ^= a & (y[rows] ^ f0[rows])
        else:
            f1, f0 = n1, n0
        u = R[below]
        s0 = f0[piece.start]
        f0[piece.start] = s0 ^ (u & (f1[piece.start] ^ s0))
        f1[piece.start] = f0[piece.start]
        r = map_scan(f1, f0)
        if len(piece.audited):  # V from the input: the report below
            x = np.empty_like(r)
            x[1:] = r[:-1]
            x[piece.start] = u
            v = n0 ^ (x & (n1 ^ n0))
        else:
            v = r
        nodes = piece.nodes
        Y[nodes], R[nodes] = y, r
        counts[nodes, 0] = popcount_rows(y & mask)
        counts[nodes, 1] = popcount_rows(~y & v & mask)
        counts[nodes, 2] = popcount_rows(y & ~v & mask)

    def _rule(self, x: np.ndarray, weights: tuple[int, ...], T: int) -> np.ndarray:
        """The rule's bits, by the cheaper of the bit-sliced adder and the class program."""
        program = self.programs.get((weights, T))
        return threshold_words(x, weights, T) if program is None else program_words(x, program)

    def _event(self, rng: np.random.Generator, p: float) -> np.ndarray:
        return bernoulli_words(rng, np.array([[p]]), None, self.words)[0]

    def _silent(self, rng: np.random.Generator, nodes: np.ndarray, u: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Bits where no approval reaches V (the channel says no and no override fires)."""
        p = self.p_silent[nodes]
        influence = self.c.influence
        if influence == 0.0 or influence == 1.0 or not (self.c.exposure[nodes] > 0).any():
            cols = [0, 2] if influence == 1.0 else [1, 3]
            return bernoulli_words(rng, p[:, cols], np.stack([u, ~u]), self.words)
        return bernoulli_words(rng, p, np.stack([u & m, u & ~m, ~u & m, ~u & ~m]), self.words)
