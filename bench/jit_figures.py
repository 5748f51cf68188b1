"""The JIT's own figures: steady-state speed of compiled code against gcc -O2,
and compile latency per tier.

Usage::

    python bench/jit_figures.py [--runs 5] [--markdown]

Steady state: each program of STEADY runs in-process once at its default size
(everything hot gets compiled, tier 2 included), then its kernel is called
again from Python at a larger size and timed with perf_counter (best of
--runs): what compiled code costs once compilation is paid. The C version of
the same program (bench/c/NAME.c, built with ``gcc -O2``) runs at that size as
a whole process, its start-up (about a millisecond) included.

Compile latency: every bench/*.src program runs in-process with ``--jit=on``
thresholds, except that every version tiers up at once (tier2_calls and
tier2_steps 1: at bench/ sizes few would reach tier 2 otherwise), and every
compilation (inference, lowering and LLVM, per version and tier) is
collected; the table gives the median and maximum per tier.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pvm.interp import Interpreter, script_search_path  # noqa: E402
from pvm.jit import Jit  # noqa: E402
from pvm.loader import compile_file, load_source_module  # noqa: E402

BENCH = REPO / "bench"

# program -> (kernel function, arguments built from the module's globals, size passed to the C version)
STEADY = {
    "fib": ("fib", lambda g: (32,), 32),
    "loop": ("run", lambda g: (10_000_000,), 10_000_000),
    "mandelbrot": ("mandelbrot", lambda g: (400, g["MAX_ITER"]), 400),
    "nbody": ("advance", lambda g: (g["bodies"], 0.01, 200_000), 200_000),
    "spectralnorm": ("spectral_norm", lambda g: (400,), 400),
}


def run_module(name: str, **settings: int) -> tuple[Interpreter, dict]:
    """Run bench/NAME.src in-process at its default size; returns the VM and the module's globals."""
    path = str(BENCH / f"{name}.src")
    out: list[str] = []
    vm = Interpreter(write=out.append, loader=load_source_module, search_path=script_search_path(path))
    vm.argv = [path]
    vm.jit = Jit(vm, mode="on", **settings)
    module = vm.run_module(compile_file(path), origin=path)
    return vm, module.dict


def steady(runs: int) -> list[list[str]]:
    rows = []
    build = Path(tempfile.mkdtemp())
    gcc = shutil.which("gcc")
    for name, (kernel, make_args, c_size) in STEADY.items():
        vm, namespace = run_module(name)
        func = namespace[kernel]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            vm.call_from_host(func, make_args(namespace), {})
            times.append(time.perf_counter() - start)
        c_time = None
        if gcc:
            binary = build / name
            subprocess.run([gcc, "-O2", str(BENCH / "c" / f"{name}.c"), "-o", str(binary), "-lm"], check=True)
            c_times = []
            for _ in range(runs):
                start = time.perf_counter()
                subprocess.run([str(binary), str(c_size)], check=True, capture_output=True)
                c_times.append(time.perf_counter() - start)
            c_time = min(c_times)
        tiers = sorted({v.tier for v in vm.jit.versions})
        best = min(times)
        rows.append([f"{name} ({kernel}, {c_size:_})", f"{best * 1e3:.1f} ms",
                     f"{c_time * 1e3:.1f} ms" if c_time else "-",
                     f"{best / c_time:.2f}x" if c_time else "-", ", ".join(map(str, tiers))])
    shutil.rmtree(build, ignore_errors=True)
    return rows


def latency() -> list[list[str]]:
    per_tier: dict[int, list[float]] = {1: [], 2: []}
    for path in sorted(BENCH.glob("*.src")):
        vm, _ = run_module(path.stem, tier2_calls=1, tier2_steps=1)
        for _label, tier, ms in vm.jit.compiles:
            per_tier[tier].append(ms)
    return [[f"tier {tier}", str(len(ms)), f"{statistics.median(ms):.1f} ms" if ms else "-",
             f"{max(ms):.1f} ms" if ms else "-"] for tier, ms in per_tier.items()]


def table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in [header] + rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed calls per kernel (best is reported)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    os.chdir(BENCH)
    print(table(["kernel (size)", "pvm JIT", "gcc -O2", "JIT / gcc", "tiers"], steady(args.runs), args.markdown))
    print()
    print(table(["tier", "compilations", "median", "max"], latency(), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
