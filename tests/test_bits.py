"""Bit-parallel primitives: exact Bernoulli words and bit-sliced threshold rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rrm_theory._bits import ONES, bernoulli_words, popcount_rows, threshold_words


def twin(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    return np.random.default_rng(seed), np.random.default_rng(seed)


def test_half_is_the_complement_of_one_random_word():
    # p = 0.1 in binary: a bit is 1 iff U's first digit is 0.
    a, b = twin(1)
    out = bernoulli_words(a, np.array([[0.5]]), None, 8)
    first = b.bit_generator.random_raw(8)
    assert np.array_equal(out[0], ~first)


def test_three_quarters_is_decided_by_two_digits():
    # p = 0.11 in binary: 1 iff U < 0.11, i.e. not (digit 1 = 1 and digit 2 = 1)
    a, b = twin(2)
    out = bernoulli_words(a, np.array([[0.75]]), None, 8)
    r1, r2 = b.bit_generator.random_raw(8), b.bit_generator.random_raw(8)
    assert np.array_equal(out[0], ~(r1 & r2))


@pytest.mark.parametrize("p", [1e-3, 0.05, 1 / 3, 0.5, 0.7, 0.999, 1 - 2**-40])
def test_frequencies(p):
    out = bernoulli_words(np.random.default_rng(3), np.full((4, 1), p), None, 4096)
    n = out.size * 64
    k = int(np.bitwise_count(out).sum())
    assert abs(k / n - p) <= 5.5 * np.sqrt(p * (1 - p) / n)


def test_zero_one_and_tiny_probabilities():
    out = bernoulli_words(np.random.default_rng(4), np.array([[0.0], [1.0], [1e-300]]), None, 64)
    assert not out[0].any() and (out[1] == ONES).all() and not out[2].any()


def test_cases_pick_a_probability_per_bit():
    rng = np.random.default_rng(5)
    u = rng.integers(0, 2**64 - 1, size=(3, 2048), dtype=np.uint64, endpoint=True)
    probs = np.array([[0.2, 0.9], [0.5, 0.1], [0.0, 1.0]])
    out = bernoulli_words(rng, probs, np.stack([u, ~u]), 2048)
    for g in range(3):
        for k, case in enumerate((u[g], ~u[g])):
            n = int(np.bitwise_count(case).sum())
            freq = np.bitwise_count(out[g] & case).sum() / n
            p = probs[g, k]
            assert abs(freq - p) <= 5.5 * np.sqrt(p * (1 - p) / n) + 1e-12


def unpack(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little").reshape(*words.shape[:-1], -1)


@given(
    st.integers(2, 7).flatmap(
        lambda n: st.tuples(st.lists(st.integers(1, 9), min_size=n, max_size=n), st.integers(1, 9 * n))
    ),
    st.integers(0, 2**32),
)
def test_threshold_words_equal_plain_sums(case, seed):
    weights, threshold = case
    n = len(weights)
    threshold = min(threshold, sum(weights))
    x = np.random.default_rng(seed).integers(0, 2**64 - 1, size=(3, n, 4), dtype=np.uint64, endpoint=True)
    got = unpack(threshold_words(x, tuple(weights), threshold))
    sums = sum(w * unpack(x[:, c]).astype(int) for c, w in enumerate(weights))
    assert np.array_equal(got, (sums >= threshold).astype(np.uint8))


def test_popcount_rows():
    words = np.array([[ONES, 0], [1, 3]], dtype=np.uint64)
    assert popcount_rows(words).tolist() == [64, 3]


@pytest.mark.parametrize("weights, threshold", [((3, 1, 4, 1, 5), 7), ((1, 10**40, 7), 8), ((2, 2, 3), 4)])
def test_program_words_equal_the_adder(weights, threshold):
    """Both bit-parallel evaluations of a rule agree, bit for bit."""
    from rrm_theory._bits import program_words
    from rrm_theory._rule_program import rule_program

    rng = np.random.default_rng(len(weights))
    x = rng.integers(0, 2**63, size=(3, len(weights), 4), dtype=np.uint64)
    want = threshold_words(x, weights, threshold)
    assert (program_words(x, rule_program(weights, threshold)) == want).all()
