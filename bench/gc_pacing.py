"""The collector on an allocation-heavy program: run bench/binarytrees.src at a
given depth in-process with the default pacing scaled (pause and floor both
multiplied by each factor) and print time, collections, pauses and peak live
bytes.

    python bench/gc_pacing.py [--depth 15] [--scales 0.5 1 2]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from lang import compile_source
from pvm.heap import DEFAULT_FLOOR, DEFAULT_PAUSE, Heap
from pvm.interp import Interpreter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=15)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    options = parser.parse_args()
    source = (Path(__file__).parent / "binarytrees.src").read_text()
    source = re.sub(r"^MAX_DEPTH = \d+", f"MAX_DEPTH = {options.depth}", source, flags=re.M)
    code = compile_source(source, "binarytrees.src")
    print("| pacing | time (s) | collections | max pause (ms) | total pause (ms) | peak live (MB) |")
    print("|---|---|---|---|---|---|")
    for scale in options.scales:
        heap = Heap(pause=DEFAULT_PAUSE * scale, floor=int(DEFAULT_FLOOR * scale))
        vm = Interpreter(heap=heap)
        start = time.perf_counter()
        vm.run_module(code)
        elapsed = time.perf_counter() - start
        stats = heap.stats
        print(f"| x{scale} | {elapsed:.2f} | {stats.collections} | {stats.max_pause * 1000:.1f} | "
              f"{stats.total_pause * 1000:.0f} | {stats.peak_live_bytes / 2**20:.1f} |")


if __name__ == "__main__":
    main()
