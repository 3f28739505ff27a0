"""Study overhead and scaling, as ratios measured in one run.

1. A 2,000-point exact study (a balanced tree of depth 3, branching 3, majority; the
   internal error varied over 2,000 values) on one worker, database writes included,
   against a bare Python loop that builds each point's tree from its spec dict and
   calls ``exact_analysis``. Target: at most 1.2x.
2. The same study on two local workers against one. Target: at least 1.7x (on a
   machine with two free cores).
3. The same study on a Dask cluster of two single-threaded worker processes (a
   ``LocalCluster`` started for the run; its start-up timed separately and excluded)
   against one local worker. Target: at least 1.5x. Skipped without the dask extra.

Run:  python benchmarks/bench_studies.py [--points 2000] [--no-dask]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import rrm_theory as rrm
from rrm_theory.studies import InProcess, Processes, Store, executor_for, load_study, run_study

STUDY = """
name = "overhead"
methods = ["exact"]
[model]
defaults = {{ error = 0.1, prior = 0.5 }}
generate = {{ shape = "balanced", depth = 3, branching = 3, rule = "majority" }}
[vary]
"generate.internal.error" = {{ start = 0.0, stop = 0.45, num = {points} }}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask part")
    args = parser.parse_args()
    dask = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "overhead.toml"
        path.write_text(STUDY.format(points=args.points))
        study = load_study(path)
        points = study.points()
        start = time.perf_counter()
        for p in points:
            rrm.exact_analysis(rrm.from_dict(p.spec))
        bare = time.perf_counter() - start
        timings = {}
        for workers in (1, 2):
            with Store(Path(tmp) / f"w{workers}.sqlite") as store:
                executor = InProcess() if workers == 1 else Processes(workers)
                start = time.perf_counter()
                with executor:
                    run_study(study, store=store, executor=executor)
                timings[workers] = time.perf_counter() - start
        if not args.no_dask:
            try:
                import distributed  # noqa: F401
            except ImportError:
                print("dask: skipped (pip install 'rrm-theory[dask]')")
            else:
                start = time.perf_counter()
                executor = executor_for(2, "local")
                started = time.perf_counter() - start
                with Store(Path(tmp) / "dask.sqlite") as store, executor:
                    start = time.perf_counter()
                    run_study(study, store=store, executor=executor)
                    dask = (started, time.perf_counter() - start)
    overhead = timings[1] / bare
    speedup = timings[1] / timings[2]
    print(f"{len(points):,} exact points: bare loop {bare:.2f} s; study on 1 worker {timings[1]:.2f} s, "
          f"ratio {overhead:.2f} (target <= 1.2)")  # fmt: skip
    print(f"  2 workers {timings[2]:.2f} s: speed-up {speedup:.2f} (target >= 1.7)")
    ok = overhead <= 1.2 and speedup >= 1.7
    if dask is not None:
        started, took = dask
        print(f"  Dask, 2 workers {took:.2f} s (cluster start-up {started:.2f} s, excluded): speed-up "
              f"{timings[1] / took:.2f} against 1 local worker (target >= 1.5)")  # fmt: skip
        ok = ok and timings[1] / took >= 1.5
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
