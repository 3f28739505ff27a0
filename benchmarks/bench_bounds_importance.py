"""Fast bounds and importance against exact analysis, on the core benchmark tree.

The balanced tree of branching 4 and depth 8 (87,381 nodes, independent channels).
Target: fast bounds and importance each at most a few times (<= 5x) the exact analysis,
all measured in the same process.

Run:  python benchmarks/bench_bounds_importance.py [--repeat 3]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import rrm_theory as rrm
from _timing import best_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tree = rrm.balanced(8, 4, rule="majority", error=0.05, prior=0.5)
    exact = best_time(lambda: rrm.exact_analysis(tree), args.repeat)
    fast = best_time(lambda: rrm.fast_bounds(tree), args.repeat)
    ranking = best_time(lambda: rrm.importance(tree), args.repeat)
    print(f"balanced 4^8 ({tree.number_of_nodes():,} nodes): exact {exact:.3f} s")
    print(f"  fast bounds {fast:.3f} s, ratio {fast / exact:.1f} (target <= 5)")
    print(f"  importance  {ranking:.3f} s, ratio {ranking / exact:.1f} (target <= 5)")
    return 0 if fast / exact <= 5 and ranking / exact <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
