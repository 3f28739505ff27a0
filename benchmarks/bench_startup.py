"""Command start-up, as the time beyond a bare interpreter (``python -c pass``) in the same run.

Targets: ``rrm-theory --version`` and ``--help`` within 0.15 s of a bare interpreter;
``analyze models/chip-design.toml --method exact --bounds none --no-adversary
--no-importance`` within 0.5 s. The commands run as ``python -m rrm_theory``,
interleaved with the baseline, and the medians are compared (the machine is noisy).

Run:  python benchmarks/bench_startup.py [--repeat 7]
Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "--version": (["--version"], 0.15),
    "--help": (["--help"], 0.15),
    "analyze, exact only": (["analyze", "models/chip-design.toml", "--method", "exact", "--bounds", "none",
                             "--no-adversary", "--no-importance"], 0.5),  # fmt: skip
    "analyze, everything": (["analyze", "models/chip-design.toml"], None),
    "threshold": (["threshold", "--rule", "majority", "--branching", "5", "--json"], None),
}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    bare = [sys.executable, "-c", "pass"]
    ok = True
    for label, (command, target) in COMMANDS.items():
        base, run = [], []
        for _ in range(args.repeat):
            base.append(timed(bare))
            run.append(timed([sys.executable, "-m", "rrm_theory", *command]))
        extra = statistics.median(run) - statistics.median(base)
        verdict = ""
        if target is not None:
            ok &= extra <= target
            verdict = f" (target <= {target} s: {'met' if extra <= target else 'MISSED'})"
        print(f"{label:<22} {statistics.median(run):.3f} s, bare interpreter {statistics.median(base):.3f} s: "
              f"+{extra:.3f} s{verdict}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
