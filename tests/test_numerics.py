"""Numerics that do not drift with size: the exact engine against a 60-digit reference.

On a *uniform* tree (every internal node the same rule over k children, every node
the same rates) all nodes of a level have the same law, so the root's metrics follow
from a recursion over levels of the 2x2 joint law of (truth, report passed up),
computed here with mpmath at 60 digits (:func:`uniform_reference`). The exact
engine must agree with it to a relative error of 1e-13 at every size (its rounding
may not compound with the number of nodes), and every probability it reports must
lie in [0, 1]. The big trees (131,071 and 1,048,575 nodes) are in
benchmarks/bench_engine.py.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest

import rrm_theory as rrm

TOLERANCE = 1e-13
_TINY = np.finfo(float).tiny  # below the smallest normal double, errors are absolute (against it)
_CELLS = ((0, 0), (0, 1), (1, 0), (1, 1))  # (truth, report)


def _threshold(rule: str, k: int) -> int:
    if rule.startswith("at_least:"):
        return int(rule.split(":")[1])
    return {"all": k, "any": 1, "majority": k // 2 + 1}[rule]


def uniform_reference(
    depth: int, branching: int, rule: str, *, false_accept: float, false_reject: float, prior: float,
    coverage: float = 1.0, deception: float = 0.0, audit: float = 0.0, digits: int = 60,
) -> dict[str, mpmath.mpf | None]:  # fmt: skip
    """Root metrics of a uniform tree (MODEL.md sections 2 and 3) by the level recursion, at ``digits``.

    ``J[y][r] = P(Y = y, R = r)`` of one node of a level; the next level up sums, over
    the counts of children in each of the four (truth, report) cells (a multinomial),
    the probability that the rule accepts the truths and the reports, then applies
    coverage, the error channel, deception and the audit. Rates are the doubles
    given, taken exactly. ``audit`` is on every node but the root.
    """
    with mpmath.workdps(digits):
        fa, fr, p, cov, dec, aud = (mpmath.mpf(x) for x in (false_accept, false_reject, prior, coverage,
                                                            deception, audit))  # fmt: skip

        def report(ju: list[list]) -> tuple[list[list], list[list]]:
            """P(Y, U) -> P(Y, V) and P(Y, R)."""
            jv = []
            for y in (0, 1):
                w1 = ju[y][1] * (1 - fr) + ju[y][0] * fa
                w0 = ju[y][1] * fr + ju[y][0] * (1 - fa)
                jv.append([w0 * (1 - dec), w1 + w0 * dec])
            jr = [[(1 - aud) * jv[y][x] + (aud * (jv[y][0] + jv[y][1]) if x == y else 0) for x in (0, 1)]
                  for y in (0, 1)]  # fmt: skip
            return jv, jr

        jv, jr = report([[1 - p, mpmath.mpf(0)], [mpmath.mpf(0), p]])
        k, T = branching, _threshold(rule, branching)
        for _ in range(depth):
            ju = [[mpmath.mpf(0), mpmath.mpf(0)], [mpmath.mpf(0), mpmath.mpf(0)]]
            for head in itertools.product(range(k + 1), repeat=3):
                if sum(head) > k:
                    continue
                counts = (*head, k - sum(head))
                term = mpmath.mpf(math.factorial(k))
                for (y, x), m in zip(_CELLS, counts):
                    term = term / math.factorial(m) * jr[y][x] ** m
                good = counts[2] + counts[3] >= T  # children with truth 1
                approved = counts[1] + counts[3] >= T  # children reporting 1
                ju[int(good)][int(approved)] += term
            ju = [[ju[0][u] + (1 - cov) * ju[1][u] for u in (0, 1)], [cov * ju[1][u] for u in (0, 1)]]
            jv, jr = report(ju)
        bad, good = jv[0][0] + jv[0][1], jv[1][0] + jv[1][1]
        return {
            "p_good": +good,
            "error": jv[0][1] + jv[1][0],
            "false_accept": jv[0][1] / bad if bad else None,
            "false_reject": jv[1][0] / good if good else None,
        }


def relative_error(got: float | None, want: mpmath.mpf | None) -> float:
    """``|got - want| / |want|``, with ``|want|`` at least the smallest normal double (a value that
    underflows is compared in absolute terms); infinite if only one of them is undefined."""
    if got is None or want is None:
        return 0.0 if got is None and want is None else math.inf
    with mpmath.workdps(60):
        return float(abs(mpmath.mpf(got) - want) / max(abs(want), mpmath.mpf(_TINY)))


def _tree(depth: int, branching: int, rule: str, rates: dict[str, float]) -> tuple:
    audit = rates.get("audit", 0.0)
    common = {k: v for k, v in rates.items() if k != "audit"}
    if audit:  # not on the root (nobody audits the verdict): [generate.*] audits leave it out
        tree = rrm.balanced(depth, branching, rule=rule, leaves={"audit": audit}, internal={"audit": audit}, **common)
    else:
        tree = rrm.balanced(depth, branching, rule=rule, **common)
    want = uniform_reference(depth, branching, rule, **rates)
    return tree, want


RATES = {
    "plain": {"false_accept": 0.01, "false_reject": 0.01, "prior": 0.9},
    "noisy": {"false_accept": 0.2, "false_reject": 0.1, "prior": 0.5},
    "rare": {"false_accept": 1e-6, "false_reject": 1e-9, "prior": 0.999},
    "overrides": {"false_accept": 0.02, "false_reject": 0.05, "prior": 0.8, "coverage": 0.99, "deception": 0.001,
                  "audit": 0.05},  # fmt: skip
}

SHAPES = [
    (1, 2, "all"), (6, 2, "all"), (10, 2, "all"), (12, 2, "all"), (7, 3, "all"),
    (10, 2, "any"), (6, 3, "any"),
    (7, 3, "majority"), (6, 4, "majority"), (5, 5, "majority"),
    (7, 3, "at_least:2"), (5, 5, "at_least:3"),
]  # fmt: skip


@pytest.mark.parametrize("rates", list(RATES), ids=list(RATES))
@pytest.mark.parametrize("depth, branching, rule", SHAPES, ids=[f"{r}-{k}^{d}" for d, k, r in SHAPES])
def test_root_metrics_match_the_60_digit_recursion(depth: int, branching: int, rule: str, rates: str) -> None:
    tree, want = _tree(depth, branching, rule, RATES[rates])
    root = rrm.exact_analysis(tree).root
    for metric in ("p_good", "error", "false_accept", "false_reject"):
        assert relative_error(getattr(root, metric), want[metric]) <= TOLERANCE, (metric, getattr(root, metric),
                                                                                   want[metric])  # fmt: skip


@pytest.mark.parametrize("depth, branching, rule", [(12, 2, "all"), (6, 4, "majority"), (7, 3, "at_least:2")])
def test_error_does_not_grow_with_size(depth: int, branching: int, rule: str) -> None:
    """The worst error over depths 1..depth stays put: no compounding with the number of nodes."""
    worst = []
    for d in range(1, depth + 1):
        tree, want = _tree(d, branching, rule, RATES["plain"])
        root = rrm.exact_analysis(tree).root
        worst.append(max(relative_error(getattr(root, m), want[m]) for m in want))
    assert max(worst) <= TOLERANCE, worst


@pytest.mark.parametrize("depth, branching, rule", [(12, 2, "all"), (6, 4, "majority"), (8, 2, "any")])
def test_every_reported_probability_lies_in_the_unit_interval(depth: int, branching: int, rule: str) -> None:
    for rates in RATES.values():
        per_node = rrm.exact_analysis(_tree(depth, branching, rule, rates)[0]).per_node
        for metric in ("p_good", "error", "false_accept", "false_reject"):
            values = per_node.array(metric)
            values = values[~np.isnan(values)]
            assert ((values >= 0.0) & (values <= 1.0)).all(), (metric, values.min(), values.max())


@pytest.mark.parametrize("depth, branching, rule, prior", [
    (12, 2, "all", 0.845), (7, 3, "all", 0.73), (4, 5, "all", 0.33), (7, 3, "at_least:3", 0.75),
    (10, 2, "all", 0.51), (12, 2, "any", 0.155),
])  # fmt: skip
def test_a_p_good_near_the_smallest_double_keeps_its_relative_precision(depth, branching, rule, prior) -> None:
    """log P(Y = 1) of about -690, summed over thousands of leaves: plain doubles would lose 1e-13 here."""
    rates = {"false_accept": 0.01, "false_reject": 0.01, "prior": prior}
    tree, want = _tree(depth, branching, rule, rates)
    root = rrm.exact_analysis(tree).root
    for metric in want:
        assert relative_error(getattr(root, metric), want[metric]) <= TOLERANCE, metric


def test_a_large_jury_takes_the_closed_form_to_the_same_precision() -> None:
    rates = {"false_accept": 0.01, "false_reject": 0.02, "prior": 0.9}
    tree, want = _tree(1, 49, "majority", rates)
    root = rrm.exact_analysis(tree).root
    for metric in want:
        assert relative_error(getattr(root, metric), want[metric]) <= TOLERANCE, metric


def test_the_compiled_form_gives_the_same_numbers() -> None:
    tree, want = _tree(8, 3, "majority", RATES["overrides"])
    c = rrm.compile_tree(tree)
    assert rrm.exact_analysis(c) == rrm.exact_analysis(tree)
    assert relative_error(rrm.exact_analysis(c).root.false_accept, want["false_accept"]) <= TOLERANCE


def test_the_reference_recursion_on_a_tree_small_enough_to_count() -> None:
    """The recursion itself, against the engine where both are far from rounding (two leaves)."""
    want = uniform_reference(1, 2, "all", false_accept=0.1, false_reject=0.1, prior=0.9)
    assert float(want["p_good"]) == pytest.approx(0.81, rel=1e-15)
    # U = 1 iff both leaves report 1; the root's own channel then flips it with 0.1
    p11 = 0.9 * 0.9
    fr_in = 1 - p11  # P(U = 0 | Y = 1): a good leaf reports 0 with 0.1
    assert float(want["false_reject"]) == pytest.approx(fr_in * 0.9 + (1 - fr_in) * 0.1, rel=1e-14)


@pytest.mark.parametrize("rates", [dict(false_accept=1e-5, false_reject=1e-5, prior=0.5),
                                   dict(false_accept=0.02, false_reject=0.05, prior=0.8, coverage=0.99,
                                        deception=0.001)])  # fmt: skip
def test_a_deep_chain_matches_the_recursion(rates: dict) -> None:
    """Depth 10,000 (a run taken by the scan): rates of 1e-5 change the laws by little per level,
    where rounding once per level would add up (4.5e-13 level by level)."""
    want = uniform_reference(10_000, 1, "all", digits=40, **rates)
    root = rrm.exact_analysis(rrm.balanced(10_000, 1, rule="all", **rates)).root
    for metric in ("p_good", "error", "false_accept", "false_reject"):
        assert relative_error(getattr(root, metric), want[metric]) <= TOLERANCE, metric
