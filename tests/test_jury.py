"""Large juries of alike children in closed form (rrm_theory._jury)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from reference_rules import count_rule_joint, iid_count_rule_joint, conditional
from scipy import stats

import rrm_theory as rrm
from rrm_theory._jury import iid_rule, log_binomial_pmf


@pytest.mark.parametrize("m", [1, 2, 7, 60, 1000, 20_000])
@pytest.mark.parametrize("t", [1e-9, 0.01, 0.3, 0.5, 0.97, 1 - 1e-12])
def test_log_binomial_pmf_matches_a_60_digit_reference(m, t):
    """Every log-probability within 1e-14 of its size (a few units in the last place)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    got = log_binomial_pmf(m, np.log([t]), np.log1p([-t]))[0]
    tt = mpmath.mpf(t)
    for k in sorted({0, 1, m // 3, m // 2, m - 1, m} | set(range(0, m + 1, max(1, m // 40)))):
        if not 0 <= k <= m:
            continue
        ref = float(mpmath.log(mpmath.binomial(m, k)) + k * mpmath.log(tt) + (m - k) * mpmath.log1p(-tt))
        assert abs(got[k] - ref) <= 1e-14 * max(1.0, abs(ref)), (k, got[k], ref)
    assert got == pytest.approx(stats.binom.logpmf(np.arange(m + 1), m, t), rel=1e-9)  # scipy: 1e-11 off here


def test_log_binomial_pmf_far_below_the_double_range():
    t = 1e-300
    got = log_binomial_pmf(5, np.log([t]), np.log1p([-t]))[0]
    assert got[5] == pytest.approx(5 * np.log(t)) and got[0] == pytest.approx(0.0, abs=1e-12)


def law(t, fa, fr):
    return np.array([[(1 - t) * (1 - fa), (1 - t) * fa], [t * fr, t * (1 - fr)]])


def args(q):
    t = q[1].sum()
    lp = np.log([[1 - t, t]])
    pr = np.array([[q[0] / q[0].sum(), q[1] / q[1].sum()]])
    return lp, pr


@pytest.mark.parametrize("m", [1, 5, 48, 301])
def test_iid_rule_matches_both_references(m):
    rng = np.random.default_rng(m)
    for _ in range(3):
        q = law(rng.uniform(0.1, 0.9), rng.uniform(0, 0.4), rng.uniform(0, 0.4))
        for T in sorted({1, m // 2 + 1, m}):
            lp_rule, pu = iid_rule(*args(q), m, T, T)
            for J in (iid_count_rule_joint(q, m, T), count_rule_joint([q] * m, T)):
                want_lp, want_pu = conditional(J)
                np.testing.assert_allclose(np.exp(lp_rule[0]), np.exp(want_lp), rtol=1e-11)
                for y in (0, 1):
                    if np.isfinite(want_lp[y]):
                        np.testing.assert_allclose(pu[0, y], want_pu[y], rtol=1e-10, atol=1e-14)


def test_separate_thresholds_for_truth_and_report():
    """What importance needs: one child held, the others alike (thresholds T - y, T - r)."""
    q = law(0.6, 0.2, 0.1)
    m, T = 40, 21
    for Ty, Tr in ((T, T - 1), (T - 1, T), (0, T), (T, m + 1)):
        lp_rule, pu = iid_rule(*args(q), m, Ty, Tr)
        # brute: 2-D table over counts
        from reference_rules import count_table

        table = count_table([q] * m)
        k = np.arange(m + 1)
        J = np.array([[table[np.ix_((k >= Ty) == bool(y), (k >= Tr) == bool(u))].sum() for u in (0, 1)]
                      for y in (0, 1)])  # fmt: skip
        for y in (0, 1):
            assert np.exp(lp_rule[0, y]) == pytest.approx(J[y].sum(), rel=1e-11, abs=1e-300)
            if J[y].sum() > 0:
                np.testing.assert_allclose(pu[0, y], J[y] / J[y].sum(), rtol=1e-10, atol=1e-14)


def test_identical_jury_against_the_binomial_closed_form():
    """A flat majority of 10,001 identical helpers: truths good with probability 0.5, every
    helper wrong with probability 0.1 either way. With all truths good the input is wrong
    iff at least 5,001 err: a binomial tail."""
    n, err = 10_001, 0.1
    tree = rrm.balanced(1, n, rule="majority", error=err, prior=1.0, internal={"error": 0.0})
    start = time.perf_counter()
    result = rrm.exact_analysis(tree).root
    elapsed = time.perf_counter() - start
    assert result.false_reject == pytest.approx(stats.binom.sf(n // 2, n, err), rel=1e-9, abs=1e-300)
    mixed = rrm.balanced(1, 2001, rule="majority", error=0.3, prior=0.5, internal={"error": 0.0})
    want = stats.binom.sf(1000, 2001, 0.5)  # P(truth good) = P(more than 1,000 of 2,001 good)
    assert rrm.exact_analysis(mixed).root.p_good == pytest.approx(want, rel=1e-12)
    assert elapsed < 30  # a hang guard only; timing lives in benchmarks/
