"""Uncertainty propagation: 10,000 draws of the chip-design tree, each analysed exactly.

The tree is models/chip-design.toml with every evaluator's two rates uncertain (a Beta
posterior with the point value as its mean, as if from 40 labelled checks each) and its
blind spot's probability too: 15 uncertain inputs. ``propagate`` analyses all draws in one
vectorised exact pass; the baseline is 10,000 separate ``exact_analysis`` calls on the
trees with the same draws written in (built before the clock starts). Both give the same
numbers (the largest difference is printed).

Target: the vectorised propagation in under 10 s.

Run:  python benchmarks/bench_uncertainty.py [--draws 10000] [--repeat 3]
Exit status 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import rrm_theory as rrm
from _timing import best_time
from rrm_theory.uncertainty import Beta, parameters, propagate, with_draw

CHECKS = 40  # labelled checks behind each rate's posterior


def uncertain_chip() -> object:
    tree = rrm.load_spec("models/chip-design.toml")
    nodes = {}
    for v, attrs in tree.nodes(data=True):
        nodes[v] = {key: Beta(CHECKS * attrs[key], CHECKS * (1 - attrs[key]))
                    for key in ("false_accept", "false_reject")}  # fmt: skip
    tree.graph["uncertainty"] = {"influence": None, "blind_spots": {"thermal-base-model": Beta(2.0, 98.0)},
                                 "nodes": nodes}  # fmt: skip
    return tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tree = uncertain_chip()
    k = len(parameters(tree))
    propagate(tree, 10, rng=0)  # imports (scipy.special) outside the clock
    vectorised = best_time(lambda: propagate(tree, args.draws, rng=1), args.repeat)
    result = propagate(tree, args.draws, rng=1)
    trees = [with_draw(tree, result.parameters, row) for row in result.inputs]
    start = time.perf_counter()
    roots = [rrm.exact_analysis(t).root for t in trees]
    separate = time.perf_counter() - start
    worst = max(float(np.max(np.abs(result.samples[m] - np.array([getattr(r, m) for r in roots], dtype=float))))
                for m in ("p_good", "error", "false_accept", "false_reject"))  # fmt: skip
    ok = vectorised < 10.0 and worst <= 1e-12
    print(f"chip-design ({tree.number_of_nodes()} nodes), {args.draws:,} draws of {k} uncertain inputs:")
    verdict = "met" if vectorised < 10 else "MISSED"
    print(f"  propagate (vectorised)        {vectorised:8.3f} s   (target < 10 s: {verdict})")
    print(f"  {args.draws:,} exact_analysis calls {separate:8.3f} s")
    print(f"  ratio {separate / vectorised:.0f}x; largest difference between the two {worst:.1e} (target <= 1e-12)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
