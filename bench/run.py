"""Run bench/*.src under CPython and other engines side by side and compare.

Every benchmark is a program of the subset that CPython runs unchanged, so
CPython is the baseline on identical source and its stdout is the expected
output. Next to it the harness measures the engines chosen with --engines:
pvm's tier 0 (`pvm run --jit=off`), pvm with its JIT (`--jit=on`), PyPy
(`pypy3`) and gcc (bench/c/NAME.c compiled once per harness run with
`gcc -O2 ... -lm` into a temporary folder: the "how fast could it be" mark).
An engine whose stdout differs from CPython's is reported as MISMATCH (FAILED
if it exited non-zero, TIMEOUT if it hung); the other engines are still
measured, and the harness exits 1. An engine that is not installed, or a
program without a C version, shows "-": that is not a failure.

Timing is whole-process wall time (start-up included) measured with
time.perf_counter around subprocess.run. Each round runs CPython and then every
engine once, so that machine noise hits all of them alike; medians over the
rounds are reported, and a geometric mean of each engine's ratios.

--size small runs each program with no argument (its built-in size, tenths of
a second under CPython); --size large passes the size from LARGE_SIZES as the
first argument (4-8 s under CPython 3.11), where start-up no longer matters.

Child processes run with PYTHONDONTWRITEBYTECODE removed from their
environment: this machine sets it, so no .pyc of pvm's own modules gets written
and every pvm process recompiles them at start-up (about 0.1 s), a cost that a
user of an installed package never pays.
"""
from __future__ import annotations

import argparse
import difflib
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
HELLO_SOURCE = "print('hi')\n"
ENGINES = ("interp", "tier0", "jit", "pypy", "gcc")
# First argument for --size large: CPython 3.11 takes 4-8 s on each on the reference machine.
LARGE_SIZES: dict[str, int] = {
    "fib": 37, "loop": 40_000_000, "mandelbrot": 1100, "spectralnorm": 700,
    "nbody": 700_000, "sieve": 5_000_000, "fannkuch": 10, "nqueens": 13,
}
# Children must not inherit PYTHONDONTWRITEBYTECODE (see the module docstring).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Outcome:
    """One engine's timings and verdict on one benchmark."""

    times: list[float] = field(default_factory=list)
    status: str = "ok"  # ok, n/a, FAILED, MISMATCH or TIMEOUT
    detail: str = ""    # why n/a, or the diff and stderr of a failure
    command: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """n/a is not a failure: the engine or the program's C version is simply absent."""
        return self.status not in ("ok", "n/a")


@dataclass
class Result:
    """CPython's timings and every engine's outcome for one benchmark."""

    name: str
    engines: dict[str, Outcome]
    cpython: list[float] = field(default_factory=list)
    error: str = ""  # CPython itself failed, so nothing could be checked

    def ratio(self, engine: str) -> float | None:
        """Median engine time over median CPython time; None unless the engine succeeded."""
        outcome = self.engines[engine]
        if self.error or outcome.status != "ok" or not outcome.times or not self.cpython:
            return None
        return statistics.median(outcome.times) / statistics.median(self.cpython)


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
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=CHILD_ENV)
    elapsed = time.perf_counter() - start
    return Run(elapsed, proc.returncode, proc.stdout, proc.stderr)


def diff_text(expected: str, got: str, engine: str, limit: int = 20) -> str:
    """A short unified diff of CPython's stdout against the engine's."""
    lines = difflib.unified_diff(expected.splitlines(), got.splitlines(),
                                 "cpython", engine, lineterm="")
    return "\n".join(list(lines)[:limit])


class Engines:
    """Builds each engine's command for a program, and knows which engines are absent and why."""

    def __init__(self, names: list[str], python: str, pvm_args: list[str], tmp: Path) -> None:
        self.names, self.tmp = names, tmp
        pvm = [python, "-m", "pvm", "run"]
        self.prefixes = {"interp": pvm + ["--jit=off", "--translate=off"] + pvm_args,
                         "tier0": pvm + ["--jit=off"] + pvm_args,
                         "jit": pvm + ["--jit=on"] + pvm_args, "pypy": ["pypy3"]}
        self.absent = {e: f"{tool} not found on PATH" for e, tool in (("pypy", "pypy3"), ("gcc", "gcc"))
                       if e in names and not shutil.which(tool)}
        for engine, why in self.absent.items():  # said once here, not on every row
            print(f"note: engine {engine} unavailable ({why}); its columns show -",
                  file=sys.stderr)
        self.binaries: dict[Path, Path | Outcome] = {}

    def command(self, engine: str, program: Path, size_args: list[str]) -> list[str] | Outcome:
        """The argv that runs program under engine, or an Outcome saying why it cannot run."""
        if engine in self.absent:
            return Outcome(status="n/a")
        if engine != "gcc":
            return self.prefixes[engine] + [program.name] + size_args
        binary = self.gcc_binary(program)
        return binary if isinstance(binary, Outcome) else [str(binary)] + size_args

    def gcc_binary(self, program: Path) -> Path | Outcome:
        """Compile c/NAME.c next to the program once; n/a if there is none, FAILED if gcc fails."""
        if program not in self.binaries:
            source = program.parent / "c" / f"{program.stem}.c"
            binary = self.tmp / program.stem
            cmd = ["gcc", "-O2", source.name, "-o", str(binary), "-lm"]
            if not source.is_file():
                self.binaries[program] = Outcome(status="n/a", detail=f"no c/{source.name}")
            else:
                proc = subprocess.run(cmd, cwd=source.parent, capture_output=True, text=True)
                self.binaries[program] = binary if proc.returncode == 0 else Outcome(
                    status="FAILED", detail="gcc failed:\n" + proc.stderr[-2000:], command=cmd)
        return self.binaries[program]


def measure(result: Result, ref_cmd: list[str], cmds: dict[str, list[str]], runs: int,
            timeout: float, cwd: Path) -> None:
    """Alternate CPython and each engine for `runs` rounds, checking every engine's stdout.

    A failing engine is dropped from later rounds but the others go on, so one
    broken tier does not hide the figures of the rest.
    """
    for _ in range(runs):
        try:
            ref = run_once(ref_cmd, timeout, cwd)
        except subprocess.TimeoutExpired:
            result.error = f"CPython timed out after {timeout:g}s"
            return
        if ref.returncode != 0:
            result.error = "CPython failed:\n" + ref.stderr[-2000:]
            return
        result.cpython.append(ref.seconds)
        for engine, cmd in cmds.items():
            outcome = result.engines[engine]
            if outcome.status != "ok":
                continue
            try:
                got = run_once(cmd, timeout, cwd)
            except subprocess.TimeoutExpired:
                outcome.status, outcome.detail = "TIMEOUT", f"timed out after {timeout:g}s"
                continue
            if got.returncode != 0 or got.stdout != ref.stdout:
                outcome.status = "FAILED" if got.returncode else "MISMATCH"
                outcome.detail = (f"exit status {got.returncode}\n"
                                  + diff_text(ref.stdout, got.stdout, engine)
                                  + "\n" + got.stderr[-2000:])
            else:
                outcome.times.append(got.seconds)


def bench_program(path: Path, python: str, engines: Engines, size_args: list[str],
                  runs: int, timeout: float) -> Result:
    """Measure one program under CPython and every selected engine."""
    result = Result(path.stem, {})
    cmds = {}
    for engine in engines.names:
        cmd = engines.command(engine, path, size_args)
        if isinstance(cmd, Outcome):
            result.engines[engine] = cmd
        else:
            result.engines[engine] = Outcome(command=cmd)
            cmds[engine] = cmd
    measure(result, [python, path.name] + size_args, cmds, runs, timeout, path.parent)
    return result


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive numbers."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def format_ratio(ratio: float | None) -> str:
    """One decimal above 1x; two significant digits below, where gcc and PyPy land."""
    if ratio is None:
        return "-"
    return f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


def status_text(result: Result) -> str:
    """ok, or each engine's verdict that is not ok (globally absent engines were said on stderr)."""
    if result.error:
        return "ERROR (CPython)"
    parts = [f"{e} {o.status}" + (f" ({o.detail})" if o.status == "n/a" else "")
             for e, o in result.engines.items() if o.status != "ok" and (o.detail or o.failed)]
    return "; ".join(parts) or "ok"


def format_table(results: list[Result], engines: list[str], markdown: bool) -> str:
    """Median times, ratios per engine, and a geometric-mean row over each engine's successes."""
    header = ["benchmark", "CPython (s)"]
    for engine in engines:
        header += [f"{engine} (s)", f"{engine}/CPython"]
    header.append("status")
    rows = []
    for r in results:
        row = [r.name, f"{statistics.median(r.cpython):.3f}" if r.cpython and not r.error else "-"]
        for engine in engines:
            ratio = r.ratio(engine)
            times = r.engines[engine].times
            row += [f"{statistics.median(times):.3f}" if ratio is not None else "-",
                    format_ratio(ratio)]
        rows.append(row + [status_text(r)])
    if len(results) > 1:
        row, counts = ["geometric mean", ""], []
        for engine in engines:
            ok = [x for x in (r.ratio(engine) for r in results) if x is not None]
            row += ["", format_ratio(geometric_mean(ok)) if ok else "-"]
            counts.append(f"{engine} {len(ok)}/{len(results)}")
        rows.append(row + ["ok: " + ", ".join(counts)])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w if i in (0, len(widths) - 1) else "{:>%d}" % w
                    for i, w in enumerate(widths))
    return "\n".join(fmt.format(*row).rstrip() for row in [header] + rows)


def report(results: list[Result], engines: list[str], markdown: bool) -> int:
    """Print the table, then the details of every failure; 1 if anything failed."""
    print(format_table(results, engines, markdown))
    failed = False
    for r in results:
        if r.error:
            failed = True
            print(f"\n*** {r.name}: ERROR ***\n{r.error}")
        for engine, o in r.engines.items():
            if o.failed:
                failed = True
                print(f"\n*** {r.name} [{engine}]: {o.status} ***\n$ {shlex.join(o.command)}\n{o.detail}")
    return 1 if failed else 0


def bench_hello(python: str, pvm_args: list[str], runs: int, timeout: float,
                markdown: bool) -> int:
    """Start-up cost: `pvm run hello.src` (default tier) against `python -c "print('hi')"`."""
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.src"
        hello.write_text(HELLO_SOURCE)
        cmd = [python, "-m", "pvm", "run"] + pvm_args + [str(hello)]
        result = Result("hello (start-up)", {"pvm": Outcome(command=cmd)})
        measure(result, [python, "-c", HELLO_SOURCE], {"pvm": cmd}, runs, timeout, BENCH_DIR)
    return report([result], ["pvm"], markdown)


def parse_engines(text: str) -> list[str]:
    """Comma-separated engine names, in the given order, without repeats."""
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in ENGINES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown engine(s) {', '.join(unknown) or '(none given)'}; choose from {','.join(ENGINES)}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the selected benchmarks, print the table; 1 on any failure."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: python bench/run.py --engines tier0,jit,pypy,gcc --size large --runs 3 --markdown")
    parser.add_argument("--engines", type=parse_engines, default=["tier0", "jit"], metavar="LIST",
                        help="comma-separated columns next to CPython (default tier0,jit): "
                             "interp = `pvm run --jit=off --translate=off` (the interpreter alone), "
                             "tier0 = `pvm run --jit=off`, jit = `pvm run --jit=on`, pypy = pypy3, "
                             "gcc = c/NAME.c built with gcc -O2; an absent one shows -")
    parser.add_argument("--size", choices=("small", "large"), default="small",
                        help="small (default): each program's built-in size; large: the size in "
                             "LARGE_SIZES as first argument (CPython 4-8 s each), skipping programs "
                             "without one")
    parser.add_argument("--runs", type=int, default=5, metavar="N",
                        help="rounds, each running CPython then every engine once (default 5)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="benchmarks to run (file stems)")
    parser.add_argument("--pvm-args", default="", metavar="OPTS",
                        help="extra `pvm run` options for the interp, tier0 and jit engines, e.g. "
                             "--pvm-args='--max-depth 5000' (pick tiers with --engines)")
    parser.add_argument("--python", default=sys.executable, metavar="PY",
                        help="CPython used as baseline and to host pvm (default: this one)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS",
                        help="limit per process (default 600)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--hello", action="store_true",
                        help="start-up only: `pvm run` (default tier) on print('hi'); ignores --engines")
    parser.add_argument("--dir", type=Path, default=BENCH_DIR,
                        help="folder of benchmark programs (default bench/; bench/stdlib holds "
                             "the stdlib ones)")
    args = parser.parse_args(argv)

    pvm_args = shlex.split(args.pvm_args)
    if args.hello:
        return bench_hello(args.python, pvm_args, args.runs, args.timeout, args.markdown)

    available = {p.stem: p for p in sorted(args.dir.glob("*.src"))}
    names = args.only or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; "
                     f"available: {', '.join(available)}")
    if args.size == "large":
        sizeless = [n for n in names if n not in LARGE_SIZES]
        if sizeless and args.only:
            parser.error(f"no large size for {', '.join(sizeless)}; "
                         f"--size large knows {', '.join(LARGE_SIZES)}")
        if sizeless:
            print(f"skipping (no large size): {', '.join(sizeless)}", file=sys.stderr)
        names = [n for n in names if n in LARGE_SIZES]
    results = []
    with tempfile.TemporaryDirectory(prefix="pvm-bench-") as tmp:
        engines = Engines(args.engines, args.python, pvm_args, Path(tmp))
        for name in names:
            size_args = [str(LARGE_SIZES[name])] if args.size == "large" else []
            print(f"running {' '.join([name] + size_args)} ...", file=sys.stderr, flush=True)
            results.append(bench_program(available[name], args.python, engines, size_args,
                                         args.runs, args.timeout))
    return report(results, args.engines, args.markdown)


if __name__ == "__main__":
    sys.exit(main())
