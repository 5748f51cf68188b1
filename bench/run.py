"""Run bench/*.src under CPython and under pvm side by side and compare.

Every benchmark is a Level 1 program that both interpreters run unchanged, so
CPython is the baseline on identical source and its stdout is the expected
output: a pvm run whose stdout differs from CPython's is reported as MISMATCH
(FAILED if pvm exited non-zero, TIMEOUT if it hung) and makes the harness exit 1.
Timing is whole-process wall time (start-up included) measured with
time.perf_counter around subprocess.run; the two interpreters are run
alternately so that machine noise hits both alike, and medians are reported.
"""
from __future__ import annotations

import argparse
import difflib
import math
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
HELLO_SOURCE = "print('hi')\n"


@dataclass
class Result:
    """Timings and verdict for one benchmark."""

    name: str
    cpython: list[float] = field(default_factory=list)
    pvm: list[float] = field(default_factory=list)
    status: str = "ok"
    detail: str = ""

    @property
    def ratio(self) -> float:
        """Median pvm time over median CPython time."""
        return statistics.median(self.pvm) / statistics.median(self.cpython)


@dataclass
class Run:
    """One finished process."""

    seconds: float
    returncode: int
    stdout: str
    stderr: str


def run_once(cmd: list[str], timeout: float, cwd: Path = BENCH_DIR) -> Run:
    """Run cmd once in the program's folder, capturing output; wall time covers the whole process."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - start
    return Run(elapsed, proc.returncode, proc.stdout, proc.stderr)


def diff_text(expected: str, got: str, limit: int = 20) -> str:
    """A short unified diff of CPython's stdout against pvm's."""
    lines = difflib.unified_diff(expected.splitlines(), got.splitlines(),
                                 "cpython", "pvm", lineterm="")
    return "\n".join(list(lines)[:limit])


def bench_program(path: Path, python: str, pvm_cmd: list[str], runs: int,
                  timeout: float) -> Result:
    """Alternate CPython and pvm runs of one program, checking pvm's stdout each time."""
    result = Result(path.stem)
    for _ in range(runs):
        try:
            ref = run_once([python, path.name], timeout, path.parent)
        except subprocess.TimeoutExpired:
            result.status, result.detail = "ERROR", f"CPython timed out after {timeout:g}s"
            return result
        if ref.returncode != 0:
            result.status, result.detail = "ERROR", "CPython failed:\n" + ref.stderr[-2000:]
            return result
        result.cpython.append(ref.seconds)
        try:
            got = run_once(pvm_cmd + [path.name], timeout, path.parent)
        except subprocess.TimeoutExpired:
            result.status, result.detail = "TIMEOUT", f"pvm timed out after {timeout:g}s"
            return result
        if got.returncode != 0 or got.stdout != ref.stdout:
            result.status = "FAILED" if got.returncode else "MISMATCH"
            result.detail = (f"pvm exit status {got.returncode}\n"
                             + diff_text(ref.stdout, got.stdout) + "\n" + got.stderr[-2000:])
            return result
        result.pvm.append(got.seconds)
    return result


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def format_table(results: list[Result], markdown: bool) -> str:
    """Median times, ratios and the geometric mean of the ratios."""
    header = ["benchmark", "CPython (s)", "pvm (s)", "pvm/CPython", "status"]
    rows = []
    for r in results:
        cp = f"{statistics.median(r.cpython):.3f}" if r.cpython else "-"
        pv = f"{statistics.median(r.pvm):.3f}" if r.pvm and r.status == "ok" else "-"
        ratio = f"{r.ratio:.1f}x" if r.status == "ok" else "-"
        rows.append([r.name, cp, pv, ratio, r.status])
    ok = [r.ratio for r in results if r.status == "ok"]
    if len(results) > 1 and ok:
        rows.append(["geometric mean", "", "", f"{geometric_mean(ok):.1f}x",
                     f"{len(ok)}/{len(results)} ok"])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row) for row in [header] + rows)


def bench_hello(python: str, pvm_cmd: list[str], runs: int, timeout: float,
                markdown: bool) -> int:
    """Start-up cost: `pvm run hello.src` against `python -c "print('hi')"`."""
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.src"
        hello.write_text(HELLO_SOURCE)
        result = Result("hello (start-up)")
        for _ in range(runs):
            ref = run_once([python, "-c", HELLO_SOURCE], timeout)
            got = run_once(pvm_cmd + [str(hello)], timeout)
            result.cpython.append(ref.seconds)
            if got.returncode != 0 or got.stdout != ref.stdout:
                result.status = "FAILED" if got.returncode else "MISMATCH"
                result.detail = diff_text(ref.stdout, got.stdout) + "\n" + got.stderr[-2000:]
                break
            result.pvm.append(got.seconds)
    print(format_table([result], markdown))
    if result.status != "ok":
        print(f"\n*** {result.name}: {result.status}\n{result.detail}")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the selected benchmarks, print the table; 1 on any mismatch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per interpreter (default 5)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="benchmarks to run (file stems)")
    parser.add_argument("--pvm-args", default="", help='extra `pvm run` options, e.g. "--jit=off"')
    parser.add_argument("--python", default=sys.executable,
                        help="CPython used as baseline and to host pvm (default: this one)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per process")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--hello", action="store_true", help="measure start-up only")
    parser.add_argument("--dir", type=Path, default=BENCH_DIR,
                        help="folder of benchmark programs (default bench/; bench/stdlib holds the stdlib ones)")
    args = parser.parse_args(argv)

    pvm_cmd = [args.python, "-m", "pvm", "run"] + shlex.split(args.pvm_args)
    if args.hello:
        return bench_hello(args.python, pvm_cmd, args.runs, args.timeout, args.markdown)

    available = {p.stem: p for p in sorted(args.dir.glob("*.src"))}
    names = args.only or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; "
                     f"available: {', '.join(available)}")
    results = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(bench_program(available[name], args.python, pvm_cmd,
                                     args.runs, args.timeout))
    print(format_table(results, args.markdown))
    failed = [r for r in results if r.status != "ok"]
    for r in failed:
        print(f"\n*** {r.name}: {r.status} ***\n{r.detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
