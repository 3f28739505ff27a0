"""Wide rules: weighted panels of unrelated decimal weights, and large juries.

1. A weighted root over 10, 12 and 20 helpers with 3-decimal weights (uniform in
   [0.1, 3]) and threshold 0.431: ``exact_analysis`` alone, and ``rrm-theory analyze
   --json`` end to end (exact, bounds, adversary with budget 3, importance), run
   in this process. Target: 12 children analysed end to end in under 1 s.
2. A flat ``majority`` of 10,000 and of 10,001 identical helpers (closed form),
   and of 301 distinct helpers (the class programme): ``exact_analysis``
   against a bare ``networkx.dfs_postorder_nodes`` traversal of the same graph.
   Target: the 10,001 identical helpers well under a second.

Run:  python benchmarks/bench_rules.py [--repeat 3]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np

import rrm_theory as rrm
from rrm_theory.cli import main as cli
from _timing import best_time


def panel(n: int) -> nx.DiGraph:
    rng = np.random.default_rng(n)
    weights = [round(float(w), 3) for w in rng.uniform(0.1, 3.0, size=n)]
    nodes: dict = {"panel": {"rule": "weighted", "threshold": 0.431}}
    nodes |= {f"h{i}": {"parent": "panel", "weight": w, "error": round(0.02 + 0.01 * i, 3)}
              for i, w in enumerate(weights)}  # fmt: skip
    return rrm.from_dict({"name": f"panel-{n}", "defaults": {"error": 0.1, "prior": 0.7}, "nodes": nodes})


def end_to_end(tree: nx.DiGraph, folder: Path) -> float:
    path = folder / f"{tree.graph['name']}.toml"
    rrm.write_spec(tree, path)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return best_time(lambda: cli(["analyze", str(path), "--json"]), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10, 12, 20):
            tree = panel(n)
            exact = best_time(lambda: rrm.exact_analysis(tree), args.repeat)
            whole = min(end_to_end(tree, Path(tmp)) for _ in range(args.repeat))
            target = " (target < 1 s)" if n == 12 else ""
            ok &= n != 12 or whole < 1.0
            print(f"weighted panel of {n}: exact {exact:.3f} s; analyze end to end {whole:.2f} s{target}")
    for n, alike in ((10_000, True), (10_001, True), (301, False)):
        if alike:
            tree = rrm.balanced(1, n, rule="majority", error=0.1, prior=0.5)
        else:
            nodes = {"r": {"rule": "majority"}}
            nodes |= {f"c{i}": {"parent": "r", "prior": 0.3 + 0.4 * i / n, "error": 0.05 + 0.01 * (i % 7)}
                      for i in range(n)}  # fmt: skip
            tree = rrm.from_dict({"name": "distinct", "defaults": {"error": 0.05}, "nodes": nodes})
        root = rrm.tree_root(tree)
        base = best_time(lambda: list(nx.dfs_postorder_nodes(tree, root)), args.repeat)
        exact = best_time(lambda: rrm.exact_analysis(tree), args.repeat)
        kind = "identical" if alike else "distinct"
        target = " (target well under 1 s)" if n == 10_001 else ""
        ok &= n != 10_001 or exact < 0.75
        print(f"flat majority of {n:,} {kind} helpers: exact {exact:.3f} s{target}, traversal {base:.4f} s, "
              f"ratio {exact / base:.0f}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
