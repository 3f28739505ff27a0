"""The exact engine at the physical limit, as ratios against baselines run in the same process.

On a complete binary ``all`` tree of 131,071 evaluators
(``rrm.balanced(16, 2, rule="all", error=0.01, prior=0.9)``):

1. ``exact_analysis(compile_tree(tree))`` against a plain numpy level pass over
   prepared arrays (per level, each node's 2x2 law of (truth, report) from its two
   children's). Target: at most 10x (stretch 5x).
2. ``exact_analysis(tree)`` on the networkx graph, validation included, against the
   same numpy pass with the graph read first (breadth-first levels, every node's
   rates). Target: at most 3x.
3. For scale: ``compile_tree`` alone, and a plain networkx build of the same graph.

Then 1,048,575 nodes (``rrm.balanced(19, 2, ...)``, a generated spec) to numbers:
building the tree plus ``exact_analysis``. Target: under 30 s.

Numerics: the root's ``p_good``, ``error``, ``false_accept`` and ``false_reject`` on
the big uniform trees (the 131,071-node tree, a 4^8 ``majority`` tree of 87,381
nodes and the 1,048,575-node tree) against the 60-digit mpmath recursion of
tests/test_numerics.py. Target: relative error at most 1e-13 (values below the
smallest normal double are compared in absolute terms, against it).

Run:  python benchmarks/bench_engine.py [--repeat 5] [--no-million]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

import rrm_theory as rrm
from _timing import best_time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_numerics import relative_error, uniform_reference  # noqa: E402  (the mpmath recursion)

DEPTH, ERROR, PRIOR = 16, 0.01, 0.9


def level_pass(prior: np.ndarray, fa: list[np.ndarray], fr: list[np.ndarray]) -> tuple[float, float]:
    """Root false accept and false reject of a complete binary ``all`` tree, level by level.

    ``prior``: the leaves' priors; ``fa[l]``, ``fr[l]``: the rates of level l's nodes
    (root first). Each node's law ``J[y, r] = P(Y = y, R = r)`` comes from its two
    children's (consecutive pairs): the truth is the AND of theirs, so is the input.
    """
    a, b = fa[-1], fr[-1]
    J = np.empty((len(prior), 2, 2))
    J[:, 0, 0], J[:, 0, 1] = (1 - prior) * (1 - a), (1 - prior) * a
    J[:, 1, 0], J[:, 1, 1] = prior * b, prior * (1 - b)
    for a, b in zip(fa[-2::-1], fr[-2::-1]):
        L, R = J[0::2], J[1::2]
        l00, l01, l10, l11 = L[:, 0, 0], L[:, 0, 1], L[:, 1, 0], L[:, 1, 1]
        r00, r01, r10, r11 = R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1]
        u = np.empty((len(l00), 2, 2))  # P(Y = y, U = u)
        u[:, 1, 1] = l11 * r11
        u[:, 1, 0] = l10 * (r10 + r11) + l11 * r10
        u[:, 0, 1] = l01 * (r01 + r11) + l11 * r01
        u[:, 0, 0] = l00 * (r00 + r01 + r10 + r11) + l01 * (r00 + r10) + l10 * (r00 + r01) + l11 * r00
        J = np.empty_like(u)
        J[:, :, 1] = u[:, :, 1] * (1 - b)[:, None] + u[:, :, 0] * a[:, None]
        J[:, :, 0] = u[:, :, 1] * b[:, None] + u[:, :, 0] * (1 - a)[:, None]
    with np.errstate(invalid="ignore"):  # linear space: P(Y = 1) = 0.9**65536 underflows, false reject is 0/0
        return J[0, 0, 1] / J[0, 0].sum(), J[0, 1, 0] / J[0, 1].sum()


def prepared(depth: int) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The arrays of a uniform tree, as level_pass takes them."""
    sizes = [2**level for level in range(depth + 1)]
    return np.full(sizes[-1], PRIOR), [np.full(s, ERROR) for s in sizes], [np.full(s, ERROR) for s in sizes]


def from_graph(tree: nx.DiGraph) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The same arrays read from the graph: breadth-first levels, then every node's rates."""
    root = next(v for v, d in tree.in_degree() if d == 0)
    levels = [[root]]
    while True:
        below = [c for v in levels[-1] for c in tree.succ[v]]
        if not below:
            break
        levels.append(below)
    nodes = tree.nodes
    fa = [np.array([nodes[v]["false_accept"] for v in level]) for level in levels]
    fr = [np.array([nodes[v]["false_reject"] for v in level]) for level in levels]
    return np.array([nodes[v]["prior"] for v in levels[-1]]), fa, fr


def plain_build(depth: int) -> nx.DiGraph:
    """The same tree built with networkx directly (no spec, no validation)."""
    G = nx.DiGraph(name="plain", influence=0.0, blind_spots={})
    inner = {"rule": "all", "coverage": 1.0, "false_accept": ERROR, "false_reject": ERROR,
             "deception": 0.0, "audit": 0.0, "exposure": 0.0}  # fmt: skip
    leaf = {"prior": PRIOR, "false_accept": ERROR, "false_reject": ERROR, "deception": 0.0, "audit": 0.0,
            "exposure": 1.0}  # fmt: skip
    previous = ["L0_0"]
    G.add_node("L0_0", **inner)
    for level in range(1, depth + 1):
        current = [f"L{level}_{i}" for i in range(2**level)]
        attrs = leaf if level == depth else inner
        G.add_nodes_from((v, dict(attrs)) for v in current)
        G.add_edges_from((previous[i // 2], v) for i, v in enumerate(current))
        previous = current
    return G


def worst_error(result: rrm.Metrics, depth: int, branching: int, rule: str) -> tuple[float, str]:
    want = uniform_reference(depth, branching, rule, false_accept=ERROR, false_reject=ERROR, prior=PRIOR)
    errors = {m: relative_error(getattr(result, m), want[m]) for m in ("p_good", "error", "false_accept",
                                                                        "false_reject")}  # fmt: skip
    metric = max(errors, key=errors.get)  # type: ignore[arg-type]
    return errors[metric], metric


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-million", action="store_true", help="skip the 1,048,575-node run")
    args = parser.parse_args()
    ok = True

    tree = rrm.balanced(DEPTH, 2, rule="all", error=ERROR, prior=PRIOR)
    arrays = prepared(DEPTH)
    c = rrm.compile_tree(tree)
    want = rrm.exact_analysis(c).root
    got = level_pass(*arrays)
    assert abs(got[0] / want.false_accept - 1) < 1e-9, (got, want)  # the baseline computes the same thing
    rounds = {
        "numpy level pass": lambda: level_pass(*arrays),
        "numpy pass reading the graph": lambda: level_pass(*from_graph(tree)),
        "exact on the compiled form": lambda: rrm.exact_analysis(c),
        "exact on the graph": lambda: rrm.exact_analysis(tree),
        "compile_tree": lambda: rrm.compile_tree(tree),
    }
    times = {k: float("inf") for k in rounds}
    for _ in range(args.repeat):  # interleaved, so that each sees the same machine state
        for k, fn in rounds.items():
            times[k] = min(times[k], best_time(fn, 1))
    build = best_time(lambda: plain_build(DEPTH), 1)
    spec_build = best_time(lambda: rrm.balanced(DEPTH, 2, rule="all", error=ERROR, prior=PRIOR), 1)
    print(f"binary 'all' tree, {c.size:,} nodes (best of {args.repeat}):")
    for k, t in times.items():
        print(f"  {k:30s} {t:8.4f} s")
    print(f"  {'plain networkx build':30s} {build:8.4f} s   (rrm.balanced, validation included: {spec_build:.3f} s)")
    r1 = times["exact on the compiled form"] / times["numpy level pass"]
    r2 = times["exact on the graph"] / times["numpy pass reading the graph"]
    ok &= r1 <= 10 and r2 <= 3
    print(f"  exact(compiled) / numpy level pass:           {r1:5.1f}  (target <= 10, stretch <= 5)")
    print(f"  exact(graph) / numpy pass reading the graph:  {r2:5.1f}  (target <= 3)")

    print("numerics against the 60-digit recursion (worst relative error of the four root metrics):")
    for depth, branching, rule, analysed in (
        (DEPTH, 2, "all", want),
        (8, 4, "majority", rrm.exact_analysis(rrm.balanced(8, 4, rule="majority", error=ERROR, prior=PRIOR)).root),
    ):
        err, metric = worst_error(analysed, depth, branching, rule)
        ok &= err <= 1e-13
        print(f"  {branching}^{depth} {rule:9s} {(branching ** (depth + 1) - 1) // (branching - 1):>9,} nodes: "
              f"{err:.1e} ({metric}; target <= 1e-13)")  # fmt: skip

    if not args.no_million:
        start = time.perf_counter()
        big = rrm.balanced(19, 2, rule="all", error=ERROR, prior=PRIOR)
        built = time.perf_counter() - start
        result = rrm.exact_analysis(big).root
        total = time.perf_counter() - start
        err, metric = worst_error(result, 19, 2, "all")
        ok &= total < 30 and err <= 1e-13
        print(f"1,048,575 nodes from a generated spec to numbers: {total:.1f} s (build and validation {built:.1f} s, "
              f"exact {total - built:.1f} s; target < 30 s); numerics {err:.1e} ({metric}; target <= 1e-13)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
