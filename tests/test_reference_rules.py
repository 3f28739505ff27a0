"""Tests of tests/reference_rules.py against itself, closed forms and brute force.

A child law is q[y][r] = P(Y_c = y, R_c = r); J[y][u] = P(rule(Y) = y, rule(R) = u).
The brute force below enumerates all 4**n joint outcomes of (Y_c, R_c) and is written
independently of the module under test.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from reference_rules import (conditional, count_rule_joint, count_table, exact,
                             iid_count_rule_joint, weighted_rule_joint)

ATOL = 1e-12


def det(y: int, r: int) -> list[list[float]]:
    """The law putting all mass on (Y_c, R_c) = (y, r)."""
    q = [[0.0, 0.0], [0.0, 0.0]]
    q[y][r] = 1.0
    return q


def random_law(rng: np.random.Generator, sparse: bool = False) -> np.ndarray:
    q = rng.dirichlet(np.ones(4))
    if sparse:
        q[rng.random(4) < 0.4] = 0.0
        if q.sum() == 0.0:
            q[rng.integers(4)] = 1.0
        q = q / q.sum()
    return q.reshape(2, 2)


def brute_force(children, accepts) -> np.ndarray:
    """Sum over all 4**n outcomes; accepts(bits) decides the rule on a 0/1 tuple."""
    J = np.zeros((2, 2))
    for outcome in itertools.product(((0, 0), (0, 1), (1, 0), (1, 1)), repeat=len(children)):
        p = 1.0
        for q, (y, r) in zip(children, outcome):
            p *= float(q[y][r])
        if p == 0.0:
            continue
        ys = tuple(y for y, _ in outcome)
        rs = tuple(r for _, r in outcome)
        J[int(accepts(ys)), int(accepts(rs))] += p
    return J


def count_rule(T):
    return lambda bits: sum(bits) >= T


def weighted_rule(weights, threshold):
    w = [Fraction(repr(float(x))) for x in weights]
    cut = Fraction(repr(float(threshold))) * sum(w)
    return lambda bits: sum(wi for wi, b in zip(w, bits) if b) >= cut


def check_law(J):
    assert J.shape == (2, 2)
    assert np.all(J >= -ATOL)
    assert abs(J.sum() - 1.0) < 1e-12


# ---------------------------------------------------------------- count rule

def test_count_iid_closed_form_small_n():
    rng = np.random.default_rng(1)
    for n in range(1, 61):
        q = random_law(rng, sparse=(n % 5 == 0))
        Ts = sorted({0, 1, n // 2 + 1, n, n + 1, int(rng.integers(0, n + 2))})
        for T in Ts:
            J = count_rule_joint([q] * n, T)
            K = iid_count_rule_joint(q, n, T)
            check_law(J)
            check_law(K)
            np.testing.assert_allclose(J, K, rtol=0, atol=ATOL, err_msg=f"n={n} T={T} q={q.tolist()}")


def test_count_iid_closed_form_larger_n():
    rng = np.random.default_rng(2)
    for n in (120, 250):
        q = random_law(rng)
        for T in (1, n // 3, n // 2 + 1, n):
            np.testing.assert_allclose(count_rule_joint([q] * n, T), iid_count_rule_joint(q, n, T),
                                       rtol=0, atol=ATOL)


def test_count_iid_degenerate_laws():
    # Y deterministic (the conditional rate for the other truth value is undefined).
    for q in (det(1, 1), det(1, 0), det(0, 1), det(0, 0),
              [[0.0, 0.0], [0.3, 0.7]], [[0.6, 0.4], [0.0, 0.0]], [[0.5, 0.0], [0.0, 0.5]]):
        for n in (1, 4, 6, 13):
            for T in range(0, n + 2):
                J = count_rule_joint([q] * n, T)
                np.testing.assert_allclose(J, iid_count_rule_joint(q, n, T), rtol=0, atol=ATOL)
                if n <= 6:
                    np.testing.assert_allclose(J, brute_force([q] * n, count_rule(T)), rtol=0, atol=ATOL)


def test_count_brute_force_distinct_children():
    rng = np.random.default_rng(3)
    for n in range(0, 7):
        for trial in range(3):
            children = [random_law(rng, sparse=(trial == 2)) for _ in range(n)]
            for T in range(-1, n + 2):
                J = count_rule_joint(children, T)
                check_law(J)
                np.testing.assert_allclose(J, brute_force(children, count_rule(T)), rtol=0, atol=ATOL)


def test_count_all_and_any_closed_forms():
    rng = np.random.default_rng(4)
    children = [random_law(rng) for _ in range(25)]
    n = len(children)
    prod = lambda f: math.prod(f(np.asarray(q)) for q in children)  # noqa: E731
    p11 = prod(lambda q: q[1, 1])
    pY = prod(lambda q: q[1, 0] + q[1, 1])
    pR = prod(lambda q: q[0, 1] + q[1, 1])
    J = count_rule_joint(children, n)  # rule "all"
    np.testing.assert_allclose(J, [[1 - pY - pR + p11, pR - p11], [pY - p11, p11]], rtol=0, atol=ATOL)
    q00 = prod(lambda q: q[0, 0])
    nY = prod(lambda q: q[0, 0] + q[0, 1])
    nR = prod(lambda q: q[0, 0] + q[1, 0])
    J = count_rule_joint(children, 1)  # rule "any"
    np.testing.assert_allclose(J, [[q00, nY - q00], [nR - q00, 1 - nY - nR + q00]], rtol=0, atol=ATOL)


def test_count_table_marginals_are_poisson_binomial():
    # The truth-count marginal of the dense table is the Poisson-binomial of P(Y_c = 1).
    rng = np.random.default_rng(5)
    children = [random_law(rng) for _ in range(40)]
    P = count_table(children)
    assert P.shape == (41, 41)
    pmf = np.array([1.0])
    for q in children:
        p = q[1].sum()
        pmf = np.convolve(pmf, [1 - p, p])
    np.testing.assert_allclose(P.sum(axis=1), pmf, rtol=0, atol=ATOL)
    assert abs(P.sum() - 1) < 1e-12


def test_count_trivial_thresholds_and_empty():
    rng = np.random.default_rng(6)
    children = [random_law(rng) for _ in range(5)]
    np.testing.assert_allclose(count_rule_joint(children, 0), [[0, 0], [0, 1]], rtol=0, atol=ATOL)
    np.testing.assert_allclose(count_rule_joint(children, 6), [[1, 0], [0, 0]], rtol=0, atol=ATOL)
    np.testing.assert_array_equal(count_rule_joint([], 0), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(count_rule_joint([], 1), [[1, 0], [0, 0]])
    np.testing.assert_array_equal(count_rule_joint([det(1, 0), det(1, 1), det(0, 1)], 2), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(count_rule_joint([det(1, 0), det(1, 0), det(0, 1)], 2), [[0, 0], [1, 0]])


# ------------------------------------------------------------- weighted rule

def test_exact_conversion():
    assert exact(0.1) == Fraction(1, 10)
    assert exact(np.float64(0.3)) == Fraction(3, 10)
    assert exact(2) == 2
    assert exact(Fraction(1, 3)) == Fraction(1, 3)
    assert exact(1e-3) == Fraction(1, 1000)


@pytest.mark.parametrize("w", [1.0, 0.7, 3, 0.1])
def test_weighted_equal_weights_is_count(w):
    rng = np.random.default_rng(7)
    thresholds = [1e-3, 0.1, 0.25, 0.3, 0.5, 0.6, 2 / 3, 0.7, 0.9, 0.99, 1.0]
    for n in (1, 2, 3, 4, 5, 6, 7, 10):
        children = [random_law(rng, sparse=(n % 3 == 0)) for _ in range(n)]
        for thr in thresholds:
            T = math.ceil(Fraction(repr(thr)) * n)
            J = weighted_rule_joint(children, [w] * n, thr)
            check_law(J)
            np.testing.assert_allclose(J, count_rule_joint(children, T), rtol=0, atol=ATOL,
                                       err_msg=f"n={n} thr={thr} T={T}")


def test_weighted_equal_weights_exact_tie():
    # Ten children of weight 0.7, threshold 0.3: three ones tie exactly (2.1 >= 0.3 * 7) and
    # accept, while in floats 0.7 + 0.7 + 0.7 = 2.0999999999999996 < 0.3 * 7.000000000000001.
    w = [0.7] * 10
    assert not (sum(w[:3]) >= 0.3 * sum(w))
    children = [det(1, 1)] * 3 + [det(0, 0)] * 7
    np.testing.assert_array_equal(weighted_rule_joint(children, w, 0.3), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(count_rule_joint(children, 3), [[0, 0], [0, 1]])
    children = [det(1, 0)] * 3 + [det(0, 1)] * 2 + [det(0, 0)] * 5  # truth 3 ones, report 2
    np.testing.assert_array_equal(weighted_rule_joint(children, w, 0.3), [[0, 0], [1, 0]])


def test_weighted_ties_exact():
    # weights 0.1, 0.2, threshold 0.5: cut = 0.15.
    w, thr = [0.1, 0.2], 0.5
    # Truth {1} = 0.1 < 0.15 rejects; report {2} = 0.2 >= 0.15 accepts.
    assert weighted_rule_joint([det(1, 0), det(0, 1)], w, thr).tolist() == [[0, 1], [0, 0]]
    assert weighted_rule_joint([det(0, 1), det(1, 0)], w, thr).tolist() == [[0, 0], [1, 0]]
    assert weighted_rule_joint([det(1, 1), det(1, 1)], w, thr).tolist() == [[0, 0], [0, 1]]  # 0.3 >= 0.15
    assert weighted_rule_joint([det(0, 0), det(0, 0)], w, thr).tolist() == [[1, 0], [0, 0]]

    # weights 0.1, 0.2, 0.3, threshold 0.5: cut = 0.3 exactly.  In floats 0.5 * 0.6000000000000001
    # exceeds 0.3, so a float comparison wrongly rejects {child 3}; both {3} and {1, 2} tie and accept.
    w, thr = [0.1, 0.2, 0.3], 0.5
    assert not (0.3 >= thr * sum(w))
    assert weighted_rule_joint([det(0, 1), det(0, 1), det(1, 0)], w, thr).tolist() == [[0, 0], [0, 1]]
    # Truth {3} (0.3, tie: accept); report {1} (0.1: reject).
    assert weighted_rule_joint([det(0, 1), det(0, 0), det(1, 0)], w, thr).tolist() == [[0, 0], [1, 0]]
    # Truth {1} (0.1: reject); report {2, 3} (0.5: accept).
    assert weighted_rule_joint([det(1, 0), det(0, 1), det(0, 1)], w, thr).tolist() == [[0, 1], [0, 0]]
    # Truth {2} 0.2 < 0.3 rejects; report {1, 2} = 0.3 ties and accepts.
    assert weighted_rule_joint([det(0, 1), det(1, 1), det(0, 0)], w, thr).tolist() == [[0, 1], [0, 0]]

    # Threshold 1: only the full set accepts.
    assert weighted_rule_joint([det(1, 1), det(1, 0)], [0.1, 0.2], 1.0).tolist() == [[0, 0], [1, 0]]
    assert weighted_rule_joint([det(1, 1), det(1, 1)], [0.1, 0.2], 1.0).tolist() == [[0, 0], [0, 1]]


def test_weighted_ties_mixed_probabilities():
    # A random child law mixes tie outcomes with others; brute force decides exactly too.
    rng = np.random.default_rng(8)
    w, thr = [0.1, 0.2, 0.3], 0.5
    children = [random_law(rng) for _ in w]
    J = weighted_rule_joint(children, w, thr)
    np.testing.assert_allclose(J, brute_force(children, weighted_rule(w, thr)), rtol=0, atol=ATOL)
    # Exact decision differs from the float one here, so J is not the float-rule law.
    float_rule = lambda bits: sum(x for x, b in zip(w, bits) if b) >= thr * sum(w)  # noqa: E731
    assert np.abs(J - brute_force(children, float_rule)).max() > 1e-3


def test_weighted_brute_force():
    rng = np.random.default_rng(9)
    grid = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0, 1.5, 2.0]
    for n in range(1, 7):
        for trial in range(6):
            children = [random_law(rng, sparse=(trial % 3 == 2)) for _ in range(n)]
            if trial < 4:  # decimal grid: many ties
                weights = [float(rng.choice(grid)) for _ in range(n)]
                thr = float(rng.choice([0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0]))
            else:  # generic floats
                weights = [float(x) for x in rng.uniform(0.01, 3.0, n)]
                thr = float(rng.uniform(0.01, 1.0))
            J = weighted_rule_joint(children, weights, thr)
            check_law(J)
            np.testing.assert_allclose(J, brute_force(children, weighted_rule(weights, thr)),
                                       rtol=0, atol=ATOL, err_msg=f"w={weights} thr={thr}")


def test_weighted_numpy_inputs_and_many_children():
    rng = np.random.default_rng(10)
    children = [random_law(rng) for _ in range(6)]
    weights = np.round(rng.uniform(0.1, 1.0, 6), 1)  # numpy floats on a 0.1 grid
    thr = np.float64(0.4)
    np.testing.assert_allclose(weighted_rule_joint(children, weights, thr),
                               brute_force(children, weighted_rule(weights, thr)), rtol=0, atol=ATOL)
    children = [random_law(rng) for _ in range(12)]
    J = weighted_rule_joint(children, np.round(rng.uniform(0.1, 1.0, 12), 1), 0.5)
    check_law(J)


def test_validation():
    good = [[0.25, 0.25], [0.25, 0.25]]
    with pytest.raises(ValueError):
        count_rule_joint([[[0.5, 0.5], [0.5, 0.5]]], 1)
    with pytest.raises(ValueError):
        count_rule_joint([[[1.5, -0.5], [0.0, 0.0]]], 1)
    with pytest.raises(ValueError):
        count_rule_joint([[0.5, 0.5]], 1)
    with pytest.raises(TypeError):
        count_rule_joint([good], 1.5)
    with pytest.raises(ValueError):
        weighted_rule_joint([good], [0.0], 0.5)
    with pytest.raises(ValueError):
        weighted_rule_joint([good], [1.0], 0.0)
    with pytest.raises(ValueError):
        weighted_rule_joint([good], [1.0], 1.1)
    with pytest.raises(ValueError):
        weighted_rule_joint([good, good], [1.0], 0.5)


# --------------------------------------------------------------- conditional

def test_conditional():
    J = np.array([[0.1, 0.3], [0.2, 0.4]])
    logm, C = conditional(J)
    np.testing.assert_allclose(logm, np.log([0.4, 0.6]), rtol=0, atol=ATOL)
    np.testing.assert_allclose(C, [[0.25, 0.75], [1 / 3, 2 / 3]], rtol=0, atol=ATOL)

    logm, C = conditional([[0.0, 0.0], [0.3, 0.7]])
    assert logm[0] == -np.inf and abs(logm[1]) < ATOL
    assert np.all(np.isnan(C[0]))
    np.testing.assert_allclose(C[1], [0.3, 0.7], rtol=0, atol=ATOL)

    logm, C = conditional(count_rule_joint([det(1, 0)] * 3, 3))
    assert logm[0] == -np.inf and logm[1] == 0.0
    assert np.all(np.isnan(C[0])) and C[1].tolist() == [1.0, 0.0]


def test_conditional_rows_sum_to_one():
    rng = np.random.default_rng(11)
    for n in (3, 8, 20):
        children = [random_law(rng) for _ in range(n)]
        J = count_rule_joint(children, n // 2 + 1)
        logm, C = conditional(J)
        np.testing.assert_allclose(np.exp(logm).sum(), 1.0, rtol=0, atol=ATOL)
        np.testing.assert_allclose(C.sum(axis=1), [1.0, 1.0], rtol=0, atol=ATOL)
        np.testing.assert_allclose(np.exp(logm)[:, None] * C, J, rtol=0, atol=ATOL)
