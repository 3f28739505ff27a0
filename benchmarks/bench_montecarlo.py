"""Monte Carlo throughput, as ratios against baselines run in the same process.

1. Node-samples per second on a balanced 3-majority tree of 9,841 nodes (depth 8)
   with independent error rates 0.05, against the raw rate of
   ``numpy.random.Generator.random`` (uniform doubles per second, into a reused
   buffer): drawing one uniform per node-sample is what the obvious method costs.
   Target ratio >= 0.5; stretch > 1.
2. Two worker processes against one on a long run (--long episodes).
   Target speed-up >= 1.7 on a 2-core machine.
3. Per node, a chain of depth 3,000 against that balanced tree (1,000 episodes each):
   runs of one-child nodes draw their words per run, not per level. Target <= 3x.

Run:  python benchmarks/bench_montecarlo.py [--rounds 5] [--long 400000]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import rrm_theory as rrm
from rrm_theory._compile import compile_tree
from rrm_theory._sampler import ChunkSampler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--long", type=int, default=400_000, help="episodes for the worker comparison")
    args = parser.parse_args()

    tree = rrm.balanced(8, 3, rule="majority", error=0.05, prior=0.5)
    c = compile_tree(tree)
    sampler = ChunkSampler(c, 256)
    rng = np.random.default_rng(0)
    buffer = np.empty(1 << 21)
    ratios = []
    for _ in range(args.rounds):  # alternate, so both see the same machine state
        start = time.perf_counter()
        sampler.sample(rng, 64 * sampler.words)
        node_rate = c.size * 64 * sampler.words / (time.perf_counter() - start)
        start = time.perf_counter()
        rng.random(out=buffer)
        uniform_rate = buffer.size / (time.perf_counter() - start)
        ratios.append(node_rate / uniform_rate)
        print(f"  {node_rate / 1e6:7.1f} M node-samples/s   {uniform_rate / 1e6:7.1f} M uniforms/s   "
              f"ratio {node_rate / uniform_rate:.2f}")
    ratio = float(np.median(ratios))
    print(f"throughput ({c.size:,} nodes): median ratio {ratio:.2f} (target >= 0.5, stretch > 1)")

    times = {}
    for workers in (1, 2):
        start = time.perf_counter()
        rrm.monte_carlo(tree, samples=args.long, rng=1, workers=workers)
        times[workers] = time.perf_counter() - start
    speedup = times[1] / times[2]
    print(f"{args.long:,} episodes: 1 worker {times[1]:.2f} s, 2 workers {times[2]:.2f} s, "
          f"speed-up {speedup:.2f} (target >= 1.7)")

    def per_node(t) -> float:  # type: ignore[no-untyped-def]
        ct = compile_tree(t)
        return min(_timed(lambda: rrm.monte_carlo(ct, samples=1000, rng=1, workers=1)) for _ in range(3)) / ct.size

    chain = per_node(rrm.chain(3000, error=0.01, prior=0.5)) / per_node(tree)
    print(f"per node, a depth-3,000 chain / the balanced tree: {chain:.2f} (target <= 3)")
    return 0 if ratio >= 0.5 and speedup >= 1.7 and chain <= 3 else 1


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
