"""How small the public strategies shrink, over unseeded ``hypothesis.find`` runs.

Not a speed benchmark: a measurement of shrinking quality, too slow and too random for
the suite (the suite asserts the minimum on single runs). For each claim, the
counterexample sizes found over ``--runs`` runs; the minimum is 2 nodes (a weighted
root over one child), a 4-node star, and a 4-node chain.

Run:  python benchmarks/shrink_quality.py [--runs 50]
Exit status 1 if any run stops short of the minimum.
"""

from __future__ import annotations

import argparse
import collections
import sys

from hypothesis import find, settings

import rrm_theory as rrm
from rrm_theory.strategies import spec_dicts, trees

CLAIMS = {
    "a weighted node (min 2 nodes)": (
        spec_dicts(features={"weights"}),
        lambda s: any(t.get("rule") == "weighted" for t in s["nodes"].values()),
        lambda s: len(s["nodes"]) == 2,
    ),
    "at least 4 nodes (min: star of 4)": (
        trees(max_nodes=6),
        lambda t: t.number_of_nodes() >= 4,
        lambda t: t.number_of_nodes() == 4 and rrm.tree_depth(t) == 1,
    ),
    "depth >= 3 (min: chain of 4)": (
        trees(max_nodes=8),
        lambda t: rrm.tree_depth(t) >= 3,
        lambda t: t.number_of_nodes() == 4,
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    short = 0
    for name, (strategy, claim, minimal) in CLAIMS.items():
        sizes: collections.Counter[int] = collections.Counter()
        reached = 0
        for _ in range(args.runs):
            found = find(strategy, claim, settings=settings(max_examples=2000, database=None, deadline=None))
            sizes[len(found["nodes"]) if isinstance(found, dict) else found.number_of_nodes()] += 1
            reached += minimal(found)
        short += args.runs - reached
        print(f"{name}: minimal in {reached} of {args.runs} runs; sizes {dict(sorted(sizes.items()))}")
    return 0 if short == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
