"""Side-by-side tier-0 timing of two pvm checkouts (say, before and after a
change) on the same bench/ programs: runs alternate, medians are compared.

    python bench/compare_trees.py OLD_TREE NEW_TREE [--runs 5] [--only fib loop]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def timed_run(tree: str, program: Path) -> tuple[float, bytes]:
    env = dict(os.environ, PYTHONPATH=tree)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pvm", "run", str(program)], env=env, capture_output=True,
                            check=True, cwd=tree)
    return time.perf_counter() - start, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="+")
    options = parser.parse_args()
    names = options.only or sorted(path.stem for path in BENCH.glob("*.src"))
    print("| benchmark | old (s) | new (s) | new/old |")
    print("|---|---|---|---|")
    for name in names:
        program = BENCH / f"{name}.src"
        times: dict[str, list[float]] = {options.old: [], options.new: []}
        outputs = set()
        for _ in range(options.runs):
            for tree in (options.old, options.new):
                elapsed, out = timed_run(tree, program)
                times[tree].append(elapsed)
                outputs.add(out)
        old, new = (statistics.median(times[tree]) for tree in (options.old, options.new))
        same = "" if len(outputs) == 1 else " (OUTPUTS DIFFER)"
        print(f"| {name} | {old:.3f} | {new:.3f} | {new / old:.2f}{same} |")


if __name__ == "__main__":
    main()
