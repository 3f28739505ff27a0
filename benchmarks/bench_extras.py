"""The expensive extras and deep chains, as ratios against baselines run in the same process.

1. ``robustness`` (budget 3), ``bounds`` (auto), ``fast_bounds`` and ``importance``
   against ``exact_analysis`` of the same tree, on each catalog model and on the
   4^8 ``majority`` tree (``rrm.balanced(8, 4, rule="majority", error=0.1,
   prior=0.5)``, 87,381 nodes). Target: a small multiple of exact (at most 10x), except
   for ``bounds``, reported only: ``auto`` takes the tight bounds (a linear programme)
   wherever their predicted time fits the 5 s budget, a cost chosen, not overhead.
2. ``exact_analysis`` of a compiled chain of depth 10,000 against a plain Python
   loop over its 2x2 tables (each node's law of (truth, report) from its child's).
   Target: at most 10x. And ``robustness`` (budget 3) of a compiled chain of depth
   100,000 against its exact analysis. Target: at most 3x.
3. ``rrm-theory analyze`` end to end (a subprocess: start-up, load, every extra) on
   a generated chain of depth 100,000. Reported, with the extras' own times on it.
4. A comb of depth 2,000 (each internal node an ``all`` over a leaf and the next
   internal node): per level, every method still takes one round of array operations
   (the scan covers one-child runs only). Reported, per level.

Run:  python benchmarks/bench_extras.py [--repeat 3] [--no-analyze]
Exit status 1 if a target of 1 or 2 is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rrm_theory as rrm
from _timing import best_time

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = {
    "robustness": lambda t: rrm.robustness(t, budget=3),
    "bounds": lambda t: rrm.bounds(t),
    "fast_bounds": lambda t: rrm.fast_bounds(t),
    "importance": lambda t: rrm.importance(t),
}
CHAIN_DEPTH, BIG_CHAIN = 10_000, 100_000


def chain_loop(fa: list[float], fr: list[float], prior: float) -> tuple[float, float]:
    """Root false accept and false reject of a chain (leaf last), one 2x2 table per node."""
    a, b = fa[-1], fr[-1]
    j00, j01, j10, j11 = (1 - prior) * (1 - a), (1 - prior) * a, prior * b, prior * (1 - b)
    for a, b in zip(fa[-2::-1], fr[-2::-1]):  # coverage 1: the truth and the input pass through
        j00, j01 = j00 * (1 - a) + j01 * b, j00 * a + j01 * (1 - b)
        j10, j11 = j10 * (1 - a) + j11 * b, j10 * a + j11 * (1 - b)
    return j01 / (j00 + j01), j10 / (j10 + j11)


def extras_table(trees: dict[str, object], repeat: int) -> bool:
    ok = True
    print(f"extras / exact_analysis, same tree (best of {repeat}; target <= 10 but for bounds):")
    print(f"  {'tree':22s} {'exact s':>9s} " + " ".join(f"{k:>11s}" for k in EXTRAS))
    for name, tree in trees.items():
        exact = best_time(lambda: rrm.exact_analysis(tree), repeat)
        ratios = [best_time(lambda: fn(tree), repeat) / exact for fn in EXTRAS.values()]
        ok &= max(r for k, r in zip(EXTRAS, ratios) if k != "bounds") <= 10
        print(f"  {name:22s} {exact:9.4f} " + " ".join(f"{r:10.1f}x" for r in ratios))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-analyze", action="store_true", help="skip the depth-100,000 chain")
    args = parser.parse_args()

    trees = {p.stem: rrm.load_spec(p) for p in sorted((ROOT / "models").glob("*.toml"))}
    for tree in trees.values():  # first calls pay for imports and caches
        for fn in EXTRAS.values():
            fn(tree)
    trees["4^8 majority"] = rrm.balanced(8, 4, rule="majority", error=0.1, prior=0.5)
    ok = extras_table(trees, args.repeat)

    tree = rrm.chain(CHAIN_DEPTH, error=0.01, prior=0.5)
    c = rrm.compile_tree(tree)
    fa, fr = [0.01] * (CHAIN_DEPTH + 1), [0.01] * (CHAIN_DEPTH + 1)
    want = rrm.exact_analysis(c).root
    got = chain_loop(fa, fr, 0.5)
    assert abs(got[0] - want.false_accept) < 1e-9, (got, want)  # the baseline computes the same thing
    loop = best_time(lambda: chain_loop(fa, fr, 0.5), args.repeat)
    exact = best_time(lambda: rrm.exact_analysis(c), args.repeat)
    ok &= exact / loop <= 10
    print(f"chain of depth {CHAIN_DEPTH:,}: exact(compiled) {exact:.4f} s, plain Python loop {loop:.4f} s: "
          f"{exact / loop:.0f}x (target <= 10)")  # fmt: skip
    long = rrm.compile_tree(rrm.chain(BIG_CHAIN, error=0.01, prior=0.5))
    exact = best_time(lambda: rrm.exact_analysis(long), args.repeat)
    adversary = best_time(lambda: rrm.robustness(long, budget=3), args.repeat)
    ok &= adversary / exact <= 3
    print(f"chain of depth {BIG_CHAIN:,}: exact(compiled) {exact:.3f} s, robustness(compiled, budget 3) "
          f"{adversary:.3f} s: {adversary / exact:.1f}x (target <= 3)")  # fmt: skip

    if not args.no_analyze:
        big = rrm.chain(BIG_CHAIN, error=0.01, prior=0.5)
        parts = {"exact": lambda t: rrm.exact_analysis(t), **EXTRAS}
        times = {k: best_time(lambda: fn(big), 1) for k, fn in parts.items()}
        print(f"chain of depth {BIG_CHAIN:,}: " + ", ".join(f"{k} {t:.1f} s" for k, t in times.items()))
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "chain.toml"
            spec.write_text(f'[defaults]\nerror = 0.01\nprior = 0.5\n[generate]\nshape = "chain"\ndepth = {BIG_CHAIN}\n')
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "rrm_theory", "analyze", str(spec)], capture_output=True,
                                  text=True, cwd=tmp)  # fmt: skip
            took = time.perf_counter() - start
        print(f"  rrm-theory analyze end to end: {took:.1f} s (exit status {done.returncode})")
    comb = rrm.compile_tree(_comb(2_000))
    parts = {"exact": lambda t: rrm.exact_analysis(t), **EXTRAS}
    per_level = {k: best_time(lambda: fn(comb), 1) / 2_000 * 1e6 for k, fn in parts.items()}
    print("comb of depth 2,000, microseconds per level: " + ", ".join(f"{k} {t:.0f}" for k, t in per_level.items()))
    return 0 if ok else 1


def _comb(depth: int):  # type: ignore[no-untyped-def]
    nodes: dict[str, dict] = {"n0": {"rule": "all"}}
    for i in range(1, depth):
        nodes[f"n{i}"] = {"parent": f"n{i - 1}", "rule": "all"}
        nodes[f"l{i}"] = {"parent": f"n{i - 1}", "prior": 0.9}
    nodes[f"l{depth}"] = {"parent": f"n{depth - 1}", "prior": 0.9}
    nodes[f"m{depth}"] = {"parent": f"n{depth - 1}", "prior": 0.9}
    return rrm.from_dict({"name": "comb", "defaults": {"error": 0.001, "prior": 0.99}, "nodes": nodes})


if __name__ == "__main__":
    sys.exit(main())
