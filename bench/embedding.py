"""Costs of the embedding API and of the sandbox's accounting.

    python bench/embedding.py [--runs N] [--only fib loop ...] [--jit off on]

Prints, as medians:
- VM creation (µs): a bare ``pvm.VM()``, and one that has run ``import math``;
- host -> script call (µs): ``vm.call`` of a trivial script function;
- script -> host call (µs): one call of an exposed host function from a
  script loop, less the same loop without it;
- the overhead of limits on bench/ programs, in tier 0 and with the JIT on,
  side by side: each program run by a
  bare ``Interpreter``, then under ``Limits.unlimited()`` (host-call checks
  only), steps + time (the checkpoint hook), a memory limit alone (the heap
  checks the interpreter makes when its heap has a limit), and every limit on
  (generous values, so nothing is breached). Times are process CPU time, so
  other processes on the machine disturb them less.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pvm  # noqa: E402
from lang import compile_source  # noqa: E402
from pvm.interp import Interpreter, script_search_path  # noqa: E402
from pvm.loader import load_module  # noqa: E402
from pvm.sandbox import Limits, install  # noqa: E402

BENCH = Path(__file__).resolve().parent
PROGRAMS = ("fib", "loop", "nbody", "strings", "binarytrees")
MODES: dict[str, Limits | None] = {
    "bare": None,
    "unlimited": Limits.unlimited(),
    "steps+time": Limits.unlimited(max_steps=10 ** 12, timeout=3600.0),
    "memory": Limits.unlimited(max_memory=1 << 32),
    "all limits": Limits(max_steps=10 ** 12, max_memory=1 << 32, max_depth=10_000, timeout=3600.0,
                         max_output=1 << 30),
}


def median_us(action: Callable[[], object], repeat: int, inner: int = 1) -> float:
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(inner):
            action()
        samples.append((time.process_time() - start) / inner * 1e6)
    return statistics.median(samples)


def api_costs(repeat: int) -> None:
    pvm.VM().run("import math")           # compile and cache once, as a long-running host would
    print(f"VM creation, bare:              {median_us(pvm.VM, repeat, 200):8.1f} us")
    print(f"VM creation + import math:      {median_us(lambda: pvm.VM().run('import math'), repeat, 200):8.1f} us")
    vm = pvm.VM()
    vm.run("def f():\n    return 0\ndef g(a, b):\n    return a + b\n")
    print(f"vm.call('f'):                   {median_us(lambda: vm.call('f'), repeat, 2000):8.2f} us")
    print(f"vm.call('g', 1, 2):             {median_us(lambda: vm.call('g', 1, 2), repeat, 2000):8.2f} us")
    vm.expose("nop", lambda: None)
    n = 20000
    with_call = compile_loop(n, "nop()")
    without = compile_loop(n, "pass")
    per_call = (median_us(lambda: vm.run(with_call), repeat) - median_us(lambda: vm.run(without), repeat)) / n
    print(f"script -> host call (nop()):    {per_call:8.2f} us")
    print(f"script -> builtin call (abs(1)):{(median_us(lambda: vm.run(compile_loop(n, 'abs(1)')), repeat) - median_us(lambda: vm.run(without), repeat)) / n:8.2f} us")


def compile_loop(n: int, body: str) -> str:
    return f"i = 0\nwhile i < {n}:\n    {body}\n    i += 1\n"


def run_program(name: str, limits: Limits | None, jit: str) -> float:
    path = BENCH / f"{name}.src"
    code = compile_source(path.read_text(), str(path))
    interp = Interpreter(write=lambda text: None, loader=load_module, search_path=script_search_path(str(path)))
    if limits is not None:
        install(interp, limits)
    if jit != "off":
        from pvm.jit import Jit

        interp.jit = Jit(interp, mode=jit)
    start = time.process_time()
    interp.run_module(code)
    return time.process_time() - start


def accounting_overhead(programs: list[str], runs: int, jit: str) -> None:
    print(f"\n{'jit=' + jit + ':':<12}" + "".join(f"{mode:>14}" for mode in MODES) + "   (median CPU s; vs bare)")
    for name in programs:
        times: dict[str, list[float]] = {mode: [] for mode in MODES}
        for _ in range(runs):
            for mode, limits in MODES.items():     # alternated, so noise hits every mode alike
                times[mode].append(run_program(name, limits, jit))
        base = statistics.median(times["bare"])
        cells = []
        for mode in MODES:
            value = statistics.median(times[mode])
            cells.append(f"{value:7.3f}" + ("" if mode == "bare" else f" {100 * (value / base - 1):+4.0f}%"))
        print(f"{name:<12}" + "".join(f"{cell:>14}" for cell in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=list(PROGRAMS))
    parser.add_argument("--jit", nargs="*", default=["off", "on"], help="tiers to measure (off, on, eager)")
    options = parser.parse_args()
    api_costs(max(5, options.runs))
    for jit in options.jit:
        accounting_overhead(options.only, options.runs, jit)


if __name__ == "__main__":
    main()
