"""Bit-parallel primitives for Monte Carlo: 64 episodes per ``uint64`` word.

Exact Bernoulli bits
    A bit is 1 with probability p iff an infinite-precision uniform U is below
    p. Compare U's random binary digits with p's: at the first digit where
    they differ, U < p iff p's digit is 1. A double p has a finite binary
    expansion, so this decides every bit exactly, and consumes on average
    about two random bits per decided bit; 64 bits are decided in parallel
    per random word. Words still undecided after a digit are compacted, so a
    block of words costs about seven random words per word of output.

Bit-sliced threshold rules
    ``sum(weights[c] * x_c) >= T`` for 64 episodes at once: the sum is kept as
    binary "planes" (plane j holds bit j of every episode's sum) built by
    ripple-carry addition, then compared with T from the top plane down. Where
    the weights have many binary digits (decimals like 0.001 and 1000 in one
    rule), the rule's program over classes of partial sums
    (:mod:`rrm_theory._rule_program`) is cheaper: one plane per class, each bit
    set in exactly one of them.

Scans of bit maps
    A node with one child maps its child's report bit x to ``x ? f1 : f0`` (the
    words of its report given each value of the input); such maps compose
    associatively, so a run of them is a blocked scan (:func:`map_scan`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ONES", "bernoulli_words", "threshold_words", "program_words", "adder_cost", "program_cost", "popcount_rows",
           "map_scan"]

ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_ZERO = np.uint64(0)
# Digits compared on whole blocks before compacting: after 7, about 40% of words
# still hold an undecided bit, after 10 about 6%.
_DENSE_DIGITS = 7
_BLOCK_WORDS = 1 << 15  # 256 KiB per array: a block's working set stays in L2


def _digits(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer mantissa M and shift s with ``p == M / 2**s`` exactly (p in [0, 1))."""
    m, e = np.frexp(p)
    mantissa = np.ldexp(m, 53).astype(np.int64)  # exact: m has 53 significant bits
    shift = (53 - e).astype(np.int64)
    return mantissa, shift


def _trailing_zeros(x: np.ndarray) -> np.ndarray:
    """Trailing zero bits of positive int64 values."""
    return np.bitwise_count((x & -x) - 1).astype(np.int64)


def bernoulli_words(
    rng: np.random.Generator, probs: np.ndarray, cases: np.ndarray | None, words: int
) -> np.ndarray:
    """Words of independent Bernoulli bits, exact for the double probabilities given.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of random words (``bit_generator.random_raw``).
    probs : ndarray, shape (G, K)
        Row g's probabilities, one per case.
    cases : ndarray of uint64, shape (K, G, words), or None
        Disjoint masks covering every bit: bit b of row g uses ``probs[g, k]``
        where it is set in ``cases[k, g]``. None when K == 1.
    words : int
        Words per row.

    Returns
    -------
    ndarray of uint64, shape (G, words)

    Notes
    -----
    Rows are processed in blocks of about ``_BLOCK_WORDS`` words, small enough
    to stay in cache; the block size is a constant, so the random words each
    row consumes do not depend on anything but the inputs.
    """
    G = probs.shape[0]
    out = np.empty((G, words), dtype=np.uint64)
    step = max(1, _BLOCK_WORDS // words)
    for lo in range(0, G, step):
        hi = min(G, lo + step)
        out[lo:hi] = _bernoulli_block(rng, probs[lo:hi], None if cases is None else cases[:, lo:hi], words)
    return out


def _bernoulli_block(rng: np.random.Generator, probs: np.ndarray, cases: np.ndarray | None, words: int) -> np.ndarray:
    G, K = probs.shape
    if cases is None:
        cases = np.full((1, G, words), ONES)
    out = np.zeros((G, words), dtype=np.uint64)
    undecided = np.full((G, words), ONES)
    for k in range(K):  # probabilities 0 and 1 need no random bits
        one = probs[:, k] == 1.0
        fixed = one | (probs[:, k] == 0.0)
        if fixed.any():
            out[one] |= cases[k][one]
            undecided[fixed] &= ~cases[k][fixed]
    if not undecided.any():
        return out
    mantissa, shift = _digits(np.where(probs < 1.0, probs, 0.0))
    # p's last binary digit that is 1: past it, a bit still undecided has U equal to
    # p's whole expansion so far, so U >= p (equality has probability zero): a 0.
    last = np.where(mantissa > 0, shift - _trailing_zeros(mantissa), 0).max(axis=1)
    uniform = (probs == probs[0]).all()  # every row shares its probabilities
    table: list[np.ndarray] = []

    def digit_bits(digit: int) -> np.ndarray:
        """(G, K) 0/1: p's binary digit number ``digit`` (computed 64 digits at a time)."""
        while len(table) < digit:
            at = shift[None] - np.arange(len(table) + 1, len(table) + 65)[:, None, None]
            table.extend(np.where((at >= 0) & (at < 63), (mantissa[None] >> np.clip(at, 0, 62)) & 1, 0))
        return table[digit - 1]

    combos: dict[tuple[int, ...], np.ndarray] = {}

    def shared_digit_word(bits: np.ndarray) -> np.ndarray:
        """The digit word of a block whose rows share p: the OR of the cases whose digit is 1."""
        key = tuple(bits[0].tolist())
        if key not in combos:
            word = np.zeros_like(undecided)
            for k in range(K):
                if key[k]:
                    word |= cases[k]
            combos[key] = word
        return combos[key]

    # Dense phase: whole rows; most bits are decided within the first few digits.
    # At a digit, U's random bit r and p's digit d: r < d decides 1, r > d decides 0.
    won = np.zeros_like(out)
    decided = np.empty_like(out)
    digit = 0
    while digit < _DENSE_DIGITS:
        if digit >= last.max():
            return out | won
        digit += 1
        bits = digit_bits(digit)
        r = rng.bit_generator.random_raw(undecided.size).reshape(undecided.shape)
        if uniform and K == 1:  # one digit for the whole block
            if bits[0, 0]:
                np.bitwise_and(undecided, ~r, out=decided)
                won |= decided
                undecided &= r
            else:
                undecided &= r ^ ONES
            continue
        if uniform:
            d = shared_digit_word(bits)
        elif K == 1:
            d = np.where(bits[:, :1] == 1, ONES, _ZERO)
        else:
            d = np.zeros_like(undecided)
            for k in range(K):
                d |= cases[k] & np.where(bits[:, k : k + 1] == 1, ONES, _ZERO)
        np.bitwise_xor(r, d, out=r)  # where U's digit differs from p's
        np.bitwise_and(undecided, r, out=decided)
        undecided ^= decided
        decided &= d
        won |= decided
    out |= won
    # Sparse phase: only the words with bits still undecided.
    flat = undecided.ravel()
    idx = np.flatnonzero(flat)
    row = idx // words
    undecided = flat[idx]
    case_bits = [cases[k].ravel()[idx] for k in range(K)]
    won = np.zeros_like(undecided)
    result = out.ravel()
    while idx.size:
        ended = digit >= last[row]
        if ended.any():  # these words' remaining undecided bits are 0
            result[idx] |= won
            keep = ~ended
            idx, row, undecided, won = idx[keep], row[keep], undecided[keep], won[keep]
            case_bits = [c[keep] for c in case_bits]
            continue
        digit += 1
        bits = digit_bits(digit)
        if K == 1:
            d = np.where(bits[row, 0] == 1, ONES, _ZERO)
        else:
            d = np.zeros_like(undecided)
            for k in range(K):
                d |= case_bits[k] & np.where(bits[row, k] == 1, ONES, _ZERO)
        r = rng.bit_generator.random_raw(idx.size)
        r ^= d
        decided = undecided & r
        undecided ^= decided
        won |= decided & d
        keep = undecided != 0
        if keep.sum() * 2 < idx.size:
            result[idx] |= won
            idx, row, undecided, won = idx[keep], row[keep], undecided[keep], won[keep]
            case_bits = [c[keep] for c in case_bits]
    result[idx] |= won
    return result.reshape(G, words)


def threshold_words(x: np.ndarray, weights: tuple[int, ...], threshold: int) -> np.ndarray:
    """Bits of ``sum(weights[c] * x[:, c]) >= threshold``: ``x`` (G, n, words) -> (G, words)."""
    n = x.shape[1]
    if n == 1:
        return x[:, 0].copy()
    if all(w == 1 for w in weights):
        if threshold == n:
            return np.bitwise_and.reduce(x, axis=1)
        if threshold == 1:
            return np.bitwise_or.reduce(x, axis=1)
    planes: list[np.ndarray] = []  # bit j of every episode's weighted sum
    for c, w in enumerate(weights):
        j = 0
        while w:
            if w & 1:
                carry = x[:, c]
                k = j
                while True:
                    while len(planes) <= k:
                        planes.append(np.zeros_like(carry))
                    total = planes[k] ^ carry
                    carry = planes[k] & carry
                    planes[k] = total
                    k += 1
                    if not carry.any():
                        break
            w >>= 1
            j += 1
    greater = np.zeros_like(planes[0])
    equal = np.full_like(planes[0], ONES)
    for j in range(max(len(planes), threshold.bit_length()) - 1, -1, -1):
        plane = planes[j] if j < len(planes) else np.zeros_like(greater)
        if threshold >> j & 1:
            equal &= plane
        else:
            greater |= equal & plane
            equal &= ~plane
    return greater | equal


def adder_cost(weights: tuple[int, ...]) -> int:
    """Rough word operations per row of :func:`threshold_words`: a few per set bit of the
    weights (short carry chains on average) and per plane of the final comparison."""
    return 6 * sum(w.bit_count() for w in weights) + 3 * max(1, sum(weights).bit_length())


def program_cost(program) -> int:  # type: ignore[no-untyped-def]
    """Rough word operations per row of :func:`program_words`: a few per class per child."""
    return 5 * sum(program.sizes)


def program_words(x: np.ndarray, program) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Bits of the rule of ``program`` (a :class:`~rrm_theory._rule_program.RuleProgram`):
    ``x`` (G, n, words) -> (G, words), with one plane of words per class."""
    G, n, W = x.shape
    planes = np.full((1, G, W), ONES)
    for j in range(n):
        xj = x[:, j]
        parts = (planes & ~xj, planes & xj)
        new = np.zeros((program.sizes[j + 1], G, W), dtype=np.uint64)
        for value in (0, 1):
            starts, targets = program.runs[j][value]
            new[targets] |= np.bitwise_or.reduceat(parts[value], starts, axis=0)
        planes = new
    return planes[1]  # the class "accepts"


def popcount_rows(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a (G, W) word array, as int64."""
    return np.bitwise_count(words).sum(axis=1, dtype=np.int64)


def map_scan(f1: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Bits ``x[j] = f_j(x[j - 1])`` of a run of bit maps ``f_j(x) = (x & f1[j]) | (~x & f0[j])``.

    ``f1``, ``f0``: (m, words), row 0 a constant map (``f1[0] == f0[0]``), as is every row
    where a new run starts. The maps compose associatively (``f`` then ``g`` is
    ``x ? g(f1) : g(f0)``), so this is a blocked scan: about ``sqrt(m)`` rounds over
    blocks of ``sqrt(m)`` rows, the blocks' ends in sequence, then one pass over all
    rows; about 3 word operations per row, whatever ``m``. The inputs are not changed.
    """
    m, W = f1.shape
    B = int(np.ceil(np.sqrt(m)))
    nb = -(-m // B)
    g1 = np.empty((nb * B, W), dtype=np.uint64)
    g0 = np.empty_like(g1)
    g1[:m], g0[:m] = f1, f0
    g1[m:], g0[m:] = ONES, _ZERO  # the identity
    g1, g0 = g1.reshape(nb, B, W), g0.reshape(nb, B, W)
    d = np.empty((nb, W), dtype=np.uint64)
    t = np.empty_like(d)
    for k in range(1, B):  # row k of every block becomes the composite from the block's row 0
        np.bitwise_xor(g1[:, k], g0[:, k], out=d)
        np.bitwise_and(g1[:, k - 1], d, out=t)
        np.bitwise_xor(g0[:, k], t, out=g1[:, k])
        np.bitwise_and(g0[:, k - 1], d, out=t)
        g0[:, k] ^= t
    ends = np.empty((nb, W), dtype=np.uint64)  # x at the last row of each block
    ends[0] = g0[0, B - 1]
    for b in range(1, nb):
        ends[b] = g0[b, B - 1] ^ (ends[b - 1] & (g1[b, B - 1] ^ g0[b, B - 1]))
    x = g0  # block 0's composites are constant maps; the others take the previous block's end
    g1[1:] ^= g0[1:]
    g1[1:] &= ends[:-1, None, :]
    x[1:] ^= g1[1:]
    return x.reshape(nb * B, W)[:m]

