"""A/B timing of two pvm trees on the same programs: is a change to tier 0 faster?

Usage::

    git worktree add /tmp/base HEAD~1        # the tree to compare against
    python bench/ab.py --base /tmp/base loop fib richards [--runs 5] [--pvm-args=--jit=off] [--size large]

Runs ``python -m pvm run`` of each bench program alternately with the base tree
and this one first on ``PYTHONPATH`` (alternating cancels slow drifts of a shared
machine), checks both print the same, and reports the median wall time of each
and their ratio. CPython is not involved: on a noisy machine its own times vary
more than the change being measured.

``--base-args`` gives the base side options of its own: ``--base .
--base-args=--jit=off --pvm-args=`` times this tree with the JIT off against
the same tree with it on.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from run import CHILD_ENV, LARGE_SIZES  # noqa: E402  (bench/ is not a package)
HERE = BENCH_DIR.parent


def run(tree: Path, program: Path, pvm_args: list[str], program_args: list[str]) -> tuple[float, str]:
    env = {**CHILD_ENV, "PYTHONPATH": str(tree.resolve())}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pvm", "run", *pvm_args, program.name, *program_args],
                          cwd=program.parent,
                          env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other tree (a git worktree)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pvm-args", default="--jit=off")
    parser.add_argument("--base-args", default=None, help="the base side's pvm options (default: --pvm-args)")
    parser.add_argument("--size", choices=("small", "large"), default="small",
                        help="large: the size bench/run.py --size large passes (programs that have one)")
    parser.add_argument("programs", nargs="+", help="bench program stems, e.g. loop fib")
    args = parser.parse_args()
    if args.size == "large" and not set(args.programs) <= set(LARGE_SIZES):
        parser.error(f"--size large knows {', '.join(LARGE_SIZES)}")
    pvm_args = shlex.split(args.pvm_args)
    base_args = pvm_args if args.base_args is None else shlex.split(args.base_args)
    print(f"{'program':<14} {'base s':>8} {'this s':>8} {'this/base':>10}")
    for stem in args.programs:
        program = BENCH_DIR / f"{stem}.src"
        program_args = [str(LARGE_SIZES[stem])] if args.size == "large" else []
        times: dict[str, list[float]] = {"base": [], "this": []}
        outputs = set()
        for _ in range(args.runs):
            for side, tree, options in (("base", args.base, base_args), ("this", HERE, pvm_args)):
                seconds, out = run(tree, program, options, program_args)
                times[side].append(seconds)
                outputs.add(out)
        if len(outputs) != 1:
            print(f"{stem}: the two trees print different output", file=sys.stderr)
            return 1
        base, this = statistics.median(times["base"]), statistics.median(times["this"])
        print(f"{stem:<14} {base:8.2f} {this:8.2f} {this / base:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
