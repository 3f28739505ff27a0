"""Fitting performance: 20 workers x 100,000 labels each (2,000,000 labels).

One leaf node; 400,000 tasks, each labelled by 5 of the 20 workers (rates between 0.02
and 0.3), 10% of them with gold, the rest fitted by two-coin Dawid-Skene EM.

1. ``fit_rates`` on the table in memory (a DataFrame): checking, coding, EM and the
   information of every rate. Target: under 5 s.
2. The same from a CSV file (``read_labels`` included), for reference.

Run:  python benchmarks/bench_fit.py [--repeat 3] [--workers 20] [--labels 100000]
Exit status 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _timing import best_time
from rrm_theory.fit import fit_rates

SPEC = {"defaults": {"error": 0.1, "prior": 0.5}, "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict"}}}


def table(workers: int, labels: int, per_item: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tasks = workers * labels // per_item
    fa, fr = rng.uniform(0.02, 0.3, workers), rng.uniform(0.02, 0.3, workers)
    truth = (rng.random(tasks) < 0.7).astype(np.int8)
    who = np.argsort(rng.random((tasks, workers)), axis=1)[:, :per_item].ravel()
    task = np.repeat(np.arange(tasks), per_item)
    label = (rng.random(len(task)) < np.where(truth[task] == 1, 1 - fr[who], fa[who])).astype(np.int8)
    gold = np.where((rng.random(tasks) < 0.1)[task], truth[task], -1)
    names = np.array([f"w{j}" for j in range(workers)], dtype=object)
    gold = pd.arrays.IntegerArray(np.maximum(gold, 0).astype(np.int8), mask=gold < 0)
    return pd.DataFrame({"task": pd.Series(task).map("t{}".format), "node": "heat", "worker": names[who],
                         "label": label, "gold": gold})  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--labels", type=int, default=100_000, help="labels per worker")
    args = parser.parse_args()
    frame = table(args.workers, args.labels)
    n = len(frame)
    memory = best_time(lambda: fit_rates(frame, SPEC), args.repeat)
    start = time.process_time()
    heat = fit_rates(frame, SPEC).evaluators["heat"]
    cpu = time.process_time() - start
    print(f"{args.workers} workers x {args.labels:,} labels ({n:,} labels, {heat.items:,} tasks, "
          f"{heat.em_items:,} by EM in {heat.iterations} iterations): fit_rates {memory:.2f} s (target < 5; "
          f"CPU time {cpu:.2f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.csv"
        frame.to_csv(path, index=False)
        from_file = best_time(lambda: fit_rates(path, SPEC), args.repeat)
        size = path.stat().st_size
    print(f"  from a CSV file of {size / 1e6:.0f} MB (read_labels included): {from_file:.2f} s")
    return 0 if memory < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
