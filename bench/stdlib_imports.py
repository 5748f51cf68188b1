"""Import time of each stdlib module: pvm cold, pvm from the compiled-module cache, CPython.

Usage::

    python bench/stdlib_imports.py [--runs N] [--markdown]

Each figure is the median of ``--runs`` imports, each into a fresh pvm
interpreter (or a fresh CPython process, less its bare start-up), so it counts
the module and every module it imports. *cold* compiles the source each time
(parse, compile, verify); *cached* reads the verified .pvmc from
``stdlib/__pycache__`` as ``pvm run`` does once a module has been imported
before. CPython's figure is ``python -X importtime``'s cumulative time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pvm.heap import Heap  # noqa: E402
from pvm.interp import Interpreter, stdlib_dir  # noqa: E402
from pvm.loader import compile_file, load_source_module  # noqa: E402

MODULES = ["math", "random", "collections", "itertools", "functools", "heapq", "bisect", "string",
           "json", "abc", "enum", "dataclasses", "copy", "operator", "statistics", "textwrap"]


def pvm_import_ms(name: str, loader, runs: int) -> float:
    times = []
    for _ in range(runs):
        vm = Interpreter(loader=loader, search_path=[stdlib_dir()], heap=Heap())
        start = time.perf_counter()
        vm.run_module(compile_file_text(f"import {name}\n"))
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def compile_file_text(source: str):
    from lang import compile_source

    return compile_source(source, "<bench>")


def cpython_import_ms(name: str, runs: int) -> float | None:
    """Cumulative time -X importtime reports for ``name`` in ms; None when
    CPython already imported it while starting up (site imports several)."""
    preloaded = subprocess.run([sys.executable, "-c", f"import sys; print({name!r} in sys.modules)"],
                               capture_output=True, text=True, check=True).stdout.strip() == "True"
    if preloaded:
        return None
    times = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {name}"],
                              capture_output=True, text=True, check=True)
        line = [line for line in proc.stderr.splitlines() if line.rstrip().endswith(f"| {name}")][-1]
        times.append(int(line.split("|")[1]) / 1000)
    return statistics.median(times)


def show(ms: float | None) -> str:
    return "at start-up" if ms is None else f"{ms:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    for name in MODULES:                      # warm the disk cache the cached column reads
        load_source_module(str(Path(stdlib_dir()) / f"{name}.src"))
    rows = []
    for name in MODULES:
        cold = pvm_import_ms(name, compile_file, args.runs)
        cached = pvm_import_ms(name, load_source_module, args.runs)
        rows.append((name, cold, cached, cpython_import_ms(name, args.runs)))
    if args.markdown:
        print("| module | pvm cold (ms) | pvm cached (ms) | CPython (ms) |")
        print("|---|---:|---:|---:|")
        for name, cold, cached, cpython in rows:
            print(f"| `{name}` | {cold:.1f} | {cached:.1f} | {show(cpython)} |")
    else:
        print(f"{'module':<12} {'cold ms':>9} {'cached ms':>10} {'CPython ms':>11}")
        for name, cold, cached, cpython in rows:
            print(f"{name:<12} {cold:9.1f} {cached:10.1f} {show(cpython):>11}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
