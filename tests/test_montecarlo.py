"""Monte Carlo against exact analysis and the reference sampler; intervals; reproducibility.

Tolerances come from the sample size: an estimate agrees with the exact value when
the exact value lies inside the estimate's interval at confidence 1 - 3.8e-8 (z = 5.5):
Clopper-Pearson for proportions, given the realised denominator, whose coverage is
guaranteed (Wilson's is not, at counts near 0 or n, which drawn trees with rates like
1e-3 produce), and for youden the Bonferroni difference of two of them. Per comparison the false-failure rate is at most
about 4e-8; a run of ``test_agrees_with_exact_on_drawn_trees`` makes at most
60 x 6 x 5 = 1,800 comparisons, so it was designed to fail spuriously less than once
in 10,000 runs. Seeds are fixed, so any failure is reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import metrics_from_samples, sample_episodes
from scipy import special
from tree_strategies import tree_specs

import rrm_theory as rrm
from rrm_theory import METRICS, ExactRefused
from rrm_theory.intervals import bonferroni_difference, clopper_pearson

Z = 5.5
STRICT = 1.0 - 2.0 * float(special.ndtr(-Z))  # the confidence level of z = 5.5


def assert_consistent(exact: rrm.Metrics, counts: np.ndarray, n: int) -> None:
    """The exact metrics lie inside the z = 5.5 intervals of the sampled counts."""
    good, fa, fr = (int(x) for x in counts)
    bad = n - good
    checks = [("p_good", exact.p_good, good, n), ("error", exact.error, fa + fr, n)]
    if exact.false_accept is None:
        assert bad == 0  # an impossible event is never sampled
    elif bad:
        checks.append(("false_accept", exact.false_accept, fa, bad))
    if exact.false_reject is None:
        assert good == 0
    elif good:
        checks.append(("false_reject", exact.false_reject, fr, good))
    for name, value, k, m in checks:
        lo, hi = clopper_pearson(k, m, STRICT)
        assert lo - 1e-12 <= value <= hi + 1e-12, (name, value, k, m, lo, hi)
    if exact.youden is not None and bad and good:
        lo, hi = bonferroni_difference(good - fr, good, fa, bad, STRICT)
        assert lo - 1e-12 <= exact.youden <= hi + 1e-12, ("youden", exact.youden, lo, hi)


@settings(max_examples=60, deadline=None)
@given(tree_specs(max_nodes=6, max_free=60), st.integers(0, 2**32))
def test_agrees_with_exact_on_drawn_trees(spec, seed):
    tree = rrm.from_dict(spec)
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=30_000, rng=seed)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


@pytest.mark.parametrize("model", ["chip-design", "fantasy-novel", "book-summarization", "flat-ai-feedback"])
def test_agrees_with_exact_on_the_catalog(model):
    tree = rrm.load_spec(f"models/{model}.toml")
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=300_000, rng=2024)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


@pytest.mark.parametrize("interval,low,high", [("wilson", 0.925, 0.985), ("clopper-pearson", 0.94, 1.0)])
def test_interval_coverage_is_close_to_nominal(interval, low, high):
    """400 independent runs; the 95% intervals should cover the exact value about 95% of
    the time (the standard error of a coverage estimate from 400 runs is 1.1 points);
    Clopper-Pearson and its Bonferroni difference are conservative, so only bounded below."""
    tree = rrm.from_dict({
        "defaults": {"prior": 0.6, "false_accept": 0.15, "false_reject": 0.1},
        "nodes": {"r": {"rule": "majority", "coverage": 0.95}, "a": {"parent": "r"}, "b": {"parent": "r"},
                  "c": {"parent": "r", "deception": 0.05}},
    })  # fmt: skip
    exact = rrm.exact_analysis(tree).root
    covered = dict.fromkeys(METRICS, 0)
    runs = 400
    for seed in range(runs):
        root = rrm.monte_carlo(tree, samples=3000, rng=seed, interval=interval).root
        for m in METRICS:
            lo, hi = root[m].ci
            covered[m] += lo <= getattr(exact, m) <= hi
    for m in METRICS:
        assert low <= covered[m] / runs <= high, (m, covered[m] / runs)


# ------------------------------------------------------------ reproducibility


def test_bit_identical_across_batch_sizes_and_workers():
    tree = rrm.load_spec("models/fantasy-novel.toml")
    runs = [
        rrm.monte_carlo(tree, samples=70_001, rng=99, batch_size=batch, workers=workers)
        for batch, workers in [(1 << 20, 1), (1, 1), (16_384, 2), (50_000, 3), (100, 2)]
    ]
    for other in runs[1:]:
        assert np.array_equal(other.counts, runs[0].counts)
        assert other.root == runs[0].root
    assert runs[0].samples == 70_001 and runs[0].counts[0].sum() > 0
    different = rrm.monte_carlo(tree, samples=70_001, rng=100)
    assert not np.array_equal(different.counts, runs[0].counts)


def test_precision_target_is_reproducible_across_workers():
    tree = rrm.load_spec("models/chip-design.toml")
    one = rrm.monte_carlo(tree, samples=1000, rng=5, ci_width=0.01)
    two = rrm.monte_carlo(tree, samples=1000, rng=5, ci_width=0.01, workers=2, batch_size=5000)
    assert one.reached and one.widest()[1] < 0.01
    assert one.samples % rrm.montecarlo.chunk_episodes(tree) == 0
    assert np.array_equal(one.counts, two.counts) and one.samples == two.samples


def test_sample_cap_stops_the_precision_target():
    tree = rrm.load_spec("models/chip-design.toml")
    result = rrm.monte_carlo(tree, samples=1000, rng=5, ci_width=0.0005, max_samples=50_000)
    assert result.reached is False and result.samples == 50_000
    assert result.to_dict()["reached"] is False


def test_a_generator_seeds_the_run_and_the_seed_is_reported():
    tree = rrm.chain(2, error=0.1, prior=0.5)
    a = rrm.monte_carlo(tree, samples=5000, rng=np.random.default_rng(1))
    b = rrm.monte_carlo(tree, samples=5000, rng=np.random.default_rng(1))
    c = rrm.monte_carlo(tree, samples=5000, rng=a.seed)
    assert a.seed == b.seed and np.array_equal(a.counts, b.counts) and np.array_equal(a.counts, c.counts)


# ------------------------------------------------------------ beyond exact analysis


def overlapping_groups(k: int = 20):
    """k overlapping blind spots on a two-level tree, internal nodes included; every
    group spans two of the root's subtrees, so the root conditions on all of them."""
    nodes = {"r": {"rule": "majority"}} | {f"m{j}": {"parent": "r", "rule": "any"} for j in range(3)}
    nodes |= {f"c{i}": {"parent": f"m{i % 3}"} for i in range(9)}
    pairs = [[f"c{i}", f"c{(i + 1) % 9}"] for i in range(9)]
    pairs += [[f"m{i % 3}", f"c{(i + 2) % 9}"] for i in range(9)]
    pairs += [[f"c{i}", f"c{(i + 4) % 9}"] for i in range(9)]
    groups = {f"g{i}": {"probability": 0.02 + 0.01 * (i % 4), "members": pairs[i]} for i in range(k)}
    spec = {"influence": 0.1, "defaults": {"prior": 0.5, "false_accept": 0.1, "false_reject": 0.05},
            "blind_spots": groups, "nodes": nodes}  # fmt: skip
    return rrm.from_dict(spec)


def test_trees_exact_analysis_declines_agree_with_the_reference_sampler():
    tree = overlapping_groups()
    with pytest.raises(ExactRefused):
        rrm.exact_analysis(tree)
    fast = rrm.monte_carlo(tree, samples=400_000, rng=1)
    slow = sample_episodes(tree, 20_000, np.random.default_rng(2))
    for i, v in enumerate(tree):
        good, fa, fr = (int(x) for x in fast.counts[i])
        n = fast.samples
        mine = {"p_good": (good, n), "error": (fa + fr, n), "false_accept": (fa, n - good),
                "false_reject": (fr, good)}  # fmt: skip
        theirs = metrics_from_samples(slow, v)
        y = slow[v]["Y"]
        sizes = {"p_good": 20_000, "error": 20_000, "false_accept": int((~y).sum()), "false_reject": int(y.sum())}
        for m, (k, d) in mine.items():
            p, q = k / d, theirs[m]
            se = math.sqrt(p * (1 - p) / d + q * (1 - q) / sizes[m]) + 1e-9
            assert abs(p - q) <= Z * se, (v, m, p, q)


def test_monte_carlo_matches_exact_where_both_apply_with_many_groups():
    tree = overlapping_groups(12)
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=200_000, rng=8)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


# ------------------------------------------------------------ options


@pytest.mark.parametrize(
    "options,error",
    [({"samples": 0}, ValueError), ({"workers": 0}, ValueError), ({"ci_width": 3.0}, ValueError),
     ({"confidence": 1.0}, ValueError), ({"interval": "exact"}, ValueError), ({"rng": -1}, ValueError),
     ({"rng": "seed"}, TypeError), ({"samples": 2.5}, ValueError)],
)  # fmt: skip
def test_invalid_options(options, error):
    with pytest.raises(error):
        rrm.monte_carlo(rrm.chain(1, error=0.1, prior=0.5), **options)


def test_per_node_results_and_progress_bar(capsys):
    tree = rrm.load_spec("models/chip-design.toml")
    result = rrm.monte_carlo(tree, samples=20_000, rng=3, progress=True)
    assert list(result.per_node) == list(tree)
    assert result.per_node["design"] == result.root
    d = result.to_dict(per_node=True)
    assert set(d["per_node"]) == set(tree) and d["per_node"]["heat"]["p_good"]["ci"][0] < 0.9


@pytest.mark.parametrize("weights", [
    [1.375, 0.625, 2.25, 0.1, 0.2, 1.958, 1.978, 0.431, 2.718, 0.577, 1.414, 0.301],  # the class programme
    [5e-324, 1.7976931348623157e308, 1.0],  # 2,000-digit integers: the class programme, not the adder
    [1.0, 2.0, 3.0, 0.5],  # few binary digits: the bit-sliced adder
])  # fmt: skip
def test_agrees_with_exact_on_weighted_panels(weights):
    nodes = {"r": {"rule": "weighted", "threshold": 0.431}}
    nodes |= {f"h{i}": {"parent": "r", "weight": w, "error": 0.02 * (i + 1)} for i, w in enumerate(weights)}
    tree = rrm.from_dict({"defaults": {"error": 0.1, "prior": 0.7}, "nodes": nodes})
    exact = rrm.exact_analysis(tree)
    result = rrm.monte_carlo(tree, samples=200_000, rng=11)
    for i, v in enumerate(tree):
        assert_consistent(exact.per_node[v], result.counts[i], result.samples)


@pytest.mark.parametrize("method, scipy_method", [("wilson", "wilson"), ("clopper-pearson", "exact")])
def test_intervals_equal_scipy_binomtest(method, scipy_method):
    from scipy import stats

    from rrm_theory.intervals import proportion_interval

    for n in (1, 2, 7, 100, 12_345):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            for confidence in (0.5, 0.95, 1 - 1e-7):
                want = stats.binomtest(k, n).proportion_ci(confidence, method=scipy_method)
                got = proportion_interval(k, n, confidence, method)
                assert got == pytest.approx((want.low, want.high), abs=1e-12, rel=1e-10), (k, n, confidence)


@pytest.mark.parametrize("k, n, confidence", [(0, 0, 0.95), (5, 4, 0.95), (-1, 4, 0.95), (1.5, 4, 0.95),
                                              (1, 4, 0.0), (1, 4, 1.0), (1, 4, float("nan"))])  # fmt: skip
@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_intervals_refuse_counts_without_an_interval(k, n, confidence, method):
    from rrm_theory.intervals import proportion_interval

    with pytest.raises(ValueError):
        proportion_interval(k, n, confidence, method)
