"""Tight against fast bounds (docs/bounds.md sections 2-3): time and interval width, in one process.

For chip-design (14 free response bits), process-supervision (16), fantasy-novel (20),
book-summarization (40) and a 40-bit balanced tree (majority of 4, depth 2, a perfect
overseer): the seconds the tight bounds take (the predicted cost that
``bounds(method="auto")`` compares with its budget, and the measured one), the seconds
of the fast bounds and of the exact analysis, and the width of the root false_accept
interval each gives, with the exact value it contains. The last columns calibrate the
cost model of ``rrm_theory._lp.plan``: measured / predicted should stay within about 3.

Targets: the tight bounds of every tree of at most 20 free bits within the default budget
(5 s); the tight interval inside the fast one, around the exact value.

Run:  python benchmarks/bench_tight_bounds.py [--repeat 3]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import rrm_theory as rrm
from _timing import best_time
from rrm_theory.bounds import DEFAULT_BUDGET, tight_cost


def forty_bit_tree():  # type: ignore[no-untyped-def]
    tree = rrm.balanced(2, 4, rule="majority", error=0.05, prior=0.8)
    root = rrm.tree_root(tree)
    tree.nodes[root].update(false_accept=0.0, false_reject=0.0)  # a perfect overseer: 20 evaluators, 40 bits
    tree.graph["name"] = "balanced-4x4"
    return tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    models = Path(__file__).resolve().parent.parent / "models"
    trees = [rrm.load_spec(models / f"{m}.toml") for m in
             ("chip-design", "process-supervision", "fantasy-novel", "book-summarization")]  # fmt: skip
    trees.append(forty_bit_tree())
    ok = True
    print(f"{'tree':20s} {'bits':>4s} {'tight s':>8s} {'(pred)':>7s} {'fast s':>7s} {'exact s':>7s}  "
          f"{'false_accept tight':>18s} {'width':>6s}  {'fast':>16s} {'width':>6s}  {'exact':>6s}  {'meas/pred':>9s}")
    for tree in trees:
        bits, predicted = tight_cost(tree)
        tight_s = best_time(lambda: rrm.bounds(tree, method="tight"), args.repeat)
        fast_s = best_time(lambda: rrm.fast_bounds(tree), args.repeat)
        exact_s = best_time(lambda: rrm.exact_analysis(tree), args.repeat)
        tight, fast = rrm.bounds(tree, method="tight").false_accept, rrm.fast_bounds(tree).false_accept
        exact = rrm.exact_analysis(tree).root.false_accept
        ok &= fast[0] - 1e-9 <= tight[0] <= exact + 1e-9 <= tight[1] + 2e-9 <= fast[1] + 3e-9
        if bits <= 20:
            ok &= tight_s <= DEFAULT_BUDGET and predicted <= DEFAULT_BUDGET
        print(f"{tree.graph['name']:20s} {bits:4d} {tight_s:8.3f} {predicted:7.2f} {fast_s:7.3f} {exact_s:7.3f}  "
              f"[{tight[0]:.4f}, {tight[1]:.4f}] {tight[1] - tight[0]:6.4f}  [{fast[0]:.4f}, {fast[1]:.4f}] "
              f"{fast[1] - fast[0]:6.4f}  {exact:6.4f}  {tight_s / predicted:9.2f}")
    tree = rrm.balanced(8, 4, rule="majority", error=0.1, prior=0.5)
    fast_s = best_time(lambda: rrm.fast_bounds(tree), 1)
    fast = rrm.fast_bounds(tree)
    bits, predicted = tight_cost(tree)
    print(f"{'balanced 4^8':20s} {bits:4d} {'beyond reach' if predicted == float('inf') else predicted}: "
          f"fast {fast_s:.3f} s, false_accept {fast.false_accept}, false_reject {fast.false_reject}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
