"""Exact-analysis performance, as ratios against baselines run in the same process.

1. A balanced tree, branching 4, depth 8 (87,381 nodes, independent channels):
   ``exact_analysis`` against a bare ``networkx.dfs_postorder_nodes`` traversal of
   the same graph. Target: at most 20x.
2. A chain of depth 10,000: ``exact_analysis`` against the closed form of MODEL.md's
   chain (a two-state Markov chain of d + 1 channels) for accuracy, and against a
   bare traversal for time.

Run:  python benchmarks/bench_exact.py [--repeat 5]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys

import networkx as nx

import rrm_theory as rrm
from _timing import best_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ok = True

    tree = rrm.balanced(8, 4, rule="majority", error=0.05, prior=0.5)
    root = rrm.tree_root(tree)
    base = best_time(lambda: list(nx.dfs_postorder_nodes(tree, root)), args.repeat)
    exact = best_time(lambda: rrm.exact_analysis(tree), args.repeat)
    ratio = exact / base
    ok &= ratio <= 20
    print(f"balanced 4^8 ({tree.number_of_nodes():,} nodes): exact {exact:.3f} s, "
          f"post-order traversal {base:.3f} s, ratio {ratio:.1f} (target <= 20)")

    depth, fa, fr = 10_000, 1e-5, 3e-5
    chain = rrm.chain(depth, false_accept=fa, false_reject=fr, prior=0.5)
    root = rrm.tree_root(chain)
    base = best_time(lambda: list(nx.dfs_postorder_nodes(chain, root)), args.repeat)
    exact = best_time(lambda: rrm.exact_analysis(chain), args.repeat)
    result = rrm.exact_analysis(chain).root
    decay = (1 - fa - fr) ** (depth + 1)
    want_fa, want_fr = fa / (fa + fr) * (1 - decay), fr / (fa + fr) * (1 - decay)
    err = max(abs(result.false_accept / want_fa - 1), abs(result.false_reject / want_fr - 1))
    ok &= err < 1e-9
    print(f"chain depth {depth:,}: exact {exact:.3f} s, post-order traversal {base:.4f} s, "
          f"ratio {exact / base:.0f}; relative error against the closed form {err:.1e} (target < 1e-9)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
