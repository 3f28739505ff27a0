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

The random words are consumed in a fixed order that depends only on the tree,
so a chunk's episodes are a function of the chunk's generator alone.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ._bits import ONES, adder_cost, bernoulli_words, popcount_rows, program_cost, program_words, threshold_words
from ._rule_program import RuleProgram, TooManySums, rule_program
from ._compile import Compiled

__all__ = ["ChunkSampler", "COUNTS"]

#: Per node counts a chunk returns: episodes with Y = 1, with Y = 0 and V = 1, with Y = 1 and V = 0.
COUNTS = ("good", "false_accepts", "false_rejects")


class ChunkSampler:
    """Samples chunks of ``64 * words`` episodes of one compiled tree."""

    def __init__(self, c: Compiled, words: int):
        self.c, self.words = c, words
        leaves = np.flatnonzero(c.is_leaf)
        self.groups: list[tuple[np.ndarray, tuple[int, ...], int]] = [(leaves, (), 0)]
        by_height: dict[int, dict[tuple, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in np.flatnonzero(~c.is_leaf).tolist():
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
        for nodes, weights, T in self.groups:
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
        return counts

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
